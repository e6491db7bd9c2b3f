package engram

import (
	"context"
	"time"
)

// LockedDocuments is a set of a tenant's documents that DocumentsLock
// locked for the rest of a transaction: the ids asked for, and the
// engine's own handle on their rows (PostgreSQL's tuple ids; nothing on
// SQLite).
type LockedDocuments struct {
	IDs    []string
	Handle any
}

// ReviewAction is a person's decision over a set of documents.
type ReviewAction string

// The review actions; each is also the audit action "documents.<action>".
const (
	ReviewSetClassification ReviewAction = "set_classification"
	ReviewConfirm           ReviewAction = "confirm"
	ReviewReject            ReviewAction = "reject"
	ReviewSoftDelete        ReviewAction = "soft_delete"
	ReviewRestore           ReviewAction = "restore"
)

// ReviewChange is what DocumentsReview writes.
type ReviewChange struct {
	Action ReviewAction
	// Classification is set by ReviewSetClassification and, optionally,
	// ReviewConfirm.
	Classification *Classification
	// Reason is ReviewReject's reason.
	Reason string
}

// ClassifyQuery picks the documents a classifier reads: the given ids; or,
// when Bound is set, the pending ones with After < id <= Bound in id order
// up to Limit (a classify job's batch); or, when Machine is set, those
// classified (status classified or confirmed) but not decided by a person
// with id > After in id order up to Limit (a re-classification's page); or
// else the oldest pending ones up to Limit.
type ClassifyQuery struct {
	IDs     []string
	After   string
	Bound   string
	Machine bool
	Limit   int
}

// ClassifyCandidate is a document as a classify run reads it.
type ClassifyCandidate struct {
	ClassifyInput
	// UserConfirmed documents are never classified again.
	UserConfirmed bool
	// Classification is the document's class now.
	Classification Classification
	// ContentHash guards the write: a verdict is stored only over the
	// content it was computed from.
	ContentHash string
}

// ClassifyContentPrefix bounds how much of each document a classifier
// reads: rules look at the start of a text, and reading whole documents
// would make a 10,000-document run move gigabytes.
const ClassifyContentPrefix = 20000

// ReviewExecutor runs the statements of review, classification and
// deletion over sets of documents.
type ReviewExecutor interface {
	// DocumentsLock locks the tenant's documents among ids, in id order,
	// until the transaction ends: one statement on PostgreSQL, none on
	// SQLite, whose one writer already serialises write transactions.
	DocumentsLock(ctx context.Context, tenantID string, ids []string) (LockedDocuments, error)
	// DocumentsReview applies a person's change to the locked documents
	// that are live (soft-deleted ones, for ReviewRestore) and returns the
	// ids it changed. One statement.
	DocumentsReview(ctx context.Context, tenantID string, docs LockedDocuments, ch ReviewChange, at time.Time) (map[string]bool, error)
	// ConnectorsLockForDocuments share-locks the connectors the documents
	// came from, so that a sync batch of one of them either finished
	// before a delete or waits for it. One statement on PostgreSQL, none
	// on SQLite.
	ConnectorsLockForDocuments(ctx context.Context, tenantID string, ids []string) error
	// DocumentsHardDelete deletes the locked documents (soft-deleted or
	// not) with their chunks and writes a tombstone for each that came
	// from a connector, deleted by actor ("" for none). It returns the
	// deleted ids and the number of tombstones written. One statement on
	// PostgreSQL; two on SQLite, which has no writable CTE.
	DocumentsHardDelete(ctx context.Context, tenantID string, docs LockedDocuments, actor string, at time.Time) (map[string]bool, int, error)
	// DocumentStats reads the tenant's kept counts: one statement over a
	// few dozen rows however many documents there are.
	DocumentStats(ctx context.Context, tenantID string) (DocumentStats, error)
	// DocumentRecount counts the tenant's documents themselves (the
	// bench's floor, and what tests check the kept counts against).
	DocumentRecount(ctx context.Context, tenantID string) (DocumentStats, error)
	// ClassifyRead reads the selected live documents as a classifier sees
	// them (content cut at ClassifyContentPrefix), in id order for IDs,
	// oldest first for pending ones. One statement.
	ClassifyRead(ctx context.Context, tenantID string, q ClassifyQuery) ([]ClassifyCandidate, error)
	// ClassifyWrite stores verdicts and returns the ids written. A verdict
	// is written only to a live document a person has not confirmed or
	// rejected, whose content hash is still the one it was computed from.
	// One statement.
	ClassifyWrite(ctx context.Context, tenantID string, verdicts []ClassifyVerdict, at time.Time) (map[string]bool, error)
}

// ClassifyVerdict is a verdict to store, with the content hash it was
// computed from.
type ClassifyVerdict struct {
	ClassifyRow
	ContentHash string `json:"content_hash"`
}
