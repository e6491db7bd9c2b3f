package engram

import (
	"context"
	"encoding/json"
	"time"
)

// Store is everything engram keeps in its database. Both engines (sqlite,
// postgres) implement it and pass the same conformance suite (storetest).
// Every method that touches tenant data takes the tenant id and scopes
// every statement by it: a row of another tenant behaves exactly as a row
// that does not exist.
type Store interface {
	TenantStore
	AccountStore
	DocumentStore
	BulkStore
	ConnectorStore
	JobStore
	GapStore
	JobScheduler
	ClassifierStore
	SearchStore
	EmbedStore
	ChatStore
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Ping checks that the database answers. Returns unavailable.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// TenantStore manages tenants and their API keys.
type TenantStore interface {
	// CreateTenant creates a tenant and its first admin API key in one
	// transaction. Returns invalid_argument or conflict (slug taken).
	CreateTenant(ctx context.Context, name, slug string) (Tenant, NewKey, error)
	// CreateAPIKey adds a key to the tenant with the given slug. Returns
	// invalid_argument or not_found.
	CreateAPIKey(ctx context.Context, tenantSlug string, role Role, name string, expiresAt *time.Time) (NewKey, error)
	// CreateUserAPIKey adds a key to the tenant for the API: it belongs to
	// userID unless "" (and dies when that user is deactivated), and is
	// audited with actor. Returns invalid_argument.
	CreateUserAPIKey(ctx context.Context, tenantID, actor, userID string, role Role, name string, expiresAt *time.Time) (NewKey, error)
	// ListAPIKeys lists the tenant's keys, revoked and expired ones
	// included, oldest first.
	ListAPIKeys(ctx context.Context, tenantID string) ([]APIKey, error)
	// RevokeAPIKey revokes one of the tenant's keys at once, and audits
	// it. Revoking a revoked key changes nothing. Returns not_found.
	RevokeAPIKey(ctx context.Context, tenantID, actor, id string) error
	// TenantBySlug returns the tenant with the given slug. Returns
	// not_found.
	TenantBySlug(ctx context.Context, slug string) (Tenant, error)
	// Tenant returns the tenant with the given id, for work that starts
	// from an id (a job) and needs the tenant's slug or settings. Returns
	// not_found.
	Tenant(ctx context.Context, id string) (Tenant, error)
	// CountTenants returns the number of tenants.
	CountTenants(ctx context.Context) (int, error)
	// Authenticate resolves an API key to its principal, and notes when the
	// key was last used. Returns unauthorized for an unknown or revoked key
	// or an inactive tenant.
	Authenticate(ctx context.Context, secret string) (Principal, error)
}

// AccountStore manages users, their sessions and invitations. Secrets
// (passwords, tokens) exist only in the answers that create them.
type AccountStore interface {
	// SignUp creates a tenant and its first admin user and signs them in.
	// Returns invalid_argument or conflict (email taken).
	SignUp(ctx context.Context, in SignUp) (Session, error)
	// SignIn checks an email and password and opens a session. client is
	// the caller's address, for the sign-in limit. A wrong email and a
	// wrong password give the same unauthorized; too many attempts give
	// rate_limited with the seconds to wait in Details["retry_after"].
	SignIn(ctx context.Context, email, password, client string) (Session, error)
	// Refresh spends a refresh token for a new session of the same
	// family. A token spent before revokes its whole family. Returns
	// unauthorized.
	Refresh(ctx context.Context, refreshToken string) (Session, error)
	// SignOut revokes the caller's session (its family). Returns
	// invalid_argument for a caller that is not a session.
	SignOut(ctx context.Context, p Principal) error
	// ChangePassword changes the caller's password when current is right,
	// and revokes the user's other sessions. Returns invalid_argument,
	// unauthorized (wrong current password).
	ChangePassword(ctx context.Context, p Principal, current, next string) error
	// Invite makes a one-time invitation to the tenant. Returns
	// invalid_argument or conflict (the email has an account).
	Invite(ctx context.Context, tenantID, actor, email string, role Role) (Invitation, error)
	// AcceptInvitation spends an invitation: creates its user with the
	// password and signs them in. Returns invalid_argument, not_found
	// (unknown token), conflict (used, or the email has an account).
	AcceptInvitation(ctx context.Context, token, password, fullName string) (Session, error)
	// CreateUser makes an active user of the tenant with the given slug
	// and a generated password, which it returns. Returns
	// invalid_argument, not_found or conflict.
	CreateUser(ctx context.Context, tenantSlug, email string, role Role, fullName string) (User, string, error)
	// InviteBySlug is Invite for the tenant with the given slug, from the
	// system (the command line). Returns as Invite, or not_found.
	InviteBySlug(ctx context.Context, tenantSlug, email string, role Role) (Invitation, error)
	// ResetPassword sets a generated password for the user with the email
	// and revokes their sessions. Returns not_found.
	ResetPassword(ctx context.Context, email string) (User, string, error)
	// ListUsers lists the tenant's users, oldest first.
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// GetUser reads one user of the tenant. Returns not_found.
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	// UpdateUser changes a user's role or name. Demoting the tenant's
	// last active admin is a conflict. Returns invalid_argument,
	// not_found or conflict.
	UpdateUser(ctx context.Context, tenantID, actor, id string, p UserPatch) (User, error)
	// DeactivateUser deactivates a user: their sessions and keys stop
	// working at once; their audit history stays. The last active admin
	// cannot be removed (conflict). Returns not_found or conflict.
	DeactivateUser(ctx context.Context, tenantID, actor, id string) error
}

// DocumentStore creates, reads and edits documents.
type DocumentStore interface {
	// CreateDocuments inserts prepared documents and their chunks in one
	// transaction of a constant number of statements, whatever their
	// number. Returns invalid_argument or conflict.
	CreateDocuments(ctx context.Context, tenantID string, docs []PreparedDocument) error
	// ListDocuments returns one page of the tenant's live documents,
	// without content. Returns invalid_argument.
	ListDocuments(ctx context.Context, tenantID string, f DocumentFilter) (DocumentPage, error)
	// GetDocument returns one document with its content. A soft-deleted
	// document is not_found unless includeDeleted.
	GetDocument(ctx context.Context, tenantID, id string, includeDeleted bool) (Document, error)
	// UpdateDocument changes title and metadata of a live document and
	// returns it. Returns not_found.
	UpdateDocument(ctx context.Context, tenantID, id string, p DocumentPatch) (Document, error)
}

// BulkStore runs the review and delete operations over sets of documents.
// Each call is one transaction of at most four statements whatever the
// number of ids, and writes one audit_log row. Ids that are not live
// documents of the tenant come back in NotFound; they are not an error.
type BulkStore interface {
	// ClassifyDocuments reads the selected documents, runs classify over
	// them and stores the results, never overwriting a document a person
	// confirmed. Returns invalid_argument or the classifier's error.
	ClassifyDocuments(ctx context.Context, tenantID, actorKeyID string, sel ClassifySelection, classify ClassifyFunc) (ClassifyOutcome, error)
	// SetClassification records a person's classification.
	SetClassification(ctx context.Context, tenantID, actorKeyID string, ids []string, c Classification) (BulkResult, error)
	// ConfirmDocuments marks documents confirmed by a person, optionally
	// setting their class.
	ConfirmDocuments(ctx context.Context, tenantID, actorKeyID string, ids []string, c *Classification) (BulkResult, error)
	// RejectDocuments marks documents rejected by a person, keeping reason.
	RejectDocuments(ctx context.Context, tenantID, actorKeyID string, ids []string, reason string) (BulkResult, error)
	// DeleteDocuments soft-deletes documents, or hard-deletes them with
	// their chunks and writes a tombstone for each that came from a
	// connector. Hard delete also purges soft-deleted documents.
	DeleteDocuments(ctx context.Context, tenantID, actorKeyID string, ids []string, hard bool) (BulkResult, error)
	// RestoreDocuments undoes soft deletes. Ids that are not soft-deleted
	// documents of the tenant come back in NotFound.
	RestoreDocuments(ctx context.Context, tenantID, actorKeyID string, ids []string) (BulkResult, error)
	// DocumentStats counts the tenant's documents in one statement.
	DocumentStats(ctx context.Context, tenantID string) (DocumentStats, error)
}

// BulkResult says what a bulk operation changed.
type BulkResult struct {
	Changed    int
	Tombstoned int
	NotFound   []string
}

// DocumentStats is the stats panel of the document list.
type DocumentStats struct {
	Total             int                    `json:"total"`
	ByStatus          map[DocumentStatus]int `json:"by_status"`
	ByClassification  map[Classification]int `json:"by_classification"`
	NeedsReview       int                    `json:"needs_review"`
	AverageConfidence *float64               `json:"average_confidence"`
	Deleted           int                    `json:"deleted"`
}

// ClassifySelection picks documents to classify: the given ids, or (when
// IDs is empty) the tenant's pending documents, oldest first, up to Limit.
type ClassifySelection struct {
	IDs                  []string
	Limit                int
	AutoConfirmThreshold *float64
	// Settings are the tenant's settings, passed to the classifier.
	Settings json.RawMessage
}

// ClassifyFunc classifies a batch; it is the store's hook for a Classifier.
type ClassifyFunc func(ctx context.Context, docs []ClassifyInput) ([]ClassifyResult, error)

// ClassifyOutcome is what a classify run did.
type ClassifyOutcome struct {
	Total         int
	ByClass       map[Classification]int
	AutoConfirmed int
	NeedsReview   int
	NotFound      []string
	// Skipped lists documents a person already confirmed or rejected;
	// the classifier never overwrites them.
	Skipped []string
	// Results holds each classified document's result by id.
	Results map[string]ClassifyResult
}

// ClassifyInput is what a classifier sees of a document.
type ClassifyInput struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Content     string          `json:"content"`
	Sender      string          `json:"sender"`
	SenderEmail string          `json:"sender_email"`
	SourceType  string          `json:"source_type"`
	Metadata    json.RawMessage `json:"metadata"`
}

