package postgres

import (
	"context"
	"encoding/json"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// Sync jobs: a connector's sync recorded as a job. Its work is SyncBatch
// calls made by the worker (package jobs), so the job row only records
// progress and the outcome; these are the statements for that.

// enqueueSync records a sync job and hands it to River in one transaction:
// it locks the connector (so a disconnect waits or is seen), then inserts
// the job, which the partial unique index jobs_one_sync refuses while the
// connector has a queued or running sync.
func (s *Store) enqueueSync(ctx context.Context, tenantID, actor string, p engram.JobParams) (engram.Job, error) {
	now := ts(s.now())
	var out jobRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var status string
		err := queryRow(ctx, tx, "connectors.lock_for_sync",
			`SELECT status FROM connectors WHERE tenant_id = $1 AND id = $2 FOR SHARE`,
			[]any{tenantID, p.ConnectorID}, &status)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "integration %s not found", p.ConnectorID)
		}
		if err != nil {
			return err
		}
		if engram.ConnectorStatus(status) == engram.ConnectorDisconnected {
			return engram.Errorf(engram.EConflict, "integration %s is disconnected; set its status to active to sync it", p.ConnectorID)
		}
		j := engram.Job{ID: engram.NewID(), Kind: engram.JobSync, Status: engram.JobQueued, CreatedAt: now}
		riverID, err := s.enqueueOne(ctx, tx, tenantID, j)
		if err != nil {
			return err
		}
		params, _ := json.Marshal(p)
		out, err = jobStatement(ctx, tx, "jobs.create_sync",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, requested_by, created_at, updated_at)
			 VALUES ($1, $2, 'sync', 'queued', $3::jsonb, $4, $5, nullif($6, '')::uuid, $7, $7)
			 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING
			 RETURNING `+jobColumns,
			tenantID, j.ID, string(params), p.ConnectorID, riverID, actor, now)
		if isNoRows(err) {
			var running string
			if err := queryRow(ctx, tx, "jobs.running_sync",
				`SELECT id::text FROM jobs WHERE tenant_id = $1 AND connector_id = $2 AND kind = 'sync' AND status IN ('queued', 'running')`,
				[]any{tenantID, p.ConnectorID}, &running); err != nil {
				return err
			}
			return engram.SyncConflict(running)
		}
		if err != nil {
			return err
		}
		return s.auditTarget(ctx, tx, tenantID, actor, "jobs.sync", "connector", 1,
			map[string]any{"job_id": j.ID, "connector_id": p.ConnectorID, "full": p.Full})
	})
	return out.Job, err
}

// RecordJobProgress sets a running job's progress and result in one
// statement.
func (s *Store) RecordJobProgress(ctx context.Context, tenantID, id string, pr engram.JobProgress, result json.RawMessage) (engram.Job, error) {
	var res *string
	if len(result) > 0 {
		r := string(result)
		res = &r
	}
	var j jobRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.progress",
			`UPDATE jobs SET progress_done = $3, progress_total = $4, result = coalesce($5::jsonb, result), updated_at = $6
			  WHERE tenant_id = $1 AND id = $2 RETURNING `+jobColumns,
			tenantID, id, pr.Done, pr.Total, res, ts(s.now()))
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "job %s not found", id)
		}
		return err
	})
	return j.Job, err
}

// FinishJob ends an unfinished job in one statement, and records a sync's
// outcome on its connector in one more.
func (s *Store) FinishJob(ctx context.Context, tenantID, id string, status engram.JobStatus, result json.RawMessage, message *string) (engram.Job, error) {
	if !status.Final() {
		return engram.Job{}, engram.Errorf(engram.EInternal, "FinishJob: %q is not a final status", status)
	}
	var res *string
	if len(result) > 0 {
		r := string(result)
		res = &r
	}
	now := ts(s.now())
	var j jobRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.finish",
			`UPDATE jobs SET status = $3, result = coalesce($4::jsonb, result), error = $5, finished_at = $6, updated_at = $6
			  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') RETURNING `+jobColumns,
			tenantID, id, string(status), res, message, now)
		if isNoRows(err) {
			// Already final (cancelled while queued, or a second execution
			// finished it): leave it as it is.
			j, err = s.getJob(ctx, tx, tenantID, id)
			return err
		}
		if err != nil || j.Kind != engram.JobSync {
			return err
		}
		_, err = exec(ctx, tx, "connectors.record_sync",
			`UPDATE connectors SET last_sync_at = $3, last_sync_status = $4, last_sync_error = $5, updated_at = $3
			  WHERE tenant_id = $1 AND id = $2`, tenantID, j.params.ConnectorID, now, string(status), message)
		return err
	})
	return j.Job, err
}

// LatestConnectorJob returns the connector's newest job of kind in one
// statement.
func (s *Store) LatestConnectorJob(ctx context.Context, tenantID, connectorID string, kind engram.JobKind) (*engram.Job, error) {
	var out *engram.Job
	err := s.read(ctx, func(c *pgxConn) error {
		j, err := jobStatement(ctx, c, "jobs.latest_for_connector",
			`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND connector_id = $2 AND kind = $3
			  ORDER BY created_at DESC, id DESC LIMIT 1`, tenantID, connectorID, string(kind))
		if isNoRows(err) {
			return nil
		}
		out = &j.Job
		return err
	})
	return out, err
}
