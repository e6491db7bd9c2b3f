package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/ingest"
	"github.com/riverqueue/river"
)

// Sync jobs run a connector's source through ingest.Run in slices, like
// a delete-all's batches: every batch commits the source cursor of its
// last item with the job's progress, and a slice that has run its time
// (or a worker that is stopping) pauses at a batch boundary and snoozes
// the River job; the next execution starts from the recorded cursor. A
// killed process's sync is therefore rescued by River after RescueAfter,
// not after a long pass timeout, and reads on from its last batch.
//
// Resuming saves time, not correctness: a sync is idempotent. SyncBatch
// sorts every item into new, changed, unchanged, deleted or tombstoned by
// its external id, so a batch written twice (the one in flight when the
// process died) creates nothing twice. A full sync keeps one run id (the
// job's) across its executions, so its archive step, which only runs
// after a complete pass, sees everything every execution saw.
//
// While a sync runs, its worker beats (engram.JobHeartbeatEvery): with
// every batch and on a ticker while the source is read. A sync whose
// worker is gone is cancelled at once when asked, and a new sync of its
// connector replaces it (see service.CancelJob and EnqueueJob).

// DefaultSyncTimeout bounds one gap analysis execution, and one sync
// execution's reading of its source (a slice pauses long before).
const DefaultSyncTimeout = 30 * time.Minute

// syncArgs is a sync job's River arguments.
type syncArgs struct{ jobArgs }

func (syncArgs) Kind() string { return "engram." + string(engram.JobSync) }

// passWorker is the River worker of a kind whose job runs in one pass,
// in one execution (analyze_gaps), or in slices that do not fit a
// kindWorker (sync).
type passWorker[T args] struct {
	river.WorkerDefaults[T]
	timeout time.Duration
	run     func(ctx context.Context, a jobArgs, attempt, maxAttempts int) error
}

// Timeout is the pass timeout (see DefaultSyncTimeout), or two slices for
// a sync (see kindWorker.Timeout).
func (k *passWorker[T]) Timeout(*river.Job[T]) time.Duration { return k.timeout }

// NextRetry retries soon: a pass is idempotent.
func (k *passWorker[T]) NextRetry(j *river.Job[T]) time.Time {
	return time.Now().Add(min(time.Duration(j.Attempt)*2*time.Second, time.Minute))
}

func (k *passWorker[T]) Work(ctx context.Context, j *river.Job[T]) error {
	return k.run(ctx, argsOf(j), j.Attempt, j.MaxAttempts)
}

// syncResult is a sync job's result: the ingest report without its batch
// count, which says nothing to a user.
type syncResult struct {
	engram.SyncCounts
	Failures []engram.SourceFailure `json:"failures"`
	Warnings []engram.SourceFailure `json:"warnings"`
	Warned   int                    `json:"warned"`
}

func resultOf(r ingest.Report) json.RawMessage {
	f, w := r.Failures, r.Warnings
	if f == nil {
		f = []engram.SourceFailure{}
	}
	if w == nil {
		w = []engram.SourceFailure{}
	}
	b, _ := json.Marshal(syncResult{r.SyncCounts, f, w, r.Warned})
	return b
}

// seen counts the items a report has handled.
func seen(r ingest.Report) int {
	return r.Created + r.Updated + r.Unchanged + r.SkippedDeleted + r.SkippedTombstoned + r.Failed
}

