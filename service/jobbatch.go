package service

import (
	"context"
	"errors"

	"github.com/engram-kb/engram"
)

// A job's batches. Everything a batch changes, including the job's
// progress and cursor, commits in one transaction with the job's row, so a
// crash between batches neither repeats nor skips work. A delete-all batch
// is one transaction from the job's lock to its advance; a classify batch
// runs its classifier outside any transaction and writes its verdicts
// with a guard (see classifyBatch).

// errCursorMoved rolls back a classify batch whose job another execution
// advanced, or that stopped running, while the classifier worked.
var errCursorMoved = errors.New("the job moved on while its batch was classified")

// RunJobBatch runs the job's next batch and returns the job as it is
// after it. It locks and reads the job (one statement); a job that is not
// running is returned as it is, and one with a cancel request ends as
// cancelled (one more statement). Otherwise:
//
//   - a delete-all batch, in the same transaction, deletes the next batch
//     of targets and advances the job: four statements for a hard batch
//     (the job, the connectors' lock and the delete with its tombstones,
//     the advance on PostgreSQL; the job, tombstones, delete, advance on
//     SQLite), three for a soft one;
//   - a classify batch ends that transaction, reads the next batch (one
//     statement), classifies it with no transaction open, and stores the
//     verdicts and advances the job in a second transaction of two
//     statements (one when there is no verdict to store): four in all, as
//     when the classifier ran inside the transaction.
func (s *Store) RunJobBatch(ctx context.Context, tenantID, id string, classifier engram.Classifier) (engram.Job, error) {
	var j engram.JobRecord
	var out engram.Job
	classify := false
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		var err error
		if j, err = tx.JobLock(ctx, tenantID, id); err != nil {
			return err
		}
		out = j.Job
		if j.Status != engram.JobRunning {
			return nil
		}
		if j.CancelRequestedAt != nil {
			c, _, err := tx.JobCancelled(ctx, tenantID, id, s.now())
			out = c.Job
			return err
		}
		var o engram.BatchOutcome
		switch j.Kind {
		case engram.JobDeleteAll:
			if o, err = s.deleteBatch(ctx, tx, tenantID, j); err != nil {
				return err
			}
		case engram.JobClassifyPending:
			classify = true
			return nil
		}
		a, err := engram.Advance(j.Kind, j.Params, j.Result, o)
		if err != nil {
			return err
		}
		done, ok, err := tx.JobAdvance(ctx, tenantID, id, j.Cursor, a, s.now())
		if err == nil && !ok {
			err = engram.Errorf(engram.EInternal, "job %s changed under its lock", id)
		}
		out = done.Job
		return err
	})
	if err != nil || !classify {
		return out, err
	}
	return s.classifyBatch(ctx, tenantID, j, classifier)
}

// batchAfter is where a job's next batch starts.
func batchAfter(j engram.JobRecord) string {
	if j.Cursor == "" {
		return engram.NilID
	}
	return j.Cursor
}

// deleteBatch hard-deletes or soft-deletes the job's next batch of
// targets, in tx: a hard batch first share-locks the tenant's connectors
// (on PostgreSQL), as SyncBatch and DeleteDocuments take them, so that a
// sync batch of one of them either finished before this batch or waits
// for it, and can neither write a deleted item back nor deadlock with it.
func (s *Store) deleteBatch(ctx context.Context, tx engram.Tx, tenantID string, j engram.JobRecord) (engram.BatchOutcome, error) {
	p := j.Params
	if p.Hard {
		if err := tx.ConnectorsLockForDeleteBatch(ctx, tenantID); err != nil {
			return engram.BatchOutcome{}, err
		}
	}
	return tx.DocumentsDeleteBatch(ctx, tenantID, engram.DeleteBatch{After: batchAfter(j), Bound: p.Bound,
		Limit: p.BatchSize, Hard: p.Hard, ConnectorID: p.ConnectorID}, s.now())
}

// classifyBatch reads the job's next batch of pending targets (one
// statement, no transaction), classifies them with no transaction open,
// then in one transaction stores the verdicts (one statement; none when
// there are none) and advances the job (one statement).
//
// Both writes are guarded, so the slow classifier never decides over
// what changed meanwhile. A verdict is stored only on a document a person
// has not confirmed, rejected or classified meanwhile, still live and with
// the content it was computed from (ClassifyWrite); the others count as
// handled but not classified. The advance matches only a running job
// whose cursor is still the one this batch read from: when another
// execution of the job (a rescued job whose first worker still lives)
// advanced it meanwhile, or it failed, the transaction rolls back,
// verdicts and all, and the job is read again (one more statement).
func (s *Store) classifyBatch(ctx context.Context, tenantID string, j engram.JobRecord, classifier engram.Classifier) (engram.Job, error) {
	if classifier == nil {
		return j.Job, engram.Errorf(engram.EInternal, "a classify job needs a classifier")
	}
	p := j.Params
	bound := p.Bound
	if bound == "" {
		bound = engram.NilID
	}
	cands, err := s.d.Reader().ClassifyRead(ctx, tenantID, engram.ClassifyQuery{After: batchAfter(j), Bound: bound, Limit: p.BatchSize})
	if err != nil {
		return j.Job, err
	}
	o := engram.BatchOutcome{Handled: len(cands)}
	for _, c := range cands {
		o.Last = max(o.Last, c.ID)
	}
	classify := func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		return classifier.Classify(ctx, p.Settings, docs)
	}
	planned, skipped, err := s.runClassifier(ctx, classify, cands, p.AutoConfirmThreshold)
	if err != nil {
		return j.Job, err
	}
	var out engram.Job
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		updated, err := s.writeVerdicts(ctx, tx, tenantID, planned)
		if err != nil {
			return err
		}
		sum := engram.Summarize(rowsOf(planned), updated, nil, append(skipped, lost(planned, updated)...))
		o.Classified = &sum
		a, err := engram.Advance(j.Kind, p, j.Result, o)
		if err != nil {
			return err
		}
		done, ok, err := tx.JobAdvance(ctx, tenantID, j.ID, j.Cursor, a, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return errCursorMoved
		}
		out = done.Job
		return nil
	})
	if errors.Is(err, errCursorMoved) {
		return s.GetJob(ctx, tenantID, j.ID)
	}
	return out, err
}
