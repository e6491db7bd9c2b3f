package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/service"
)

// cheap are argon2id costs low enough for tests to sign in often.
var cheap = service.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// accounts returns the use cases over s's driver on clock c, with cheap
// password hashing and a sign-in limit of 3 per email.
func accounts(s engram.Store, c *clock, p service.PasswordParams) *service.Store {
	return service.New(testdb.Driver(s), service.Options{Clock: c.now, Accounts: service.AccountOptions{
		Password: p, SigninPerEmail: 3, SigninPerAddress: 100}})
}

const goodPassword = "correct horse battery"

// signedUp signs up a new organisation's admin.
func signedUp(t *testing.T, st *service.Store, email string) engram.Session {
	t.Helper()
	sess, err := st.SignUp(context.Background(), engram.SignUp{Email: email, Password: goodPassword, FullName: "Ada"})
	if err != nil {
		t.Fatalf("sign up %s: %v", email, err)
	}
	return sess
}

// TestSignUpAndSignIn: sign-up makes a tenant and its admin and signs in;
// the password is stored as an argon2id hash; a wrong email and a wrong
// password get the same answer; weak passwords are refused; a sign-in
// with old hash parameters upgrades the hash.
func TestSignUpAndSignIn(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := accounts(s, c, cheap)
		ctx := context.Background()
		for _, pw := range []string{"short", "1234567890", "Password123", "ada@example.com"} {
			_, err := st.SignUp(ctx, engram.SignUp{Email: "ada@example.com", Password: pw})
			if engram.ErrorCode(err) != engram.EInvalid || !strings.Contains(engram.ErrorMessage(err), "password") {
				t.Errorf("sign-up with password %q: %v, want invalid_argument naming password", pw, err)
			}
		}
		sess := signedUp(t, st, " Ada@Example.com ")
		if sess.User.Email != "ada@example.com" || sess.User.Role != engram.RoleAdmin || sess.Tenant.ID == "" ||
			sess.User.TenantID != sess.Tenant.ID || !strings.HasPrefix(sess.Tokens.AccessToken, engram.AccessTokenPrefix) ||
			!strings.HasPrefix(sess.Tokens.RefreshToken, engram.RefreshTokenPrefix) || sess.Tokens.ExpiresIn != 3600 {
			t.Fatalf("sign-up = %+v", sess)
		}
		row, ok, err := testdb.Driver(s).Reader().UserGet(ctx, sess.Tenant.ID, sess.User.ID)
		if err != nil || !ok || !strings.HasPrefix(row.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(row.PasswordHash, goodPassword) {
			t.Fatalf("stored hash %q, %v, %v", row.PasswordHash, ok, err)
		}
		if _, err := st.SignUp(ctx, engram.SignUp{Email: "ada@example.com", Password: goodPassword}); engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("a second sign-up with the email: %v, want conflict", err)
		}
		p, err := st.Authenticate(ctx, sess.Tokens.AccessToken)
		if err != nil || p.UserID != sess.User.ID || p.TenantID != sess.Tenant.ID || p.Role != engram.RoleAdmin || p.KeyID != "" {
			t.Fatalf("the access token authenticates as %+v, %v", p, err)
		}

		_, wrongPw := st.SignIn(ctx, "ada@example.com", "not the password", "10.0.0.1")
		_, wrongEmail := st.SignIn(ctx, "nobody@example.com", "not the password", "10.0.0.1")
		if engram.ErrorCode(wrongPw) != engram.EUnauthorized || wrongPw.Error() != wrongEmail.Error() {
			t.Errorf("wrong password: %v; wrong email: %v; want the same unauthorized", wrongPw, wrongEmail)
		}

		// Raising the parameters upgrades the hash at the next sign-in.
		strong := service.PasswordParams{Memory: 128, Time: 2, Threads: 1}
		st2 := accounts(s, c, strong)
		in, err := st2.SignIn(ctx, "ADA@example.com", goodPassword, "10.0.0.2")
		if err != nil || in.User.ID != sess.User.ID || in.Tenant.Slug != sess.Tenant.Slug || in.User.LastLoginAt == nil {
			t.Fatalf("sign-in = %+v, %v", in, err)
		}
		row, _, _ = testdb.Driver(s).Reader().UserGet(ctx, sess.Tenant.ID, sess.User.ID)
		if !strings.HasPrefix(row.PasswordHash, "$argon2id$v=19$m=128,t=2,p=1$") {
			t.Errorf("after a sign-in with raised parameters the hash is %q", row.PasswordHash)
		}
		if _, err := st.SignIn(ctx, "ada@example.com", goodPassword, "10.0.0.3"); err != nil {
			t.Errorf("signing in against the upgraded hash: %v", err)
		}
	})
}

