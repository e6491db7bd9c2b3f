package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
)

// Jobs: the engram row of a background job and the batches that do its
// work. River (package jobs) decides when a batch runs; everything a batch
// changes, including the job's progress and cursor, commits in one
// transaction here. The one writer connection serialises batches, so two
// executions of the same job (a rescued job whose first worker still
// lives) take turns and each reads the cursor the other committed. No
// statement touches more than one batch of documents.

// SetJobEnqueuer attaches the job engine: EnqueueJob calls fn inside the
// transaction that records a job.
func (s *Store) SetJobEnqueuer(fn engram.JobEnqueuer[*sql.Tx]) { s.enqueue = fn }

// WriteDB returns the store's one writer connection pool, for River: River
// on SQLite shares it (see package jobs), so River's writes and engram's
// queue behind each other in this process instead of failing with
// SQLITE_BUSY.
func (s *Store) WriteDB() *sql.DB { return s.write }

// jobColumns are the columns of a Job, then the job's params and cursor.
const jobColumns = `id, kind, status, progress_done, progress_total, result, error,
	created_at, started_at, finished_at, cancel_requested_at, params, coalesce(resume_after, '')`

type jobRow struct {
	engram.Job
	params engram.JobParams
	cursor string
}

func scanJob(r scanner) (jobRow, error) {
	var j jobRow
	var kind, status, created, params string
	var result, started, finished, cancel sql.NullString
	var errText sql.NullString
	err := r.Scan(&j.ID, &kind, &status, &j.Progress.Done, &j.Progress.Total, &result, &errText,
		&created, &started, &finished, &cancel, &params, &j.cursor)
	if err != nil {
		return j, err
	}
	j.Kind, j.Status = engram.JobKind(kind), engram.JobStatus(status)
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	if errText.Valid {
		j.Error = &errText.String
	}
	j.CreatedAt = parseTime(created)
	j.StartedAt, j.FinishedAt, j.CancelRequestedAt = parseTimePtr(started), parseTimePtr(finished), parseTimePtr(cancel)
	if err := json.Unmarshal([]byte(params), &j.params); err != nil {
		return j, err
	}
	j.Params, j.Scheduled = j.params, j.params.Scheduled
	if j.params.ConnectorID != "" {
		j.ConnectorID = &j.params.ConnectorID
	}
	return j, nil
}

// jobStatement runs a statement that returns one job row.
func jobStatement(ctx context.Context, q querier, op, sql string, args ...any) (jobRow, error) {
	j, err := scanJob(queryRow(ctx, q, op, sql, args...))
	if isNoRows(err) {
		return j, err
	}
	return j, translate(err)
}

// snapshotQueries count a job's targets and find the largest target id: the
// bound below which the job works. Documents created later get larger ids
// (UUIDv7) and are not targets.
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

