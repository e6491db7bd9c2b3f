package engram

import (
	"context"
	"time"
)

// NextSync is when a connector's next scheduled sync is due; the
// connector is named with its tenant.
type NextSync struct {
	TenantID    string
	ConnectorID string
	At          time.Time
}

// ScheduleExecutor runs the statements of the work no tenant asks for: the
// sync schedule, the job gauges and the upkeep of counts and statistics.
// They are the only statements that read across tenants (see
// JobScheduler); every row they write names its tenant.
type ScheduleExecutor interface {
	// ConnectorsDue reads up to limit active connectors of active tenants
	// whose next sync is due at now, the most overdue first, and whether
	// each has a sync queued or running. One statement. With RowLocks it
	// locks them until the transaction ends, skipping the ones another
	// transaction holds (they are left for the next pass); without them
	// the one writer needs no lock.
	ConnectorsDue(ctx context.Context, now time.Time, limit int) ([]DueConnector, error)
	// JobsInsertScheduled records the scheduled sync jobs, created at at,
	// with their job engine ids (riverIDs[i] is jobs[i]'s), skipping a
	// connector that has a sync queued or running (the jobs_one_sync
	// index), and returns how many it recorded. One statement.
	JobsInsertScheduled(ctx context.Context, jobs []ScheduledSync, riverIDs []int64, at time.Time) (int, error)
	// ConnectorsReschedule moves the connectors' next syncs; a pair whose
	// connector is not its tenant's matches nothing. One statement.
	ConnectorsReschedule(ctx context.Context, next []NextSync) error
	// JobActiveCounts counts the queued and running jobs by kind and
	// status. One statement over the jobs_active index.
	JobActiveCounts(ctx context.Context) ([]JobCount, error)
	// JobsUnfinished reads up to limit queued or running jobs unchanged
	// since before, oldest change first. One statement.
	JobsUnfinished(ctx context.Context, before time.Time, limit int) ([]UnfinishedJob, error)
	// JobsFail ends the unfinished jobs among jobs as failed with message
	// at at, records the failure on the connectors of the syncs among
	// them, and returns the jobs it changed (final and missing ones are
	// left out). One statement with WritableCTE; without it one, and a
	// second for the connectors when a sync was among them.
	JobsFail(ctx context.Context, jobs []UnfinishedJob, message string, at time.Time) ([]UnfinishedJob, error)
	// SyncNotesDropStale deletes the sync_seen rows of runs that started
	// before before and returns how many. One statement over the whole
	// (normally near empty) table.
	SyncNotesDropStale(ctx context.Context, before time.Time) (int, error)
	// CountsLockCompaction takes the one compaction's lock until the
	// transaction ends, without waiting: false when another process holds
	// it. One statement with RowLocks (an advisory lock); without them
	// none (always true): the one writer serialises write transactions.
	CountsLockCompaction(ctx context.Context) (bool, error)
	// CountsCompact folds the deltas of the kept counts of up to limit
	// tenants into one row per bucket and returns the most tenants one
	// count table had to fold. One statement per count table with
	// CountDeltas; without them none (0): triggers keep one row per
	// bucket.
	CountsCompact(ctx context.Context, limit int) (int, error)
	// StatisticsStale reads which of the tables whose statistics decide
	// the plans of tenant and id-list statements have seen more than
	// minChanges row changes since they were last analyzed. One statement
	// with Statistics; without them none (nil): the engine keeps no
	// statistics engram relies on.
	StatisticsStale(ctx context.Context, minChanges int64) ([]string, error)
	// StatisticsAnalyze re-analyzes table, one of those StatisticsStale
	// names, waiting at most two seconds for its lock (unavailable when it
	// could not take it). Two statements with Statistics (the lock
	// timeout, ANALYZE), to run in a transaction of their own, and
	// invalid_argument for any other table; without them none, whatever
	// the table.
	StatisticsAnalyze(ctx context.Context, table string) error
}
