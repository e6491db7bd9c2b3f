package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// TenantInsert inserts an active tenant with empty settings.
func (e *executor) TenantInsert(ctx context.Context, id, name, slug string, at time.Time) error {
	return e.run(ctx, "", func(q querier) error {
		_, err := exec(ctx, q, "tenant.create",
			`INSERT INTO tenants (id, name, slug, settings, is_active, created_at, updated_at)
			 VALUES ($1, $2, $3, '{}', true, $4, $4)`, id, name, slug, ts(at))
		return err
	})
}

// APIKeyInsert inserts a key of the tenant.
func (e *executor) APIKeyInsert(ctx context.Context, tenantID string, k engram.APIKeyRow) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			tenantID, k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, ts(k.CreatedAt), k.ExpiresAt)
		return err
	})
}

// APIKeyInsertForSlug finds the tenant and inserts the key in one
// statement.
func (e *executor) APIKeyInsertForSlug(ctx context.Context, slug string, k engram.APIKeyRow) (bool, error) {
	var n int64
	err := e.run(ctx, "", func(q querier) error {
		tag, err := exec(ctx, q, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at, expires_at)
			 SELECT id, $1, $2, $3, $4, $5, $6, $7 FROM tenants WHERE slug = $8`,
			k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, ts(k.CreatedAt), k.ExpiresAt, slug)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// TenantBySlug reads one tenant.
func (e *executor) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, bool, error) {
	return e.tenant(ctx, "tenant.by_slug",
		`SELECT id::text, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE slug = $1`, slug)
}

// TenantGet reads one tenant by id.
func (e *executor) TenantGet(ctx context.Context, id string) (engram.Tenant, bool, error) {
	return e.tenant(ctx, "tenant.get",
		`SELECT id::text, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE id = $1`, id)
}

// tenant reads the one tenant a statement selects.
func (e *executor) tenant(ctx context.Context, op, sql, arg string) (engram.Tenant, bool, error) {
	var t engram.Tenant
	var settings []byte
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, op, sql, []any{arg}, &t.ID, &t.Name, &t.Slug, &settings, &t.IsActive, &t.CreatedAt, &t.UpdatedAt)
	})
	if isNoRows(err) {
		return engram.Tenant{}, false, nil
	}
	if err != nil {
		return engram.Tenant{}, false, err
	}
	if t.Settings, err = rows.DecodeSettings(settings); err != nil {
		return engram.Tenant{}, false, err
	}
	inUTC(&t.CreatedAt, &t.UpdatedAt)
	return t, true, nil
}

// TenantCount counts tenants.
func (e *executor) TenantCount(ctx context.Context) (int, error) {
	var n int
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "tenant.count", `SELECT count(*) FROM tenants`, nil, &n)
	})
	return n, err
}

// APIKeyAuthenticate reads a key by its hash, with its tenant.
func (e *executor) APIKeyAuthenticate(ctx context.Context, keyHash string) (engram.KeyOwner, bool, error) {
	var k engram.KeyOwner
	var role string
	var settings []byte
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "apikey.authenticate",
			`SELECT k.tenant_id::text, k.id::text, k.role, t.slug, t.settings, k.last_used_at, k.expires_at
			   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
			  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.is_active`,
			[]any{keyHash}, &k.TenantID, &k.KeyID, &role, &k.TenantSlug, &settings, &k.LastUsedAt, &k.ExpiresAt)
	})
	if isNoRows(err) {
		return engram.KeyOwner{}, false, nil
	}
	if err != nil {
		return engram.KeyOwner{}, false, err
	}
	k.Role = engram.Role(role)
	k.TenantSettings = settings
	inUTC(k.LastUsedAt, k.ExpiresAt)
	return k, true, nil
}

// APIKeyTouch notes the key's last use.
func (e *executor) APIKeyTouch(ctx context.Context, tenantID, keyID string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "apikey.touch",
			`UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3`, ts(at), tenantID, keyID)
		return err
	})
}

// APIKeyList reads the tenant's keys, oldest first.
func (e *executor) APIKeyList(ctx context.Context, tenantID string) ([]engram.APIKey, error) {
	out := []engram.APIKey{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "apikey.list",
			`SELECT id::text, name, role, prefix, created_at, last_used_at, expires_at, revoked_at
			   FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var k engram.APIKey
			var role string
			if err := rs.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt); err != nil {
				return translate(err)
			}
			k.Role = engram.Role(role)
			inUTC(&k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt)
			out = append(out, k)
		}
		return translate(rs.Err())
	})
	return out, err
}

// APIKeyRevoke revokes one key; a revoked key keeps its first time.
func (e *executor) APIKeyRevoke(ctx context.Context, tenantID, id string, at time.Time) (bool, error) {
	var n int64
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "apikey.revoke",
			`UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE tenant_id = $2 AND id = $3`, ts(at), tenantID, id)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}
