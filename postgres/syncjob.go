package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// Sync jobs: a connector's sync recorded as a job. Its work is SyncBatch
// calls made by the worker (package jobs), so the job row only records
// progress and the outcome; these are the statements for that.

// ConnectorLockForSync reads the connector's status FOR SHARE, so that a
// disconnect waits for the sync's job or is seen.
func (e *executor) ConnectorLockForSync(ctx context.Context, tenantID, connectorID string) (engram.ConnectorStatus, bool, error) {
	var status string
	found := false
	err := e.run(ctx, tenantID, func(q querier) error {
		err := queryRow(ctx, q, "connectors.lock_for_sync",
			`SELECT status FROM connectors WHERE tenant_id = $1 AND id = $2 FOR SHARE`,
			[]any{tenantID, connectorID}, &status)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return err
	})
	return engram.ConnectorStatus(status), found, err
}

// nullJSON is a JSON column's parameter: NULL when empty.
func nullJSON(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// JobRecordProgress sets a job's progress, result and cursor.
func (e *executor) JobRecordProgress(ctx context.Context, tenantID, id string, pr engram.JobProgress, result json.RawMessage, cursor string, at time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.progress",
		`UPDATE jobs SET progress_done = $3, progress_total = $4, result = coalesce($5::jsonb, result),
		        resume_after = coalesce(nullif($7, ''), resume_after), heartbeat_at = $6, updated_at = $6
		  WHERE tenant_id = $1 AND id = $2 RETURNING `+jobColumns,
		tenantID, id, pr.Done, pr.Total, nullJSON(result), ts(at), cursor)
}

// JobFinish ends an unfinished job.
func (e *executor) JobFinish(ctx context.Context, tenantID, id string, status engram.JobStatus, result json.RawMessage, message *string, at time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.finish",
		`UPDATE jobs SET status = $3, result = coalesce($4::jsonb, result), error = $5, finished_at = $6, updated_at = $6
		  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') RETURNING `+jobColumns,
		tenantID, id, string(status), nullJSON(result), message, ts(at))
}

// ConnectorRecordSync writes a sync's outcome on its connector.
func (e *executor) ConnectorRecordSync(ctx context.Context, tenantID, connectorID string, status engram.JobStatus, message *string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "connectors.record_sync",
			`UPDATE connectors SET last_sync_at = $3, last_sync_status = $4, last_sync_error = $5, updated_at = $3
			  WHERE tenant_id = $1 AND id = $2`, tenantID, connectorID, ts(at), string(status), message)
		return err
	})
}
