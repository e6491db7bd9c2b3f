package service

import (
	"context"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// Jobs: the engram row of a background job. River (package jobs) decides
// when a job runs; the row is what the API reports, and the rules of
// asking for a job live here: one queued or running delete-all and one
// analysis per tenant, one sync per connector, and the snapshot of the
// targets a job works below.

// EnqueueJob snapshots the targets, hands the job to the job engine and
// records it, in one transaction: a delete-all or classify job takes three
// statements (snapshot, insert, audit) plus the engine's insert, and one
// more to name the running delete-all on a conflict; a connector's delete
// two more to disconnect it first; an analysis its check for a running
// one instead of the snapshot (and a lock before it on PostgreSQL). A sync
// job is enqueueSync's. Returns invalid_argument, not_found (a connector),
// conflict, or unavailable (no job engine is attached).
func (s *Store) EnqueueJob(ctx context.Context, tenantID, actor string, req engram.JobRequest) (engram.Job, error) {
	p, err := req.Params()
	if err != nil {
		return engram.Job{}, err
	}
	if req.Kind == engram.JobSync {
		return s.enqueueSync(ctx, tenantID, actor, p)
	}
	if req.Kind == engram.JobAnalyzeGaps {
		// The gaps an analysis finds name the key that asked for it.
		p.Actor = actor
	}
	var out engram.Job
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if req.Kind == engram.JobAnalyzeGaps {
			if err := s.oneAnalysis(ctx, tx, tenantID); err != nil {
				return err
			}
		}
		if p.ConnectorID != "" {
			// A connector's delete (DELETE /api/integrations/{id}?delete_documents=true)
			// disconnects it in the same transaction: a conflict with a
			// running delete leaves the connector as it was.
			if err := s.disconnect(ctx, tx, tenantID, actor, p.ConnectorID); err != nil {
				return err
			}
		}
		// A gap analysis has no snapshot: it reads up to its maximum of
		// the work documents there are when it runs.
		var snap engram.JobSnapshot
		if p.ConnectorID != "" || req.Kind != engram.JobAnalyzeGaps {
			var err error
			snap, err = tx.JobSnapshotRead(ctx, tenantID, engram.JobTargets{Kind: req.Kind, Hard: p.Hard, ConnectorID: p.ConnectorID})
			if err != nil {
				return err
			}
		}
		p.Bound = snap.Bound
		if p.Bound == "" {
			p.Bound = engram.NilID
		}
		j, ok, err := s.insertJob(ctx, tx, tenantID, actor, req.Kind, snap.Total, p)
		if err != nil {
			return err
		}
		if !ok {
			running, err := tx.JobActiveID(ctx, tenantID, engram.JobDeleteAll, "")
			if err != nil {
				return err
			}
			return engram.DeleteAllConflict(running)
		}
		out = j.Job
		return s.audit(ctx, tx, tenantID, actor, "jobs."+string(req.Kind), "document", snap.Total,
			map[string]any{"job_id": j.ID, "hard": p.Hard})
	})
	return out, err
}

// oneAnalysis keeps a tenant to one queued or running gap analysis: the
// lock orders concurrent requests (on PostgreSQL; SQLite's one writer
// does), so the check sees any analysis another one committed.
func (s *Store) oneAnalysis(ctx context.Context, tx engram.Tx, tenantID string) error {
	if err := tx.JobsLockAnalyses(ctx, tenantID); err != nil {
		return err
	}
	running, err := tx.JobActiveID(ctx, tenantID, engram.JobAnalyzeGaps, "")
	if err != nil {
		return err
	}
	if running != "" {
		return engram.AnalysisConflict(running)
	}
	return nil
}

// insertJob hands a new job to the job engine and records it, in tx: the
// engine's insert and one statement. It reports false when a unique index
// refused the row (a second delete-all of the tenant, or sync of the
// connector).
func (s *Store) insertJob(ctx context.Context, tx engram.Tx, tenantID, actor string, kind engram.JobKind, total int, p engram.JobParams) (engram.JobRecord, bool, error) {
	_, j, ok, err := s.insertJobRow(ctx, tx, tenantID, actor, kind, total, p)
	return j, ok, err
}

