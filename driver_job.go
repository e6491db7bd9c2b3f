package engram

import (
	"context"
	"encoding/json"
	"time"
)

// JobRecord is a job row as the use cases read it: the job (with its
// params), and the cursor: the id its next batch starts after ("" before
// its first batch).
type JobRecord struct {
	Job
	Cursor string
}

// NewJobRow is a job to record: its id, kind, total and params (with the
// bound and, for a sync or a connector's delete, the connector), the job
// engine's id for it and the key that asked for it ("" for none).
type NewJobRow struct {
	ID          string
	Kind        JobKind
	Total       int
	Params      JobParams
	RiverJobID  int64
	RequestedBy string
}

// JobTargets names what a job's snapshot counts: a delete-all's documents
// (all of them when Hard, the live ones otherwise), the pending live
// documents of a classify job, or, when ConnectorID is set, all the
// connector's documents whatever Kind and Hard say (a connector's delete
// is always hard: see JobRequest.Params).
type JobTargets struct {
	Kind        JobKind
	Hard        bool
	ConnectorID string
}

// JobSnapshot is what JobSnapshotRead found: how many targets there are,
// and the largest target id ("" when there is none), the bound a job's
// batches stop at.
type JobSnapshot struct {
	Total int
	Bound string
}

// DeleteBatch is the next batch of a delete-all: up to Limit targets with
// After < id <= Bound in id order. Hard deletes them (writing tombstones
// for connector documents), of one connector when ConnectorID is set;
// otherwise the live ones among them are marked deleted, and ConnectorID
// is not read (a connector's delete is always hard).
type DeleteBatch struct {
	After       string
	Bound       string
	Limit       int
	Hard        bool
	ConnectorID string
}

