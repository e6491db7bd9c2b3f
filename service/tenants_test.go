package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestKeysExpireAndRevoke: a key stops working at its expiry by the
// store's clock, and at once when revoked; revoking is audited, names only
// the tenant's own keys, and an expiry must lie in the future.
func TestKeysExpireAndRevoke(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
		st := withClock(s, c)
		ctx := context.Background()
		tn, admin, err := st.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		other, otherAdmin, err := st.CreateTenant(ctx, "Globex", "globex")
		if err != nil {
			t.Fatal(err)
		}
		past := c.now().Add(-time.Minute)
		refused(t, "a key expiring in the past", engram.EInvalid, func(ctx context.Context) error {
			_, err := st.CreateAPIKey(ctx, "acme", engram.RoleViewer, "late", &past)
			return err
		})
		in := c.now().Add(48 * time.Hour)
		key, err := st.CreateAPIKey(ctx, "acme", engram.RoleViewer, "two days", &in)
		if err != nil {
			t.Fatal(err)
		}
		if key.ExpiresAt == nil || !key.ExpiresAt.Equal(in) {
			t.Fatalf("created key = %+v", key)
		}
		if p, err := st.Authenticate(ctx, key.Secret); err != nil || p.TenantID != tn.ID {
			t.Fatalf("before expiry: %+v, %v", p, err)
		}
		c.add(48 * time.Hour)
		_, err = st.Authenticate(ctx, key.Secret)
		if engram.ErrorCode(err) != engram.EUnauthorized || !strings.Contains(engram.ErrorMessage(err), "expired") {
			t.Fatalf("at expiry: %v, want unauthorized naming the expiry", err)
		}

		// Revoke: the tenant's own key only, audited, at once.
		if err := st.RevokeAPIKey(ctx, tn.ID, admin.ID, otherAdmin.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("revoking another tenant's key: %v, want not_found", err)
		}
		if _, err := st.Authenticate(ctx, otherAdmin.Secret); err != nil {
			t.Fatalf("the other tenant's key after a refused revoke: %v", err)
		}
		member, err := st.CreateAPIKey(ctx, "acme", engram.RoleMember, "bot", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctxS, stats := engram.WithQueryStats(ctx)
		if err := st.RevokeAPIKey(ctxS, tn.ID, admin.ID, member.ID); err != nil {
			t.Fatal(err)
		}
		if stats.Count() != 2 {
			t.Errorf("RevokeAPIKey sent %d statements, want 2 (revoke, audit)", stats.Count())
		}
		if _, err := st.Authenticate(ctx, member.Secret); engram.ErrorCode(err) != engram.EUnauthorized {
			t.Fatalf("a revoked key: %v, want unauthorized", err)
		}
		if err := st.RevokeAPIKey(ctx, tn.ID, admin.ID, member.ID); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		keys, err := st.ListAPIKeys(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 || keys[2].ID != member.ID || keys[2].RevokedAt == nil || keys[1].ExpiresAt == nil {
			t.Fatalf("keys = %+v", keys)
		}
		if keys, err := st.ListAPIKeys(ctx, other.ID); err != nil || len(keys) != 1 || keys[0].ID != otherAdmin.ID {
			t.Fatalf("the other tenant's keys = %+v, %v", keys, err)
		}
	})
}
