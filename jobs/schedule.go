package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The scheduler's pass, run by one River periodic job: it starts the
// syncs that connectors' schedules make due, folds the document count
// deltas (see CompactDocumentCounts), drops, once an hour, the notes of
// full syncs that died, and finishes the jobs River gave up on.
//
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
	jobs  engram.JobStore
	log   *slog.Logger
	// list is River's job list (set once the client exists).
	list func(context.Context, *river.JobListParams) (*river.JobListResult, error)
	// reaped is the finalized_at of the newest discarded River job a pass
	// has looked at (this process, as leader).
	reaped   time.Time
	finished func(engram.JobKind, engram.JobStatus)
	// notesDropped is when this process last dropped stale sync notes.
	notesDropped time.Time
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
	for range 10 {
		n, err := w.store.CompactDocumentCounts(ctx, schedulePass)
		if err != nil {
			w.log.Warn("compact document counts", "error", err.Error())
			return err
		}
		if n < schedulePass {
			break
		}
	}
	if time.Since(w.notesDropped) > time.Hour {
		n, err := w.store.DropStaleSyncNotes(ctx, time.Now().Add(-staleSyncNotes))
		if err != nil {
			return err
		}
		w.notesDropped = time.Now()
		if n > 0 {
			w.log.Info("dropped stale full-sync notes", "rows", n)
		}
	}
	return w.reapDiscarded(ctx)
}

// staleSyncNotes is the age past which a full sync's notes of what it saw
// belong to a run that died: far longer than a sync job may run
// (DefaultSyncTimeout) or a foreground `engram sync` takes.
const staleSyncNotes = 24 * time.Hour

// reapLimit is how many newly discarded River jobs one pass looks at.
const reapLimit = 100

// discardedMessage is the error a job gets when River gave up on it.
const discardedMessage = "the job engine gave up on this job: its worker failed, crashed or timed out on every attempt, or an operator cancelled it in River; start it again"

// reapDiscarded finishes, as failed, the engram jobs whose River job River
// discarded or cancelled without engram's code finishing them: a worker
// killed (say, out of memory on a huge mail file) during the job's last
// attempt, or an operator's cancel in River's own tools. Left
// running, such a row would be reported as running forever and, for a
// sync, would block every later sync of its connector (one queued or
// running sync per connector). A job finished in the usual way is left as
// it is: FinishJob only changes an unfinished job.
func (w *scheduleWorker) reapDiscarded(ctx context.Context) error {
	if w.list == nil {
		return nil
	}
	kinds := make([]string, len(engram.JobKinds))
	for i, k := range engram.JobKinds {
		kinds[i] = "engram." + string(k)
	}
	res, err := w.list(ctx, river.NewJobListParams().States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).Kinds(kinds...).
		OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc).First(reapLimit))
	if err != nil {
		return err
	}
	newest := w.reaped
	for _, rj := range res.Jobs {
		if rj.FinalizedAt == nil || !rj.FinalizedAt.After(w.reaped) {
			break
		}
		newest = later(newest, *rj.FinalizedAt)
		var a jobArgs
		if err := json.Unmarshal(rj.EncodedArgs, &a); err != nil || a.JobID == "" {
			continue
		}
		msg := discardedMessage
		j, err := w.jobs.FinishJob(ctx, a.TenantID, a.JobID, engram.JobFailed, nil, &msg)
		switch {
		case engram.ErrorCode(err) == engram.ENotFound:
		case err != nil:
			return err
		case j.Error != nil && *j.Error == msg:
			w.log.Warn("job failed after its last attempt", "tenant_id", a.TenantID, "job_id", a.JobID, "kind", j.Kind)
			w.finished(j.Kind, engram.JobFailed)
		}
	}
	w.reaped = newest
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
