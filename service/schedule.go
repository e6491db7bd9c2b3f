package service

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
)

// The work no tenant asks for (engram.JobScheduler): the sync schedule,
// the job gauges, the reaping of orphaned jobs and the upkeep of the kept
// counts and of the planner's statistics.

// ScheduleSyncs starts the due connectors' scheduled syncs in one
// transaction: one statement finds the due connectors (locking them on
// PostgreSQL, skipping those another transaction holds), the job engine
// takes all their jobs in one insert, one statement records the jobs and
// one moves the connectors' next syncs. A connector that has a sync queued
// or running gets no job (PlanScheduledSyncs), and the ON CONFLICT on the
// jobs_one_sync index is a second guard. Returns unavailable when jobs are
// due and no job engine is attached.
func (s *Store) ScheduleSyncs(ctx context.Context, now time.Time, limit int) (engram.ScheduledSyncs, error) {
	var out engram.ScheduledSyncs
	err := s.inTx(ctx, "", func(tx engram.Tx) error {
		out = engram.ScheduledSyncs{}
		due, err := tx.ConnectorsDue(ctx, now, limit)
		if err != nil || len(due) == 0 {
			return err
		}
		out.Due = len(due)
		if jobs := engram.PlanScheduledSyncs(due, now); len(jobs) > 0 {
			riverIDs, err := tx.InsertJobs(ctx, engram.TenantJobs(jobs))
			if err != nil {
				return err
			}
			if out.Enqueued, err = tx.JobsInsertScheduled(ctx, jobs, riverIDs, now); err != nil {
				return err
			}
		}
		next := make([]engram.NextSync, len(due))
		for i, d := range due {
			next[i] = engram.NextSync{TenantID: d.TenantID, ConnectorID: d.ID, At: now.Add(d.Interval)}
		}
		return tx.ConnectorsReschedule(ctx, next)
	})
	return out, err
}

// ActiveJobCounts counts queued and running jobs by kind and status, in
// one statement.
func (s *Store) ActiveJobCounts(ctx context.Context) ([]engram.JobCount, error) {
	return s.d.Reader().JobActiveCounts(ctx)
}

// CompactCounts folds the kept counts' deltas of up to limit tenants, in
// one transaction: a lock taken without waiting (a second compaction
// returns at once, leaving the work to the first), then one statement per
// count table, on engines that keep deltas (none on SQLite).
func (s *Store) CompactCounts(ctx context.Context, limit int) (int, error) {
	most := 0
	err := s.inTx(ctx, "", func(tx engram.Tx) error {
		mine, err := tx.CountsLockCompaction(ctx)
		if err != nil || !mine {
			return err // another process is compacting: leave it to it
		}
		most, err = tx.CountsCompact(ctx, limit)
		return err
	})
	return most, err
}

// DropStaleSyncNotes deletes the sync notes of runs that started before
// before, in one statement.
func (s *Store) DropStaleSyncNotes(ctx context.Context, before time.Time) (int, error) {
	return s.d.Writer().SyncNotesDropStale(ctx, before)
}

// UnfinishedJobs lists queued and running jobs unchanged since before, in
// one statement.
func (s *Store) UnfinishedJobs(ctx context.Context, before time.Time, limit int) ([]engram.UnfinishedJob, error) {
	return s.d.Reader().JobsUnfinished(ctx, before, limit)
}

// FailJobs fails the unfinished jobs among jobs, and records the failure
// on the connectors of the syncs among them, in one transaction (one
// statement on PostgreSQL, two on SQLite when a sync is among them).
func (s *Store) FailJobs(ctx context.Context, jobs []engram.UnfinishedJob, message string) ([]engram.UnfinishedJob, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	var out []engram.UnfinishedJob
	err := s.inTx(ctx, "", func(tx engram.Tx) error {
		var err error
		out, err = tx.JobsFail(ctx, jobs, message, s.now())
		return err
	})
	return out, err
}

// RefreshStatistics finds, in one statement, the tables with more than
// minChanges changes since they were last analyzed, and re-analyzes each
// in a transaction of its own. A table whose lock it could not take in
// time (autovacuum may be analyzing it) is left for the next pass.
// Engines whose planner keeps no statistics engram relies on report none.
func (s *Store) RefreshStatistics(ctx context.Context, minChanges int64) ([]string, error) {
	stale, err := s.d.Reader().StatisticsStale(ctx, minChanges)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, t := range stale {
		err := s.inTx(ctx, "", func(tx engram.Tx) error { return tx.StatisticsAnalyze(ctx, t) })
		if engram.ErrorCode(err) == engram.EUnavailable {
			continue // busy: the next pass
		}
		if err != nil {
			return done, err
		}
		done = append(done, t)
	}
	return done, nil
}
