package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// testAccounts: sign-in, sign-out, failed sign-ins, invitations, role
// changes, deactivations and key revocations are audited with their
// actor recorded as a user or a key; no password or token is stored as
// it is; the statement budgets of sign-in and sign-out; and a user of
// another tenant reaches nothing.
func testAccounts(t *testing.T, h Harness) {
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()
	const pw = "correct horse battery"
	up, err := f.s.SignUp(ctx, engram.SignUp{Email: "ada@example.com", Password: pw, FullName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	tn, ada := up.Tenant.ID, up.User.ID
	wantActor := func(action, key, user string) {
		t.Helper()
		k, u := f.in.AuditActor(t, tn, action)
		if k != key || u != user {
			t.Errorf("%s audited with key %q, user %q; want key %q, user %q", action, k, u, key, user)
		}
	}
	wantActor("auth.signup", "", ada)

	var in engram.Session
	ctxN, st := engram.WithQueryStats(ctx)
	if in, err = f.s.SignIn(ctxN, "ada@example.com", pw, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if st.Count() != 5 {
		t.Errorf("SignIn sent %d statements, want 5 (limit, user, signed-in, session, audit)", st.Count())
	}
	wantActor("auth.signin", "", ada)
	if _, err := f.s.SignIn(ctx, "ada@example.com", "wrong password", "192.0.2.1"); engram.ErrorCode(err) != engram.EUnauthorized {
		t.Fatalf("a wrong password: %v", err)
	}
	wantActor("auth.signin_failed", "", ada)

	p, err := f.s.Authenticate(ctx, in.Tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := f.s.Invite(ctx, tn, p.Actor(), "bob@example.com", engram.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	wantActor("users.invite", "", ada)
	bob, err := f.s.AcceptInvitation(ctx, inv.Token, "another fine passphrase", "Bob")
	if err != nil {
		t.Fatal(err)
	}
	wantActor("users.invitation_accepted", "", bob.User.ID)
	viewer := engram.RoleViewer
	if _, err := f.s.UpdateUser(ctx, tn, p.Actor(), bob.User.ID, engram.UserPatch{Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	wantActor("users.role_change", "", ada)

	// A key acts as a key: a key of the tenant made by the command line.
	key, err := f.s.CreateAPIKey(ctx, up.Tenant.Slug, engram.RoleAdmin, "ops", nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.CreateAPIKey(ctx, up.Tenant.Slug, engram.RoleViewer, "dashboard", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.RevokeAPIKey(ctx, tn, p.Actor(), other.ID); err != nil {
		t.Fatal(err)
	}
	wantActor("apikeys.revoke", "", ada)
	if err := f.s.DeactivateUser(ctx, tn, key.ID, bob.User.ID); err != nil {
		t.Fatal(err)
	}
	wantActor("users.deactivate", key.ID, "")

	ctxN, st = engram.WithQueryStats(ctx)
	if err := f.s.SignOut(ctxN, p); err != nil {
		t.Fatal(err)
	}
	if st.Count() != 2 {
		t.Errorf("SignOut sent %d statements, want 2", st.Count())
	}
	wantActor("auth.signout", "", ada)

	// Nothing secret is stored as it is.
	secrets := []string{pw, "another fine passphrase", in.Tokens.AccessToken, in.Tokens.RefreshToken, inv.Token,
		bob.Tokens.AccessToken, bob.Tokens.RefreshToken, key.Secret, other.Secret}
	stored := f.in.AccountSecrets(t, tn)
	if len(stored) < 8 {
		t.Fatalf("%d stored secret hashes, want at least 8", len(stored))
	}
	for _, v := range stored {
		for _, secret := range secrets {
			if strings.Contains(v, secret) {
				t.Errorf("a stored value contains a secret in plain text")
			}
		}
	}

	// The fixture's tenant (acme) cannot see or touch Ada's tenant's users.
	if _, err := f.s.GetUser(ctx, f.tenant.ID, ada); engram.ErrorCode(err) != engram.ENotFound {
		t.Errorf("another tenant reading a user: %v, want not_found", err)
	}
	if err := f.s.DeactivateUser(ctx, f.tenant.ID, f.key.ID, ada); engram.ErrorCode(err) != engram.ENotFound {
		t.Errorf("another tenant removing a user: %v, want not_found", err)
	}
	if _, err := f.s.Invite(ctx, f.tenant.ID, f.key.ID, "ada@example.com", engram.RoleAdmin); engram.ErrorCode(err) != engram.EConflict {
		t.Errorf("another tenant inviting a taken email: %v, want conflict", err)
	}
	if list, err := f.s.ListUsers(ctx, f.tenant.ID); err != nil || len(list) != 0 {
		t.Errorf("the fixture's tenant lists %+v, %v", list, err)
	}
}

// testLastAdminRace: two admins demoting each other at the same moment
// leave exactly one admin: the admins' rows are locked (PostgreSQL) or
// the writes serialised (SQLite) while the count is taken.
func testLastAdminRace(t *testing.T, h Harness) {
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()
	up, err := f.s.SignUp(ctx, engram.SignUp{Email: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	tn := up.Tenant.ID
	bob, _, err := f.s.CreateUser(ctx, up.Tenant.Slug, "bob@example.com", engram.RoleAdmin, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		member := engram.RoleMember
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, pair := range [][2]string{{up.User.ID, bob.ID}, {bob.ID, up.User.ID}} {
			go func() {
				<-start
				_, err := f.s.UpdateUser(ctx, tn, pair[0], pair[1], engram.UserPatch{Role: &member})
				errs <- err
			}()
		}
		close(start)
		var ok, conflicts int
		for range 2 {
			switch err := <-errs; engram.ErrorCode(err) {
			case "":
				ok++
			case engram.EConflict:
				conflicts++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		users, err := f.s.ListUsers(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range users {
			if u.Role == engram.RoleAdmin {
				admins++
			}
		}
		if ok != 1 || conflicts != 1 || admins != 1 {
			t.Fatalf("round %d: %d demotions passed, %d refused, %d admins left; want 1, 1, 1", round, ok, conflicts, admins)
		}
		// Make both admins again for the next round.
		admin := engram.RoleAdmin
		for _, id := range []string{up.User.ID, bob.ID} {
			if _, err := f.s.UpdateUser(ctx, tn, "", id, engram.UserPatch{Role: &admin}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