// TestSignInLimit: the fourth attempt for an email within the window is
// refused with the seconds to wait, whatever the password; a new store
// (another process, a restart) sees the same count; after the window the
// email may try again.
func TestSignInLimit(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := accounts(s, c, cheap)
		ctx := context.Background()
		signedUp(t, st, "ada@example.com")
		for i := 0; i < 3; i++ {
			if _, err := st.SignIn(ctx, "ada@example.com", "wrong password", "10.0.0.1"); engram.ErrorCode(err) != engram.EUnauthorized {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		c.add(20 * time.Second)
		other := accounts(s, c, cheap) // another process
		_, err := other.SignIn(ctx, "ada@example.com", goodPassword, "10.0.0.9")
		var e *engram.Error
		if engram.ErrorCode(err) != engram.ERateLimited || !errorAs(err, &e) || e.Details["retry_after"] != 40 {
			t.Fatalf("the fourth attempt: %v (%+v), want rate_limited with retry_after 40", err, e)
		}
		// Another email from the same address is not limited by it.
		if _, err := st.SignIn(ctx, "bob@example.com", "wrong password", "10.0.0.1"); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("another email: %v, want unauthorized", err)
		}
		c.add(40 * time.Second)
		if _, err := st.SignIn(ctx, "ada@example.com", goodPassword, "10.0.0.1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

func errorAs(err error, e **engram.Error) bool {
	v, ok := err.(*engram.Error)
	*e = v
	return ok
}

// TestSessions: an access token expires by the clock; a refresh rotates
// both tokens; reusing a spent refresh token revokes the whole family;
// sign-out and a password change revoke sessions at once.
func TestSessions(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := accounts(s, c, cheap)
		ctx := context.Background()
		first := signedUp(t, st, "ada@example.com")
		c.add(time.Hour)
		if _, err := st.Authenticate(ctx, first.Tokens.AccessToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Fatalf("an access token an hour old: %v, want unauthorized", err)
		}
		var second engram.Session
		n := statementsOf(t, func(ctx context.Context) (err error) {
			second, err = st.Refresh(ctx, first.Tokens.RefreshToken)
			return err
		})
		if n != 3 {
			t.Errorf("Refresh sent %d statements, want 3", n)
		}
		if second.Tokens.AccessToken == first.Tokens.AccessToken || second.Tokens.RefreshToken == first.Tokens.RefreshToken ||
			second.User.ID != first.User.ID || second.Tenant.ID != first.Tenant.ID {
			t.Fatalf("refresh = %+v", second)
		}
		if _, err := st.Authenticate(ctx, second.Tokens.AccessToken); err != nil {
			t.Fatalf("the refreshed access token: %v", err)
		}
		// The spent token again: the family dies, the live pair with it.
		if _, err := st.Refresh(ctx, first.Tokens.RefreshToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Fatalf("reusing a spent refresh token: %v, want unauthorized", err)
		}
		if _, err := st.Authenticate(ctx, second.Tokens.AccessToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("after reuse, the family's live access token: %v, want unauthorized", err)
		}
		if _, err := st.Refresh(ctx, second.Tokens.RefreshToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("after reuse, the family's live refresh token: %v, want unauthorized", err)
		}

		// A refresh token expires after 30 days.
		third, err := st.SignIn(ctx, "ada@example.com", goodPassword, "")
		if err != nil {
			t.Fatal(err)
		}
		c.add(30 * 24 * time.Hour)
		if _, err := st.Refresh(ctx, third.Tokens.RefreshToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("a refresh token 30 days old: %v, want unauthorized", err)
		}

		// Sign-out revokes the session; a password change revokes the others.
		a, _ := st.SignIn(ctx, "ada@example.com", goodPassword, "")
		b, _ := st.SignIn(ctx, "ada@example.com", goodPassword, "")
		pa, err := st.Authenticate(ctx, a.Tokens.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ChangePassword(ctx, pa, "wrong current pw", "a new long passphrase"); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("a password change with the wrong current password: %v", err)
		}
		if err := st.ChangePassword(ctx, pa, goodPassword, "password123"); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("a change to a common password: %v", err)
		}
		if err := st.ChangePassword(ctx, pa, goodPassword, "a new long passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, b.Tokens.AccessToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("another session after a password change: %v, want unauthorized", err)
		}
		if _, err := st.Authenticate(ctx, a.Tokens.AccessToken); err != nil {
			t.Errorf("the session that changed the password: %v", err)
		}
		if _, err := st.SignIn(ctx, "ada@example.com", goodPassword, ""); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("the old password: %v", err)
		}
		if err := st.SignOut(ctx, pa); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, a.Tokens.AccessToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("after sign-out: %v, want unauthorized", err)
		}
		if _, err := st.Refresh(ctx, a.Tokens.RefreshToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("refresh after sign-out: %v, want unauthorized", err)
		}
	})
}

