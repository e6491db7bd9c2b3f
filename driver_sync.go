package engram

import (
	"context"
	"time"
)

// SyncExisting is what a connector already holds under one external id:
// its document, if any (DocumentID "" when there is none), and whether a
// tombstone keeps the id deleted.
type SyncExisting struct {
	ExternalID      string
	DocumentID      string
	ContentHash     string
	Title           string
	SourceType      string
	SourceUpdatedAt *time.Time
	IsDeleted       bool
	Tombstoned      bool
}

// SyncExecutor runs the statements of a connector's sync batches and full
// syncs. The plan (which items are new, changed, unchanged, deleted or
// tombstoned) is the use case's; each method here is one statement.
type SyncExecutor interface {
	// ConnectorLockForBatch reads the connector's status and reports
	// whether it exists, locking its row until the transaction ends (FOR
	// NO KEY UPDATE on PostgreSQL: a batch ends by adding to the
	// connector's total, and a hard delete share-locks the connectors of
	// its documents first, so the two exclude each other). One statement
	// on both engines: SQLite's one writer needs no lock, but the status
	// is still read.
	ConnectorLockForBatch(ctx context.Context, tenantID, connectorID string) (ConnectorStatus, bool, error)
	// SyncExistingRead reads what the connector holds under each of the
	// external ids (distinct), through the unique keys of documents and
	// tombstones, never a load of all its ids: one statement. Ids it holds
	// nothing under are left out.
	SyncExistingRead(ctx context.Context, tenantID, connectorID string, externalIDs []string) ([]SyncExisting, error)
	// SyncSeenInsert notes the external ids (distinct) as seen by a full
	// sync's run: one statement; a note already there stays.
	SyncSeenInsert(ctx context.Context, tenantID, connectorID, runID string, externalIDs []string) error
	// ChunksDelete deletes every chunk of the tenant's documents among
	// ids: one statement.
	ChunksDelete(ctx context.Context, tenantID string, ids []string) error
	// DocumentsSyncUpdate rewrites the content, chunk count and source
	// fields of the live documents among docs (by their ID) at at, and
	// sets them back to pending unless a person decided on them; it
	// returns how many it rewrote. One statement.
	DocumentsSyncUpdate(ctx context.Context, tenantID string, docs []PreparedDocument, at time.Time) (int, error)
	// ConnectorAddSynced adds n to the connector's synced total and sets
	// its last sync at at: one statement.
	ConnectorAddSynced(ctx context.Context, tenantID, connectorID string, n int, at time.Time) error
	// DocumentsArchiveUnseen archives, at at, the connector's live
	// documents whose external id the run did not note as seen, and
	// returns how many: one statement (an anti-join).
	DocumentsArchiveUnseen(ctx context.Context, tenantID, connectorID, runID string, at time.Time) (int, error)
	// SyncSeenDrop deletes the run's notes: one statement.
	SyncSeenDrop(ctx context.Context, tenantID, connectorID, runID string) error
}
