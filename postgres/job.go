package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// Jobs: the engram row of a background job and the batches that do its
// work. River (package jobs) decides when a batch runs; everything a batch
// changes, including the job's progress and cursor, commits in one
// transaction here.
//
// A batch first locks its job row (FOR UPDATE). Two executions of the same
// job (a job River rescued while its first worker still lives) therefore
// take turns, and each reads the cursor the other committed: no document
// is handled twice. Then one statement selects the next documents after
// the cursor, up to the bound and the batch size, locking them in id order
// (FOR UPDATE, so no other bulk write deadlocks with it), and changes them;
// a last statement advances the job. No statement locks more than one
// batch of documents.

// SetJobEnqueuer attaches the job engine: EnqueueJob calls fn inside the
// transaction that records a job.
func (s *Store) SetJobEnqueuer(fn engram.JobEnqueuer[pgx.Tx]) { s.enqueue = fn }

// jobColumns are the columns of a Job, then the job's params and cursor.
const jobColumns = `id::text, kind, status, progress_done, progress_total, result, error,
	created_at, started_at, finished_at, cancel_requested_at, params, coalesce(resume_after, '')`

// jobRow is a scanned job row with its private state.
type jobRow struct {
	engram.Job
	params engram.JobParams
	cursor string
}

func scanJob(r pgx.Row) (jobRow, error) {
	var j jobRow
	var kind, status string
	var result, params []byte
	err := r.Scan(&j.ID, &kind, &status, &j.Progress.Done, &j.Progress.Total, &result, &j.Error,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt, &j.CancelRequestedAt, &params, &j.cursor)
	if err != nil {
		return j, err
	}
	j.Kind, j.Status = engram.JobKind(kind), engram.JobStatus(status)
	if len(result) > 0 {
		j.Result = result
	}
	if len(params) > 0 {
		if err := json.Unmarshal(params, &j.params); err != nil {
			return j, err
		}
	}
	j.Params, j.Scheduled = j.params, j.params.Scheduled
	if j.params.ConnectorID != "" {
		j.ConnectorID = &j.params.ConnectorID
	}
	return j, nil
}

// jobStatement runs a statement that returns one job row.
func jobStatement(ctx context.Context, q querier, op, sql string, args ...any) (jobRow, error) {
	j, err := oneRow(ctx, q, op, sql, scanJob, args...)
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

// EnqueueJob snapshots the targets, hands the job to River and records it,
// in one transaction of four statements plus River's insert.
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
	now := ts(s.now())
	var out jobRow
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if req.Kind == engram.JobAnalyzeGaps {
			if err := s.oneAnalysis(ctx, tx, tenantID); err != nil {
				return err
			}
		}
		var total int
		var bound *string
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
				`SELECT count(*), max(id::text) FROM documents WHERE tenant_id = $1 AND connector_id = $2`,
				[]any{tenantID, p.ConnectorID}, &total, &bound); err != nil {
				return err
			}
		} else if q, ok := snapshotQueries[req.Kind][p.Hard]; ok {
			if err := queryRow(ctx, tx, "jobs.snapshot", q, []any{tenantID}, &total, &bound); err != nil {
				return err
			}
		}
		if bound != nil {
			p.Bound = *bound
		} else {
			p.Bound = engram.NilID
		}
		j := engram.Job{ID: engram.NewID(), Kind: req.Kind, Status: engram.JobQueued, CreatedAt: now,
			Progress: engram.JobProgress{Total: total}}
		riverID, err := s.enqueueOne(ctx, tx, tenantID, j)
		if err != nil {
			return err
		}
		params, _ := json.Marshal(p)
		out, err = jobStatement(ctx, tx, "jobs.create",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, progress_total, river_job_id, requested_by, created_at, updated_at, connector_id)
			 VALUES ($1, $2, $3, 'queued', $4::jsonb, $5, $6, nullif($7, '')::uuid, $8, $8, nullif($9, '')::uuid)
			 ON CONFLICT (tenant_id) WHERE kind = 'delete_all' AND status IN ('queued', 'running') DO NOTHING
			 RETURNING `+jobColumns,
			tenantID, j.ID, string(req.Kind), string(params), total, riverID, actor, now, p.ConnectorID)
		if isNoRows(err) {
			var running string
			if err := queryRow(ctx, tx, "jobs.running_delete_all",
				`SELECT id::text FROM jobs WHERE tenant_id = $1 AND kind = 'delete_all' AND status IN ('queued', 'running')`,
				[]any{tenantID}, &running); err != nil {
				return err
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

// oneAnalysis keeps a tenant to one queued or running gap analysis: a
// transaction-scoped advisory lock per tenant orders concurrent requests,
// so the check that follows sees any analysis another one committed.
// (Unlike delete-all and sync, no unique index does this: one could not be
// added to a jobs table that may already hold two analyses.)
func (s *Store) oneAnalysis(ctx context.Context, tx pgx.Tx, tenantID string) error {
	if _, err := exec(ctx, tx, "jobs.lock_analysis",
		`SELECT pg_advisory_xact_lock(hashtextextended('engram.analyze_gaps.' || $1::text, 0))`, tenantID); err != nil {
		return err
	}
	var running string
	err := queryRow(ctx, tx, "jobs.running_analysis",
		`SELECT id::text FROM jobs WHERE tenant_id = $1 AND kind = 'analyze_gaps' AND status IN ('queued', 'running') LIMIT 1`,
		[]any{tenantID}, &running)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return engram.AnalysisConflict(running)
}

// GetJob returns one job in one statement.
func (s *Store) GetJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	var j jobRow
	err := s.read(ctx, func(c *pgxConn) error {
		var err error
		j, err = s.getJob(ctx, c, tenantID, id)
		return err
	})
	return j.Job, err
}

func (s *Store) getJob(ctx context.Context, q querier, tenantID, id string) (jobRow, error) {
	j, err := jobStatement(ctx, q, "jobs.get", `SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if isNoRows(err) {
		return j, engram.Errorf(engram.ENotFound, "job %s not found", id)
	}
	return j, err
}

