package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

// Jobs: the statements of a job's row and of a delete-all's batches (the
// rules are package service's).
//
// A delete-all batch first locks its job row (JobLock: FOR UPDATE). Two
// executions of the same job (a job River rescued while its first worker
// still lives) therefore take turns, and each reads the cursor the other
// committed: no document is handled twice. Then one statement selects the
// next documents after the cursor, up to the bound and the batch size,
// locking them in id order (FOR UPDATE, so no other bulk write deadlocks
// with it), and changes them. No statement locks more than one batch of
// documents.

// SetJobEnqueuer attaches the job engine: Tx.InsertJobs calls fn inside
// the transaction that records a job.
func (s *Store) SetJobEnqueuer(fn engram.JobEnqueuer[pgx.Tx]) { s.enqueue = fn }

// jobColumns are the columns of a Job, then the job's params and cursor.
const jobColumns = `id::text, kind, status, progress_done, progress_total, result, error,
	created_at, started_at, finished_at, cancel_requested_at, params, coalesce(resume_after, '')`

func scanJob(r pgx.Row) (engram.JobRecord, error) {
	var j engram.JobRecord
	var kind, status string
	var result, params []byte
	err := r.Scan(&j.ID, &kind, &status, &j.Progress.Done, &j.Progress.Total, &result, &j.Error,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.CancelRequestedAt, &params, &j.Cursor)
	if err != nil {
		return j, err
	}
	inUTC(&j.CreatedAt, j.StartedAt, j.FinishedAt, j.CancelRequestedAt)
	if len(result) > 0 {
		j.Result = result
	}
	return j, rows.FinishJob(&j, kind, status, params)
}

// scanJobItem reads a job row of a list.
func scanJobItem(r rows.Scanner) (engram.Job, error) {
	j, err := scanJob(r)
	return j.Job, err
}

// jobStatement runs a statement that returns one job row; false when it
// returned none.
func (e *executor) jobStatement(ctx context.Context, tenantID, op, sql string, args ...any) (engram.JobRecord, bool, error) {
	var j engram.JobRecord
	found := false
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		j, err = oneRow(ctx, q, op, sql, scanJob, args...)
		if isNoRows(err) {
			return nil
		}
		found = err == nil
		return translate(err)
	})
	return j, found, err
}

