package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The scheduler's pass, run by one River periodic job every ScheduleEvery:
// it starts the syncs that connectors' schedules make due, folds the
// count deltas (see CompactCounts), drops, once an hour, the notes of full
// syncs that died, finishes the jobs River will never run again, and
// re-analyzes big tables that changed a lot (RefreshStatistics). River's leader inserts the pass; it runs on the
// maintenance queue, one at a time per process, so it never waits behind
// long syncs. Two processes may still run passes at once (after a leader
// change, or one that ran late): every step is safe to run twice at once.
//
// Scheduled syncs. A connector with a sync_interval carries next_sync_at,
// the time its next sync is due. The pass asks the store for the due
// connectors and starts their syncs (engram.JobScheduler.ScheduleSyncs): a
// fixed number of statements per call however many connectors are due,
// and no per-connector timer to keep in step with the database. The
// schedule lives in the connectors table, so it survives restarts and
// leader changes, and a connector's PATCH takes effect at the next pass.

// DefaultScheduleEvery is how often the scheduler looks for due connectors.
const DefaultScheduleEvery = time.Minute

// maintenanceQueue is the River queue of the scheduler's passes.
const maintenanceQueue = "engram_maintenance"

// schedulePass is how many due connectors (or tenants to compact) one
// store call takes; a pass calls it again while it comes back full.
const schedulePass = 200

// scheduleArgs is the scheduler's River job: it carries nothing.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "engram.schedule_syncs" }

// scheduleJob is the periodic job. It runs once when a leader starts, so
// syncs that fell due while no worker ran start at once. A failed pass is
// not retried: the next one does the same work. Passes are unique per
// period (River's shortest is a second).
func scheduleJob(every time.Duration) *river.PeriodicJob {
	unique := river.UniqueOpts{ByPeriod: max(every, time.Second)}
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return scheduleArgs{}, &river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: 1, UniqueOpts: unique}
	}, &river.PeriodicJobOpts{ID: "engram.schedule_syncs", RunOnStart: true})
}

// scheduleWorker runs the scheduler's passes.
type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	store engram.JobScheduler
	log   *slog.Logger
	// list is River's job list (set once the client exists).
	list     func(context.Context, *river.JobListParams) (*river.JobListResult, error)
	finished func(engram.JobKind, engram.JobStatus)

	mu sync.Mutex
	// notesDropped is when this process last dropped stale sync notes.
	notesDropped time.Time
}

// Timeout bounds a pass; each of its calls is one short transaction.
func (w *scheduleWorker) Timeout(*river.Job[scheduleArgs]) time.Duration { return time.Minute }

// Work runs every step of a pass, each even when another failed.
func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	err := errors.Join(w.scheduleSyncs(ctx), w.compactCounts(ctx), w.dropStaleNotes(ctx), w.reapOrphans(ctx), w.refreshStatistics(ctx))
	if err != nil {
		w.log.Warn("scheduler pass", "error", engram.LogText(err))
	}
	return err
}

func (w *scheduleWorker) scheduleSyncs(ctx context.Context) error {
	var total engram.ScheduledSyncs
	for {
		got, err := w.store.ScheduleSyncs(ctx, time.Now(), schedulePass)
		if err != nil {
			return err
		}
		total.Due += got.Due
		total.Enqueued += got.Enqueued
		if got.Due < schedulePass {
			break
		}
	}
	if total.Due > 0 {
		w.log.Info("scheduled syncs", "due", total.Due, "started", total.Enqueued)
	}
	return nil
}

// compactCounts folds count deltas, at most ten calls a pass: under a
// write load that keeps every call full, the next pass goes on.
func (w *scheduleWorker) compactCounts(ctx context.Context) error {
	for range 10 {
		n, err := w.store.CompactCounts(ctx, schedulePass)
		if err != nil || n < schedulePass {
			return err
		}
	}
	return nil
}

// statisticsAfter is how many row changes a big table may see before the
// scheduler re-analyzes it (see JobScheduler.RefreshStatistics).
const statisticsAfter = 50000

func (w *scheduleWorker) refreshStatistics(ctx context.Context) error {
	tables, err := w.store.RefreshStatistics(ctx, statisticsAfter)
	if len(tables) > 0 {
		w.log.Info("analyzed tables", "tables", tables)
	}
	return err
}

// staleSyncNotes is the age past which a full sync's notes of what it saw
// belong to a run that died: far longer than a sync job may run
// (DefaultSyncTimeout) or any foreground `engram sync --full` takes. A run
// still going after this long would find its early notes gone and archive
// the documents they named (reversibly).
const staleSyncNotes = 7 * 24 * time.Hour

func (w *scheduleWorker) dropStaleNotes(ctx context.Context) error {
	w.mu.Lock()
	due := time.Since(w.notesDropped) > time.Hour
	if due {
		w.notesDropped = time.Now()
	}
	w.mu.Unlock()
	if !due {
		return nil
	}
	n, err := w.store.DropStaleSyncNotes(ctx, time.Now().Add(-staleSyncNotes))
	if n > 0 {
		w.log.Info("dropped stale full-sync notes", "rows", n)
	}
	return err
}

// Orphans: an engram job left queued or running while River will never
// run its River job again. River discards a job whose last attempt's
// worker was killed (say, out of memory on a huge mail file) without
// engram's code finishing the row, an operator may cancel one in River's
// own tools, and River's cleaner deletes old finished jobs. Left as it is,
// such a row is reported as running forever and, for a sync, blocks every
// later sync of its connector (one queued or running sync per connector).

// reapLimit is how many unfinished jobs one pass looks at, those unchanged
// longest first.
const reapLimit = 500

// orphanMessage is the error a job gets when River will not run it again.
const orphanMessage = "the job engine gave up on this job: its worker failed, crashed or timed out on every attempt, or an operator cancelled it in River; start it again"

// reapOrphans finishes the orphans among the unfinished jobs as failed:
// those whose River job is gone or finished, in one FailJobs call. It
// changes only unfinished rows, so a job a worker finishes meanwhile keeps
// its outcome, and only the jobs it changed are counted.
func (w *scheduleWorker) reapOrphans(ctx context.Context) error {
	if w.list == nil {
		return nil
	}
	// Every unfinished job, however recent: a worker that finishes one
	// between this read and River's answer is safe (see above).
	open, err := w.store.UnfinishedJobs(ctx, time.Now(), reapLimit)
	if err != nil || len(open) == 0 {
		return err
	}
	ids := make([]int64, 0, len(open))
	for _, j := range open {
		if j.RiverJobID != 0 {
			ids = append(ids, j.RiverJobID)
		}
	}
	state := map[int64]rivertype.JobState{}
	if len(ids) > 0 {
		res, err := w.list(ctx, river.NewJobListParams().IDs(ids...).First(len(ids)))
		if err != nil {
			return err
		}
		for _, rj := range res.Jobs {
			state[rj.ID] = rj.State
		}
	}
	var orphans []engram.UnfinishedJob
	for _, o := range open {
		st, ok := state[o.RiverJobID]
		if ok && st != rivertype.JobStateCompleted && st != rivertype.JobStateDiscarded && st != rivertype.JobStateCancelled {
			continue // River will run it
		}
		orphans = append(orphans, o)
	}
	failed, err := w.store.FailJobs(ctx, orphans, orphanMessage)
	if err != nil {
		return err
	}
	for _, j := range failed {
		w.log.Warn("job failed: the job engine will not run it again", "tenant_id", j.TenantID, "job_id", j.ID, "kind", j.Kind)
		w.finished(j.Kind, engram.JobFailed)
	}
	return nil
}
