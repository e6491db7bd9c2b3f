package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// CreateTenant creates a tenant and its first admin key in one transaction.
func (s *Store) CreateTenant(ctx context.Context, name, slug string) (engram.Tenant, engram.NewKey, error) {
	if err := engram.ValidateTenant(name, slug); err != nil {
		return engram.Tenant{}, engram.NewKey{}, err
	}
	now := ts(s.now())
	t := engram.Tenant{ID: engram.NewID(), Name: name, Slug: slug, Settings: map[string]any{}, IsActive: true, CreatedAt: now, UpdatedAt: now}
	key := engram.GenerateKey(engram.RoleAdmin, "admin")
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, "tenant.create",
			`INSERT INTO tenants (id, name, slug, settings, is_active, created_at, updated_at)
			 VALUES ($1, $2, $3, '{}', true, $4, $4)`, t.ID, name, slug, now); err != nil {
			if engram.ErrorCode(err) == engram.EConflict {
				return engram.Errorf(engram.EConflict, "slug: a tenant with slug %q already exists", slug)
			}
			return err
		}
		_, err := exec(ctx, tx, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			t.ID, key.ID, key.Name, string(key.Role), engram.HashKey(key.Secret), key.Prefix, now)
		return err
	})
	if err != nil {
		return engram.Tenant{}, engram.NewKey{}, err
	}
	return t, key, nil
}

// CreateAPIKey adds a key to the tenant with the given slug, in one
// statement that finds the tenant and inserts the key.
func (s *Store) CreateAPIKey(ctx context.Context, tenantSlug string, role engram.Role, name string) (engram.NewKey, error) {
	if !role.Valid() {
		return engram.NewKey{}, engram.Errorf(engram.EInvalid, "role: %q is not one of admin, member, viewer", role)
	}
	key := engram.GenerateKey(role, name)
	var tag int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := exec(ctx, tx, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
			 SELECT id, $1, $2, $3, $4, $5, $6 FROM tenants WHERE slug = $7`,
			key.ID, name, string(role), engram.HashKey(key.Secret), key.Prefix, ts(s.now()), tenantSlug)
		tag = t.RowsAffected()
		return err
	})
	if err != nil {
		return engram.NewKey{}, err
	}
	if tag == 0 {
		return engram.NewKey{}, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", tenantSlug)
	}
	return key, nil
}

// TenantBySlug reads one tenant.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, error) {
	var t engram.Tenant
	var settings []byte
	err := s.read(ctx, func(c *pgxConn) error {
		return queryRow(ctx, c, "tenant.by_slug",
			`SELECT id::text, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE slug = $1`,
			[]any{slug}, &t.ID, &t.Name, &t.Slug, &settings, &t.IsActive, &t.CreatedAt, &t.UpdatedAt)
	})
	if isNoRows(err) {
		return t, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", slug)
	}
	if err != nil {
		return t, err
	}
	_ = json.Unmarshal(settings, &t.Settings)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// CountTenants counts tenants.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := s.read(ctx, func(c *pgxConn) error {
		return queryRow(ctx, c, "tenant.count", `SELECT count(*) FROM tenants`, nil, &n)
	})
	return n, err
}

// lastUsedGranularity bounds how often a key's last_used_at is written, so
// that reads do not each cost a write.
const lastUsedGranularity = time.Minute

// Authenticate resolves a key in one statement, plus one write at most once
// a minute per key to note its use.
func (s *Store) Authenticate(ctx context.Context, secret string) (engram.Principal, error) {
	var p engram.Principal
	var role string
	var settings []byte
	var lastUsed *time.Time
	now := ts(s.now())
	err := s.read(ctx, func(c *pgxConn) error {
		err := queryRow(ctx, c, "apikey.authenticate",
			`SELECT k.tenant_id::text, k.id::text, k.role, t.slug, t.settings, k.last_used_at
			   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
			  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.is_active`,
			[]any{engram.HashKey(secret)}, &p.TenantID, &p.KeyID, &role, &p.TenantSlug, &settings, &lastUsed)
		if isNoRows(err) {
			return engram.Errorf(engram.EUnauthorized, "invalid or revoked API key")
		}
		if err != nil {
			return err
		}
		if lastUsed == nil || now.Sub(*lastUsed) > lastUsedGranularity {
			_, err = exec(ctx, c, "apikey.touch",
				`UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3`, now, p.TenantID, p.KeyID)
		}
		return err
	})
	if err != nil {
		return engram.Principal{}, err
	}
	p.Role = engram.Role(role)
	p.TenantSettings = settings
	return p, nil
}
