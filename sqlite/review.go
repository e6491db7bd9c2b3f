package sqlite

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// SQLite has one writer connection, so a write transaction never
// interleaves with another: locking documents and connectors is a no-op,
// and two bulk requests on the same documents still happen in one of their
// two orders.

// idsIn is the set test for a JSON array of ids bound as one parameter.
const idsIn = `id IN (SELECT value FROM json_each(?))`

// DocumentsLock is a no-op: the one writer serialises write transactions.
func (e *executor) DocumentsLock(_ context.Context, _ string, ids []string) (engram.LockedDocuments, error) {
	return engram.LockedDocuments{IDs: ids}, nil
}

// ConnectorsLockForDocuments is a no-op, as DocumentsLock.
func (e *executor) ConnectorsLockForDocuments(context.Context, string, []string) error { return nil }

// reviewSets is the SET clause of each review action: ?1 is the time and
// ?4 the action's value (the class, or reject's reason).
var reviewSets = map[engram.ReviewAction]string{
	engram.ReviewSetClassification: `classification = ?4, classification_confidence = 1.0, classification_reason = 'set by user',
		 status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?1`,
	engram.ReviewConfirm:    `status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?1`,
	engram.ReviewReject:     `status = 'rejected', rejection_reason = ?4, user_confirmed = 1, user_confirmed_at = ?1`,
	engram.ReviewSoftDelete: `is_deleted = 1, deleted_at = ?1`,
	engram.ReviewRestore:    `is_deleted = 0, deleted_at = NULL`,
}

// DocumentsReview applies one review change in one UPDATE … RETURNING id.
func (e *executor) DocumentsReview(ctx context.Context, tenantID string, docs engram.LockedDocuments, ch engram.ReviewChange, at time.Time) (map[string]bool, error) {
	set, ok := reviewSets[ch.Action]
	if !ok {
		return nil, engram.Errorf(engram.EInvalid, "unknown review action %q", ch.Action)
	}
	live := "0"
	if ch.Action == engram.ReviewRestore {
		live = "1"
	}
	// ?1 is the time, ?2 the tenant, ?3 the ids, ?4 the action's value.
	args := []any{fmtTime(at), tenantID, rows.IDsJSON(docs.IDs)}
	switch {
	case ch.Action == engram.ReviewConfirm && ch.Classification != nil:
		set = reviewSets[engram.ReviewSetClassification]
		args = append(args, string(*ch.Classification))
	case ch.Action == engram.ReviewSetClassification:
		args = append(args, string(*ch.Classification))
	case ch.Action == engram.ReviewReject:
		args = append(args, ch.Reason)
	}
	return collectIDs(query(ctx, e.q, "documents."+string(ch.Action),
		`UPDATE documents SET `+set+`, updated_at = ?1
		  WHERE tenant_id = ?2 AND is_deleted = `+live+` AND id IN (SELECT value FROM json_each(?3)) RETURNING id`, args...))
}

// DocumentsHardDelete writes tombstones from the rows it is about to
// delete (one statement), then deletes them, chunks by cascade (one
// statement).
func (e *executor) DocumentsHardDelete(ctx context.Context, tenantID string, docs engram.LockedDocuments, actor string, at time.Time) (map[string]bool, int, error) {
	idsJSON := rows.IDsJSON(docs.IDs)
	// The unary + keeps SQLite from answering "connector_id IS NOT NULL"
	// with a range over every connector document of the tenant; the ids
	// must drive the look-up, through the primary key.
	t, err := exec(ctx, e.q, "tombstones.write",
		`INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
		 SELECT tenant_id, id, connector_id, external_id, source_type, title, ?, nullif(?, '')
		   FROM documents
		  WHERE tenant_id = ? AND `+idsIn+` AND +connector_id IS NOT NULL AND +external_id IS NOT NULL
		 ON CONFLICT (tenant_id, connector_id, external_id)
		 DO UPDATE SET deleted_at = excluded.deleted_at, deleted_by = excluded.deleted_by,
		               original_title = excluded.original_title`,
		fmtTime(at), actor, tenantID, idsJSON)
	if err != nil {
		return nil, 0, err
	}
	n, _ := t.RowsAffected()
	found, err := collectIDs(query(ctx, e.q, "documents.hard_delete",
		`DELETE FROM documents WHERE tenant_id = ? AND `+idsIn+` RETURNING id`, tenantID, idsJSON))
	return found, int(n), err
}

