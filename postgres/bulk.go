package postgres

import (
	"context"
	"encoding/json"
	"strings"

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

// lockDocuments locks the tenant's rows among ids, in id order, and
// returns their tuple ids, by which the statement that follows writes
// them (a TID scan). Each id is one primary key lookup: the LATERAL
// subquery is fenced (OFFSET 0), so the planner cannot turn the list into
// a join that reads the whole tenant. It did, in engram bench, when its
// statistics put a tenant of 137,650 documents at 615: a merge join over a
// bitmap scan of the tenant, 50 ms to lock 1,000 rows. The tuple ids stay
// valid: no one else can update a locked row before this transaction ends.
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

// audit writes the one audit_log row of a destructive or bulk request on
// documents.
func (s *Store) audit(ctx context.Context, tx pgx.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	return s.auditTarget(ctx, tx, tenantID, actor, action, "document", count, details)
}

// auditTarget writes one audit_log row about targets of the given type.
func (s *Store) auditTarget(ctx context.Context, tx pgx.Tx, tenantID, actor, action, target string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES ($1, $2, $3, nullif($4, '')::uuid, $5, $6, $7, $8::jsonb)`,
		tenantID, engram.NewID(), ts(s.now()), actor, action, target, count, string(b))
	return err
}

// collectIDs reads a one-column result of ids into a set.
func collectIDs(rs pgx.Rows) (map[string]bool, error) {
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

func withIDs(m map[string]any, ids []string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m["ids"] = ids
	return m
}

// bulkUpdate locks the rows, applies one UPDATE to the live documents
// among ids, and writes the audit row: three statements. set uses
// parameters from $4 on; $1 is the time, $2 the tenant, $3 the ids.
func (s *Store) bulkUpdate(ctx context.Context, tenantID, actor, action string, ids []string, live bool, set string, setArgs []any, extra map[string]any) (engram.BulkResult, error) {
	var res engram.BulkResult
	deleted := "is_deleted = false"
	if !live {
		deleted = "is_deleted"
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tids, err := lockDocuments(ctx, tx, tenantID, ids)
		if err != nil {
			return err
		}
		args := append([]any{ts(s.now()), tenantID, tids}, setArgs...)
		rs, err := query(ctx, tx, "documents."+action,
			`UPDATE documents d SET `+set+`, updated_at = $1
			  WHERE d.ctid = ANY($3::tid[]) AND d.tenant_id = $2 AND d.`+deleted+` RETURNING d.id`, args...)
		if err != nil {
			return err
		}
		found, err := collectIDs(rs)
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents."+action, res.Changed, withIDs(extra, ids))
	})
	return res, err
}

// SetClassification records a person's class for the documents.
func (s *Store) SetClassification(ctx context.Context, tenantID, actor string, ids []string, c engram.Classification) (engram.BulkResult, error) {
	return s.bulkUpdate(ctx, tenantID, actor, "set_classification", ids, true,
		`classification = $4, classification_confidence = 1.0, classification_reason = 'set by user',
		 status = 'confirmed', user_confirmed = true, user_confirmed_at = $1`,
		[]any{string(c)}, map[string]any{"classification": c})
}

// ConfirmDocuments marks the documents confirmed by a person.
func (s *Store) ConfirmDocuments(ctx context.Context, tenantID, actor string, ids []string, c *engram.Classification) (engram.BulkResult, error) {
	if c != nil {
		return s.bulkUpdate(ctx, tenantID, actor, "confirm", ids, true,
			`classification = $4, classification_confidence = 1.0, classification_reason = 'set by user',
			 status = 'confirmed', user_confirmed = true, user_confirmed_at = $1`,
			[]any{string(*c)}, map[string]any{"classification": *c})
	}
	return s.bulkUpdate(ctx, tenantID, actor, "confirm", ids, true,
		`status = 'confirmed', user_confirmed = true, user_confirmed_at = $1`, nil, nil)
}

// RejectDocuments marks the documents rejected by a person.
func (s *Store) RejectDocuments(ctx context.Context, tenantID, actor string, ids []string, reason string) (engram.BulkResult, error) {
	return s.bulkUpdate(ctx, tenantID, actor, "reject", ids, true,
		`status = 'rejected', rejection_reason = $4, user_confirmed = true, user_confirmed_at = $1`,
		[]any{reason}, map[string]any{"reason": reason})
}

// RestoreDocuments undoes soft deletes.
func (s *Store) RestoreDocuments(ctx context.Context, tenantID, actor string, ids []string) (engram.BulkResult, error) {
	return s.bulkUpdate(ctx, tenantID, actor, "restore", ids, false, `is_deleted = false, deleted_at = NULL`, nil, nil)
}

// DeleteDocuments soft- or hard-deletes the documents. A hard delete locks
// their connectors and then the rows, deletes them (chunks go by cascade)
// and writes their tombstones in one statement, then writes the audit row:
// four statements.
func (s *Store) DeleteDocuments(ctx context.Context, tenantID, actor string, ids []string, hard bool) (engram.BulkResult, error) {
	if !hard {
		return s.bulkUpdate(ctx, tenantID, actor, "soft_delete", ids, true, `is_deleted = true, deleted_at = $1`, nil, nil)
	}
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Connectors before documents, as SyncBatch does: a sync batch of
		// the same connector either finished before this delete or waits
		// for it, so it cannot write a deleted item back. MATERIALIZED
		// makes the ids find their connectors, not the connectors scan
		// their documents for the ids (45 ms a request in engram bench),
		// and each id is one fenced primary key lookup (see lockDocuments).
		if _, err := exec(ctx, tx, "connectors.lock_for_delete",
			`WITH c AS MATERIALIZED (
			     SELECT DISTINCT d.connector_id FROM unnest($2::uuid[]) AS u(id)
			      CROSS JOIN LATERAL (SELECT x.connector_id FROM documents x
			                           WHERE x.tenant_id = $1 AND x.id = u.id OFFSET 0) d
			      WHERE d.connector_id IS NOT NULL)
			 SELECT 1 FROM c JOIN connectors x ON x.tenant_id = $1 AND x.id = c.connector_id
			  ORDER BY x.id FOR SHARE OF x`, tenantID, ids); err != nil {
			return err
		}
		tids, err := lockDocuments(ctx, tx, tenantID, ids)
		if err != nil {
			return err
		}
		var deleted []string
		var tombstoned int
		err = queryRow(ctx, tx, "documents.hard_delete",
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
			[]any{tenantID, tids, ts(s.now()), actor}, &deleted, &tombstoned)
		if err != nil {
			return err
		}
		found := make(map[string]bool, len(deleted))
		for _, id := range deleted {
			found[id] = true
		}
		res = engram.BulkResult{Changed: len(found), Tombstoned: tombstoned, NotFound: rows.NotFound(ids, found)}
		return s.audit(ctx, tx, tenantID, actor, "documents.hard_delete", res.Changed,
			withIDs(map[string]any{"tombstoned": tombstoned}, ids))
	})
	return res, err
}

// statsQuery counts everything of the stats panel in one pass over the
// tenant's documents: the raw-SQL floor of the bench, and what the counts
// are checked against in tests. It is built once from the fixed lists of statuses and
// classes; no request value enters its text.
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
	dest = append(dest, &st.NeedsReview, &st.AverageConfidence, &st.Deleted)
	err := s.read(ctx, func(c *pgxConn) error {
		return queryRow(ctx, c, op, q, []any{tenantID}, dest...)
	})
	if err != nil {
		return st, err
	}
	st.Fill(byStatus, byClass)
	return st, nil
}
