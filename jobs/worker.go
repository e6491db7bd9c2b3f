package jobs

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
	"github.com/riverqueue/river"
)

// jobArgs is what River stores of an engram job: where to find its row.
// Everything else (the snapshot, the cursor, the options) is in the row.
type jobArgs struct {
	TenantID string `json:"tenant_id"`
	JobID    string `json:"job_id"`
	// kind is the engram kind, from the River kind (not stored).
	kind engram.JobKind
}

// argsOf returns a River job's arguments with their engram kind.
func argsOf[T args](j *river.Job[T]) jobArgs {
	a := j.Args.ids()
	a.kind = engram.JobKind(strings.TrimPrefix(j.Kind, "engram."))
	return a
}

// One River kind per engram kind, so River's job list tells them apart.
type (
	deleteAllArgs struct{ jobArgs }
	classifyArgs  struct{ jobArgs }
)

func (deleteAllArgs) Kind() string { return "engram." + string(engram.JobDeleteAll) }
func (classifyArgs) Kind() string  { return "engram." + string(engram.JobClassifyPending) }

// argsFor returns the River arguments of an engram job.
func argsFor(tenantID string, j engram.Job) river.JobArgs {
	a := jobArgs{TenantID: tenantID, JobID: j.ID}
	switch j.Kind {
	case engram.JobClassifyPending:
		return classifyArgs{a}
	case engram.JobSync:
		return syncArgs{a}
	case engram.JobAnalyzeGaps:
		return analyzeArgs{a}
	default:
		return deleteAllArgs{a}
	}
}

type args interface {
	river.JobArgs
	ids() jobArgs
}

func (a jobArgs) ids() jobArgs { return a }

// kindWorker is the River worker of one kind; all kinds share worker.
type kindWorker[T args] struct {
	river.WorkerDefaults[T]
	w *worker
}

// Timeout is two slices. A slice ends itself at a batch boundary, so the
// timeout only matters as a backstop, but it must be positive: River's
// rescuer never rescues a job whose timeout is infinite (-1), and a
// killed process's job would then never resume.
func (k *kindWorker[T]) Timeout(*river.Job[T]) time.Duration { return 2 * k.w.slice }

// NextRetry retries a failed or rescued job soon: its batches are
// idempotent, and River's default backoff (attempt⁴ seconds) would keep a
// delete-all that survived a few crashes waiting for minutes.
func (k *kindWorker[T]) NextRetry(j *river.Job[T]) time.Time {
	return time.Now().Add(min(time.Duration(j.Attempt)*2*time.Second, time.Minute))
}

func (k *kindWorker[T]) Work(ctx context.Context, j *river.Job[T]) error {
	return k.w.run(ctx, argsOf(j), j.Attempt, j.MaxAttempts)
}

// worker runs engram jobs batch by batch.
type worker struct {
	store      engram.JobStore
	connectors engram.ConnectorStore
	tenants    engram.TenantStore
	registry   connector.Registry
	classifier engram.Classifier
	// learner and classifiers give each tenant its learned model.
	learner      engram.Learner
	classifiers  engram.ClassifierStore
	gaps         engram.GapStore
	analyzer     engram.GapAnalyzer
	analyzerName string
	slice        time.Duration
	// syncTimeout bounds one sync execution's reading of its source.
	syncTimeout time.Duration
	log         *slog.Logger
	// finished is told of each job this worker finishes.
	finished func(engram.JobKind, engram.JobStatus)
}

// batchTimeout bounds one batch, which runs on a context detached from
// the worker's so that shutdown lets it finish.
const batchTimeout = 2 * time.Minute

// run runs batches of one job until it is finished, the slice is over, or
// the worker is stopping; in the last two cases it snoozes the River job,
// which makes it available again at once (and, on shutdown, on the next
// start), without counting an attempt.
func (w *worker) run(ctx context.Context, a jobArgs, attempt, maxAttempts int) error {
	j, err := w.store.StartJob(ctx, a.TenantID, a.JobID)
	if engram.ErrorCode(err) == engram.ENotFound {
		// The tenant or the row is gone: nothing will ever run it.
		return river.JobCancel(err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	classifier := w.classifier
	if w.learner != nil && j.Kind == engram.JobClassifyPending {
		// The tenant's newest model classifies, loaded before any batch
		// opens its transaction.
		if classifier, err = w.classifiers.TenantClassifier(ctx, a.TenantID, w.learner, w.classifier); err != nil {
			return w.failed(ctx, a, attempt, maxAttempts, err)
		}
	}
	end := time.Now().Add(w.slice)
	ran := false
	for j.Status == engram.JobRunning {
		if ctx.Err() != nil || time.Now().After(end) {
			return river.JobSnooze(0)
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
		j, err = w.store.RunJobBatch(bctx, a.TenantID, a.JobID, classifier)
		cancel()
		if err != nil {
			return w.failed(ctx, a, attempt, maxAttempts, err)
		}
		ran = true
	}
	if ran && j.Status.Final() {
		w.finished(j.Kind, j.Status)
		w.log.Info("job finished", "tenant_id", a.TenantID, "job_id", a.JobID, "kind", j.Kind,
			"status", j.Status, "done", j.Progress.Done, "total", j.Progress.Total)
	}
	return nil
}

// failed returns err to River, which retries the job; on its last attempt
// the engram row is marked failed first, with a message fit for the user.
func (w *worker) failed(ctx context.Context, a jobArgs, attempt, maxAttempts int, err error) error {
	w.log.Warn("job batch failed", "tenant_id", a.TenantID, "job_id", a.JobID, "attempt", attempt, "error", engram.LogText(err))
	if attempt >= maxAttempts {
		if ferr := w.store.FailJob(context.WithoutCancel(ctx), a.TenantID, a.JobID, engram.ErrorMessage(err)); ferr != nil {
			w.log.Error("mark job failed", "job_id", a.JobID, "error", engram.LogText(ferr))
		} else {
			w.finished(a.kind, engram.JobFailed)
		}
	}
	return err
}
