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

// Sync jobs run a connector's source through ingest.Run in one River
// execution: a source streams its items and cannot resume in the middle,
// so a sync cannot be cut into slices and snoozed like a delete-all.
//
// A sync is idempotent: SyncBatch sorts every item into new, changed,
// unchanged, deleted or tombstoned by its external id, so running it again
// from the start creates nothing twice and loses nothing. A sync job whose
// process died is therefore simply rescued by River and run again from
// its first item; the second run counts the first run's documents as
// unchanged. A full sync's archive step only runs after a complete pass,
// so a crashed run never archives anything.

// DefaultSyncTimeout bounds one sync or gap analysis execution. River rescues a running
// job only after its timeout plus RescueAfter, so this is also how long a
// killed process's sync waits before it runs again.
const DefaultSyncTimeout = 30 * time.Minute

// syncArgs is a sync job's River arguments.
type syncArgs struct{ jobArgs }

func (syncArgs) Kind() string { return "engram." + string(engram.JobSync) }

// passWorker is the River worker of a kind whose job runs in one pass, in
// one execution (sync, analyze_gaps), rather than in snoozed slices.
type passWorker[T args] struct {
	river.WorkerDefaults[T]
	timeout time.Duration
	run     func(ctx context.Context, a jobArgs, attempt, maxAttempts int) error
}

// Timeout is the pass timeout (see DefaultSyncTimeout).
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

// runSync runs one sync job to its end and records the outcome on the job
// and the connector.
func (w *worker) runSync(ctx context.Context, a jobArgs, attempt, maxAttempts int) error {
	j, err := w.store.StartJob(ctx, a.TenantID, a.JobID)
	if engram.ErrorCode(err) == engram.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	if j.Status != engram.JobRunning {
		return nil // cancelled while queued, or finished by an earlier execution
	}
	p := j.Params
	finish := func(st engram.JobStatus, rep ingest.Report, msg *string) error {
		return w.finish(ctx, a, st, resultOf(rep), msg)
	}
	c, err := w.connectors.GetConnector(ctx, a.TenantID, p.ConnectorID)
	if err != nil {
		return w.failedSync(ctx, a, attempt, maxAttempts, ingest.Report{}, err)
	}
	tn, err := w.tenants.Tenant(ctx, a.TenantID)
	if err != nil {
		return w.failedSync(ctx, a, attempt, maxAttempts, ingest.Report{}, err)
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
	rep, err := ingest.Run(ctx, w.connectors, a.TenantID, c.ID, src, ingest.Options{
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
	})
	switch {
	case errors.Is(err, ingest.ErrCancelled):
		err = finish(engram.JobCancelled, rep, nil)
	case err == nil:
		err = finish(engram.JobSucceeded, rep, nil)
	case engram.ErrorCode(err) == engram.EConflict:
		// Disconnected during the run: a retry would fail the same way.
		msg := engram.ErrorMessage(err)
		err = finish(engram.JobFailed, rep, &msg)
	default:
		return w.failedSync(ctx, a, attempt, maxAttempts, rep, err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	w.log.Info("sync finished", "tenant_id", a.TenantID, "job_id", a.JobID, "connector_id", c.ID, "items", seen(rep))
	return nil
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
func (w *worker) failedSync(ctx context.Context, a jobArgs, attempt, maxAttempts int, rep ingest.Report, err error) error {
	w.log.Warn("sync failed", "tenant_id", a.TenantID, "job_id", a.JobID, "attempt", attempt, "error", engram.LogText(err))
	if attempt >= maxAttempts {
		msg := engram.ErrorMessage(err)
		if ferr := w.finish(ctx, a, engram.JobFailed, resultOf(rep), &msg); ferr != nil {
			w.log.Error("mark sync failed", "job_id", a.JobID, "error", engram.LogText(ferr))
		}
	}
	return err
}