// insertJobRow is insertJob returning the row it asked for too, which a
// refused sync inserts again once the sync in its way is ended.
func (s *Store) insertJobRow(ctx context.Context, tx engram.Tx, tenantID, actor string, kind engram.JobKind, total int, p engram.JobParams) (engram.NewJobRow, engram.JobRecord, bool, error) {
	now := s.now()
	j := engram.Job{ID: engram.NewID(), Kind: kind, Status: engram.JobQueued, CreatedAt: now,
		Progress: engram.JobProgress{Total: total}}
	riverIDs, err := tx.InsertJobs(ctx, []engram.TenantJob{{TenantID: tenantID, Job: j}})
	if err != nil {
		return engram.NewJobRow{}, engram.JobRecord{}, false, err
	}
	row := engram.NewJobRow{ID: j.ID, Kind: kind, Total: total, Params: p, RiverJobID: riverIDs[0], RequestedBy: actor}
	rec, ok, err := tx.JobInsert(ctx, tenantID, row, now)
	return row, rec, ok, err
}

// staleSync is the message of a sync that a new one replaced because its
// worker was gone.
const staleSync = "the worker running this sync stopped (its process ended); a new sync replaced it"

// enqueueSync records a sync job and hands it to the job engine in one
// transaction of three statements plus the engine's insert: it reads the
// connector (locking it on PostgreSQL, so a disconnect waits or is seen),
// then inserts the job, which the partial unique index jobs_one_sync
// refuses while the connector has a queued or running sync, and audits.
// When refused, one statement fails the connector's sync if its worker is
// gone (no heartbeat for engram.JobStaleAfter) and one more inserts again;
// otherwise one names the sync in the way.
func (s *Store) enqueueSync(ctx context.Context, tenantID, actor string, p engram.JobParams) (engram.Job, error) {
	var out engram.Job
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		status, ok, err := tx.ConnectorLockForSync(ctx, tenantID, p.ConnectorID)
		if err != nil {
			return err
		}
		if !ok {
			return engram.Errorf(engram.ENotFound, "integration %s not found", p.ConnectorID)
		}
		if status == engram.ConnectorDisconnected {
			return engram.Errorf(engram.EConflict, "integration %s is disconnected; set its status to active to sync it", p.ConnectorID)
		}
		row, j, ok, err := s.insertJobRow(ctx, tx, tenantID, actor, engram.JobSync, 0, p)
		if err != nil {
			return err
		}
		if !ok {
			now := s.now()
			ended, err := tx.JobEndStaleSync(ctx, tenantID, p.ConnectorID, staleSync, now.Add(-engram.JobStaleAfter), now)
			if err != nil {
				return err
			}
			if ended {
				// The engine's job inserted above stays this row's; the
				// ended sync's own is cancelled when it runs (see
				// package jobs).
				if j, ok, err = tx.JobInsert(ctx, tenantID, row, now); err != nil {
					return err
				}
			}
		}
		if !ok {
			running, err := tx.JobActiveID(ctx, tenantID, engram.JobSync, p.ConnectorID)
			if err != nil {
				return err
			}
			return engram.SyncConflict(running)
		}
		out = j.Job
		return s.audit(ctx, tx, tenantID, actor, "jobs.sync", "connector", 1,
			map[string]any{"job_id": j.ID, "connector_id": p.ConnectorID, "full": p.Full})
	})
	return out, err
}

// GetJob returns one job in one statement.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	j, err := s.d.Reader().JobGet(ctx, tenantID, id)
	return j.Job, err
}

// ListJobs returns a page of the tenant's jobs, newest first, in one
// statement: it reads one job more than the page to know whether there is
// another.
func (s *Store) ListJobs(ctx context.Context, tenantID string, f engram.JobFilter) (engram.JobPage, error) {
	var page engram.JobPage
	read := f
	read.Limit = f.Limit + 1
	jobs, err := s.d.Reader().JobList(ctx, tenantID, read)
	if err != nil {
		return page, err
	}
	page.Jobs = jobs
	if len(page.Jobs) > f.Limit {
		page.Jobs, page.HasMore = page.Jobs[:f.Limit], true
		last := page.Jobs[f.Limit-1]
		page.NextCursor = engram.JobCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return page, nil
}

// CancelJob cancels a queued job at once and marks a running one for
// cancelling at its next batch boundary, in one statement (two when the
// job is already finished or missing). A running sync whose worker is
// gone is cancelled at once: no worker would see the request.
func (s *Store) CancelJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	j, err := s.changeJob(ctx, tenantID, id, func(tx engram.Tx) (engram.JobRecord, bool, error) {
		now := s.now()
		return tx.JobCancel(ctx, tenantID, id, now, now.Add(-engram.JobStaleAfter))
	})
	return j.Job, err
}

