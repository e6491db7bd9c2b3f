package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// testUsers: each user, session, invitation and limiter method sends one
// statement, reads and writes the rows it says, and never reaches
// another tenant's.
func testUsers(t *testing.T, h Harness) {
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	other := engram.NewID()
	if err := f.d.Writer().TenantInsert(ctx, other, "Globex", "globex", at); err != nil {
		t.Fatal(err)
	}
	u := engram.UserRow{User: engram.User{ID: engram.NewID(), Email: "ada@example.com", FullName: "Ada", Role: engram.RoleAdmin, CreatedAt: at},
		PasswordHash: "$argon2id$test"}
	one := func(what string, fn func(ctx context.Context) error) {
		t.Helper()
		n := statements(t, fn)
		wantStatements(t, what, n, 1)
	}
	one("UserInsert", func(ctx context.Context) error { return f.d.Writer().UserInsert(ctx, f.tenant, u) })
	dup := u
	dup.ID = engram.NewID()
	if err := f.d.Writer().UserInsert(ctx, other, dup); engram.ErrorCode(err) != engram.EConflict {
		t.Errorf("UserInsert of a taken email in another tenant: %v, want conflict", err)
	}
	var found engram.UserSignIn
	var ok bool
	one("UserByEmail", func(ctx context.Context) (err error) {
		found, ok, err = f.d.Reader().UserByEmail(ctx, "ada@example.com")
		return err
	})
	if !ok || found.ID != u.ID || found.TenantID != f.tenant || found.PasswordHash != u.PasswordHash || found.Tenant.Slug != "acme" ||
		!found.TenantActive || !found.CreatedAt.Equal(at) || found.Role != engram.RoleAdmin {
		t.Fatalf("UserByEmail = %+v, %v", found, ok)
	}
	if _, ok, _ := f.d.Reader().UserGet(ctx, other, u.ID); ok {
		t.Error("UserGet found the user through another tenant")
	}
	role := engram.RoleMember
	if ok, _ := f.d.Writer().UserUpdate(ctx, other, u.ID, engram.UserPatch{Role: &role}); ok {
		t.Error("UserUpdate changed a user through another tenant")
	}
	var admins int
	one("UserAdminsLocked", func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			admins, err = tx.UserAdminsLocked(ctx, f.tenant)
			return err
		})
	})
	if admins != 1 {
		t.Errorf("UserAdminsLocked = %d, want 1", admins)
	}
	one("UserSignedIn", func(ctx context.Context) error {
		return f.d.Writer().UserSignedIn(ctx, f.tenant, u.ID, at.Add(time.Minute), "$argon2id$new")
	})
	got, ok, err := f.d.Reader().UserGet(ctx, f.tenant, u.ID)
	if err != nil || !ok || got.PasswordHash != "$argon2id$new" || got.LastLoginAt == nil || !got.LastLoginAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("after UserSignedIn: %+v, %v, %v", got, ok, err)
	}

	s := engram.SessionRow{ID: engram.NewID(), UserID: u.ID, AccessHash: "a1", RefreshHash: "r1", CreatedAt: at,
		AccessExpiresAt: at.Add(time.Hour), RefreshExpiresAt: at.Add(24 * time.Hour)}
	s.FamilyID = s.ID
	one("SessionInsert", func(ctx context.Context) error { return f.d.Writer().SessionInsert(ctx, f.tenant, s) })
	var owner engram.SessionOwner
	one("SessionAuthenticate", func(ctx context.Context) (err error) {
		owner, ok, err = f.d.Reader().SessionAuthenticate(ctx, "a1")
		return err
	})
	if !ok || owner.UserID != u.ID || owner.TenantID != f.tenant || owner.SessionID != s.ID || owner.FamilyID != s.ID ||
		owner.Role != engram.RoleAdmin || owner.TenantSlug != "acme" || !owner.AccessExpiresAt.Equal(s.AccessExpiresAt) {
		t.Fatalf("SessionAuthenticate = %+v, %v", owner, ok)
	}
	if ok, _ := f.d.Writer().SessionRotate(ctx, other, s.ID, at); ok {
		t.Error("SessionRotate spent a session through another tenant")
	}
	one("SessionRotate", func(ctx context.Context) (err error) {
		ok, err = f.d.Writer().SessionRotate(ctx, f.tenant, s.ID, at)
		return err
	})
	if again, _ := f.d.Writer().SessionRotate(ctx, f.tenant, s.ID, at); !ok || again {
		t.Errorf("SessionRotate = %v, then %v; want true, then false", ok, again)
	}
	var rf engram.RefreshFound
	one("SessionByRefresh", func(ctx context.Context) (err error) {
		rf, ok, err = f.d.Reader().SessionByRefresh(ctx, "r1")
		return err
	})
	if !ok || !rf.Spent || rf.SessionID != s.ID || rf.User.ID != u.ID || rf.Tenant.ID != f.tenant || !rf.RefreshExpiresAt.Equal(s.RefreshExpiresAt) {
		t.Fatalf("SessionByRefresh = %+v, %v", rf, ok)
	}
	if _, ok, _ := f.d.Reader().SessionAuthenticate(ctx, "a1"); ok {
		t.Error("a rotated session still authenticates")
	}
	next := s
	next.ID, next.AccessHash, next.RefreshHash = engram.NewID(), "a2", "r2"
	third := next
	third.ID, third.FamilyID, third.AccessHash, third.RefreshHash = engram.NewID(), engram.NewID(), "a3", "r3"
	for _, row := range []engram.SessionRow{next, third} {
		if err := f.d.Writer().SessionInsert(ctx, f.tenant, row); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	one("SessionRevokeFamily", func(ctx context.Context) (err error) {
		n, err = f.d.Writer().SessionRevokeFamily(ctx, f.tenant, s.ID, at)
		return err
	})
	if _, live, _ := f.d.Reader().SessionAuthenticate(ctx, "a3"); n != 2 || !live {
		t.Errorf("SessionRevokeFamily revoked %d (want 2), the other family live: %v", n, live)
	}
	one("SessionRevokeUser", func(ctx context.Context) (err error) {
		n, err = f.d.Writer().SessionRevokeUser(ctx, f.tenant, u.ID, "", at)
		return err
	})
	if _, live, _ := f.d.Reader().SessionAuthenticate(ctx, "a3"); n != 1 || live {
		t.Errorf("SessionRevokeUser revoked %d (want 1), the family live: %v", n, live)
	}
	key := engram.GenerateKey(engram.RoleMember, "ada's")
	if err := f.d.Writer().APIKeyInsert(ctx, f.tenant, engram.APIKeyRow{ID: key.ID, Name: key.Name, Role: key.Role,
		Hash: engram.HashKey(key.Secret), Prefix: key.Prefix, CreatedAt: at, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	one("APIKeyRevokeUser", func(ctx context.Context) (err error) {
		n, err = f.d.Writer().APIKeyRevokeUser(ctx, f.tenant, u.ID, at)
		return err
	})
	if _, live, _ := f.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey(key.Secret)); n != 1 || live {
		t.Errorf("APIKeyRevokeUser revoked %d, key live %v", n, live)
	}
	if _, live, _ := f.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey(f.actorSecret(t))); !live {
		t.Error("APIKeyRevokeUser revoked a key of no user")
	}
	one("UserDeactivate", func(ctx context.Context) (err error) {
		ok, err = f.d.Writer().UserDeactivate(ctx, f.tenant, u.ID, at)
		return err
	})
	if again, _ := f.d.Writer().UserDeactivate(ctx, f.tenant, u.ID, at); !ok || again {
		t.Errorf("UserDeactivate = %v, then %v", ok, again)
	}
	list, err := f.d.Reader().UserList(ctx, f.tenant)
	if err != nil || len(list) != 1 || list[0].DeactivatedAt == nil {
		t.Errorf("UserList = %+v, %v", list, err)
	}

	inv := engram.InvitationRow{ID: engram.NewID(), Email: "bob@example.com", Role: engram.RoleViewer, TokenHash: "i1",
		CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	one("InvitationInsert", func(ctx context.Context) error { return f.d.Writer().InvitationInsert(ctx, f.tenant, inv) })
	var fi engram.InvitationFound
	one("InvitationByToken", func(ctx context.Context) (err error) {
		fi, ok, err = f.d.Reader().InvitationByToken(ctx, "i1")
		return err
	})
	if !ok || fi.TenantID != f.tenant || fi.Email != inv.Email || fi.Role != engram.RoleViewer || fi.AcceptedAt != nil || !fi.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Fatalf("InvitationByToken = %+v, %v", fi, ok)
	}
	if ok, _ := f.d.Writer().InvitationAccept(ctx, f.tenant, inv.ID, at.Add(time.Hour)); ok {
		t.Error("InvitationAccept spent an expired invitation")
	}
	one("InvitationAccept", func(ctx context.Context) (err error) {
		ok, err = f.d.Writer().InvitationAccept(ctx, f.tenant, inv.ID, at)
		return err
	})
	if again, _ := f.d.Writer().InvitationAccept(ctx, f.tenant, inv.ID, at); !ok || again {
		t.Errorf("InvitationAccept = %v, then %v", ok, again)
	}

	// The limiter: three attempts fill a window of 2; the next window
	// after one that went over is twice as long.
	hits := []engram.LimitHit{{Bucket: "email:x", Max: 2}, {Bucket: "addr:y", Max: 5}}
	var counts []engram.LimitCount
	for i := 0; i < 3; i++ {
		one("SigninLimitHit", func(ctx context.Context) (err error) {
			counts, err = f.d.Writer().SigninLimitHit(ctx, hits, at.Add(time.Duration(i)*time.Second), time.Minute)
			return err
		})
	}
	byBucket := map[string]engram.LimitCount{}
	for _, c := range counts {
		byBucket[c.Bucket] = c
	}
	if c := byBucket["email:x"]; c.Attempts != 3 || c.Max != 2 || !c.WindowEnd.Equal(at.Add(time.Minute)) {
		t.Errorf("email bucket = %+v", c)
	}
	if c := byBucket["addr:y"]; c.Attempts != 3 || c.Max != 5 {
		t.Errorf("address bucket = %+v", c)
	}
	counts, err = f.d.Writer().SigninLimitHit(ctx, hits[:1], at.Add(time.Minute), time.Minute)
	if err != nil || len(counts) != 1 || counts[0].Attempts != 1 || !counts[0].WindowEnd.Equal(at.Add(3*time.Minute)) {
		t.Errorf("after an over-limit window: %+v, %v; want 1 attempt in a window of 2 minutes", counts, err)
	}
}

// actorSecret makes a key of no user in the fixture's tenant and returns
// its secret.
func (f fixture) actorSecret(t *testing.T) string {
	t.Helper()
	k, err := f.s.CreateAPIKey(context.Background(), "acme", engram.RoleViewer, "no user", nil)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}