// ClassifyRead reads the selection in one statement.
func (e *executor) ClassifyRead(ctx context.Context, tenantID string, q engram.ClassifyQuery) ([]engram.ClassifyCandidate, error) {
	const cols = `SELECT id, title, substr(content, 1, ?1), sender, sender_email, source_type, metadata, user_confirmed, content_hash, classification FROM documents`
	var rs *countedRows
	var err error
	if len(q.IDs) > 0 {
		rs, err = query(ctx, e.q, "documents.classify_read",
			cols+` WHERE tenant_id = ?2 AND is_deleted = 0 AND id IN (SELECT value FROM json_each(?3)) ORDER BY id`,
			engram.ClassifyContentPrefix, tenantID, rows.IDsJSON(q.IDs))
	} else if q.Bound != "" {
		rs, err = query(ctx, e.q, "documents.classify_read",
			cols+` WHERE tenant_id = ?2 AND id > ?3 AND id <= ?4 AND status = 'pending' AND is_deleted = 0
			 ORDER BY id LIMIT ?5`,
			engram.ClassifyContentPrefix, tenantID, q.After, q.Bound, q.Limit)
	} else if q.Machine {
		rs, err = query(ctx, e.q, "documents.classify_read",
			cols+` WHERE tenant_id = ?2 AND id > ?3 AND status IN ('classified', 'confirmed') AND user_confirmed = 0
			   AND is_deleted = 0 ORDER BY id LIMIT ?4`,
			engram.ClassifyContentPrefix, tenantID, q.After, q.Limit)
	} else {
		rs, err = query(ctx, e.q, "documents.classify_read",
			cols+` WHERE tenant_id = ?2 AND is_deleted = 0 AND status = 'pending'
			 ORDER BY created_at, id LIMIT ?3`,
			engram.ClassifyContentPrefix, tenantID, q.Limit)
	}
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.ClassifyCandidate
	for rs.Next() {
		var c engram.ClassifyCandidate
		var meta string
		if err := rs.Scan(&c.ID, &c.Title, &c.Content, &c.Sender, &c.SenderEmail, &c.SourceType, &meta,
			&c.UserConfirmed, &c.ContentHash, &c.Classification); err != nil {
			return nil, err
		}
		c.Metadata = json.RawMessage(meta)
		out = append(out, c)
	}
	return out, translate(rs.Err())
}

// ClassifyWrite stores verdicts in one UPDATE from a JSON parameter. The
// verdicts are read once (MATERIALIZED) and CROSS JOIN makes them the
// outer loop, so each finds its document by primary key and the update
// writes it by rowid: with the verdicts as the inner loop SQLite scanned
// the JSON once per document (quadratic), and for a tenant that grew
// after the last ANALYZE it read the whole tenant through an index range.
func (e *executor) ClassifyWrite(ctx context.Context, tenantID string, verdicts []engram.ClassifyVerdict, at time.Time) (map[string]bool, error) {
	b, err := jsonParam(verdicts)
	if err != nil {
		return nil, err
	}
	return collectIDs(query(ctx, e.q, "documents.classify_write",
		`WITH r AS MATERIALIZED (
		     SELECT value->>'id' AS id, value->>'classification' AS classification,
		            value->>'confidence' AS confidence, value->>'reason' AS reason,
		            value->>'status' AS status, value->>'content_hash' AS content_hash
		       FROM json_each(?2)),
		 v AS MATERIALIZED (
		     SELECT d.rowid AS rid, r.* FROM r CROSS JOIN documents d ON d.tenant_id = ?3 AND d.id = r.id)
		 UPDATE documents
		    SET classification = v.classification,
		        classification_confidence = v.confidence,
		        classification_reason = v.reason,
		        status = v.status,
		        updated_at = ?1
		   FROM v
		  WHERE documents.rowid = v.rid AND documents.tenant_id = ?3
		    AND documents.user_confirmed = 0 AND documents.is_deleted = 0
		    AND documents.content_hash = v.content_hash
		 RETURNING documents.id`, fmtTime(at), b, tenantID))
}

// statsQuery counts everything of the stats panel in one pass over the
// tenant's documents (DocumentRecount): what the kept counts are checked
// against in tests; bench/sqliteref keeps its own copy as the bench's floor.
// It is built once from the fixed lists of statuses and classes; no
// request value enters its text.
var statsQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT count(*) FILTER (WHERE is_deleted = 0)`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND status = '` + string(st) + `')`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND classification = '` + string(c) + `')`)
	}
	b.WriteString(`, count(*) FILTER (WHERE is_deleted = 0 AND status = 'classified' AND user_confirmed = 0)
	, avg(classification_confidence) FILTER (WHERE is_deleted = 0)
	, count(*) FILTER (WHERE is_deleted = 1)
	FROM documents WHERE tenant_id = ?`)
	return b.String()
}()

// countsQuery reads the stats panel from the tenant's document_counts rows
// (see migration 00012): a few dozen rows however many documents there
// are. It is built once from the fixed lists of statuses and classes; no
// request value enters its text.
var countsQuery = func() string {
	var b strings.Builder
	sum := func(cond string) {
		b.WriteString(`coalesce(sum(n) FILTER (WHERE ` + cond + `), 0)`)
	}
	b.WriteString(`SELECT `)
	sum(`is_deleted = 0`)
	for _, st := range engram.DocumentStatuses {
		b.WriteString(`, `)
		sum(`is_deleted = 0 AND status = '` + string(st) + `'`)
	}
	for _, c := range engram.Classifications {
		b.WriteString(`, `)
		sum(`is_deleted = 0 AND classification = '` + string(c) + `'`)
	}
	b.WriteString(`, `)
	sum(`is_deleted = 0 AND needs_review = 1`)
	b.WriteString(`, sum(confidence_sum) FILTER (WHERE is_deleted = 0) / nullif(sum(confidence_n) FILTER (WHERE is_deleted = 0), 0), `)
	sum(`is_deleted = 1`)
	b.WriteString(` FROM document_counts WHERE tenant_id = ?`)
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
	if err := queryRow(ctx, e.q, op, q, tenantID).Scan(r.Dest()...); err != nil {
		return r.Stats(), translate(err)
	}
	return r.Stats(), nil
}
