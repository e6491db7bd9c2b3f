// Package ingest drives a connector's source through the sync pipeline:
// it reads items as the source streams them, cuts them into batches, and
// hands each batch to the store's SyncBatch, which sorts and writes it in
// one short transaction of a constant number of statements. Nothing here
// holds more than one batch in memory.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/engram-kb/engram"
)

// DefaultBatch is how many items go to the store at once.
const DefaultBatch = engram.DefaultSyncBatch

// batchTimeout bounds one batch's transaction, which does not end with
// the run's context.
const batchTimeout = 2 * time.Minute

// maxFailuresKept bounds the failures a report lists; all are counted.
const maxFailuresKept = 100

// Report is what a sync did.
type Report struct {
	engram.SyncCounts
	// Failures lists the first items that could not be read or stored,
	// with reasons.
	Failures []engram.SourceFailure `json:"failures"`
	// Warnings lists the first items stored without a part that could
	// not be kept (an impossible date), with reasons; Warned counts all.
	Warnings []engram.SourceFailure `json:"warnings"`
	Warned   int                    `json:"warned"`
	// Batches is how many batches were written.
	Batches int `json:"batches"`
	// Cursor is the source cursor of the last item written ("" when the
	// source cannot resume or nothing was written), where a resumed run
	// starts (Options.From).
	Cursor string `json:"-"`
}

// Options tune a run.
type Options struct {
	// Batch is the batch size (default DefaultBatch).
	Batch int
	// Progress, when set, is called after every batch with the totals.
	Progress func(Report)
	// JobID, when set with Record, is the sync job whose progress every
	// batch writes in its own transaction: Record turns the report as it
	// will be once the batch commits into the job's progress and result.
	JobID  string
	Record func(Report) (engram.JobProgress, json.RawMessage)
	// Full makes the run a full sync: at its end the connector's documents
	// the source no longer has are archived and counted as
	// missing_at_source. A run that stopped early, or in which some item
	// could not be read, archives nothing.
	Full bool
	// Cancelled, when set, is asked before every batch; a true answer ends
	// the run at that boundary with what was done so far.
	Cancelled func(ctx context.Context) bool

	// From resumes a run after an item's Cursor, when the source is an
	// engram.Resumer (another source is read from its start), and Start
	// is the report of the runs before, which the report adds to. Each
	// batch's job progress records the cursor of its last item.
	From  string
	Start Report
	// RunID names a full sync's run across the executions that resume it
	// (default: a new id). With RunID set, a run that stops on an error or
	// a pause keeps its notes of what it saw, for the run that resumes
	// it; whoever gives up on it drops them (FinishFullSync).
	RunID string
	// Pause, when set and the source can resume, is asked before every
	// batch but the first of the run; a true answer ends the run at that
	// boundary with ErrPaused, to be resumed from the last cursor.
	Pause func() bool
}

// Run syncs everything src yields into the connector.
func Run(ctx context.Context, store engram.ConnectorStore, tenantID, connectorID string, src engram.Source, opt Options) (Report, error) {
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	rep := opt.Start
	if rep.Failures == nil {
		rep.Failures = []engram.SourceFailure{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []engram.SourceFailure{}
	}
	resumer, resumable := src.(engram.Resumer)
	var sopt engram.SyncOptions
	if opt.Full {
		sopt.RunID = opt.RunID
		if sopt.RunID == "" {
			sopt.RunID = engram.NewID()
		}
	}
	written := 0
	fail := func(f engram.SourceFailure) {
		rep.Failed++
		if len(rep.Failures) < maxFailuresKept {
			rep.Failures = append(rep.Failures, f)
		}
	}
	batch := make([]engram.SourceItem, 0, opt.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if opt.Cancelled != nil && opt.Cancelled(ctx) {
			return ErrCancelled
		}
		if resumable && written > 0 && opt.Pause != nil && opt.Pause() {
			return ErrPaused
		}
		cursor := batch[len(batch)-1].Cursor
		prepared, failures, _ := engram.PrepareSyncItems(connectorID, batch, false)
		for _, f := range failures {
			if !f.Kept {
				fail(f)
				continue
			}
			rep.Warned++
			if len(rep.Warnings) < maxFailuresKept {
				rep.Warnings = append(rep.Warnings, f)
			}
		}
		batch = batch[:0]
		if len(prepared) == 0 {
			return nil
		}
		next := func(c engram.SyncCounts) Report {
			r := rep
			r.SyncCounts.Add(c)
			r.Batches++
			if cursor != "" {
				r.Cursor = cursor
			}
			return r
		}
		if opt.JobID != "" && opt.Record != nil {
			sopt.Job = &engram.SyncJobProgress{JobID: opt.JobID, Cursor: cursor, Record: func(c engram.SyncCounts) (engram.JobProgress, json.RawMessage) {
				return opt.Record(next(c))
			}}
		}
		// A batch that started commits even when ctx ends meanwhile (a
		// worker stopping): the run then stops at the next item.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
		counts, err := store.SyncBatch(bctx, tenantID, connectorID, prepared, sopt)
		cancel()
		if err != nil {
			return err
		}
		written++
		rep = next(counts)
		if opt.Progress != nil {
			opt.Progress(rep)
		}
		return nil
	}
	yield := func(it engram.SourceItem) error {
		batch = append(batch, it)
		if len(batch) >= opt.Batch {
			return flush()
		}
		return nil
	}
	var err error
	if resumable {
		err = resumer.ItemsFrom(ctx, opt.From, yield, fail)
	} else {
		err = src.Items(ctx, yield, fail)
	}
	if err == nil {
		err = flush()
	}
	// A paused run, or a resumable one that failed, keeps its notes for the
	// run that resumes it.
	keep := errors.Is(err, ErrPaused) || (err != nil && !errors.Is(err, ErrCancelled) && opt.RunID != "")
	if opt.Full && !keep {
		// An item that failed to read is still at the source, but no batch
		// saw it: archiving "what was not seen" would archive it. So a run
		// with failures, or one that stopped early, archives nothing.
		archive := err == nil && rep.Failed == 0
		missing, ferr := store.FinishFullSync(context.WithoutCancel(ctx), tenantID, connectorID, sopt.RunID, archive)
		if err == nil {
			err = ferr
		}
		rep.MissingAtSource = missing
	}
	return rep, err
}

// ErrCancelled reports a run that stopped at a batch boundary because it
// was asked to; the report says what was done.
var ErrCancelled = engram.Errorf(engram.EConflict, "the sync was cancelled")

// ErrPaused reports a run that stopped at a batch boundary because
// Options.Pause said so: what was committed is in the job, with the cursor
// to resume from. The report also counts failures after that cursor,
// which the resumed run reports again, so it is not recorded.
var ErrPaused = errors.New("ingest: the sync paused at a batch boundary")
