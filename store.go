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
	DocumentStore
	BulkStore
	ConnectorStore
	JobStore
	GapStore
	JobScheduler
	SearchStore
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
