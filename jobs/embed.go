package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Embedding. When an embedder is configured, a periodic pass (every
// Config.EmbedEvery, and once when the workers start) asks the store which
// tenants have chunks the model has not embedded (new chunks, chunks
// changed by an edit or a sync, every chunk after a change of model or
// dimensions: the backfill is the same job) and inserts one embed job per
// such tenant, unique per tenant while one is queued or running. The job
// runs store batches (engram.EmbedStore.EmbedBatch: read the pending
// chunks, embed them with no transaction open, write the vectors with a
// guard) until none is left, snoozing after a slice like the other jobs.
// Every batch commits its vectors, and a chunk already embedded by the
// model is never written again: a job killed mid-backfill is rescued by
// River (after Config.RescueAfter) and goes on from what is committed,
// sending the provider again only the batch that was in flight.
// Searches never wait for it: a chunk without a vector is found by its
// words.

// DefaultEmbedEvery is how often the embedding pass looks for tenants
// with chunks to embed.
const DefaultEmbedEvery = 5 * time.Second

// DefaultEmbedBatch is how many chunks one embedding batch takes.
const DefaultEmbedBatch = 64

// embedPass is how many tenants one embedding pass takes.
const embedPass = 100

type embedSweepArgs struct{}

func (embedSweepArgs) Kind() string { return "engram.embed_sweep" }

// embedArgs is one tenant's embedding.
type embedArgs struct {
	TenantID string `json:"tenant_id"`
}

func (embedArgs) Kind() string { return "engram.embed" }

func embedSweepJob(every time.Duration) *river.PeriodicJob {
	unique := river.UniqueOpts{ByPeriod: max(every, time.Second)}
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return embedSweepArgs{}, &river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: 1, UniqueOpts: unique}
	}, &river.PeriodicJobOpts{ID: "engram.embed_sweep", RunOnStart: true})
}

// embedUnique keeps one embed job per tenant queued or running; a
// finished, failed or discarded one does not stop the next pass.
var embedUnique = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

// embedSweepWorker inserts the embed jobs of the tenants due.
type embedSweepWorker struct {
	river.WorkerDefaults[embedSweepArgs]
	store    engram.EmbedStore
	embedder engram.Embedder
	log      *slog.Logger
	insert   func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

func (w *embedSweepWorker) Timeout(*river.Job[embedSweepArgs]) time.Duration { return time.Minute }

func (w *embedSweepWorker) Work(ctx context.Context, _ *river.Job[embedSweepArgs]) error {
	due, err := w.store.TenantsToEmbed(ctx, w.embedder, embedPass)
	if err != nil || len(due) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(due))
	for i, id := range due {
		params[i] = river.InsertManyParams{Args: embedArgs{TenantID: id},
			InsertOpts: &river.InsertOpts{MaxAttempts: 5, UniqueOpts: embedUnique}}
	}
	_, err = w.insert(ctx, params)
	return err
}

// embedWorker embeds one tenant's pending chunks.
type embedWorker struct {
	river.WorkerDefaults[embedArgs]
	store    engram.EmbedStore
	embedder engram.Embedder
	batch    int
	slice    time.Duration
	log      *slog.Logger
}

// Timeout is two slices, below River's rescue time, so that a live
// worker's job is never rescued from under it.
func (w *embedWorker) Timeout(*river.Job[embedArgs]) time.Duration { return 2 * w.slice }

// NextRetry waits a little longer after each failed attempt: a provider
// that refused (rate limits, an outage) is given time.
func (w *embedWorker) NextRetry(j *river.Job[embedArgs]) time.Time {
	return time.Now().Add(min(time.Duration(j.Attempt)*5*time.Second, time.Minute))
}

func (w *embedWorker) Work(ctx context.Context, j *river.Job[embedArgs]) error {
	end := time.Now().Add(w.slice)
	total := 0
	for {
		if ctx.Err() != nil || time.Now().After(end) {
			w.log.Info("embedding paused", "tenant_id", j.Args.TenantID, "embedded", total)
			return river.JobSnooze(0)
		}
		// A batch runs on a context of its own, so that a shutdown
		// lets it finish, bounded by a slice: with the slice before it,
		// below River's rescue time.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.slice)
		p, err := w.store.EmbedBatch(bctx, j.Args.TenantID, w.embedder, w.batch)
		cancel()
		if err != nil {
			w.log.Warn("embedding batch failed", "tenant_id", j.Args.TenantID, "attempt", j.Attempt,
				"model", engram.EmbeddingModel(w.embedder), "error", engram.LogText(err))
			return err
		}
		total += p.Written
		if p.Read == 0 {
			if total > 0 {
				w.log.Info("chunks embedded", "tenant_id", j.Args.TenantID, "embedded", total, "model", engram.EmbeddingModel(w.embedder))
			}
			return nil
		}
	}
}
