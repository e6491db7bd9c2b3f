package engram

import (
	"context"
	"time"
)

// Driver is one storage engine: SQL, row mapping and the engine's
// capabilities, and nothing else. Rules (status machines, statement
// budgets, auditing, conflict decisions) live once above it, in package
// service; each driver method is one set-based statement or one read, and
// its doc comment says where an engine needs more or none.
type Driver interface {
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Ping checks that the database answers. Returns unavailable.
	Ping(ctx context.Context) error
	// Close releases the driver's connections.
	Close() error
	// Begin opens a write transaction for the tenant tenantID, or, with
	// "", for work across tenants (the scheduler, count compaction,
	// statistics). An engine with row-level security (PostgreSQL) lets a
	// tenant's transaction see and write only that tenant's rows. The
	// caller commits it or rolls it back; Rollback after Commit is a
	// no-op, so `defer tx.Rollback()` is always safe.
	Begin(ctx context.Context, tenantID string) (Tx, error)
	// Reader runs reads outside a transaction (on SQLite, the read pool).
	Reader() Executor
	// Writer runs one autocommitted write outside a transaction.
	Writer() Executor
	// Capabilities says how the engine differs, for the use cases and the
	// tests that must not ask which engine it is.
	Capabilities() Capabilities
	// PoolStats reports the engine's connection pools.
	PoolStats() []PoolStats
	Migrator
	// MigrationsPending reports whether a migration is not applied.
	MigrationsPending(ctx context.Context) (bool, error)
}

// Capabilities are the ways engines differ. The use cases never ask an
// engine's name; a driver method whose work an engine does not need sends
// no statement, and these flags tell tests how many to expect.
type Capabilities struct {
	// RowLocks: the engine locks rows (and takes advisory locks), and
	// lock methods send one statement each. Without them (SQLite) one
	// writer connection serialises every write transaction and lock
	// methods send none.
	RowLocks bool
	// WritableCTE: one statement can change rows and write others from
	// them. Without it (SQLite) DocumentsHardDelete and a hard
	// DocumentsDeleteBatch take two statements, and JobsFail a second
	// when a sync is among its jobs.
	WritableCTE bool
	// CountDeltas: writes append deltas to the kept-count tables
	// (document_counts, gap_counts), so that concurrent writers never
	// wait on one counter row, and CountsCompact folds them with one
	// statement per table. Without them (SQLite, whose one writer has no
	// one to wait for) triggers keep one row per bucket and CountsCompact
	// sends none.
	CountDeltas bool
	// Statistics: the planner relies on table statistics that engram
	// refreshes itself: StatisticsStale sends one statement and
	// StatisticsAnalyze two. Without them (SQLite) both send none.
	Statistics bool
	// SearchAllWords: SearchLexical scores its candidates by every word
	// of r.Query, whichever clauses found them (r.Match), so a search can
	// leave its common words out of finding (engram.PlanSearchMatch).
	// Without it (SQLite, whose FTS5 bm25() scores only the words of the
	// MATCH) a search is not planned: leaving the common words out of
	// finding left them out of the score, and nDCG@10 on the man pages
	// fell from 0.7275 to 0.6262 (docs/SEARCH.md).
	SearchAllWords bool
}

// Tx is a write transaction of a Driver.
type Tx interface {
	Executor
	// Commit commits the transaction.
	Commit(ctx context.Context) error
	// Rollback rolls it back; after Commit it does nothing.
	Rollback(ctx context.Context)
	// InsertJobs hands jobs to the job engine inside this transaction
	// (see JobEnqueuer) and returns the engine's ids in order. Returns
	// unavailable when no job engine is attached.
	InsertJobs(ctx context.Context, jobs []TenantJob) ([]int64, error)
}

// Executor is every statement a driver can run, on a transaction or, for
// reads, on a pool.
type Executor interface {
	AuditExecutor
	TenantExecutor
	DocumentExecutor
	ReviewExecutor
	ConnectorExecutor
	SyncExecutor
	JobExecutor
	ScheduleExecutor
	GapExecutor
	UserExecutor
	ClassifierExecutor
	SearchExecutor
	VectorExecutor
	ChatExecutor
}

// AuditEntry is one audit_log row.
type AuditEntry struct {
	TenantID string
	// Actor is the API key or user that acted (the driver records
	// which), "" for the system.
	Actor      string
	Action     string
	TargetType string
	Count      int
	// Details is the row's JSON details object, already marshalled.
	Details []byte
	At      time.Time
}

// AuditExecutor writes the audit log.
type AuditExecutor interface {
	// AuditInsert writes one audit_log row.
	AuditInsert(ctx context.Context, e AuditEntry) error
}