// ListJobs returns a page of the tenant's jobs, newest first, in one
// statement.
func (s *Store) ListJobs(ctx context.Context, tenantID string, f engram.JobFilter) (engram.JobPage, error) {
	var page engram.JobPage
	var kind, status *string
	if f.Kind != nil {
		k := string(*f.Kind)
		kind = &k
	}
	if f.Status != nil {
		st := string(*f.Status)
		status = &st
	}
	var after *time.Time
	afterID := engram.NilID
	if f.Cursor != nil {
		t := ts(f.Cursor.CreatedAt)
		after, afterID = &t, f.Cursor.ID
	}
	err := s.read(ctx, func(c *pgxConn) error {
		rs, err := query(ctx, c, "jobs.list",
			`SELECT `+jobColumns+` FROM jobs
			  WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR status = $3)
			    AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
			  ORDER BY created_at DESC, id DESC LIMIT $6`,
			tenantID, kind, status, after, afterID, f.Limit+1)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			j, err := scanJob(rs)
			if err != nil {
				return err
			}
			page.Jobs = append(page.Jobs, j.Job)
		}
		return translate(rs.Err())
	})
	if err != nil {
		return page, err
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.cancel",
			`UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, $3::timestamptz),
			        finished_at = CASE WHEN status = 'queued' THEN $3::timestamptz END,
			        status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
			        updated_at = $3
			  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')
			 RETURNING `+jobColumns, tenantID, id, ts(s.now()))
		if isNoRows(err) {
			j, err = s.getJob(ctx, tx, tenantID, id)
		}
		return err
	})
	return j.Job, err
}

// StartJob marks the job running in one statement.
func (s *Store) StartJob(ctx context.Context, tenantID, id string) (engram.Job, error) {
	var j jobRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		j, err = jobStatement(ctx, tx, "jobs.start",
			`UPDATE jobs SET status = 'running', started_at = coalesce(started_at, $3), updated_at = $3
			  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')
			 RETURNING `+jobColumns, tenantID, id, ts(s.now()))
		if isNoRows(err) {
			j, err = s.getJob(ctx, tx, tenantID, id)
		}
		return err
	})
	return j.Job, err
}

// FailJob marks an unfinished job failed.
func (s *Store) FailJob(ctx context.Context, tenantID, id, message string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		now := ts(s.now())
		_, err := exec(ctx, tx, "jobs.fail",
			`UPDATE jobs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
			  WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')`, tenantID, id, message, now)
		return err
	})
}

