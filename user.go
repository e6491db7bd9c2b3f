package engram

import (
	"crypto/rand"
	"encoding/base32"
	"net/mail"
	"strings"
	"time"
)

// User is a person of a tenant, as shown: never the password hash.
type User struct {
	ID            string     `json:"id"`
	TenantID      string     `json:"tenant_id"`
	Email         string     `json:"email"`
	FullName      string     `json:"full_name"`
	Role          Role       `json:"role"`
	CreatedAt     time.Time  `json:"created_at"`
	LastLoginAt   *time.Time `json:"last_login_at"`
	DeactivatedAt *time.Time `json:"deactivated_at"`
}

// UserPatch changes a user's role or name; nil fields stay.
type UserPatch struct {
	Role     *Role
	FullName *string
}

// TenantRef is a tenant as a sign-in answer names it.
type TenantRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// Tokens are a session's secrets as handed out once: the access token
// authenticates requests for ExpiresIn seconds, the refresh token buys a
// new pair (once).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// Session is a signed-in user: new tokens, the user and their tenant.
type Session struct {
	Tokens Tokens    `json:"tokens"`
	User   User      `json:"user"`
	Tenant TenantRef `json:"tenant"`
	// ID is the session's id (its family survives refreshes).
	ID string `json:"-"`
}

// Invitation is an invitation as made: Token is shown once, never stored.
type Invitation struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SignUp is what POST /api/auth/signup asks for.
type SignUp struct {
	Email            string
	Password         string
	FullName         string
	OrganizationName string
}

// Token prefixes say what a secret is, so a request's bearer secret goes
// to the right look-up and a leaked one is recognisable.
const (
	AccessTokenPrefix     = "egs_"
	RefreshTokenPrefix    = "egr_"
	InvitationTokenPrefix = "egi_"
)

// NewToken returns a new opaque random secret (200 bits) with prefix.
// Only HashKey(token) is stored.
func NewToken(prefix string) string {
	var b [25]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// NormalizeEmail trims an email and lowercases it: emails are compared
// and stored in this form.
func NormalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// ValidateEmail checks a normalized email address.
func ValidateEmail(e string) error {
	if e == "" {
		return Errorf(EInvalid, "email: must not be empty")
	}
	if len(e) > 254 {
		return Errorf(EInvalid, "email: at most 254 characters")
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return Errorf(EInvalid, "email: %q is not an email address", e)
	}
	return nil
}

// ValidateFullName checks a user's display name.
func ValidateFullName(n string) error {
	if len(n) > 200 {
		return Errorf(EInvalid, "full_name: at most 200 characters")
	}
	return nil
}