// statementsOf runs fn with a statement counter and returns the count.
func statementsOf(t *testing.T, fn func(ctx context.Context) error) int {
	t.Helper()
	ctx, st := engram.WithQueryStats(context.Background())
	if err := fn(ctx); err != nil {
		t.Fatal(err)
	}
	return st.Count()
}

// TestInvitationsAndUsers: an invitation is single-use and expires; the
// invited user gets the role; the last admin cannot be demoted or
// removed; deactivation kills sessions and the user's keys at once; and
// another tenant's users are not found.
func TestInvitationsAndUsers(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := accounts(s, c, cheap)
		ctx := context.Background()
		admin := signedUp(t, st, "ada@example.com")
		tn := admin.Tenant.ID
		if _, err := st.Invite(ctx, tn, admin.User.ID, "ada@example.com", engram.RoleMember); engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("inviting an existing account: %v, want conflict", err)
		}
		inv, err := st.Invite(ctx, tn, admin.User.ID, "Bob@Example.com", engram.RoleMember)
		if err != nil || inv.Email != "bob@example.com" || !strings.HasPrefix(inv.Token, engram.InvitationTokenPrefix) ||
			!inv.ExpiresAt.Equal(c.now().Add(7*24*time.Hour)) {
			t.Fatalf("invite = %+v, %v", inv, err)
		}
		late, err := st.Invite(ctx, tn, admin.User.ID, "carol@example.com", engram.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		bob, err := st.AcceptInvitation(ctx, inv.Token, goodPassword, "Bob")
		if err != nil || bob.User.Role != engram.RoleMember || bob.User.TenantID != tn || bob.User.FullName != "Bob" {
			t.Fatalf("accept = %+v, %v", bob, err)
		}
		if _, err := st.AcceptInvitation(ctx, inv.Token, goodPassword, "Bob"); engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("accepting twice: %v, want conflict", err)
		}
		c.add(7 * 24 * time.Hour)
		if _, err := st.AcceptInvitation(ctx, late.Token, goodPassword, "Carol"); engram.ErrorCode(err) != engram.EInvalid ||
			!strings.Contains(engram.ErrorMessage(err), "expired") {
			t.Errorf("an expired invitation: %v, want invalid_argument naming the expiry", err)
		}
		if _, err := st.AcceptInvitation(ctx, "egi_nothing", goodPassword, "X"); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("an unknown invitation: %v, want not_found", err)
		}

		// The last admin stays.
		member := engram.RoleMember
		if _, err := st.UpdateUser(ctx, tn, admin.User.ID, admin.User.ID, engram.UserPatch{Role: &member}); engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("demoting the last admin: %v, want conflict", err)
		}
		if err := st.DeactivateUser(ctx, tn, admin.User.ID, admin.User.ID); engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("removing the last admin: %v, want conflict", err)
		}
		adminRole := engram.RoleAdmin
		var promoted engram.User
		n := statementsOf(t, func(ctx context.Context) (err error) {
			promoted, err = st.UpdateUser(ctx, tn, admin.User.ID, bob.User.ID, engram.UserPatch{Role: &adminRole})
			return err
		})
		if n != 4 || promoted.Role != engram.RoleAdmin {
			t.Errorf("promote = %+v in %d statements, want admin in 4", promoted, n)
		}
		if _, err := st.UpdateUser(ctx, tn, admin.User.ID, admin.User.ID, engram.UserPatch{Role: &member}); err != nil {
			t.Errorf("demoting an admin who is not the last: %v", err)
		}
		if _, err := st.UpdateUser(ctx, tn, bob.User.ID, admin.User.ID, engram.UserPatch{Role: &adminRole}); err != nil {
			t.Fatal(err)
		}

		// Deactivation: sessions and the user's keys die at once.
		bobIn, err := st.SignIn(ctx, "bob@example.com", goodPassword, "")
		if err != nil {
			t.Fatal(err)
		}
		bobKey := engram.GenerateKey(engram.RoleMember, "bob's script")
		if err := testdb.Driver(s).Writer().APIKeyInsert(ctx, tn, engram.APIKeyRow{ID: bobKey.ID, Name: bobKey.Name, Role: bobKey.Role,
			Hash: engram.HashKey(bobKey.Secret), Prefix: bobKey.Prefix, CreatedAt: c.now(), UserID: bob.User.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Authenticate(ctx, bobKey.Secret); err != nil {
			t.Fatal(err)
		}
		n = statementsOf(t, func(ctx context.Context) error { return st.DeactivateUser(ctx, tn, admin.User.ID, bob.User.ID) })
		if n != 6 {
			t.Errorf("DeactivateUser sent %d statements, want 6", n)
		}
		for what, secret := range map[string]string{"session": bobIn.Tokens.AccessToken, "first session": bob.Tokens.AccessToken, "key": bobKey.Secret} {
			if _, err := st.Authenticate(ctx, secret); engram.ErrorCode(err) != engram.EUnauthorized {
				t.Errorf("a deactivated user's %s: %v, want unauthorized", what, err)
			}
		}
		if _, err := st.SignIn(ctx, "bob@example.com", goodPassword, ""); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("a deactivated user signing in: %v", err)
		}
		if _, err := st.Refresh(ctx, bobIn.Tokens.RefreshToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("a deactivated user's refresh: %v", err)
		}
		list, err := st.ListUsers(ctx, tn)
		if err != nil || len(list) != 2 || list[1].DeactivatedAt == nil {
			t.Errorf("users = %+v, %v; want 2, bob deactivated", list, err)
		}

		// Another tenant sees none of it.
		other := signedUp(t, st, "eve@example.org")
		if _, err := st.GetUser(ctx, other.Tenant.ID, admin.User.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("reading another tenant's user: %v, want not_found", err)
		}
		if _, err := st.UpdateUser(ctx, other.Tenant.ID, other.User.ID, admin.User.ID, engram.UserPatch{Role: &member}); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("changing another tenant's user: %v, want not_found", err)
		}
		if err := st.DeactivateUser(ctx, other.Tenant.ID, other.User.ID, admin.User.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("removing another tenant's user: %v, want not_found", err)
		}
		if list, _ := st.ListUsers(ctx, other.Tenant.ID); len(list) != 1 || list[0].ID != other.User.ID {
			t.Errorf("the other tenant lists %+v", list)
		}
		if _, err := st.SignIn(ctx, "ada@example.com", goodPassword, ""); err != nil {
			t.Errorf("the admin after all that: %v", err)
		}
	})
}

