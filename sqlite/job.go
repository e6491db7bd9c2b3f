package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// Jobs: the statements of a job's row and of a delete-all's batches (the
// rules are package service's). The one writer connection serialises write
// transactions, so two executions of the same job (a rescued job whose
// first worker still lives) take turns without a lock, and no statement
// here needs one.

// SetJobEnqueuer attaches the job engine: Tx.InsertJobs calls fn inside
// the transaction that records a job.
func (s *Store) SetJobEnqueuer(fn engram.JobEnqueuer[*sql.Tx]) { s.enqueue = fn }

// WriteDB returns the store's one writer connection pool, for River: River
// on SQLite shares it (see package jobs), so River's writes and engram's
// queue behind each other in this process instead of failing with
// SQLITE_BUSY.
func (s *Store) WriteDB() *sql.DB { return s.write }

// jobColumns are the columns of a Job, then the job's params and cursor.
const jobColumns = `id, kind, status, progress_done, progress_total, result, error,
	created_at, started_at, finished_at, cancel_requested_at, params, coalesce(resume_after, '')`

func scanJob(r rows.Scanner) (engram.JobRecord, error) {
	var j engram.JobRecord
	var kind, status, created string
	var params []byte
	var result, started, finished, cancel sql.NullString
	var errText sql.NullString
	err := r.Scan(&j.ID, &kind, &status, &j.Progress.Done, &j.Progress.Total, &result, &errText,
		&created, &started, &finished, &cancel, &params, &j.Cursor)
	if err != nil {
		return j, err
	}
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	if errText.Valid {
		j.Error = &errText.String
	}
	j.CreatedAt = parseTime(created)
	j.StartedAt, j.FinishedAt, j.CancelRequestedAt = parseTimePtr(started), parseTimePtr(finished), parseTimePtr(cancel)
	return j, rows.FinishJob(&j, kind, status, params)
}

// scanJobItem reads a job row of a list.
func scanJobItem(r rows.Scanner) (engram.Job, error) {
	j, err := scanJob(r)
	return j.Job, err
}

// jobStatement runs a statement that returns one job row; false when it
// returned none.
func jobStatement(ctx context.Context, q querier, op, sql string, args ...any) (engram.JobRecord, bool, error) {
	return found(scanJob(queryRow(ctx, q, op, sql, args...)))
}

