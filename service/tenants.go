package service

import (
	"context"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// Tenants and their API keys. A key's secret exists only in the answer
// that creates it: the drivers store its hash and display prefix.

// lastUsedGranularity bounds how often a key's last use is written, so
// that every authenticated read does not also cost a write.
const lastUsedGranularity = time.Minute

// CreateTenant creates an active tenant and its first admin key in one
// transaction of two statements. Returns invalid_argument, or conflict
// when the slug is taken.
func (s *Store) CreateTenant(ctx context.Context, name, slug string) (engram.Tenant, engram.NewKey, error) {
	if err := engram.ValidateTenant(name, slug); err != nil {
		return engram.Tenant{}, engram.NewKey{}, err
	}
	// Truncated as the engines store it, so the tenant returned is the
	// tenant read back later.
	now := s.now().UTC().Truncate(time.Microsecond)
	t := engram.Tenant{ID: engram.NewID(), Name: name, Slug: slug, Settings: map[string]any{}, IsActive: true, CreatedAt: now, UpdatedAt: now}
	key := engram.GenerateKey(engram.RoleAdmin, "admin")
	err := s.inTx(ctx, t.ID, func(tx engram.Tx) error {
		if err := tx.TenantInsert(ctx, t.ID, name, slug, now); err != nil {
			if engram.ErrorCode(err) == engram.EConflict {
				return engram.Errorf(engram.EConflict, "slug: a tenant with slug %q already exists", slug)
			}
			return err
		}
		return tx.APIKeyInsert(ctx, t.ID, keyRow(key, now))
	})
	if err != nil {
		return engram.Tenant{}, engram.NewKey{}, err
	}
	return t, key, nil
}

// CreateUserAPIKey adds a key to the tenant, owned by userID unless "",
// and audits it: one transaction of two statements. Returns
// invalid_argument.
func (s *Store) CreateUserAPIKey(ctx context.Context, tenantID, actor, userID string, role engram.Role, name string, expiresAt *time.Time) (engram.NewKey, error) {
	key, err := s.newKey(role, name, expiresAt)
	if err != nil {
		return engram.NewKey{}, err
	}
	row := keyRow(key, s.now())
	row.UserID = userID
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.APIKeyInsert(ctx, tenantID, row); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, actor, "apikeys.create", "api_key", 1,
			map[string]any{"id": key.ID, "role": role, "user_id": userID})
	})
	if err != nil {
		return engram.NewKey{}, err
	}
	return key, nil
}

// newKey checks a new key's role and expiry and makes it.
func (s *Store) newKey(role engram.Role, name string, expiresAt *time.Time) (engram.NewKey, error) {
	if !role.Valid() {
		return engram.NewKey{}, engram.Errorf(engram.EInvalid, "role: %q is not one of admin, member, viewer", role)
	}
	if len(name) > 200 {
		return engram.NewKey{}, engram.Errorf(engram.EInvalid, "name: at most 200 characters")
	}
	if expiresAt != nil {
		if err := engram.CheckTime(expiresAt); err != nil {
			return engram.NewKey{}, engram.Errorf(engram.EInvalid, "expires_at: %s", err.Message)
		}
		if !expiresAt.After(s.now()) {
			return engram.NewKey{}, engram.Errorf(engram.EInvalid, "expires_at: %s is not in the future", expiresAt.UTC().Format(time.RFC3339))
		}
		e := expiresAt.UTC().Truncate(time.Microsecond)
		expiresAt = &e
	}
	key := engram.GenerateKey(role, name)
	key.ExpiresAt = expiresAt
	return key, nil
}

// CreateAPIKey adds a key to the tenant with the given slug, expiring at
// expiresAt unless nil: one statement that finds the tenant and inserts
// the key. Returns invalid_argument or not_found.
func (s *Store) CreateAPIKey(ctx context.Context, tenantSlug string, role engram.Role, name string, expiresAt *time.Time) (engram.NewKey, error) {
	key, err := s.newKey(role, name, expiresAt)
	if err != nil {
		return engram.NewKey{}, err
	}
	ok, err := s.d.Writer().APIKeyInsertForSlug(ctx, tenantSlug, keyRow(key, s.now()))
	if err != nil {
		return engram.NewKey{}, err
	}
	if !ok {
		return engram.NewKey{}, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", tenantSlug)
	}
	return key, nil
}

// keyRow is what is stored of a new key.
func keyRow(k engram.NewKey, at time.Time) engram.APIKeyRow {
	return engram.APIKeyRow{ID: k.ID, Name: k.Name, Role: k.Role, Hash: engram.HashKey(k.Secret), Prefix: k.Prefix, CreatedAt: at, ExpiresAt: k.ExpiresAt}
}

// TenantBySlug reads one tenant. Returns not_found.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (engram.Tenant, error) {
	t, ok, err := s.d.Reader().TenantBySlug(ctx, slug)
	if err != nil {
		return engram.Tenant{}, err
	}
	if !ok {
		return engram.Tenant{}, engram.Errorf(engram.ENotFound, "tenant: no tenant with slug %q", slug)
	}
	return t, nil
}

// Tenant reads one tenant by id. Returns not_found.
func (s *Store) Tenant(ctx context.Context, id string) (engram.Tenant, error) {
	if _, ok := engram.ParseID(id); !ok {
		return engram.Tenant{}, engram.Errorf(engram.ENotFound, "tenant %s not found", id)
	}
	t, ok, err := s.d.Reader().TenantGet(ctx, id)
	if err != nil {
		return engram.Tenant{}, err
	}
	if !ok {
		return engram.Tenant{}, engram.Errorf(engram.ENotFound, "tenant %s not found", id)
	}
	return t, nil
}

// CountTenants counts the tenants.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	return s.d.Reader().TenantCount(ctx)
}

// Authenticate resolves a key to its principal in one statement, plus one
// write, at most once a minute per key, to note its use; a session's
// access token (engram.AccessTokenPrefix) to its user in one statement.
// Returns unauthorized for an unknown, expired or revoked key or session,
// a deactivated user or an inactive tenant.
func (s *Store) Authenticate(ctx context.Context, secret string) (engram.Principal, error) {
	if strings.HasPrefix(secret, engram.AccessTokenPrefix) {
		return s.authenticateSession(ctx, secret)
	}
	k, ok, err := s.d.Reader().APIKeyAuthenticate(ctx, engram.HashKey(secret))
	if err != nil {
		return engram.Principal{}, err
	}
	if !ok {
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "invalid or revoked API key")
	}
	now := s.now()
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return engram.Principal{}, engram.Errorf(engram.EUnauthorized, "API key expired at %s", k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > lastUsedGranularity {
		if err := s.d.Writer().APIKeyTouch(ctx, k.TenantID, k.KeyID, now); err != nil {
			return engram.Principal{}, err
		}
	}
	return k.Principal, nil
}

// ListAPIKeys lists the tenant's keys in one statement.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]engram.APIKey, error) {
	return s.d.Reader().APIKeyList(ctx, tenantID)
}

// RevokeAPIKey revokes one key and audits it, in one transaction of two
// statements; the key stops working at the next request. Returns
// not_found.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, actor, id string) error {
	if _, ok := engram.ParseID(id); !ok {
		return engram.Errorf(engram.ENotFound, "API key %s not found", id)
	}
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ok, err := tx.APIKeyRevoke(ctx, tenantID, id, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return engram.Errorf(engram.ENotFound, "API key %s not found", id)
		}
		return s.audit(ctx, tx, tenantID, actor, "apikeys.revoke", "api_key", 1, map[string]any{"id": id})
	})
}