// StartJob marks the job running in one statement (two when it is final
// or missing).
func (s *Store) StartJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	j, err := s.StartSyncJob(ctx, tenantID, id)
	return j.Job, err
}

// StartSyncJob is StartJob returning the job's cursor too.
func (s *Store) StartSyncJob(ctx context.Context, tenantID, id string) (engram.JobRecord, error) {
	return s.changeJob(ctx, tenantID, id, func(tx engram.Tx) (engram.JobRecord, bool, error) {
		return tx.JobStart(ctx, tenantID, id, s.now())
	})
}

// HeartbeatJob notes that a running job's worker is alive, in one
// statement.
func (s *Store) HeartbeatJob(ctx context.Context, tenantID, id string) error {
	return s.d.Writer().JobHeartbeat(ctx, tenantID, id, s.now())
}

// changeJob runs change in a transaction and returns the job it changed,
// or, when it matched no unfinished job, reads the job as it is.
func (s *Store) changeJob(ctx context.Context, tenantID, id string, change func(tx engram.Tx) (engram.JobRecord, bool, error)) (engram.JobRecord, error) {
	var out engram.JobRecord
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		j, ok, err := change(tx)
		if err != nil {
			return err
		}
		if !ok {
			j, err = tx.JobGet(ctx, tenantID, id)
		}
		out = j
		return err
	})
	return out, err
}

// FailJob marks an unfinished job failed, in one statement.
func (s *Store) FailJob(ctx context.Context, tenantID, id, message string) error {
	return s.d.Writer().JobFail(ctx, tenantID, id, message, s.now())
}

// RecordJobProgress sets a job's progress and result in one statement,
// for work that is not a store batch (a gap analysis): a sync batch writes
// its job's progress itself, in its own transaction (see SyncBatch).
// Returns not_found.
func (s *Store) RecordJobProgress(ctx context.Context, tenantID, id string, pr engram.JobProgress, result json.RawMessage) (engram.Job, error) {
	j, ok, err := s.d.Writer().JobRecordProgress(ctx, tenantID, id, pr, result, "", s.now())
	if err == nil && !ok {
		err = engram.Errorf(engram.ENotFound, "job %s not found", id)
	}
	return j.Job, err
}

// FinishJob ends an unfinished job in one statement, and records a sync's
// outcome on its connector in one more, in one transaction. A job that is
// already final (cancelled while queued, or finished by a second
// execution) stays as it is: one more statement reads it.
func (s *Store) FinishJob(ctx context.Context, tenantID, id string, status engram.JobStatus, result json.RawMessage, message *string) (engram.Job, error) {
	if !status.Final() {
		return engram.Job{}, engram.Errorf(engram.EInternal, "FinishJob: %q is not a final status", status)
	}
	var out engram.JobRecord
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		now := s.now()
		j, ok, err := tx.JobFinish(ctx, tenantID, id, status, result, message, now)
		if err != nil {
			return err
		}
		if !ok {
			out, err = tx.JobGet(ctx, tenantID, id)
			return err
		}
		out = j
		if j.Kind != engram.JobSync {
			return nil
		}
		return tx.ConnectorRecordSync(ctx, tenantID, j.Params.ConnectorID, status, message, now)
	})
	return out.Job, err
}

// LatestConnectorJob returns the connector's newest job of kind in one
// statement.
func (s *Store) LatestConnectorJob(ctx context.Context, tenantID, connectorID string, kind engram.JobKind) (*engram.Job, error) {
	return s.d.Reader().JobLatestForConnector(ctx, tenantID, connectorID, kind)
}

// TenantCounts counts a tenant's raw rows in one statement.
func (s *Store) TenantCounts(ctx context.Context, tenantID string) (engram.TenantCounts, error) {
	return s.d.Reader().TenantCounts(ctx, tenantID)
}