// JobInsert records a job: jobs.create_sync for a sync (refused by
// jobs_one_sync), jobs.create for the others (refused by
// jobs_one_delete_all).
func (e *executor) JobInsert(ctx context.Context, tenantID string, j engram.NewJobRow, at time.Time) (engram.JobRecord, bool, error) {
	params, err := json.Marshal(j.Params)
	if err != nil {
		return engram.JobRecord{}, false, err
	}
	now := fmtTime(at)
	if j.Kind == engram.JobSync {
		return jobStatement(ctx, e.q, "jobs.create_sync",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, requested_by, created_at, updated_at)
			 VALUES (?1, ?2, 'sync', 'queued', ?3, ?4, ?5, nullif(?6, ''), ?7, ?7)
			 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING
			 RETURNING `+jobColumns,
			tenantID, j.ID, string(params), j.Params.ConnectorID, j.RiverJobID, j.RequestedBy, now)
	}
	return jobStatement(ctx, e.q, "jobs.create",
		`INSERT INTO jobs (tenant_id, id, kind, status, params, progress_total, river_job_id, requested_by, created_at, updated_at, connector_id)
		 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, nullif(?7, ''), ?8, ?8, nullif(?9, ''))
		 ON CONFLICT (tenant_id) WHERE kind = 'delete_all' AND status IN ('queued', 'running') DO NOTHING
		 RETURNING `+jobColumns,
		tenantID, j.ID, string(j.Kind), string(params), j.Total, j.RiverJobID, j.RequestedBy, now, j.Params.ConnectorID)
}

// activeQueries find the tenant's queued or running job of a kind.
var activeQueries = map[engram.JobKind]rows.Statement{
	engram.JobAnalyzeGaps: {Op: "jobs.running_analysis",
		SQL: `SELECT id FROM jobs WHERE tenant_id = ? AND kind = 'analyze_gaps' AND status IN ('queued', 'running') LIMIT 1`},
	engram.JobDeleteAll: {Op: "jobs.running_delete_all",
		SQL: `SELECT id FROM jobs WHERE tenant_id = ? AND kind = 'delete_all' AND status IN ('queued', 'running')`},
	engram.JobSync: {Op: "jobs.running_sync",
		SQL: `SELECT id FROM jobs WHERE tenant_id = ? AND connector_id = ? AND kind = 'sync' AND status IN ('queued', 'running')`},
}

// JobActiveID finds the tenant's queued or running job of kind.
func (e *executor) JobActiveID(ctx context.Context, tenantID string, kind engram.JobKind, connectorID string) (string, error) {
	st, args, err := rows.JobActive(activeQueries, kind, tenantID, connectorID)
	if err != nil {
		return "", err
	}
	var id string
	err = queryRow(ctx, e.q, st.Op, st.SQL, args...).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, translate(err)
}

// JobsLockAnalyses is a no-op: the one writer orders the check and the
// insert that follow.
func (e *executor) JobsLockAnalyses(context.Context, string) error { return nil }

// snapshotQueries count a job's targets and find the largest target id.
var snapshotQueries = map[engram.JobKind]map[bool]string{
	engram.JobDeleteAll: {
		true: `SELECT count(*), (SELECT max(id) FROM documents WHERE tenant_id = ?1) FROM documents WHERE tenant_id = ?1`,
		false: `SELECT count(*), (SELECT max(id) FROM documents WHERE tenant_id = ?1 AND is_deleted = 0)
		          FROM documents WHERE tenant_id = ?1 AND is_deleted = 0`,
	},
	engram.JobClassifyPending: {
		false: `SELECT count(*), (SELECT max(id) FROM documents WHERE tenant_id = ?1 AND status = 'pending' AND is_deleted = 0)
		          FROM documents WHERE tenant_id = ?1 AND status = 'pending' AND is_deleted = 0`,
	},
}

// snapshotConnector counts a connector's documents.
var snapshotConnector = rows.Statement{Op: "jobs.snapshot_connector",
	SQL: `SELECT count(*), max(id) FROM documents WHERE tenant_id = ? AND connector_id = ?`}

// JobSnapshotRead counts the targets in one statement.
func (e *executor) JobSnapshotRead(ctx context.Context, tenantID string, t engram.JobTargets) (engram.JobSnapshot, error) {
	st, args, err := rows.JobSnapshot(snapshotConnector, snapshotQueries, t, tenantID)
	if err != nil {
		return engram.JobSnapshot{}, err
	}
	var s engram.JobSnapshot
	var bound sql.NullString
	if err := queryRow(ctx, e.q, st.Op, st.SQL, args...).Scan(&s.Total, &bound); err != nil {
		return s, translate(err)
	}
	s.Bound = bound.String
	return s, nil
}

// JobGet reads one job.
func (e *executor) JobGet(ctx context.Context, tenantID, id string) (engram.JobRecord, error) {
	j, ok, err := jobStatement(ctx, e.q, "jobs.get", `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return rows.JobFound(id, j, ok, err)
}

// JobLock reads the job: the one writer is its lock.
func (e *executor) JobLock(ctx context.Context, tenantID, id string) (engram.JobRecord, error) {
	return e.JobGet(ctx, tenantID, id)
}

