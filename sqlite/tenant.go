package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// CreateTenant creates a tenant and its first admin key in one transaction.
func (s *Store) CreateTenant(ctx context.Context, name, slug string) (engram.Tenant, engram.NewKey, error) {
	if err := engram.ValidateTenant(name, slug); err != nil {
		return engram.Tenant{}, engram.NewKey{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	t := engram.Tenant{ID: engram.NewID(), Name: name, Slug: slug, Settings: map[string]any{}, IsActive: true, CreatedAt: now, UpdatedAt: now}
	key := engram.GenerateKey(engram.RoleAdmin, "admin")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := exec(ctx, tx, "tenant.create",
			`INSERT INTO tenants (id, name, slug, settings, is_active, created_at, updated_at)
			 VALUES (?, ?, ?, '{}', 1, ?, ?)`, t.ID, name, slug, fmtTime(now), fmtTime(now)); err != nil {
			if engram.ErrorCode(err) == engram.EConflict {
				return engram.Errorf(engram.EConflict, "slug: a tenant with slug %q already exists", slug)
			}
			return err
		}
		_, err := exec(ctx, tx, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, key.ID, key.Name, string(key.Role), engram.HashKey(key.Secret), key.Prefix, fmtTime(now))
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
	res, err := exec(ctx, s.write, "apikey.create",
		`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
		 SELECT id, ?, ?, ?, ?, ?, ? FROM tenants WHERE slug = ?`,
		key.ID, name, string(role), engram.HashKey(key.Secret), key.Prefix, s.nowText(), tenantSlug)
	if err != nil {
		return engram.NewKey{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return engram.NewKey{}, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", tenantSlug)
	}
	return key, nil
}

// TenantBySlug reads one tenant.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, error) {
	var t engram.Tenant
	var settings, created, updated string
	err := queryRow(ctx, s.read, "tenant.by_slug",
		`SELECT id, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE slug = ?`, slug).
		Scan(&t.ID, &t.Name, &t.Slug, &settings, &t.IsActive, &created, &updated)
	if isNoRows(err) {
		return t, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", slug)
	}
	if err != nil {
		return t, translate(err)
	}
	_ = json.Unmarshal([]byte(settings), &t.Settings)
	t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
	return t, nil
}

// CountTenants counts tenants.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := queryRow(ctx, s.read, "tenant.count", `SELECT count(*) FROM tenants`).Scan(&n)
	return n, translate(err)
}

// lastUsedGranularity bounds how often a key's last_used_at is written, so
// that reads do not each cost a write.
const lastUsedGranularity = time.Minute

// Authenticate resolves a key in one statement, plus one write at most once
// a minute per key to note its use.
func (s *Store) Authenticate(ctx context.Context, secret string) (engram.Principal, error) {
	var p engram.Principal
	var role, settings string
	var lastUsed sql.NullString
	err := queryRow(ctx, s.read, "apikey.authenticate",
		`SELECT k.tenant_id, k.id, k.role, t.slug, t.settings, k.last_used_at
		   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
		  WHERE k.key_hash = ? AND k.revoked_at IS NULL AND t.is_active = 1`,
		engram.HashKey(secret)).Scan(&p.TenantID, &p.KeyID, &role, &p.TenantSlug, &settings, &lastUsed)
	if isNoRows(err) {
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "invalid or revoked API key")
	}
	if err != nil {
		return engram.Principal{}, translate(err)
	}
	p.Role = engram.Role(role)
	p.TenantSettings = []byte(settings)
	now := s.now()
	if !lastUsed.Valid || now.Sub(parseTime(lastUsed.String)) > lastUsedGranularity {
		if _, err := exec(ctx, s.write, "apikey.touch",
			`UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?`,
			fmtTime(now), p.TenantID, p.KeyID); err != nil {
			return engram.Principal{}, err
		}
	}
	return p, nil
}