// JobInsert records a job: jobs.create_sync for a sync (refused by
// jobs_one_sync), jobs.create for the others (refused by
// jobs_one_delete_all).
func (e *executor) JobInsert(ctx context.Context, tenantID string, j engram.NewJobRow, at time.Time) (engram.JobRecord, bool, error) {
	params, err := json.Marshal(j.Params)
	if err != nil {
		return engram.JobRecord{}, false, err
	}
	now := ts(at)
	if j.Kind == engram.JobSync {
		return e.jobStatement(ctx, tenantID, "jobs.create_sync",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, requested_by, created_at, updated_at)
			 VALUES ($1, $2, 'sync', 'queued', $3::jsonb, $4, $5, nullif($6, '')::uuid, $7, $7)
			 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING
			 RETURNING `+jobColumns,
			tenantID, j.ID, string(params), j.Params.ConnectorID, j.RiverJobID, j.RequestedBy, now)
	}
	return e.jobStatement(ctx, tenantID, "jobs.create",
		`INSERT INTO jobs (tenant_id, id, kind, status, params, progress_total, river_job_id, requested_by, created_at, updated_at, connector_id)
		 VALUES ($1, $2, $3, 'queued', $4::jsonb, $5, $6, nullif($7, '')::uuid, $8, $8, nullif($9, '')::uuid)
		 ON CONFLICT (tenant_id) WHERE kind = 'delete_all' AND status IN ('queued', 'running') DO NOTHING
		 RETURNING `+jobColumns,
		tenantID, j.ID, string(j.Kind), string(params), j.Total, j.RiverJobID, j.RequestedBy, now, j.Params.ConnectorID)
}

// activeQueries find the tenant's queued or running job of a kind.
var activeQueries = map[engram.JobKind]rows.Statement{
	engram.JobAnalyzeGaps: {Op: "jobs.running_analysis",
		SQL: `SELECT id::text FROM jobs WHERE tenant_id = $1 AND kind = 'analyze_gaps' AND status IN ('queued', 'running') LIMIT 1`},
	engram.JobDeleteAll: {Op: "jobs.running_delete_all",
		SQL: `SELECT id::text FROM jobs WHERE tenant_id = $1 AND kind = 'delete_all' AND status IN ('queued', 'running')`},
	engram.JobSync: {Op: "jobs.running_sync",
		SQL: `SELECT id::text FROM jobs WHERE tenant_id = $1 AND connector_id = $2 AND kind = 'sync' AND status IN ('queued', 'running')`},
}

// JobActiveID finds the tenant's queued or running job of kind.
func (e *executor) JobActiveID(ctx context.Context, tenantID string, kind engram.JobKind, connectorID string) (string, error) {
	st, args, err := rows.JobActive(activeQueries, kind, tenantID, connectorID)
	if err != nil {
		return "", err
	}
	var id string
	err = e.run(ctx, tenantID, func(q querier) error {
		err := queryRow(ctx, q, st.Op, st.SQL, args, &id)
		if isNoRows(err) {
			return nil
		}
		return err
	})
	return id, err
}

// JobsLockAnalyses takes a transaction-scoped advisory lock per tenant.
// (Unlike delete-all and sync, no unique index keeps a tenant to one
// analysis: one could not be added to a jobs table that may already hold
// two.)
func (e *executor) JobsLockAnalyses(ctx context.Context, tenantID string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "jobs.lock_analysis",
			`SELECT pg_advisory_xact_lock(hashtextextended('engram.analyze_gaps.' || $1::text, 0))`, tenantID)
		return err
	})
}

// snapshotQueries count a job's targets and find the largest target id.
var snapshotQueries = map[engram.JobKind]map[bool]string{
	engram.JobDeleteAll: {
		true: `SELECT count(*), (SELECT id::text FROM documents WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1)
		         FROM documents WHERE tenant_id = $1`,
		false: `SELECT count(*), (SELECT id::text FROM documents WHERE tenant_id = $1 AND NOT is_deleted ORDER BY id DESC LIMIT 1)
		          FROM documents WHERE tenant_id = $1 AND NOT is_deleted`,
	},
	engram.JobClassifyPending: {
		false: `SELECT count(*), (SELECT id::text FROM documents WHERE tenant_id = $1 AND status = 'pending' AND NOT is_deleted ORDER BY id DESC LIMIT 1)
		          FROM documents WHERE tenant_id = $1 AND status = 'pending' AND NOT is_deleted`,
	},
}

// snapshotConnector counts a connector's documents.
var snapshotConnector = rows.Statement{Op: "jobs.snapshot_connector",
	SQL: `SELECT count(*), max(id::text) FROM documents WHERE tenant_id = $1 AND connector_id = $2`}

// JobSnapshotRead counts the targets in one statement.
func (e *executor) JobSnapshotRead(ctx context.Context, tenantID string, t engram.JobTargets) (engram.JobSnapshot, error) {
	st, args, err := rows.JobSnapshot(snapshotConnector, snapshotQueries, t, tenantID)
	if err != nil {
		return engram.JobSnapshot{}, err
	}
	var s engram.JobSnapshot
	var bound *string
	err = e.run(ctx, tenantID, func(q querier) error { return queryRow(ctx, q, st.Op, st.SQL, args, &s.Total, &bound) })
	if bound != nil {
		s.Bound = *bound
	}
	return s, err
}

// JobGet reads one job.
func (e *executor) JobGet(ctx context.Context, tenantID, id string) (engram.JobRecord, error) {
	j, ok, err := e.jobStatement(ctx, tenantID, "jobs.get", `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return rows.JobFound(id, j, ok, err)
}

// JobLock reads and locks one job (FOR UPDATE).
func (e *executor) JobLock(ctx context.Context, tenantID, id string) (engram.JobRecord, error) {
	j, ok, err := e.jobStatement(ctx, tenantID, "jobs.lock",
		`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id)
	return rows.JobFound(id, j, ok, err)
}

// JobList reads a page of jobs, newest first.
func (e *executor) JobList(ctx context.Context, tenantID string, f engram.JobFilter) ([]engram.Job, error) {
	p := rows.JobList(f)
	if p.After != nil {
		t := ts(*p.After)
		p.After = &t
	}
	var out []engram.Job
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "jobs.list",
			`SELECT `+jobColumns+` FROM jobs
			  WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR status = $3)
			    AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
			  ORDER BY created_at DESC, id DESC LIMIT $6`,
			tenantID, p.Kind, p.Status, p.After, p.AfterID, f.Limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		out, err = rows.Collect(rs, scanJobItem)
		return translate(err)
	})
	return out, err
}

// JobLatestForConnector reads the connector's newest job of kind.
func (e *executor) JobLatestForConnector(ctx context.Context, tenantID, connectorID string, kind engram.JobKind) (*engram.Job, error) {
	j, ok, err := e.jobStatement(ctx, tenantID, "jobs.latest_for_connector",
		`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND connector_id = $2 AND kind = $3
		  ORDER BY created_at DESC, id DESC LIMIT 1`, tenantID, connectorID, string(kind))
	return rows.JobPtr(j, ok, err)
}

// JobCancel cancels a queued job and notes a cancel request on a running
// one.
func (e *executor) JobCancel(ctx context.Context, tenantID, id string, at, staleBefore time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.cancel",
		`UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, $3::timestamptz),
		        finished_at = CASE WHEN `+endsOnCancel+` THEN $3::timestamptz END,
		        status = CASE WHEN `+endsOnCancel+` THEN 'cancelled' ELSE status END,
		        updated_at = $3
		  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')
		 RETURNING `+jobColumns, tenantID, id, ts(at), ts(staleBefore))
}

// endsOnCancel says a cancel ends the job at once ($4 is the stale bound):
// it is queued, or a sync whose worker stopped beating (a row from before
// heartbeats counts from its start).
const endsOnCancel = `(status = 'queued' OR (kind = 'sync' AND coalesce(heartbeat_at, started_at) < $4::timestamptz))`

// JobHeartbeat notes that the running job's worker is alive.
func (e *executor) JobHeartbeat(ctx context.Context, tenantID, id string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "jobs.heartbeat",
			`UPDATE jobs SET heartbeat_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'running'`,
			tenantID, id, ts(at))
		return err
	})
}

// JobEndStaleSync fails the connector's sync whose worker is gone. The
// status test repeats jobs_one_sync's predicate so the index serves it.
func (e *executor) JobEndStaleSync(ctx context.Context, tenantID, connectorID, message string, staleBefore, at time.Time) (bool, error) {
	var ended bool
	err := e.run(ctx, tenantID, func(q querier) error {
		t, err := exec(ctx, q, "jobs.end_stale_sync",
			`UPDATE jobs SET status = 'failed', error = $3, finished_at = $5, updated_at = $5
			  WHERE tenant_id = $1 AND connector_id = $2 AND kind = 'sync' AND status IN ('queued', 'running')
			    AND coalesce(heartbeat_at, started_at) < $4`,
			tenantID, connectorID, message, ts(staleBefore), ts(at))
		ended = t.RowsAffected() > 0
		return err
	})
	return ended, err
}

// JobStart marks the job running.
func (e *executor) JobStart(ctx context.Context, tenantID, id string, at time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.start",
		`UPDATE jobs SET status = 'running', started_at = coalesce(started_at, $3), heartbeat_at = $3, updated_at = $3
		  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')
		 RETURNING `+jobColumns, tenantID, id, ts(at))
}

// JobCancelled ends the job as cancelled.
func (e *executor) JobCancelled(ctx context.Context, tenantID, id string, at time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.cancelled",
		`UPDATE jobs SET status = 'cancelled', finished_at = $3, updated_at = $3
		  WHERE tenant_id = $1 AND id = $2 RETURNING `+jobColumns, tenantID, id, ts(at))
}

// JobAdvance folds a batch into the job, guarded by its status and cursor.
func (e *executor) JobAdvance(ctx context.Context, tenantID, id, after string, a engram.JobAdvance, at time.Time) (engram.JobRecord, bool, error) {
	return e.jobStatement(ctx, tenantID, "jobs.advance",
		`UPDATE jobs SET progress_done = progress_done + $3, resume_after = coalesce(nullif($4, ''), resume_after),
		        result = $5::jsonb, updated_at = $6,
		        status = CASE WHEN $7::boolean THEN 'succeeded' ELSE status END,
		        finished_at = CASE WHEN $7::boolean THEN $6::timestamptz END
		  WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND coalesce(resume_after, '') = $8 RETURNING `+jobColumns,
		tenantID, id, a.Handled, a.Cursor, string(a.Result), ts(at), a.Finished, after)
}

// JobFail ends an unfinished job as failed.
func (e *executor) JobFail(ctx context.Context, tenantID, id, message string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "jobs.fail",
			`UPDATE jobs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
			  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')`, tenantID, id, message, ts(at))
		return err
	})
}

