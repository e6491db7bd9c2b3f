package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Lists of ids drive their statements from unnest($n) joined to the
// primary key, not "id = ANY($n)": with ANY, a tenant the planner has no
// statistics for yet (a new one, or one that just grew) can be read whole
// through a tenant_id index and filtered, which turned a 10-id delete into
// a scan of 140,000 rows in `engram bench`.
//
// Every bulk write first locks its target rows in id order (one
// statement). Two bulk requests over the same documents therefore queue
// behind each other instead of deadlocking, and the later one sees the
// earlier one's result: the outcome is always one of the two orders.

// DocumentsLock locks the tenant's rows among ids, in id order, and keeps
// their tuple ids, by which the statement that follows writes them (a TID
// scan). Each id is one primary key lookup: the LATERAL subquery is fenced
// (OFFSET 0), so the planner cannot turn the list into a join that reads
// the whole tenant. It did, in engram bench, when its statistics put a
// tenant of 137,650 documents at 615: a merge join over a bitmap scan of
// the tenant, 50 ms to lock 1,000 rows. The tuple ids stay valid: no one
// else can update a locked row before this transaction ends.
func (e *executor) DocumentsLock(ctx context.Context, tenantID string, ids []string) (engram.LockedDocuments, error) {
	tids, err := lockDocuments(ctx, e.tx, tenantID, ids)
	return engram.LockedDocuments{IDs: ids, Handle: tids}, err
}

func lockDocuments(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) ([]pgtype.TID, error) {
	rs, err := query(ctx, tx, "documents.lock",
		`SELECT d.ctid FROM (SELECT DISTINCT id FROM unnest($2::uuid[]) AS u(id) ORDER BY id) u
		  CROSS JOIN LATERAL (SELECT x.ctid FROM documents x WHERE x.tenant_id = $1 AND x.id = u.id OFFSET 0 FOR UPDATE) d`,
		tenantID, ids)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	tids := make([]pgtype.TID, 0, len(ids))
	for rs.Next() {
		var t pgtype.TID
		if err := rs.Scan(&t); err != nil {
			return nil, translate(err)
		}
		tids = append(tids, t)
	}
	return tids, translate(rs.Err())
}

// tids returns the tuple ids DocumentsLock found.
func tids(d engram.LockedDocuments) []pgtype.TID {
	t, _ := d.Handle.([]pgtype.TID)
	return t
}

// reviewSets is the SET clause of each review action: $1 is the time and
// $4 the action's value (the class, or reject's reason).
var reviewSets = map[engram.ReviewAction]string{
	engram.ReviewSetClassification: `classification = $4, classification_confidence = 1.0, classification_reason = 'set by user',
		 status = 'confirmed', user_confirmed = true, user_confirmed_at = $1`,
	engram.ReviewConfirm:    `status = 'confirmed', user_confirmed = true, user_confirmed_at = $1`,
	engram.ReviewReject:     `status = 'rejected', rejection_reason = $4, user_confirmed = true, user_confirmed_at = $1`,
	engram.ReviewSoftDelete: `is_deleted = true, deleted_at = $1`,
	engram.ReviewRestore:    `is_deleted = false, deleted_at = NULL`,
}

// DocumentsReview applies one review change to the locked rows by tuple
// id.
func (e *executor) DocumentsReview(ctx context.Context, tenantID string, docs engram.LockedDocuments, ch engram.ReviewChange, at time.Time) (map[string]bool, error) {
	set, ok := reviewSets[ch.Action]
	if !ok {
		return nil, engram.Errorf(engram.EInvalid, "unknown review action %q", ch.Action)
	}
	deleted := "is_deleted = false"
	if ch.Action == engram.ReviewRestore {
		deleted = "is_deleted"
	}
	args := []any{ts(at), tenantID, tids(docs)}
	switch {
	case ch.Action == engram.ReviewConfirm && ch.Classification != nil:
		set = reviewSets[engram.ReviewSetClassification]
		args = append(args, string(*ch.Classification))
	case ch.Action == engram.ReviewSetClassification:
		args = append(args, string(*ch.Classification))
	case ch.Action == engram.ReviewReject:
		args = append(args, ch.Reason)
	}
	return idSet(query(ctx, e.tx, "documents."+string(ch.Action),
		`UPDATE documents d SET `+set+`, updated_at = $1
		  WHERE d.ctid = ANY($3::tid[]) AND d.tenant_id = $2 AND d.`+deleted+` RETURNING d.id`, args...))
}