// TestCreateUserAndReset: the command line's accounts get a generated
// password that signs in; a reset replaces it and ends the sessions.
func TestCreateUserAndReset(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := accounts(s, c, cheap)
		ctx := context.Background()
		if _, _, err := st.CreateTenant(ctx, "Acme", "acme"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CreateUser(ctx, "nope", "a@example.com", engram.RoleAdmin, ""); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("an unknown tenant: %v", err)
		}
		u, pw, err := st.CreateUser(ctx, "acme", "root@example.com", engram.RoleAdmin, "Root")
		if err != nil || len(pw) < 20 || u.Role != engram.RoleAdmin {
			t.Fatalf("create = %+v, %q, %v", u, pw, err)
		}
		in, err := st.SignIn(ctx, "root@example.com", pw, "")
		if err != nil || in.Tenant.Slug != "acme" {
			t.Fatalf("sign-in with the generated password: %+v, %v", in, err)
		}
		_, pw2, err := st.ResetPassword(ctx, "root@example.com")
		if err != nil || pw2 == pw {
			t.Fatalf("reset: %v", err)
		}
		if _, err := st.Authenticate(ctx, in.Tokens.AccessToken); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Errorf("a session after a reset: %v", err)
		}
		if _, err := st.SignIn(ctx, "root@example.com", pw2, ""); err != nil {
			t.Errorf("the new password: %v", err)
		}
		if _, _, err := st.ResetPassword(ctx, "nobody@example.com"); engram.ErrorCode(err) != engram.ENotFound {
			t.Errorf("resetting an unknown email: %v", err)
		}
	})
}