// runSync runs one slice of a sync job: to its end, when it records the
// outcome on the job and the connector, or to a pause, when it snoozes.
func (w *worker) runSync(ctx context.Context, a jobArgs, attempt, maxAttempts int) error {
	j, err := w.store.StartSyncJob(ctx, a.TenantID, a.JobID)
	if engram.ErrorCode(err) == engram.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	p := j.Params
	if j.Status != engram.JobRunning {
		// Cancelled while queued, finished by an earlier execution, or
		// ended while its worker was gone: a full sync's notes may be
		// left behind by the execution that died.
		if p.Full && j.Status.Final() {
			w.dropNotes(ctx, a, p.ConnectorID)
		}
		return nil
	}
	finish := func(st engram.JobStatus, rep ingest.Report, msg *string) error {
		return w.finish(ctx, a, st, resultOf(rep), msg)
	}
	c, err := w.connectors.GetConnector(ctx, a.TenantID, p.ConnectorID)
	if err != nil {
		return w.failedSync(ctx, a, p, attempt, maxAttempts, ingest.Report{}, err)
	}
	tn, err := w.tenants.Tenant(ctx, a.TenantID)
	if err != nil {
		return w.failedSync(ctx, a, p, attempt, maxAttempts, ingest.Report{}, err)
	}
	src, err := w.registry.Open(tn.Slug, c.Type, c.Settings)
	if err == nil && src == nil {
		err = engram.Errorf(engram.EInvalid, "integration %s is a %s connector: its items are posted to it, there is nothing to fetch", c.ID, c.Type)
	}
	if err != nil {
		// Bad settings or a root no longer allowed: retrying cannot help.
		msg := engram.ErrorMessage(err)
		return errors.Join(finish(engram.JobFailed, ingest.Report{}, &msg), river.JobCancel(err))
	}
	opt := ingest.Options{
		Full:  p.Full,
		JobID: a.JobID,
		// Each batch writes the job's progress in its own transaction.
		Record: func(r ingest.Report) (engram.JobProgress, json.RawMessage) {
			return engram.JobProgress{Done: seen(r)}, resultOf(r)
		},
		Cancelled: func(ctx context.Context) bool {
			j, err := w.store.GetJob(ctx, a.TenantID, a.JobID)
			return err == nil && j.CancelRequestedAt != nil
		},
		From: j.Cursor,
	}
	if p.Full {
		opt.RunID = a.JobID
	}
	if j.Cursor != "" {
		// The result recorded with the cursor is the report so far; with
		// no cursor, the source starts over and so does the report.
		opt.Start = reportOf(j.Result)
	}
	// The source is read on a context River's timeout does not cut: a
	// slice pauses at its first batch boundary after its time, so every
	// execution commits at least one batch, however long its source takes
	// to reach the cursor. A worker that is stopping cuts the reading at
	// once; a batch already started still commits, with its cursor.
	end := time.Now().Add(w.slice)
	opt.Pause = func() bool { return ctx.Err() != nil || time.Now().After(end) }
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.syncTimeout)
	defer cancel()
	stopping := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	defer stopping()
	stop := w.beat(rctx, a)
	rep, err := ingest.Run(rctx, w.connectors, a.TenantID, c.ID, src, opt)
	stop()
	switch {
	case errors.Is(err, ingest.ErrPaused), err != nil && errors.Is(ctx.Err(), context.Canceled):
		return river.JobSnooze(0)
	case errors.Is(err, ingest.ErrCancelled):
		err = finish(engram.JobCancelled, rep, nil)
	case err == nil:
		err = finish(engram.JobSucceeded, rep, nil)
	case engram.ErrorCode(err) == engram.EConflict:
		// Disconnected during the run: a retry would fail the same way.
		msg := engram.ErrorMessage(err)
		err = finish(engram.JobFailed, rep, &msg)
		if p.Full {
			w.dropNotes(ctx, a, c.ID)
		}
	default:
		return w.failedSync(ctx, a, p, attempt, maxAttempts, rep, err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	w.log.Info("sync finished", "tenant_id", a.TenantID, "job_id", a.JobID, "connector_id", c.ID, "items", seen(rep))
	return nil
}

// reportOf reads a sync job's recorded result back into a report.
func reportOf(result json.RawMessage) ingest.Report {
	var r syncResult
	_ = json.Unmarshal(result, &r)
	return ingest.Report{SyncCounts: r.SyncCounts, Failures: r.Failures, Warnings: r.Warnings, Warned: r.Warned}
}

// beat notes the job's heartbeat every engram.JobHeartbeatEvery until the
// returned function is called; batches beat too (SyncBatch).
func (w *worker) beat(ctx context.Context, a jobArgs) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(engram.JobHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.store.HeartbeatJob(ctx, a.TenantID, a.JobID); err != nil && ctx.Err() == nil {
					w.log.Warn("sync heartbeat", "job_id", a.JobID, "error", engram.LogText(err))
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// dropNotes drops what a full sync noted as seen once nothing will resume
// it; a failure only leaves rows the next full sync of the connector
// does not read (each run has its own id).
func (w *worker) dropNotes(ctx context.Context, a jobArgs, connectorID string) {
	if _, err := w.connectors.FinishFullSync(context.WithoutCancel(ctx), a.TenantID, connectorID, a.JobID, false); err != nil {
		w.log.Warn("drop a full sync's notes", "job_id", a.JobID, "error", engram.LogText(err))
	}
}

// finish ends a job that runs in one pass (a sync, an analysis) with
// FinishJob, on a context that survives shutdown, and counts it.
func (w *worker) finish(ctx context.Context, a jobArgs, st engram.JobStatus, result json.RawMessage, msg *string) error {
	j, err := w.store.FinishJob(context.WithoutCancel(ctx), a.TenantID, a.JobID, st, result, msg)
	if err == nil && j.Status == st {
		w.finished(a.kind, st)
	}
	return err
}

// failedSync returns err to River, which retries the sync; on its last
// attempt the job is finished as failed with FinishJob rather than
// FailJob, so the connector's last_sync fields record the failure too.
func (w *worker) failedSync(ctx context.Context, a jobArgs, p engram.JobParams, attempt, maxAttempts int, rep ingest.Report, err error) error {
	w.log.Warn("sync failed", "tenant_id", a.TenantID, "job_id", a.JobID, "attempt", attempt, "error", engram.LogText(err))
	if attempt >= maxAttempts {
		msg := engram.ErrorMessage(err)
		if ferr := w.finish(ctx, a, engram.JobFailed, resultOf(rep), &msg); ferr != nil {
			w.log.Error("mark sync failed", "job_id", a.JobID, "error", engram.LogText(ferr))
		}
		if p.Full {
			w.dropNotes(ctx, a, p.ConnectorID)
		}
	}
	return err
}