// ConnectorsLockForDocuments share-locks the connectors of the documents,
// before the documents, as a sync batch does: a sync batch of the same
// connector either finished before a delete or waits for it, so it cannot
// write a deleted item back. MATERIALIZED makes the ids find their
// connectors, not the connectors scan their documents for the ids (45 ms
// a request in engram bench), and each id is one fenced primary key
// lookup (see DocumentsLock).
func (e *executor) ConnectorsLockForDocuments(ctx context.Context, tenantID string, ids []string) error {
	_, err := exec(ctx, e.tx, "connectors.lock_for_delete",
		`WITH c AS MATERIALIZED (
		     SELECT DISTINCT d.connector_id FROM unnest($2::uuid[]) AS u(id)
		      CROSS JOIN LATERAL (SELECT x.connector_id FROM documents x
		                           WHERE x.tenant_id = $1 AND x.id = u.id OFFSET 0) d
		      WHERE d.connector_id IS NOT NULL)
		 SELECT 1 FROM c JOIN connectors x ON x.tenant_id = $1 AND x.id = c.connector_id
		  ORDER BY x.id FOR SHARE OF x`, tenantID, ids)
	return err
}

// DocumentsHardDelete deletes the locked rows (chunks go by cascade) and
// writes their tombstones in one statement.
func (e *executor) DocumentsHardDelete(ctx context.Context, tenantID string, docs engram.LockedDocuments, actor string, at time.Time) (map[string]bool, int, error) {
	var deleted []string
	var tombstoned int
	err := queryRow(ctx, e.tx, "documents.hard_delete",
		`WITH d AS (
		     DELETE FROM documents x WHERE x.ctid = ANY($2::tid[]) AND x.tenant_id = $1
		     RETURNING x.tenant_id, x.id, x.connector_id, x.external_id, x.source_type, x.title),
		 t AS (
		     INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
		     SELECT tenant_id, id, connector_id, external_id, source_type, title, $3, nullif($4, '')::uuid
		       FROM d WHERE connector_id IS NOT NULL AND external_id IS NOT NULL
		     ON CONFLICT (tenant_id, connector_id, external_id)
		     DO UPDATE SET deleted_at = excluded.deleted_at, deleted_by = excluded.deleted_by,
		                   original_title = excluded.original_title
		     RETURNING 1)
		 SELECT coalesce(array_agg(d.id::text), '{}'), (SELECT count(*) FROM t) FROM d`,
		[]any{tenantID, tids(docs), ts(at), actor}, &deleted, &tombstoned)
	if err != nil {
		return nil, 0, err
	}
	found := make(map[string]bool, len(deleted))
	for _, id := range deleted {
		found[id] = true
	}
	return found, tombstoned, nil
}

// ClassifyRead reads the selection in one statement. Given ids are each
// one fenced primary key lookup, as in DocumentsLock, so an un-analyzed
// tenant is never read whole.
func (e *executor) ClassifyRead(ctx context.Context, tenantID string, q engram.ClassifyQuery) ([]engram.ClassifyCandidate, error) {
	const cols = `SELECT d.id::text, d.title, left(d.content, $1), d.sender, d.sender_email, d.source_type, d.metadata, d.user_confirmed, d.content_hash`
	var out []engram.ClassifyCandidate
	err := e.run(ctx, tenantID, func(qr querier) error {
		var rs pgx.Rows
		var err error
		switch {
		case len(q.IDs) > 0:
			rs, err = query(ctx, qr, "documents.classify_read",
				cols+` FROM (SELECT DISTINCT id FROM unnest($3::uuid[]) AS u(id) ORDER BY id) u
				  CROSS JOIN LATERAL (SELECT x.* FROM documents x WHERE x.tenant_id = $2 AND x.id = u.id OFFSET 0) d
				 WHERE NOT d.is_deleted ORDER BY d.id`,
				engram.ClassifyContentPrefix, tenantID, q.IDs)
		case q.Bound != "":
			rs, err = query(ctx, qr, "documents.classify_read",
				cols+` FROM documents d WHERE d.tenant_id = $2 AND d.id > $3 AND d.id <= $4 AND d.status = 'pending' AND NOT d.is_deleted
				 ORDER BY d.id LIMIT $5`,
				engram.ClassifyContentPrefix, tenantID, q.After, q.Bound, q.Limit)
		default:
			rs, err = query(ctx, qr, "documents.classify_read",
				cols+` FROM documents d WHERE d.tenant_id = $2 AND d.status = 'pending' AND NOT d.is_deleted
				 ORDER BY d.created_at, d.id LIMIT $3`,
				engram.ClassifyContentPrefix, tenantID, q.Limit)
		}
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var c engram.ClassifyCandidate
			var meta []byte
			if err := rs.Scan(&c.ID, &c.Title, &c.Content, &c.Sender, &c.SenderEmail, &c.SourceType, &meta,
				&c.UserConfirmed, &c.ContentHash); err != nil {
				return translate(err)
			}
			c.Metadata = meta
			out = append(out, c)
		}
		return translate(rs.Err())
	})
	return out, err
}