// ClassifyResult is a classifier's verdict on one document.
type ClassifyResult struct {
	Classification Classification `json:"classification"`
	Confidence     float64        `json:"confidence"`
	Reason         string         `json:"reason"`
	IsBorderline   bool           `json:"is_borderline"`
}

// BorderlineConfidence is the confidence below which a result is
// borderline whatever the classifier says.
const BorderlineConfidence = 0.65

// Classifier classifies documents in batches. Implementations must return
// exactly one result per input, in order. settings are the tenant's
// settings JSON (for example its own mail domains).
type Classifier interface {
	Classify(ctx context.Context, settings json.RawMessage, docs []ClassifyInput) ([]ClassifyResult, error)
}

// Bulk limits.
const (
	MaxBulkIDs       = 10000
	MaxClassifyLimit = 1000
)

// Clock returns the current time; stores take one so tests can pin it.
type Clock func() time.Time

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version   int64      `json:"version"`
	Name      string     `json:"name"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// Migrator applies and rolls back a store's schema migrations.
type Migrator interface {
	// MigrateUp applies every pending migration and returns their names.
	MigrateUp(ctx context.Context) ([]string, error)
	// MigrateDown rolls back the newest applied migration and returns its
	// name. Returns not_found when nothing is applied.
	MigrateDown(ctx context.Context) (string, error)
	// MigrationStatus lists every known migration.
	MigrationStatus(ctx context.Context) ([]MigrationState, error)
}

// NewDocumentStats returns stats with every status and class present at 0.
func NewDocumentStats() DocumentStats {
	st := DocumentStats{ByStatus: map[DocumentStatus]int{}, ByClassification: map[Classification]int{}}
	for _, s := range DocumentStatuses {
		st.ByStatus[s] = 0
	}
	for _, c := range Classifications {
		st.ByClassification[c] = 0
	}
	return st
}

// Fill sets the per-status and per-class counts from slices in the order
// of DocumentStatuses and Classifications.
func (st *DocumentStats) Fill(byStatus, byClass []int) {
	for i, s := range DocumentStatuses {
		st.ByStatus[s] = byStatus[i]
	}
	for i, c := range Classifications {
		st.ByClassification[c] = byClass[i]
	}
}