// EnqueueJob snapshots the targets, hands the job to River and records it,
// in one transaction of three statements plus River's insert (and one
// more to name the running job on a conflict).
func (s *Store) EnqueueJob(ctx context.Context, tenantID, actor string, req engram.JobRequest) (engram.Job, error) {
	p, err := req.Params()
	if err != nil {
		return engram.Job{}, err
	}
	if s.enqueue == nil {
		return engram.Job{}, engram.Errorf(engram.EUnavailable, "background jobs are not running on this server")
	}
	if req.Kind == engram.JobSync {
		return s.enqueueSync(ctx, tenantID, actor, p)
	}
	if req.Kind == engram.JobAnalyzeGaps {
		p.Actor = actor
	}
	var out jobRow
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if req.Kind == engram.JobAnalyzeGaps {
			// One queued or running analysis per tenant; the one writer
			// orders this check before the insert.
			var running string
			err := queryRow(ctx, tx, "jobs.running_analysis",
				`SELECT id FROM jobs WHERE tenant_id = ? AND kind = 'analyze_gaps' AND status IN ('queued', 'running') LIMIT 1`,
				tenantID).Scan(&running)
			if err == nil {
				return engram.AnalysisConflict(running)
			}
			if !isNoRows(err) {
				return translate(err)
			}
		}
		var total int
		var bound sql.NullString
		// A gap analysis has no snapshot: it reads up to its maximum of
		// the work documents there are when it runs.
		if p.ConnectorID != "" {
			// A connector's delete (DELETE /api/integrations/{id}?delete_documents=true)
			// disconnects it in the same transaction: a conflict with a
			// running delete leaves the connector as it was.
			if err := s.disconnect(ctx, tx, tenantID, actor, p.ConnectorID); err != nil {
				return err
			}
			if err := queryRow(ctx, tx, "jobs.snapshot_connector",
				`SELECT count(*), max(id) FROM documents WHERE tenant_id = ? AND connector_id = ?`,
				tenantID, p.ConnectorID).Scan(&total, &bound); err != nil {
				return translate(err)
			}
		} else if q, ok := snapshotQueries[req.Kind][p.Hard]; ok {
			if err := queryRow(ctx, tx, "jobs.snapshot", q, tenantID).Scan(&total, &bound); err != nil {
				return translate(err)
			}
		}
		p.Bound = engram.NilID
		if bound.Valid {
			p.Bound = bound.String
		}
		now := s.nowText()
		j := engram.Job{ID: engram.NewID(), Kind: req.Kind, Status: engram.JobQueued, CreatedAt: parseTime(now),
			Progress: engram.JobProgress{Total: total}}
		riverID, err := s.enqueueOne(ctx, tx, tenantID, j)
		if err != nil {
			return err
		}
		params, _ := json.Marshal(p)
		out, err = jobStatement(ctx, tx, "jobs.create",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, progress_total, river_job_id, requested_by, created_at, updated_at, connector_id)
			 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, nullif(?7, ''), ?8, ?8, nullif(?9, ''))
			 ON CONFLICT (tenant_id) WHERE kind = 'delete_all' AND status IN ('queued', 'running') DO NOTHING
			 RETURNING `+jobColumns,
			tenantID, j.ID, string(req.Kind), string(params), total, riverID, actor, now, p.ConnectorID)
		if isNoRows(err) {
			var running string
			if err := queryRow(ctx, tx, "jobs.running_delete_all",
				`SELECT id FROM jobs WHERE tenant_id = ? AND kind = 'delete_all' AND status IN ('queued', 'running')`,
				tenantID).Scan(&running); err != nil {
				return translate(err)
			}
			return engram.DeleteAllConflict(running)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, actor, "jobs."+string(req.Kind), total,
			map[string]any{"job_id": j.ID, "hard": p.Hard})
	})
	return out.Job, err
}

// GetJob returns one job in one statement.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	j, err := getJob(ctx, s.read, tenantID, id)
	return j.Job, err
}

func getJob(ctx context.Context, q querier, tenantID, id string) (jobRow, error) {
	j, err := jobStatement(ctx, q, "jobs.get", `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if isNoRows(err) {
		return j, engram.Errorf(engram.ENotFound, "job %s not found", id)
	}
	return j, err
}

// ListJobs returns a page of the tenant's jobs, newest first, in one
// statement.
func (s *Store) ListJobs(ctx context.Context, tenantID string, f engram.JobFilter) (engram.JobPage, error) {
	var page engram.JobPage
	var kind, status, after sql.NullString
	afterID := engram.NilID
	if f.Kind != nil {
		kind = sql.NullString{String: string(*f.Kind), Valid: true}
	}
	if f.Status != nil {
		status = sql.NullString{String: string(*f.Status), Valid: true}
	}
	if f.Cursor != nil {
		after = sql.NullString{String: fmtTime(f.Cursor.CreatedAt), Valid: true}
		afterID = f.Cursor.ID
	}
	rs, err := query(ctx, s.read, "jobs.list",
		`SELECT `+jobColumns+` FROM jobs
		  WHERE tenant_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR status = ?3)
		    AND (?4 IS NULL OR (created_at, id) < (?4, ?5))
		  ORDER BY created_at DESC, id DESC LIMIT ?6`,
		tenantID, kind, status, after, afterID, f.Limit+1)
	if err != nil {
		return page, err
	}
	defer rs.Close()
	for rs.Next() {
		j, err := scanJob(rs)
		if err != nil {
			return page, err
		}
		page.Jobs = append(page.Jobs, j.Job)
	}
	if err := rs.Err(); err != nil {
		return page, translate(err)
	}
	if len(page.Jobs) > f.Limit {
		page.Jobs, page.HasMore = page.Jobs[:f.Limit], true
		last := page.Jobs[f.Limit-1]
		page.NextCursor = engram.JobCursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return page, nil
}

// CancelJob cancels a queued job at once and marks a running one for
// cancelling at its next batch boundary, in one statement (two when the
// job is already finished or missing).
func (s *Store) CancelJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	var j jobRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.cancel",
			`UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, ?3),
			        finished_at = CASE WHEN status = 'queued' THEN ?3 END,
			        status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
			        updated_at = ?3
			  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')
			 RETURNING `+jobColumns, tenantID, id, s.nowText())
		if isNoRows(err) {
			j, err = getJob(ctx, tx, tenantID, id)
		}
		return err
	})
	return j.Job, err
}

