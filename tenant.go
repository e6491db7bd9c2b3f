package engram

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// Tenant is one organisation. All of its data is keyed by its id.
type Tenant struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Slug      string         `json:"slug"`
	Settings  map[string]any `json:"settings"`
	IsActive  bool           `json:"is_active"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Role is what an API key may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMember || r == RoleViewer
}

// CanWrite reports whether the role may change data.
func (r Role) CanWrite() bool { return r == RoleAdmin || r == RoleMember }

// Principal is the caller of a request, established from its credential
// only: an API key (KeyID) or a user's session (UserID, SessionID).
type Principal struct {
	TenantID   string
	TenantSlug string
	KeyID      string
	// UserID and SessionID are set when a user's session token
	// authenticated the request; FamilyID is the session's family.
	UserID    string
	SessionID string
	FamilyID  string
	Role      Role
	// TenantSettings is the tenant's settings JSON, read with the key so a
	// request needs no second look-up (the classifier uses it).
	TenantSettings json.RawMessage
}

// Actor is the id the audit log and the jobs record for the caller: the
// user of a session, else the API key.
func (p Principal) Actor() string {
	if p.UserID != "" {
		return p.UserID
	}
	return p.KeyID
}

// Kind names the caller's credential for messages: "API key" or "user".
func (p Principal) Kind() string {
	if p.UserID != "" {
		return "user"
	}
	return "API key"
}

// NewKey is an API key as returned once at creation; Secret is never stored.
type NewKey struct {
	ID     string `json:"id"`
	Secret string `json:"api_key"`
	Role   Role   `json:"role"`
	Prefix string `json:"prefix"`
	Name   string `json:"name"`
	// ExpiresAt is when the key stops working; nil: never.
	ExpiresAt *time.Time `json:"expires_at"`
}

// APIKey is a stored key as listed: never its secret or hash.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// UserID is the user the key belongs to; "" for none.
	UserID string `json:"user_id,omitempty"`
}

const keyPrefix = "egm_"

// GenerateKey makes a new random API key. Only HashKey(secret) and the
// display prefix are stored.
func GenerateKey(role Role, name string) NewKey {
	var b [25]byte
	_, _ = rand.Read(b[:])
	secret := keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return NewKey{ID: NewID(), Secret: secret, Role: role, Prefix: secret[:12], Name: name}
}

// HashKey returns the hex SHA-256 of an API key, the only form of it that
// is stored.
func HashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidSlug reports whether s is a well-formed tenant slug: one path
// component of lowercase letters, digits and dashes.
func ValidSlug(s string) bool { return slugRe.MatchString(s) }

// Slugify turns a tenant name into a slug candidate.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// ValidateTenant checks a new tenant's name and slug.
func ValidateTenant(name, slug string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EInvalid, "name: must not be empty")
	}
	if len(name) > 200 {
		return Errorf(EInvalid, "name: at most 200 characters")
	}
	if !slugRe.MatchString(slug) {
		return Errorf(EInvalid, "slug: %q must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit", slug)
	}
	return nil
}