// ClassifyWrite stores verdicts in one UPDATE from a JSON parameter. Each
// verdict finds and locks its row by one fenced primary key lookup, in id
// order as every bulk write locks (so it queues behind a person's review
// instead of deadlocking with it), and the update writes it by tuple id:
// the statement never depends on the planner's estimate of the tenant's
// size.
func (e *executor) ClassifyWrite(ctx context.Context, tenantID string, verdicts []engram.ClassifyVerdict, at time.Time) (map[string]bool, error) {
	b, err := jsonParam(verdicts)
	if err != nil {
		return nil, err
	}
	var out map[string]bool
	err = e.run(ctx, tenantID, func(q querier) error {
		out, err = idSet(query(ctx, q, "documents.classify_write",
			`WITH v AS MATERIALIZED (
			     SELECT x.ctid AS tid, r.* FROM (SELECT * FROM json_to_recordset($2::json)
			         AS j(id uuid, classification text, confidence double precision, reason text, status text, content_hash text)
			         ORDER BY j.id) r
			      CROSS JOIN LATERAL (SELECT y.ctid FROM documents y WHERE y.tenant_id = $3 AND y.id = r.id OFFSET 0 FOR UPDATE) x)
			 UPDATE documents d
			    SET classification = v.classification, classification_confidence = v.confidence,
			        classification_reason = v.reason, status = v.status, updated_at = $1
			   FROM v
			  WHERE d.ctid = ANY(ARRAY(SELECT tid FROM v)) AND d.ctid = v.tid AND d.tenant_id = $3
			    AND NOT d.user_confirmed AND NOT d.is_deleted AND d.content_hash = v.content_hash
			 RETURNING d.id::text`, ts(at), b, tenantID))
		return err
	})
	return out, err
}

// statsQuery counts everything of the stats panel in one pass over the
// tenant's documents (DocumentRecount): what the kept counts are checked
// against in tests; bench/pgref keeps its own copy as the bench's floor.
// It is built once from the fixed lists of statuses and classes; no
// request value enters its text.
var statsQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT count(*) FILTER (WHERE NOT is_deleted)`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND status = '` + string(st) + `')`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND classification = '` + string(c) + `')`)
	}
	b.WriteString(`, count(*) FILTER (WHERE NOT is_deleted AND status = 'classified' AND NOT user_confirmed)
	, avg(classification_confidence) FILTER (WHERE NOT is_deleted)
	, count(*) FILTER (WHERE is_deleted)
	FROM documents WHERE tenant_id = $1`)
	return b.String()
}()

// countsQuery reads the stats panel from the tenant's document_counts rows
// (see migration 00012): a few dozen rows however many documents there
// are. It is built once from the fixed lists of statuses and classes; no
// request value enters its text.
var countsQuery = func() string {
	var b strings.Builder
	sum := func(cond string) {
		b.WriteString(`coalesce(sum(n) FILTER (WHERE ` + cond + `), 0)::bigint`)
	}
	b.WriteString(`SELECT `)
	sum(`NOT is_deleted`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, `)
		sum(`NOT is_deleted AND status = '` + string(st) + `'`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, `)
		sum(`NOT is_deleted AND classification = '` + string(c) + `'`)
	}
	b.WriteString(`, `)
	sum(`NOT is_deleted AND needs_review`)
	b.WriteString(`, sum(confidence_sum) FILTER (WHERE NOT is_deleted) / nullif(sum(confidence_n) FILTER (WHERE NOT is_deleted), 0)::float8, `)
	sum(`is_deleted`)
	b.WriteString(` FROM document_counts WHERE tenant_id = $1`)
	return b.String()
}()

// DocumentStats reads the tenant's kept counts in one statement.
func (e *executor) DocumentStats(ctx context.Context, tenantID string) (engram.DocumentStats, error) {
	return e.documentStats(ctx, "documents.stats", countsQuery, tenantID)
}

// DocumentRecount counts the tenant's documents themselves.
func (e *executor) DocumentRecount(ctx context.Context, tenantID string) (engram.DocumentStats, error) {
	return e.documentStats(ctx, "documents.recount", statsQuery, tenantID)
}

func (e *executor) documentStats(ctx context.Context, op, q, tenantID string) (engram.DocumentStats, error) {
	r := rows.NewDocumentStatsRow()
	err := e.run(ctx, tenantID, func(qr querier) error {
		return queryRow(ctx, qr, op, q, []any{tenantID}, r.Dest()...)
	})
	return r.Stats(), err
}