// StartJob marks the job running in one statement.
func (s *Store) StartJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	var j jobRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.start",
			`UPDATE jobs SET status = 'running', started_at = coalesce(started_at, ?3), updated_at = ?3
			  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')
			 RETURNING `+jobColumns, tenantID, id, s.nowText())
		if isNoRows(err) {
			j, err = getJob(ctx, tx, tenantID, id)
		}
		return err
	})
	return j.Job, err
}

// FailJob marks an unfinished job failed.
func (s *Store) FailJob(ctx context.Context, tenantID, id, message string) error {
	_, err := exec(ctx, s.write, "jobs.fail",
		`UPDATE jobs SET status = 'failed', error = ?3, finished_at = ?4, updated_at = ?4
		  WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')`, tenantID, id, message, s.nowText())
	return err
}

// RunJobBatch runs one batch: read the job (one statement), do the batch's
// work (two statements for a hard delete-all, one for a soft one, a read
// and a write for a classify run), advance the job (one statement).
func (s *Store) RunJobBatch(ctx context.Context, tenantID, id string, classifier engram.Classifier) (engram.Job, error) {
	var out jobRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		j, err := getJob(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		out = j
		if j.Status != engram.JobRunning {
			return nil
		}
		now := s.nowText()
		if j.CancelRequestedAt != nil {
			out, err = jobStatement(ctx, tx, "jobs.cancelled",
				`UPDATE jobs SET status = 'cancelled', finished_at = ?3, updated_at = ?3
				  WHERE tenant_id = ?1 AND id = ?2 RETURNING `+jobColumns, tenantID, id, now)
			return err
		}
		cursor := j.cursor
		if cursor == "" {
			cursor = engram.NilID
		}
		var o engram.BatchOutcome
		switch j.Kind {
		case engram.JobDeleteAll:
			o, err = s.deleteBatch(ctx, tx, tenantID, j.params, cursor, now)
		case engram.JobClassifyPending:
			o, err = s.classifyBatch(ctx, tx, tenantID, j.params, cursor, classifier)
		}
		if err != nil {
			return err
		}
		a, err := engram.Advance(j.Kind, j.params, j.Result, o)
		if err != nil {
			return err
		}
		out, err = jobStatement(ctx, tx, "jobs.advance",
			`UPDATE jobs SET progress_done = progress_done + ?3, resume_after = coalesce(nullif(?4, ''), resume_after),
			        result = ?5, updated_at = ?6,
			        status = CASE WHEN ?7 THEN 'succeeded' ELSE status END,
			        finished_at = CASE WHEN ?7 THEN ?6 END
			  WHERE tenant_id = ?1 AND id = ?2 RETURNING `+jobColumns,
			tenantID, id, a.Handled, a.Cursor, string(a.Result), now, a.Finished)
		return err
	})
	return out.Job, err
}

// batchTargets selects the next batch of a delete-all's targets by keyset:
// ?1 tenant, ?2 cursor, ?3 bound, ?4 batch size.
// ?6 scopes a delete to one connector's documents (NULL: all of them).
const batchTargets = `SELECT id FROM documents WHERE tenant_id = ?1 AND id > ?2 AND id <= ?3
	AND (?6 IS NULL OR connector_id = ?6) ORDER BY id LIMIT ?4`

