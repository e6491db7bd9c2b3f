package jobs

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
)

// Gap analyses run engram.RunGapAnalysis in one River execution. The
// analysis is idempotent (a gap it finds again is updated, not created
// twice), so a rescued job simply runs again from its first document.

// askFiler files the questions asked and not answered as gaps, and
// publishes the answers of gaps as documents (engram.ChatStore).
type askFiler interface {
	FileAskEvidence(ctx context.Context, tenantID, actor string, limit int) (engram.AskEvidenceSummary, error)
	PublishGapAnswers(ctx context.Context, tenantID, actor string) (created, removed int, err error)
}

// analyzeArgs is a gap analysis job's River arguments.
type analyzeArgs struct{ jobArgs }

func (analyzeArgs) Kind() string { return "engram." + string(engram.JobAnalyzeGaps) }

// runAnalyze runs one analysis job to its end, writing its progress to the
// job after every batch; a cancel request stops it at the next batch.
func (w *worker) runAnalyze(ctx context.Context, a jobArgs, attempt, maxAttempts int) error {
	j, err := w.store.StartJob(ctx, a.TenantID, a.JobID)
	if engram.ErrorCode(err) == engram.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	if j.Status != engram.JobRunning {
		return nil
	}
	if w.analyzer == nil {
		msg := "gap analysis is not configured on this worker"
		ferr := w.finish(ctx, a, engram.JobFailed, nil, &msg)
		return errors.Join(ferr, river.JobCancel(errors.New(msg)))
	}
	// RunGapAnalysis stops between batches when its context ends; a cancel
	// request, seen as progress is written, ends this one.
	actx, stop := context.WithCancel(ctx)
	defer stop()
	cancelled := j.CancelRequestedAt != nil
	progress := func(done, total int) {
		j, err := w.store.RecordJobProgress(ctx, a.TenantID, a.JobID, engram.JobProgress{Done: done, Total: total}, nil)
		if err != nil {
			w.log.Warn("record analysis progress", "job_id", a.JobID, "error", engram.LogText(err))
			return
		}
		if j.CancelRequestedAt != nil {
			cancelled = true
			stop()
		}
	}
	opt := engram.AnalysisOptions{MaxDocuments: j.Params.MaxDocuments, Analyzer: w.analyzerName}
	sum, err := engram.RunGapAnalysis(actx, w.gaps, w.analyzer, a.TenantID, j.Params.Actor, opt, progress)
	if f, ok := w.gaps.(askFiler); ok && err == nil && !cancelled {
		// Questions nobody's documents answered are gaps too.
		var asked engram.AskEvidenceSummary
		asked, err = f.FileAskEvidence(actx, a.TenantID, j.Params.Actor, 0)
		sum.GapsCreated += asked.GapsCreated
		sum.GapsUpdated += asked.GapsUpdated
		if err == nil {
			// Answered gaps become documents the next question finds.
			_, _, err = f.PublishGapAnswers(actx, a.TenantID, j.Params.Actor)
		}
	}
	res, _ := json.Marshal(sum)
	switch {
	case cancelled:
		err = w.finish(ctx, a, engram.JobCancelled, res, nil)
	case err == nil:
		err = w.finish(ctx, a, engram.JobSucceeded, res, nil)
	}
	if err != nil {
		return w.failed(ctx, a, attempt, maxAttempts, err)
	}
	return nil
}
