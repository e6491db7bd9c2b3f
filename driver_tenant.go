package engram

import (
	"context"
	"time"
)

// APIKeyRow is an API key as stored: its hash and display prefix, never
// the secret.
type APIKeyRow struct {
	ID        string
	Name      string
	Role      Role
	Hash      string
	Prefix    string
	CreatedAt time.Time
	ExpiresAt *time.Time
	// UserID is the user the key belongs to; "" for none.
	UserID string
}

// KeyOwner is what APIKeyAuthenticate finds for a key hash: the principal
// it stands for, and when the key was last used (nil for never).
type KeyOwner struct {
	Principal
	LastUsedAt *time.Time
	// ExpiresAt is when the key stops working; nil: never. Whether it has
	// is the use case's rule, decided against its clock.
	ExpiresAt *time.Time
}

// TenantExecutor runs the tenant and API key statements. Tenants and keys
// are looked up before any tenant is known (by slug, by key hash), so
// these are the statements that do not start from a tenant id.
type TenantExecutor interface {
	// TenantInsert inserts an active tenant with empty settings, created
	// at at. One statement. Returns conflict when the slug (or id) is
	// taken.
	TenantInsert(ctx context.Context, id, name, slug string, at time.Time) error
	// APIKeyInsert inserts a key of the tenant. One statement.
	APIKeyInsert(ctx context.Context, tenantID string, k APIKeyRow) error
	// APIKeyInsertForSlug inserts a key of the tenant with the given slug,
	// finding the tenant in the same statement, and reports whether there
	// was one. One statement.
	APIKeyInsertForSlug(ctx context.Context, slug string, k APIKeyRow) (bool, error)
	// TenantBySlug reads the tenant with the given slug, and reports
	// whether there is one. One statement. A stored settings value that is
	// not a JSON object is an internal error.
	TenantBySlug(ctx context.Context, slug string) (Tenant, bool, error)
	// TenantGet reads the tenant with the given id, and reports whether
	// there is one. One statement; settings as TenantBySlug.
	TenantGet(ctx context.Context, id string) (Tenant, bool, error)
	// TenantCount counts the tenants. One statement.
	TenantCount(ctx context.Context) (int, error)
	// APIKeyAuthenticate reads the unrevoked key with the given hash of an
	// active tenant, with its tenant's slug and settings, and reports
	// whether there is one. One statement.
	APIKeyAuthenticate(ctx context.Context, keyHash string) (KeyOwner, bool, error)
	// APIKeyTouch sets the key's last use to at. One statement.
	APIKeyTouch(ctx context.Context, tenantID, keyID string, at time.Time) error
	// APIKeyList reads the tenant's keys, revoked ones included, oldest
	// first. One statement.
	APIKeyList(ctx context.Context, tenantID string) ([]APIKey, error)
	// APIKeyRevoke revokes the tenant's key at at (a key revoked before
	// keeps its time) and reports whether the key exists. One statement.
	APIKeyRevoke(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
}