// deleteBatch hard-deletes the next batch of targets (tombstones for
// connector documents first, then the documents, their chunks by cascade:
// two statements) or marks it deleted (one statement).
func (s *Store) deleteBatch(ctx context.Context, tx *sql.Tx, tenantID string, p engram.JobParams, cursor, now string) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	var ids map[string]bool
	var conn sql.NullString
	if p.ConnectorID != "" {
		conn = sql.NullString{String: p.ConnectorID, Valid: true}
	}
	if p.Hard {
		t, err := exec(ctx, tx, "tombstones.write",
			`INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
			 SELECT tenant_id, id, connector_id, external_id, source_type, title, ?5, NULL
			   FROM documents
			  WHERE tenant_id = ?1 AND id IN (`+batchTargets+`) AND connector_id IS NOT NULL AND external_id IS NOT NULL
			 ON CONFLICT (tenant_id, connector_id, external_id)
			 DO UPDATE SET deleted_at = excluded.deleted_at, original_title = excluded.original_title`,
			tenantID, cursor, p.Bound, p.BatchSize, now, conn)
		if err != nil {
			return o, err
		}
		n, _ := t.RowsAffected()
		o.Tombstoned = int(n)
		ids, err = updateReturningIDs(ctx, tx, "documents.delete_all_batch",
			`DELETE FROM documents WHERE tenant_id = ?1 AND id IN (`+batchTargets+`) RETURNING id`,
			tenantID, cursor, p.Bound, p.BatchSize, nil, conn)
		if err != nil {
			return o, err
		}
	} else {
		var err error
		ids, err = updateReturningIDs(ctx, tx, "documents.delete_all_batch",
			`UPDATE documents SET is_deleted = 1, deleted_at = ?5, updated_at = ?5
			  WHERE tenant_id = ?1 AND id IN (
			        SELECT id FROM documents WHERE tenant_id = ?1 AND id > ?2 AND id <= ?3 AND is_deleted = 0 ORDER BY id LIMIT ?4)
			 RETURNING id`, tenantID, cursor, p.Bound, p.BatchSize, now)
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

// classifyBatch reads the next batch of pending targets (one statement),
// classifies them and stores the verdicts (one statement).
func (s *Store) classifyBatch(ctx context.Context, tx *sql.Tx, tenantID string, p engram.JobParams, cursor string, classifier engram.Classifier) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	if classifier == nil {
		return o, engram.Errorf(engram.EInternal, "a classify job needs a classifier")
	}
	rs, err := query(ctx, tx, "documents.classify_read",
		`SELECT id, title, substr(content, 1, ?1), sender, sender_email, source_type, metadata, user_confirmed
		   FROM documents WHERE tenant_id = ?2 AND id > ?3 AND id <= ?4 AND status = 'pending' AND is_deleted = 0
		  ORDER BY id LIMIT ?5`,
		classifyContentPrefix, tenantID, cursor, p.Bound, p.BatchSize)
	if err != nil {
		return o, err
	}
	inputs, found, skipped, err := scanClassifyInputs(rs)
	if err != nil {
		return o, err
	}
	o.Handled = len(found)
	for id := range found {
		o.Last = max(o.Last, id)
	}
	planned, err := engram.RunClassifier(ctx, func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		return classifier.Classify(ctx, p.Settings, docs)
	}, inputs, p.AutoConfirmThreshold)
	if err != nil {
		return o, err
	}
	updated := map[string]bool{}
	if len(planned) > 0 {
		if updated, err = s.writeClassifications(ctx, tx, tenantID, planned); err != nil {
			return o, err
		}
	}
	out := engram.Summarize(planned, updated, nil, skipped)
	o.Classified = &out
	return o, nil
}

// TenantCounts counts a tenant's rows in one statement.
func (s *Store) TenantCounts(ctx context.Context, tenantID string) (engram.TenantCounts, error) {
	var c engram.TenantCounts
	err := queryRow(ctx, s.read, "tenant.counts",
		`SELECT (SELECT count(*) FROM documents WHERE tenant_id = ?1),
		        (SELECT count(*) FROM documents WHERE tenant_id = ?1 AND is_deleted = 1),
		        (SELECT count(*) FROM document_chunks WHERE tenant_id = ?1),
		        (SELECT count(*) FROM document_chunks c WHERE c.tenant_id = ?1 AND NOT EXISTS
		            (SELECT 1 FROM documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id)),
		        (SELECT count(*) FROM deleted_documents WHERE tenant_id = ?1)`,
		tenantID).Scan(&c.Documents, &c.SoftDeleted, &c.Chunks, &c.OrphanChunks, &c.Tombstones)
	return c, translate(err)
}
