package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testTenants(t *testing.T, h Harness) {
	t.Run("InsertAndRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
		id := engram.NewID()
		key := engram.GenerateKey(engram.RoleMember, "ci")
		row := engram.APIKeyRow{ID: key.ID, Name: key.Name, Role: key.Role, Hash: engram.HashKey(key.Secret), Prefix: key.Prefix, CreatedAt: at}
		tenant := -1
		n := statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error {
				if err := tx.TenantInsert(ctx, id, "Globex", "globex", at); err != nil {
					return err
				}
				tenant = statementsSoFar(ctx)
				return tx.APIKeyInsert(ctx, id, row)
			})
		})
		wantStatements(t, "TenantInsert", tenant, 1)
		wantStatements(t, "APIKeyInsert", n-tenant, 1)

		var got engram.Tenant
		var found bool
		n = statements(t, func(ctx context.Context) (err error) {
			got, found, err = f.d.Reader().TenantBySlug(ctx, "globex")
			return err
		})
		wantStatements(t, "TenantBySlug", n, 1)
		if !found || got.ID != id || got.Name != "Globex" || got.Slug != "globex" || !got.IsActive ||
			got.Settings == nil || len(got.Settings) != 0 || !got.CreatedAt.Equal(at) || !got.UpdatedAt.Equal(at) ||
			got.CreatedAt.Location() != time.UTC {
			t.Fatalf("TenantBySlug = %+v, %v", got, found)
		}
		n = statements(t, func(ctx context.Context) (err error) {
			_, found, err = f.d.Reader().TenantBySlug(ctx, "initech")
			return err
		})
		wantStatements(t, "TenantBySlug of a missing slug", n, 1)
		if found {
			t.Error("TenantBySlug found a tenant that does not exist")
		}

		var owner engram.KeyOwner
		n = statements(t, func(ctx context.Context) (err error) {
			owner, found, err = f.d.Reader().APIKeyAuthenticate(ctx, row.Hash)
			return err
		})
		wantStatements(t, "APIKeyAuthenticate", n, 1)
		if !found || owner.TenantID != id || owner.KeyID != key.ID || owner.Role != engram.RoleMember ||
			owner.TenantSlug != "globex" || string(owner.TenantSettings) != "{}" || owner.LastUsedAt != nil {
			t.Fatalf("APIKeyAuthenticate = %+v, %v", owner, found)
		}

		// The slug is the tenants' one global key.
		err := f.d.Writer().TenantInsert(context.Background(), engram.NewID(), "Globex 2", "globex", at)
		if engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("TenantInsert of a taken slug: %v, want conflict", err)
		}
	})

	t.Run("InsertKeyForSlug", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		key := engram.GenerateKey(engram.RoleViewer, "dashboard")
		row := engram.APIKeyRow{ID: key.ID, Name: key.Name, Role: key.Role, Hash: engram.HashKey(key.Secret), Prefix: key.Prefix, CreatedAt: time.Now()}
		cases := []struct {
			slug string
			want bool
		}{{"nope", false}, {"acme", true}}
		for _, c := range cases {
			var ok bool
			n := statements(t, func(ctx context.Context) (err error) {
				ok, err = f.d.Writer().APIKeyInsertForSlug(ctx, c.slug, row)
				return err
			})
			wantStatements(t, "APIKeyInsertForSlug "+c.slug, n, 1)
			if ok != c.want {
				t.Errorf("APIKeyInsertForSlug %s = %v, want %v", c.slug, ok, c.want)
			}
		}
		owner, found, err := f.d.Reader().APIKeyAuthenticate(context.Background(), row.Hash)
		if err != nil || !found || owner.TenantID != f.tenant || owner.KeyID != key.ID || owner.Role != engram.RoleViewer {
			t.Fatalf("the inserted key authenticates as %+v, %v, %v", owner, found, err)
		}
	})

	t.Run("Count", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		if err := f.d.Writer().TenantInsert(context.Background(), engram.NewID(), "Two", "two", time.Now()); err != nil {
			t.Fatal(err)
		}
		var got int
		n := statements(t, func(ctx context.Context) (err error) {
			got, err = f.d.Reader().TenantCount(ctx)
			return err
		})
		wantStatements(t, "TenantCount", n, 1)
		if got != 2 {
			t.Errorf("TenantCount = %d, want 2", got)
		}
	})

	t.Run("AuthenticateAndTouch", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		if _, found, err := f.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey("egm_unknown")); err != nil || found {
			t.Fatalf("an unknown key: found %v, %v", found, err)
		}
		key, err := f.s.CreateAPIKey(ctx, "acme", engram.RoleAdmin, "touched")
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.s.CreateAPIKey(ctx, "acme", engram.RoleAdmin, "untouched")
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)
		n := statements(t, func(ctx context.Context) error {
			return f.d.Writer().APIKeyTouch(ctx, f.tenant, key.ID, at)
		})
		wantStatements(t, "APIKeyTouch", n, 1)
		owner, found, err := f.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey(key.Secret))
		if err != nil || !found || owner.LastUsedAt == nil || !owner.LastUsedAt.Equal(at) || owner.LastUsedAt.Location() != time.UTC {
			t.Fatalf("after APIKeyTouch: %+v, %v, %v; want last used at %v", owner, found, err, at)
		}
		// Only that key was touched.
		o, found, err := f.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey(other.Secret))
		if err != nil || !found || o.KeyID != other.ID || o.LastUsedAt != nil {
			t.Errorf("the other key after APIKeyTouch: %+v, %v, %v; want never used", o, found, err)
		}
	})
}
