package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// TenantInsert inserts an active tenant with empty settings.
func (e *executor) TenantInsert(ctx context.Context, id, name, slug string, at time.Time) error {
	_, err := exec(ctx, e.q, "tenant.create",
		`INSERT INTO tenants (id, name, slug, settings, is_active, created_at, updated_at)
		 VALUES (?, ?, ?, '{}', 1, ?, ?)`, id, name, slug, fmtTime(at), fmtTime(at))
	return err
}

// APIKeyInsert inserts a key of the tenant.
func (e *executor) APIKeyInsert(ctx context.Context, tenantID string, k engram.APIKeyRow) error {
	_, err := exec(ctx, e.q, "apikey.create",
		`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at, expires_at, user_id)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, nullif(?, ''))`,
		tenantID, k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, fmtTime(k.CreatedAt), fmtTimePtr(k.ExpiresAt), k.UserID)
	return err
}

// APIKeyInsertForSlug finds the tenant and inserts the key in one
// statement.
func (e *executor) APIKeyInsertForSlug(ctx context.Context, slug string, k engram.APIKeyRow) (bool, error) {
	res, err := exec(ctx, e.q, "apikey.create",
		`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at, expires_at)
		 SELECT id, ?, ?, ?, ?, ?, ?, ? FROM tenants WHERE slug = ?`,
		k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, fmtTime(k.CreatedAt), fmtTimePtr(k.ExpiresAt), slug)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// TenantBySlug reads one tenant.
func (e *executor) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, bool, error) {
	return e.tenant(ctx, "tenant.by_slug", `SELECT id, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE slug = ?`, slug)
}

// TenantGet reads one tenant by id.
func (e *executor) TenantGet(ctx context.Context, id string) (engram.Tenant, bool, error) {
	return e.tenant(ctx, "tenant.get", `SELECT id, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE id = ?`, id)
}

// tenant reads the one tenant a statement selects.
func (e *executor) tenant(ctx context.Context, op, q string, arg string) (engram.Tenant, bool, error) {
	var t engram.Tenant
	var settings, created, updated string
	err := queryRow(ctx, e.q, op, q, arg).
		Scan(&t.ID, &t.Name, &t.Slug, &settings, &t.IsActive, &created, &updated)
	if isNoRows(err) {
		return t, false, nil
	}
	if err != nil {
		return t, false, translate(err)
	}
	if t.Settings, err = rows.DecodeSettings([]byte(settings)); err != nil {
		return t, false, err
	}
	t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
	return t, true, nil
}

// TenantCount counts tenants.
func (e *executor) TenantCount(ctx context.Context) (int, error) {
	var n int
	err := queryRow(ctx, e.q, "tenant.count", `SELECT count(*) FROM tenants`).Scan(&n)
	return n, translate(err)
}

// APIKeyAuthenticate reads a key by its hash, with its tenant.
func (e *executor) APIKeyAuthenticate(ctx context.Context, keyHash string) (engram.KeyOwner, bool, error) {
	var k engram.KeyOwner
	var role, settings string
	var lastUsed, expires sql.NullString
	err := queryRow(ctx, e.q, "apikey.authenticate",
		`SELECT k.tenant_id, k.id, k.role, t.slug, t.settings, k.last_used_at, k.expires_at
		   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
		  WHERE k.key_hash = ? AND k.revoked_at IS NULL AND t.is_active = 1`,
		keyHash).Scan(&k.TenantID, &k.KeyID, &role, &k.TenantSlug, &settings, &lastUsed, &expires)
	if isNoRows(err) {
		return k, false, nil
	}
	if err != nil {
		return k, false, translate(err)
	}
	k.Role = engram.Role(role)
	k.TenantSettings = []byte(settings)
	k.LastUsedAt, k.ExpiresAt = parseTimePtr(lastUsed), parseTimePtr(expires)
	return k, true, nil
}

// APIKeyTouch notes the key's last use.
func (e *executor) APIKeyTouch(ctx context.Context, tenantID, keyID string, at time.Time) error {
	_, err := exec(ctx, e.q, "apikey.touch",
		`UPDATE api_keys SET last_used_at = ? WHERE tenant_id = ? AND id = ?`, fmtTime(at), tenantID, keyID)
	return err
}

// APIKeyList reads the tenant's keys, oldest first.
func (e *executor) APIKeyList(ctx context.Context, tenantID string) ([]engram.APIKey, error) {
	rs, err := query(ctx, e.q, "apikey.list",
		`SELECT id, name, role, prefix, created_at, last_used_at, expires_at, revoked_at, coalesce(user_id, '')
		   FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.APIKey{}
	for rs.Next() {
		var k engram.APIKey
		var role, created string
		var used, expires, revoked sql.NullString
		if err := rs.Scan(&k.ID, &k.Name, &role, &k.Prefix, &created, &used, &expires, &revoked, &k.UserID); err != nil {
			return nil, translate(err)
		}
		k.Role, k.CreatedAt = engram.Role(role), parseTime(created)
		k.LastUsedAt, k.ExpiresAt, k.RevokedAt = parseTimePtr(used), parseTimePtr(expires), parseTimePtr(revoked)
		out = append(out, k)
	}
	return out, translate(rs.Err())
}

// APIKeyRevoke revokes one key; a revoked key keeps its first time.
func (e *executor) APIKeyRevoke(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	res, err := exec(ctx, e.q, "apikey.revoke",
		`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant_id = ? AND id = ?`, fmtTime(at), tenantID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