// ConnectorsLockForDeleteBatch share-locks the tenant's connectors in id
// order, as SyncBatch and DeleteDocuments take them: connectors before
// documents.
func (e *executor) ConnectorsLockForDeleteBatch(ctx context.Context, tenantID string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "connectors.lock_for_delete",
			`SELECT 1 FROM connectors WHERE tenant_id = $1 ORDER BY id FOR SHARE`, tenantID)
		return err
	})
}

// DocumentsDeleteBatch deletes (hard: with chunks by cascade, and
// tombstones for connector documents) or marks deleted (soft) the next
// batch of targets, in one statement that locks them in id order first.
func (e *executor) DocumentsDeleteBatch(ctx context.Context, tenantID string, b engram.DeleteBatch, at time.Time) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	var last *string
	conn := rows.OptionalString(b.ConnectorID) // scopes a delete to one connector's documents
	now := ts(at)
	err := e.run(ctx, tenantID, func(q querier) error {
		if b.Hard {
			return queryRow(ctx, q, "documents.delete_all_batch",
				`WITH t AS (
				     SELECT id FROM documents WHERE tenant_id = $1 AND id > $2::uuid AND id <= $3::uuid
				        AND ($6::uuid IS NULL OR connector_id = $6)
				      ORDER BY id LIMIT $4 FOR UPDATE),
				 d AS (
				     DELETE FROM documents x USING t WHERE x.tenant_id = $1 AND x.id = t.id
				     RETURNING x.tenant_id, x.id, x.connector_id, x.external_id, x.source_type, x.title),
				 tomb AS (
				     INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
				     SELECT tenant_id, id, connector_id, external_id, source_type, title, $5, NULL
				       FROM d WHERE connector_id IS NOT NULL AND external_id IS NOT NULL
				     ON CONFLICT (tenant_id, connector_id, external_id)
				     DO UPDATE SET deleted_at = excluded.deleted_at, original_title = excluded.original_title
				     RETURNING 1)
				 SELECT count(*), max(id::text), (SELECT count(*) FROM tomb) FROM d`,
				[]any{tenantID, b.After, b.Bound, b.Limit, now, conn}, &o.Handled, &last, &o.Tombstoned)
		}
		return queryRow(ctx, q, "documents.delete_all_batch",
			`WITH t AS (
			     SELECT id FROM documents WHERE tenant_id = $1 AND id > $2::uuid AND id <= $3::uuid AND NOT is_deleted
			      ORDER BY id LIMIT $4 FOR UPDATE),
			 u AS (
			     UPDATE documents x SET is_deleted = true, deleted_at = $5, updated_at = $5
			       FROM t WHERE x.tenant_id = $1 AND x.id = t.id RETURNING x.id)
			 SELECT count(*), max(id::text), 0 FROM u`,
			[]any{tenantID, b.After, b.Bound, b.Limit, now}, &o.Handled, &last, &o.Tombstoned)
	})
	if last != nil {
		o.Last = *last
	}
	return o, err
}

// TenantCounts counts a tenant's rows in one statement.
func (e *executor) TenantCounts(ctx context.Context, tenantID string) (engram.TenantCounts, error) {
	var c engram.TenantCounts
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "tenant.counts",
			`SELECT (SELECT count(*) FROM documents WHERE tenant_id = $1),
			        (SELECT count(*) FROM documents WHERE tenant_id = $1 AND is_deleted),
			        (SELECT count(*) FROM document_chunks WHERE tenant_id = $1),
			        (SELECT count(*) FROM document_chunks c WHERE c.tenant_id = $1 AND NOT EXISTS
			            (SELECT 1 FROM documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id)),
			        (SELECT count(*) FROM deleted_documents WHERE tenant_id = $1),
			        (SELECT count(*) FROM deleted_documents x WHERE x.tenant_id = $1 AND EXISTS
			            (SELECT 1 FROM documents d WHERE d.tenant_id = x.tenant_id AND d.connector_id = x.connector_id
			                AND d.external_id = x.external_id))`,
			[]any{tenantID}, &c.Documents, &c.SoftDeleted, &c.Chunks, &c.OrphanChunks, &c.Tombstones, &c.TombstonedDocuments)
	})
	return c, err
}