// JobList reads a page of jobs, newest first.
func (e *executor) JobList(ctx context.Context, tenantID string, f engram.JobFilter) ([]engram.Job, error) {
	p := rows.JobList(f)
	rs, err := query(ctx, e.q, "jobs.list",
		`SELECT `+jobColumns+` FROM jobs
		  WHERE tenant_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR status = ?3)
		    AND (?4 IS NULL OR (created_at, id) < (?4, ?5))
		  ORDER BY created_at DESC, id DESC LIMIT ?6`,
		tenantID, p.Kind, p.Status, fmtTimePtr(p.After), p.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out, err := rows.Collect(rs, scanJobItem)
	return out, translate(err)
}

// JobLatestForConnector reads the connector's newest job of kind.
func (e *executor) JobLatestForConnector(ctx context.Context, tenantID, connectorID string, kind engram.JobKind) (*engram.Job, error) {
	j, ok, err := jobStatement(ctx, e.q, "jobs.latest_for_connector",
		`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = ? AND connector_id = ? AND kind = ?
		  ORDER BY created_at DESC, id DESC LIMIT 1`, tenantID, connectorID, string(kind))
	return rows.JobPtr(j, ok, err)
}

// JobCancel cancels a queued job and notes a cancel request on a running
// one.
func (e *executor) JobCancel(ctx context.Context, tenantID, id string, at, staleBefore time.Time) (engram.JobRecord, bool, error) {
	return jobStatement(ctx, e.q, "jobs.cancel",
		`UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, ?3),
		        finished_at = CASE WHEN `+endsOnCancel+` THEN ?3 END,
		        status = CASE WHEN `+endsOnCancel+` THEN 'cancelled' ELSE status END,
		        updated_at = ?3
		  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')
		 RETURNING `+jobColumns, tenantID, id, fmtTime(at), fmtTime(staleBefore))
}

// endsOnCancel says a cancel ends the job at once (?4 is the stale bound):
// it is queued, or a sync whose worker stopped beating (a row from before
// heartbeats counts from its start).
const endsOnCancel = `(status = 'queued' OR (kind = 'sync' AND coalesce(heartbeat_at, started_at) < ?4))`

// JobHeartbeat notes that the running job's worker is alive.
func (e *executor) JobHeartbeat(ctx context.Context, tenantID, id string, at time.Time) error {
	_, err := exec(ctx, e.q, "jobs.heartbeat",
		`UPDATE jobs SET heartbeat_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND status = 'running'`,
		tenantID, id, fmtTime(at))
	return err
}

// JobEndStaleSync fails the connector's sync whose worker is gone. The
// status test repeats jobs_one_sync's predicate so the index serves it.
func (e *executor) JobEndStaleSync(ctx context.Context, tenantID, connectorID, message string, staleBefore, at time.Time) (bool, error) {
	r, err := exec(ctx, e.q, "jobs.end_stale_sync",
		`UPDATE jobs SET status = 'failed', error = ?3, finished_at = ?5, updated_at = ?5
		  WHERE tenant_id = ?1 AND connector_id = ?2 AND kind = 'sync' AND status IN ('queued', 'running')
		    AND coalesce(heartbeat_at, started_at) < ?4`,
		tenantID, connectorID, message, fmtTime(staleBefore), fmtTime(at))
	if err != nil {
		return false, err
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// JobStart marks the job running.
func (e *executor) JobStart(ctx context.Context, tenantID, id string, at time.Time) (engram.JobRecord, bool, error) {
	return jobStatement(ctx, e.q, "jobs.start",
		`UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?3), heartbeat_at = ?3, updated_at = ?3
		  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')
		 RETURNING `+jobColumns, tenantID, id, fmtTime(at))
}

// JobCancelled ends the job as cancelled.
func (e *executor) JobCancelled(ctx context.Context, tenantID, id string, at time.Time) (engram.JobRecord, bool, error) {
	return jobStatement(ctx, e.q, "jobs.cancelled",
		`UPDATE jobs SET status = 'cancelled', finished_at = ?3, updated_at = ?3
		  WHERE tenant_id = ?1 AND id = ?2 RETURNING `+jobColumns, tenantID, id, fmtTime(at))
}

// JobAdvance folds a batch into the job, guarded by its status and cursor.
func (e *executor) JobAdvance(ctx context.Context, tenantID, id, after string, a engram.JobAdvance, at time.Time) (engram.JobRecord, bool, error) {
	return jobStatement(ctx, e.q, "jobs.advance",
		`UPDATE jobs SET progress_done = progress_done + ?3, resume_after = coalesce(nullif(?4, ''), resume_after),
		        result = ?5, updated_at = ?6,
		        status = CASE WHEN ?7 THEN 'succeeded' ELSE status END,
		        finished_at = CASE WHEN ?7 THEN ?6 END
		  WHERE tenant_id = ?1 AND id = ?2 AND status = 'running' AND coalesce(resume_after, '') = ?8 RETURNING `+jobColumns,
		tenantID, id, a.Handled, a.Cursor, string(a.Result), fmtTime(at), a.Finished, after)
}

// JobFail ends an unfinished job as failed.
func (e *executor) JobFail(ctx context.Context, tenantID, id, message string, at time.Time) error {
	_, err := exec(ctx, e.q, "jobs.fail",
		`UPDATE jobs SET status = 'failed', error = ?3, finished_at = ?4, updated_at = ?4
		  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')`, tenantID, id, message, fmtTime(at))
	return err
}

// ConnectorsLockForDeleteBatch is a no-op: the one writer serialises the
// batch and any sync batch.
func (e *executor) ConnectorsLockForDeleteBatch(context.Context, string) error { return nil }

// batchTargets selects the next batch of a delete-all's targets by keyset:
// ?1 tenant, ?2 cursor, ?3 bound, ?4 batch size.
// ?6 scopes a delete to one connector's documents (NULL: all of them).
const batchTargets = `SELECT id FROM documents WHERE tenant_id = ?1 AND id > ?2 AND id <= ?3
	AND (?6 IS NULL OR connector_id = ?6) ORDER BY id LIMIT ?4`

// DocumentsDeleteBatch hard-deletes the batch (tombstones for connector
// documents first, then the documents, their chunks by cascade: two
// statements) or marks it deleted (one statement).
func (e *executor) DocumentsDeleteBatch(ctx context.Context, tenantID string, b engram.DeleteBatch, at time.Time) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	var ids map[string]bool
	conn := rows.OptionalString(b.ConnectorID)
	now := fmtTime(at)
	if b.Hard {
		t, err := exec(ctx, e.q, "tombstones.write",
			`INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
			 SELECT tenant_id, id, connector_id, external_id, source_type, title, ?5, NULL
			   FROM documents
			  WHERE tenant_id = ?1 AND id IN (`+batchTargets+`) AND connector_id IS NOT NULL AND external_id IS NOT NULL
			 ON CONFLICT (tenant_id, connector_id, external_id)
			 DO UPDATE SET deleted_at = excluded.deleted_at, original_title = excluded.original_title`,
			tenantID, b.After, b.Bound, b.Limit, now, conn)
		if err != nil {
			return o, err
		}
		n, _ := t.RowsAffected()
		o.Tombstoned = int(n)
		ids, err = collectIDs(query(ctx, e.q, "documents.delete_all_batch",
			`DELETE FROM documents WHERE tenant_id = ?1 AND id IN (`+batchTargets+`) RETURNING id`,
			tenantID, b.After, b.Bound, b.Limit, nil, conn))
		if err != nil {
			return o, err
		}
	} else {
		var err error
		ids, err = collectIDs(query(ctx, e.q, "documents.delete_all_batch",
			`UPDATE documents SET is_deleted = 1, deleted_at = ?5, updated_at = ?5
			  WHERE tenant_id = ?1 AND id IN (
			        SELECT id FROM documents WHERE tenant_id = ?1 AND id > ?2 AND id <= ?3 AND is_deleted = 0 ORDER BY id LIMIT ?4)
			 RETURNING id`, tenantID, b.After, b.Bound, b.Limit, now))
		if err != nil {
			return o, err
		}
	}
	o.Handled = len(ids)
	for id := range ids {
		o.Last = max(o.Last, id)
	}
	return o, nil
}

// TenantCounts counts a tenant's rows in one statement.
func (e *executor) TenantCounts(ctx context.Context, tenantID string) (engram.TenantCounts, error) {
	var c engram.TenantCounts
	err := queryRow(ctx, e.q, "tenant.counts",
		`SELECT (SELECT count(*) FROM documents WHERE tenant_id = ?1),
		        (SELECT count(*) FROM documents WHERE tenant_id = ?1 AND is_deleted = 1),
		        (SELECT count(*) FROM document_chunks WHERE tenant_id = ?1),
		        (SELECT count(*) FROM document_chunks c WHERE c.tenant_id = ?1 AND NOT EXISTS
		            (SELECT 1 FROM documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id)),
		        (SELECT count(*) FROM deleted_documents WHERE tenant_id = ?1),
		        (SELECT count(*) FROM deleted_documents x WHERE x.tenant_id = ?1 AND EXISTS
		            (SELECT 1 FROM documents d WHERE d.tenant_id = x.tenant_id AND d.connector_id = x.connector_id
		                AND d.external_id = x.external_id))`,
		tenantID).Scan(&c.Documents, &c.SoftDeleted, &c.Chunks, &c.OrphanChunks, &c.Tombstones, &c.TombstonedDocuments)
	return c, translate(err)
}