// JobExecutor runs the statements of a tenant's jobs. The methods that
// change a job report false, not an error, when no row matched: the use
// case decides what that means.
type JobExecutor interface {
	// JobInsert records a queued job created at at, and returns it. It
	// returns false when the one queued or running delete-all of the
	// tenant, or (for a sync) the one of its connector, already exists:
	// the partial unique indexes jobs_one_delete_all and jobs_one_sync
	// refuse it. One statement.
	JobInsert(ctx context.Context, tenantID string, j NewJobRow, at time.Time) (JobRecord, bool, error)
	// JobActiveID returns the id of the tenant's queued or running job of
	// kind (of connectorID, for a sync), or "" when there is none. One
	// statement. Returns internal for a kind no rule keeps to one active
	// job (classify_pending).
	JobActiveID(ctx context.Context, tenantID string, kind JobKind, connectorID string) (string, error)
	// JobsLockAnalyses orders the tenant's gap analysis requests until
	// the transaction ends, so that JobActiveID sees an analysis another
	// request committed: one statement (a transaction-scoped advisory
	// lock) on PostgreSQL, none on SQLite, whose one writer already
	// serialises write transactions (see RowLocks).
	JobsLockAnalyses(ctx context.Context, tenantID string) error
	// JobSnapshotRead counts the targets and finds the largest target id
	// (documents created later get larger ids and are not targets). One
	// statement. Returns internal for targets it has no statement for (a
	// hard classify job, a gap analysis).
	JobSnapshotRead(ctx context.Context, tenantID string, t JobTargets) (JobSnapshot, error)
	// ConnectorLockForSync reads the connector's status, share-locking its
	// row until the transaction ends (so that a disconnect waits or is
	// seen), and reports whether it exists. One statement on every
	// engine: it locks with RowLocks; without them the one writer needs
	// no lock.
	ConnectorLockForSync(ctx context.Context, tenantID, connectorID string) (ConnectorStatus, bool, error)

	// JobGet reads one job. One statement. Returns not_found.
	JobGet(ctx context.Context, tenantID, id string) (JobRecord, error)
	// JobLock reads one job and locks its row until the transaction ends,
	// so that two executions of one job take turns. One statement on
	// every engine (FOR UPDATE with RowLocks; a plain read without them,
	// where the one writer serialises write transactions). Returns
	// not_found.
	JobLock(ctx context.Context, tenantID, id string) (JobRecord, error)
	// JobList reads up to f.Limit of the tenant's jobs of f.Kind and
	// f.Status (when set) after f.Cursor, newest first (by creation, then
	// id). One statement.
	JobList(ctx context.Context, tenantID string, f JobFilter) ([]Job, error)
	// JobLatestForConnector reads the connector's newest job of kind, or
	// nil when there is none. One statement.
	JobLatestForConnector(ctx context.Context, tenantID, connectorID string, kind JobKind) (*Job, error)
	// JobCancel cancels a queued job (at at) and notes a cancel request on
	// a running one; a running sync whose last heartbeat is before
	// staleBefore (its worker is gone: nothing would see the request) is
	// cancelled at once too. One statement; false when the job is final
	// or missing.
	JobCancel(ctx context.Context, tenantID, id string, at, staleBefore time.Time) (JobRecord, bool, error)
	// JobStart marks a queued or running job running, started at at
	// unless it had started, with a heartbeat at at. One statement; false
	// when the job is final or missing.
	JobStart(ctx context.Context, tenantID, id string, at time.Time) (JobRecord, bool, error)
	// JobHeartbeat notes at at that a running job's worker is alive. One
	// statement; a job that is not running is left as it is.
	JobHeartbeat(ctx context.Context, tenantID, id string, at time.Time) error
	// JobEndStaleSync ends the connector's running sync as failed with
	// message at at when its last heartbeat is before staleBefore (its
	// worker is gone), so that a new sync may take its place. One
	// statement; false when there was no such sync.
	JobEndStaleSync(ctx context.Context, tenantID, connectorID, message string, staleBefore, at time.Time) (bool, error)
	// JobCancelled ends a job as cancelled at at, whatever its status:
	// the caller holds its lock (JobLock) and saw it running with a
	// cancel request. One statement; false when the job is missing.
	JobCancelled(ctx context.Context, tenantID, id string, at time.Time) (JobRecord, bool, error)
	// JobAdvance folds a batch into a running job whose cursor is still
	// after ("" before its first batch): a.Handled more done, a.Result as
	// its result, a.Cursor as its cursor (kept when "", a batch that
	// handled nothing), and ends it as succeeded at at when a.Finished.
	// One statement; false when the job is no longer running or another
	// execution moved its cursor.
	JobAdvance(ctx context.Context, tenantID, id, after string, a JobAdvance, at time.Time) (JobRecord, bool, error)
	// JobRecordProgress sets a job's progress, its result when result is
	// not empty and its cursor when cursor is not "" (where a resumed sync
	// reads on from), whatever its status, with a heartbeat at at. One
	// statement; false when the job is missing.
	JobRecordProgress(ctx context.Context, tenantID, id string, p JobProgress, result json.RawMessage, cursor string, at time.Time) (JobRecord, bool, error)
	// JobFinish ends an unfinished job with status, result (kept when
	// empty) and message. One statement; false when the job is final or
	// missing.
	JobFinish(ctx context.Context, tenantID, id string, status JobStatus, result json.RawMessage, message *string, at time.Time) (JobRecord, bool, error)
	// JobFail ends an unfinished job as failed with message; a final or
	// missing one is left as it is. One statement.
	JobFail(ctx context.Context, tenantID, id, message string, at time.Time) error
	// ConnectorRecordSync writes a sync's outcome on its connector: when
	// it ended, its status and message (nil clears the last error). One
	// statement.
	ConnectorRecordSync(ctx context.Context, tenantID, connectorID string, status JobStatus, message *string, at time.Time) error

	// ConnectorsLockForDeleteBatch share-locks the tenant's connectors in
	// id order until the transaction ends, before a hard delete batch
	// locks documents: a sync batch (which locks its connector first)
	// either finished before the batch or waits for it, so it can neither
	// write a deleted item back nor deadlock with it. One statement on
	// PostgreSQL, none on SQLite (see RowLocks).
	ConnectorsLockForDeleteBatch(ctx context.Context, tenantID string) error
	// DocumentsDeleteBatch deletes the batch (hard: with chunks, writing a
	// tombstone for each connector document; soft: marking them deleted
	// at at) and reports how many it handled, the largest id handled (""
	// when none) and the tombstones written. One statement on PostgreSQL,
	// which locks the targets in id order first; a hard batch takes two on
	// SQLite, which has no writable CTE (see WritableCTE).
	DocumentsDeleteBatch(ctx context.Context, tenantID string, b DeleteBatch, at time.Time) (BatchOutcome, error)

	// TenantCounts counts the tenant's raw rows: documents (soft-deleted
	// ones among them), chunks (those of no document among them) and
	// tombstones. One statement.
	TenantCounts(ctx context.Context, tenantID string) (TenantCounts, error)
}
