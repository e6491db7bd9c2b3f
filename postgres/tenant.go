package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// TenantInsert inserts an active tenant with empty settings.
func (e *executor) TenantInsert(ctx context.Context, id, name, slug string, at time.Time) error {
	return e.run(ctx, func(q querier) error {
		_, err := exec(ctx, q, "tenant.create",
			`INSERT INTO tenants (id, name, slug, settings, is_active, created_at, updated_at)
			 VALUES ($1, $2, $3, '{}', true, $4, $4)`, id, name, slug, ts(at))
		return err
	})
}

// APIKeyInsert inserts a key of the tenant.
func (e *executor) APIKeyInsert(ctx context.Context, tenantID string, k engram.APIKeyRow) error {
	return e.run(ctx, func(q querier) error {
		_, err := exec(ctx, q, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tenantID, k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, ts(k.CreatedAt))
		return err
	})
}

// APIKeyInsertForSlug finds the tenant and inserts the key in one
// statement.
func (e *executor) APIKeyInsertForSlug(ctx context.Context, slug string, k engram.APIKeyRow) (bool, error) {
	var n int64
	err := e.run(ctx, func(q querier) error {
		tag, err := exec(ctx, q, "apikey.create",
			`INSERT INTO api_keys (tenant_id, id, name, role, key_hash, prefix, created_at)
			 SELECT id, $1, $2, $3, $4, $5, $6 FROM tenants WHERE slug = $7`,
			k.ID, k.Name, string(k.Role), k.Hash, k.Prefix, ts(k.CreatedAt), slug)
		n = tag.RowsAffected()
		return err
	})
	return n > 0, err
}

// TenantBySlug reads one tenant.
func (e *executor) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, bool, error) {
	var t engram.Tenant
	var settings []byte
	err := e.run(ctx, func(q querier) error {
		return queryRow(ctx, q, "tenant.by_slug",
			`SELECT id::text, name, slug, settings, is_active, created_at, updated_at FROM tenants WHERE slug = $1`,
			[]any{slug}, &t.ID, &t.Name, &t.Slug, &settings, &t.IsActive, &t.CreatedAt, &t.UpdatedAt)
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
	err := e.run(ctx, func(q querier) error {
		return queryRow(ctx, q, "tenant.count", `SELECT count(*) FROM tenants`, nil, &n)
	})
	return n, err
}

// APIKeyAuthenticate reads a key by its hash, with its tenant.
func (e *executor) APIKeyAuthenticate(ctx context.Context, keyHash string) (engram.KeyOwner, bool, error) {
	var k engram.KeyOwner
	var role string
	var settings []byte
	err := e.run(ctx, func(q querier) error {
		return queryRow(ctx, q, "apikey.authenticate",
			`SELECT k.tenant_id::text, k.id::text, k.role, t.slug, t.settings, k.last_used_at
			   FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
			  WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.is_active`,
			[]any{keyHash}, &k.TenantID, &k.KeyID, &role, &k.TenantSlug, &settings, &k.LastUsedAt)
	})
	if isNoRows(err) {
		return engram.KeyOwner{}, false, nil
	}
	if err != nil {
		return engram.KeyOwner{}, false, err
	}
	k.Role = engram.Role(role)
	k.TenantSettings = settings
	inUTC(k.LastUsedAt)
	return k, true, nil
}

// APIKeyTouch notes the key's last use.
func (e *executor) APIKeyTouch(ctx context.Context, tenantID, keyID string, at time.Time) error {
	return e.run(ctx, func(q querier) error {
		_, err := exec(ctx, q, "apikey.touch",
			`UPDATE api_keys SET last_used_at = $1 WHERE tenant_id = $2 AND id = $3`, ts(at), tenantID, keyID)
		return err
	})
}