// RunJobBatch runs one batch: lock the job (one statement), do the batch's
// work (one statement for a delete-all, a read and a write for a classify
// run), advance the job (one statement).
func (s *Store) RunJobBatch(ctx context.Context, tenantID, id string, classifier engram.Classifier) (engram.Job, error) {
	var out jobRow
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		j, err := jobStatement(ctx, tx, "jobs.lock",
			`SELECT `+jobColumns+` FROM jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "job %s not found", id)
		}
		if err != nil {
			return err
		}
		out = j
		if j.Status != engram.JobRunning {
			return nil
		}
		now := ts(s.now())
		if j.CancelRequestedAt != nil {
			out, err = jobStatement(ctx, tx, "jobs.cancelled",
				`UPDATE jobs SET status = 'cancelled', finished_at = $3, updated_at = $3
				  WHERE tenant_id = $1 AND id = $2 RETURNING `+jobColumns, tenantID, id, now)
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
			o, err = s.classifyBatch(ctx, tx, tenantID, j.params, cursor, now, classifier)
		}
		if err != nil {
			return err
		}
		a, err := engram.Advance(j.Kind, j.params, j.Result, o)
		if err != nil {
			return err
		}
		out, err = jobStatement(ctx, tx, "jobs.advance",
			`UPDATE jobs SET progress_done = progress_done + $3, resume_after = coalesce(nullif($4, ''), resume_after),
			        result = $5::jsonb, updated_at = $6,
			        status = CASE WHEN $7::boolean THEN 'succeeded' ELSE status END,
			        finished_at = CASE WHEN $7::boolean THEN $6::timestamptz END
			  WHERE tenant_id = $1 AND id = $2 RETURNING `+jobColumns,
			tenantID, id, a.Handled, a.Cursor, string(a.Result), now, a.Finished)
		return err
	})
	return out.Job, err
}

// deleteBatch deletes (hard: with chunks by cascade, and tombstones for
// connector documents) or marks deleted (soft) the next batch of targets,
// in one statement that locks them in id order first (a hard batch locks
// the tenant's connectors before that, in one more).
func (s *Store) deleteBatch(ctx context.Context, tx pgx.Tx, tenantID string, p engram.JobParams, cursor string, now time.Time) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	var last *string
	var err error
	var conn *string // scopes a delete to one connector's documents
	if p.ConnectorID != "" {
		conn = &p.ConnectorID
	}
	if p.Hard {
		// Connectors before documents, as SyncBatch and DeleteDocuments
		// take them: a sync batch of one of these connectors either
		// finished before this batch or waits for it, so it can neither
		// write a deleted item back nor deadlock with it.
		if _, err := exec(ctx, tx, "connectors.lock_for_delete",
			`SELECT 1 FROM connectors WHERE tenant_id = $1 ORDER BY id FOR SHARE`, tenantID); err != nil {
			return o, err
		}
		err = queryRow(ctx, tx, "documents.delete_all_batch",
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
			[]any{tenantID, cursor, p.Bound, p.BatchSize, now, conn}, &o.Handled, &last, &o.Tombstoned)
	} else {
		err = queryRow(ctx, tx, "documents.delete_all_batch",
			`WITH t AS (
			     SELECT id FROM documents WHERE tenant_id = $1 AND id > $2::uuid AND id <= $3::uuid AND NOT is_deleted
			      ORDER BY id LIMIT $4 FOR UPDATE),
			 u AS (
			     UPDATE documents x SET is_deleted = true, deleted_at = $5, updated_at = $5
			       FROM t WHERE x.tenant_id = $1 AND x.id = t.id RETURNING x.id)
			 SELECT count(*), max(id::text), 0 FROM u`,
			[]any{tenantID, cursor, p.Bound, p.BatchSize, now}, &o.Handled, &last, &o.Tombstoned)
	}
	if last != nil {
		o.Last = *last
	}
	return o, err
}

// classifyBatch reads and locks the next batch of pending targets (one
// statement), classifies them and stores the verdicts (one statement).
func (s *Store) classifyBatch(ctx context.Context, tx pgx.Tx, tenantID string, p engram.JobParams, cursor string, now time.Time, classifier engram.Classifier) (engram.BatchOutcome, error) {
	var o engram.BatchOutcome
	if classifier == nil {
		return o, engram.Errorf(engram.EInternal, "a classify job needs a classifier")
	}
	rs, err := query(ctx, tx, "documents.classify_read",
		`SELECT id::text, title, left(content, $1), sender, sender_email, source_type, metadata, user_confirmed
		   FROM documents WHERE tenant_id = $2 AND id > $3::uuid AND id <= $4::uuid AND status = 'pending' AND NOT is_deleted
		  ORDER BY id LIMIT $5 FOR UPDATE`,
		classifyContentPrefix, tenantID, cursor, p.Bound, p.BatchSize)
	if err != nil {
		return o, err
	}
	inputs, found, skipped, err := scanClassifyInputs(rs)
	if err != nil {
		return o, err
	}
	o.Handled = len(found)
	for _, in := range inputs {
		o.Last = max(o.Last, in.ID)
	}
	for _, id := range skipped {
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
		if updated, err = writeClassifications(ctx, tx, tenantID, planned, now); err != nil {
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
	err := s.read(ctx, func(conn *pgxConn) error {
		return queryRow(ctx, conn, "tenant.counts",
			`SELECT (SELECT count(*) FROM documents WHERE tenant_id = $1),
			        (SELECT count(*) FROM documents WHERE tenant_id = $1 AND is_deleted),
			        (SELECT count(*) FROM document_chunks WHERE tenant_id = $1),
			        (SELECT count(*) FROM document_chunks c WHERE c.tenant_id = $1 AND NOT EXISTS
			            (SELECT 1 FROM documents d WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id)),
			        (SELECT count(*) FROM deleted_documents WHERE tenant_id = $1)`,
			[]any{tenantID}, &c.Documents, &c.SoftDeleted, &c.Chunks, &c.OrphanChunks, &c.Tombstones)
	})
	return c, err
}
