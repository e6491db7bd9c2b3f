package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
)

// Scheduled syncs. A connector with a sync_interval carries next_sync_at,
// the time its next sync is due. One River periodic job, which River runs
// on the elected leader only (so one pass at a time across every worker
// process), asks the store for the due connectors every ScheduleEvery and
// starts their syncs (engram.JobScheduler.ScheduleSyncs): a fixed number of
// statements per pass however many connectors are due, and no per-
// connector timer to keep in step with the database. The schedule lives in
// the connectors table, so it survives restarts and leader changes, and a
// connector's PATCH takes effect at the next pass.

// DefaultScheduleEvery is how often the scheduler looks for due connectors.
const DefaultScheduleEvery = time.Minute

// schedulePass is how many due connectors one ScheduleSyncs call takes; a
// pass calls it again while it comes back full.
const schedulePass = 200

// scheduleArgs is the scheduler's River job: it carries nothing.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "engram.schedule_syncs" }

// scheduleJob is the periodic job. It runs once when a leader starts, so
// syncs that fell due while no worker ran start at once. A failed pass is
// not retried: the next one does the same work. Passes are unique per
// period (River's shortest is a second), so passes that no worker took
// (all busy with long jobs) do not pile up.
func scheduleJob(every time.Duration) *river.PeriodicJob {
	unique := river.UniqueOpts{ByPeriod: max(every, time.Second)}
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return scheduleArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: unique}
	}, &river.PeriodicJobOpts{ID: "engram.schedule_syncs", RunOnStart: true})
}

// scheduleWorker runs the scheduler's passes.
type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	store engram.JobScheduler
	log   *slog.Logger
}

// Timeout bounds a pass; each of its calls is one short transaction.
func (w *scheduleWorker) Timeout(*river.Job[scheduleArgs]) time.Duration { return time.Minute }

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	var total engram.ScheduledSyncs
	for {
		got, err := w.store.ScheduleSyncs(ctx, time.Now(), schedulePass)
		if err != nil {
			w.log.Warn("schedule syncs", "error", err.Error())
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
