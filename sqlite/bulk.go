package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// SQLite has one writer connection, so a bulk transaction never interleaves
// with another write: no row locks are needed to keep two bulk requests on
// the same documents in one of their two orders.

// idsIn is the set test for a JSON array of ids bound as one parameter.
const idsIn = `id IN (SELECT value FROM json_each(?))`

// audit writes the one audit_log row of a destructive or bulk request on
// documents.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	return s.auditTarget(ctx, tx, tenantID, actor, action, "document", count, details)
}

// auditTarget writes one audit_log row about targets of the given type.
func (s *Store) auditTarget(ctx context.Context, tx *sql.Tx, tenantID, actor, action, target string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES (?, ?, ?, nullif(?, ''), ?, ?, ?, ?)`,
		tenantID, engram.NewID(), s.nowText(), actor, action, target, count, string(b))
	return err
}

// updateReturningIDs runs an UPDATE … RETURNING id and collects the ids.
func updateReturningIDs(ctx context.Context, tx *sql.Tx, op, q string, args ...any) (map[string]bool, error) {
	rs, err := query(ctx, tx, op, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	found := map[string]bool{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, translate(rs.Err())
}

// bulkUpdate applies one UPDATE to the live documents among ids, then
// writes the audit row: two statements.
func (s *Store) bulkUpdate(ctx context.Context, tenantID, actor, action string, ids []string, set string, setArgs []any, extra map[string]any) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args := append(append([]any{}, setArgs...), s.nowText(), tenantID, rows.IDsJSON(ids))
		found, err := updateReturningIDs(ctx, tx, "documents."+action,
			`UPDATE documents SET `+set+`, updated_at = ?
			  WHERE tenant_id = ? AND is_deleted = 0 AND `+idsIn+` RETURNING id`, args...)
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents."+action, res.Changed, withIDs(extra, ids))
	})
	return res, err
}

func withIDs(m map[string]any, ids []string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m["ids"] = ids
	return m
}

// SetClassification records a person's class for the documents.
func (s *Store) SetClassification(ctx context.Context, tenantID, actor string, ids []string, c engram.Classification) (engram.BulkResult, error) {
	now := s.nowText()
	return s.bulkUpdate(ctx, tenantID, actor, "set_classification", ids,
		`classification = ?, classification_confidence = 1.0, classification_reason = 'set by user',
		 status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?`,
		[]any{string(c), now}, map[string]any{"classification": c})
}

// ConfirmDocuments marks the documents confirmed by a person.
func (s *Store) ConfirmDocuments(ctx context.Context, tenantID, actor string, ids []string, c *engram.Classification) (engram.BulkResult, error) {
	now := s.nowText()
	if c != nil {
		return s.bulkUpdate(ctx, tenantID, actor, "confirm", ids,
			`classification = ?, classification_confidence = 1.0, classification_reason = 'set by user',
			 status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?`,
			[]any{string(*c), now}, map[string]any{"classification": *c})
	}
	return s.bulkUpdate(ctx, tenantID, actor, "confirm", ids,
		`status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?`, []any{now}, nil)
}

// RejectDocuments marks the documents rejected by a person.
func (s *Store) RejectDocuments(ctx context.Context, tenantID, actor string, ids []string, reason string) (engram.BulkResult, error) {
	return s.bulkUpdate(ctx, tenantID, actor, "reject", ids,
		`status = 'rejected', rejection_reason = ?, user_confirmed = 1, user_confirmed_at = ?`,
		[]any{reason, s.nowText()}, map[string]any{"reason": reason})
}

// DeleteDocuments soft- or hard-deletes the documents. A hard delete
// writes tombstones from the rows it is about to delete (one statement),
// deletes them with their chunks (one statement, chunks by cascade), and
// writes the audit row: three statements.
func (s *Store) DeleteDocuments(ctx context.Context, tenantID, actor string, ids []string, hard bool) (engram.BulkResult, error) {
	if !hard {
		now := s.nowText()
		return s.bulkUpdate(ctx, tenantID, actor, "soft_delete", ids, `is_deleted = 1, deleted_at = ?`, []any{now}, nil)
	}
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		idsJSON := rows.IDsJSON(ids)
		now := s.nowText()
		// The unary + keeps SQLite from answering "connector_id IS NOT
		// NULL" with a range over every connector document of the tenant;
		// the ids must drive the look-up, through the primary key.
		t, err := exec(ctx, tx, "tombstones.write",
			`INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at, deleted_by)
			 SELECT tenant_id, id, connector_id, external_id, source_type, title, ?, nullif(?, '')
			   FROM documents
			  WHERE tenant_id = ? AND `+idsIn+` AND +connector_id IS NOT NULL AND +external_id IS NOT NULL
			 ON CONFLICT (tenant_id, connector_id, external_id)
			 DO UPDATE SET deleted_at = excluded.deleted_at, deleted_by = excluded.deleted_by,
			               original_title = excluded.original_title`,
			now, actor, tenantID, idsJSON)
		if err != nil {
			return err
		}
		n, _ := t.RowsAffected()
		found, err := updateReturningIDs(ctx, tx, "documents.hard_delete",
			`DELETE FROM documents WHERE tenant_id = ? AND `+idsIn+` RETURNING id`, tenantID, idsJSON)
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), Tombstoned: int(n), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents.hard_delete", res.Changed,
			withIDs(map[string]any{"tombstoned": res.Tombstoned}, ids))
	})
	return res, err
}

// RestoreDocuments undoes soft deletes.
func (s *Store) RestoreDocuments(ctx context.Context, tenantID, actor string, ids []string) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		found, err := updateReturningIDs(ctx, tx, "documents.restore",
			`UPDATE documents SET is_deleted = 0, deleted_at = NULL, updated_at = ?
			  WHERE tenant_id = ? AND is_deleted = 1 AND `+idsIn+` RETURNING id`,
			s.nowText(), tenantID, rows.IDsJSON(ids))
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents.restore", res.Changed, withIDs(nil, ids))
	})
	return res, err
}

// statsQuery counts everything of the stats panel in one pass over the
// tenant's documents: the raw-SQL floor of the bench, and what the counts
// are checked against in tests. It is built once from the fixed lists of statuses and
// classes; no request value enters its text.
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

// DocumentStats reads the tenant's counts in one statement.
func (s *Store) DocumentStats(ctx context.Context, tenantID string) (engram.DocumentStats, error) {
	return s.documentStats(ctx, "documents.stats", countsQuery, tenantID)
}

// documentStats runs a stats query: countsQuery, or statsQuery to count
// the documents themselves.
func (s *Store) documentStats(ctx context.Context, op, q, tenantID string) (engram.DocumentStats, error) {
	st := engram.NewDocumentStats()
	byStatus := make([]int, len(engram.DocumentStatuses))
	byClass := make([]int, len(engram.Classifications))
	dest := []any{&st.Total}
	for i := range byStatus {
		dest = append(dest, &byStatus[i])
	}
	for i := range byClass {
		dest = append(dest, &byClass[i])
	}
	var avg sql.NullFloat64
	dest = append(dest, &st.NeedsReview, &avg, &st.Deleted)
	if err := queryRow(ctx, s.read, op, q, tenantID).Scan(dest...); err != nil {
		return st, translate(err)
	}
	st.Fill(byStatus, byClass)
	if avg.Valid {
		st.AverageConfidence = &avg.Float64
	}
	return st, nil
}
