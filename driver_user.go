package engram

import (
	"context"
	"time"
)

// UserRow is a user as stored, with the password's hash (an argon2id
// string that carries its own parameters).
type UserRow struct {
	User
	PasswordHash string
}

// UserSignIn is a user found by email before any tenant is known, with
// their tenant.
type UserSignIn struct {
	UserRow
	Tenant       TenantRef
	TenantActive bool
}

// SessionRow is a session as stored: hashes of its tokens, never the
// tokens.
type SessionRow struct {
	ID               string
	UserID           string
	FamilyID         string
	AccessHash       string
	RefreshHash      string
	CreatedAt        time.Time
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
}

// SessionOwner is what SessionAuthenticate finds for an access token's
// hash.
type SessionOwner struct {
	Principal
	AccessExpiresAt time.Time
}

// RefreshFound is the session a refresh token's hash names, spent or
// not, with its user and tenant.
type RefreshFound struct {
	TenantID         string
	SessionID        string
	FamilyID         string
	RefreshExpiresAt time.Time
	// Spent: the token was rotated or its session revoked.
	Spent        bool
	User         User
	Tenant       TenantRef
	TenantActive bool
}

// InvitationRow is an invitation as stored.
type InvitationRow struct {
	ID        string
	Email     string
	Role      Role
	TokenHash string
	InvitedBy string // a user or key id; "" for the system
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InvitationFound is an invitation found by its token's hash.
type InvitationFound struct {
	InvitationRow
	TenantID     string
	AcceptedAt   *time.Time
	Tenant       TenantRef
	TenantActive bool
}

// LimitHit is one sign-in attempt counted against a bucket that admits
// Max attempts a window.
type LimitHit struct {
	Bucket string
	Max    int
}

// LimitCount is a bucket's state after an attempt: the attempts in its
// window, which ends at WindowEnd.
type LimitCount struct {
	Bucket    string
	Attempts  int
	Max       int
	WindowEnd time.Time
}

// UserExecutor runs the statements of users, sessions, invitations and
// the sign-in limiter. The look-ups by email or token hash start from no
// tenant (sign-in names none); everything else names its tenant.
type UserExecutor interface {
	// UserInsert inserts a user of the tenant. One statement. Returns
	// conflict when the email is taken (on any tenant).
	UserInsert(ctx context.Context, tenantID string, u UserRow) error
	// UserByEmail reads the user with the (normalized) email, of any
	// tenant, with the tenant, and reports whether there is one. One
	// statement.
	UserByEmail(ctx context.Context, email string) (UserSignIn, bool, error)
	// UserGet reads one user of the tenant with the hash. One statement.
	UserGet(ctx context.Context, tenantID, id string) (UserRow, bool, error)
	// UserList reads the tenant's users, deactivated ones included,
	// oldest first. One statement.
	UserList(ctx context.Context, tenantID string) ([]User, error)
	// UserUpdate sets the role and name the patch gives of an active
	// user, and reports whether there is one. One statement.
	UserUpdate(ctx context.Context, tenantID, id string, p UserPatch) (bool, error)
	// UserSetPassword sets an active user's password hash. One statement.
	UserSetPassword(ctx context.Context, tenantID, id, hash string) (bool, error)
	// UserSignedIn notes a sign-in at at and, unless newHash is "",
	// replaces the password hash (parameters raised). One statement.
	UserSignedIn(ctx context.Context, tenantID, id string, at time.Time, newHash string) error
	// UserDeactivate deactivates an active user at at. One statement.
	UserDeactivate(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
	// UserAdminsLocked counts the tenant's active admins, locking their
	// rows where the engine locks rows (so two requests cannot both
	// demote "the other" last admin). One statement.
	UserAdminsLocked(ctx context.Context, tenantID string) (int, error)

	// SessionInsert inserts a session of the tenant. One statement.
	SessionInsert(ctx context.Context, tenantID string, s SessionRow) error
	// SessionAuthenticate reads the live session with the access token
	// hash (not rotated, not revoked, of an active user of an active
	// tenant) as a principal. One statement.
	SessionAuthenticate(ctx context.Context, accessHash string) (SessionOwner, bool, error)
	// SessionByRefresh reads the session with the refresh token hash,
	// spent or not. One statement.
	SessionByRefresh(ctx context.Context, refreshHash string) (RefreshFound, bool, error)
	// SessionRotate marks a live session's refresh token spent at at, and
	// reports whether it was live. One statement.
	SessionRotate(ctx context.Context, tenantID, id string, at time.Time) (bool, error)
	// SessionRevokeFamily revokes every session of the family of session
	// id, and returns how many were live. One statement.
	SessionRevokeFamily(ctx context.Context, tenantID, id string, at time.Time) (int, error)
	// SessionRevokeUser revokes the user's live sessions except those of
	// exceptFamily ("": none). One statement.
	SessionRevokeUser(ctx context.Context, tenantID, userID, exceptFamily string, at time.Time) (int, error)
	// APIKeyRevokeUser revokes the keys that belong to the user. One
	// statement.
	APIKeyRevokeUser(ctx context.Context, tenantID, userID string, at time.Time) (int, error)

	// InvitationInsert inserts an invitation. One statement.
	InvitationInsert(ctx context.Context, tenantID string, inv InvitationRow) error
	// InvitationByToken reads the invitation with the token hash, of any
	// tenant. One statement.
	InvitationByToken(ctx context.Context, tokenHash string) (InvitationFound, bool, error)
	// InvitationAccept marks an unaccepted invitation that has not
	// expired by at accepted, and reports whether it was. One statement.
	InvitationAccept(ctx context.Context, tenantID, id string, at time.Time) (bool, error)

	// SigninLimitHit counts one attempt against each bucket, starting a
	// new window (window long, doubled for each window in a row that went
	// over its limit) where the last one has ended, and returns each
	// bucket's count. One statement.
	SigninLimitHit(ctx context.Context, hits []LimitHit, at time.Time, window time.Duration) ([]LimitCount, error)
}
