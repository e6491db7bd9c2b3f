package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// gapColumns are a gap's own columns, read through the alias g.
const gapColumns = `g.id, g.title, g.description, g.category, g.priority, g.status, g.context, g.fingerprint,
	g.feedback_useful, g.feedback_not_useful, g.created_at, g.updated_at, g.closed_at`

// gapCountColumns count a gap's questions and its answered questions in
// the statement that reads the gap: a list pays for them once per page,
// not once per gap.
const gapCountColumns = `
	(SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id),
	(SELECT count(DISTINCT a.question_position) FROM gap_answers a WHERE a.tenant_id = g.tenant_id AND a.gap_id = g.id)`

// scanGap reads gapColumns and gapCountColumns, then extra.
func scanGap(r rows.Scanner, extra ...any) (engram.Gap, error) {
	var g engram.Gap
	var category, status, context, createdAt, updatedAt string
	var fingerprint, closedAt sql.NullString
	dest := append([]any{&g.ID, &g.Title, &g.Description, &category, &g.Priority, &status, &context, &fingerprint,
		&g.FeedbackUseful, &g.FeedbackNotUseful, &createdAt, &updatedAt, &closedAt,
		&g.QuestionCount, &g.AnsweredCount}, extra...)
	if err := r.Scan(dest...); err != nil {
		return g, err
	}
	rows.FinishGap(&g, category, status, []byte(context))
	if fingerprint.Valid {
		g.Fingerprint = &fingerprint.String
	}
	g.CreatedAt = parseTime(createdAt)
	g.UpdatedAt = parseTime(updatedAt)
	g.ClosedAt = parseTimePtr(closedAt)
	return g, nil
}

// GapInsert inserts the gap's row.
func (e *executor) GapInsert(ctx context.Context, tenantID string, g engram.PreparedGap, at time.Time) error {
	_, err := exec(ctx, e.q, "gaps.create",
		`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, created_at, updated_at)
		 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)`,
		tenantID, g.ID, g.Title, g.Description, string(g.Category), g.Priority, fmtTime(at))
	return err
}

// GapQuestionsInsert inserts the questions from one JSON array.
func (e *executor) GapQuestionsInsert(ctx context.Context, tenantID string, qs []engram.NewGapQuestion) error {
	_, err := exec(ctx, e.q, "gap_questions.create",
		`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
		 SELECT ?, q.value->>'gap_id', q.value->>'position', q.value->>'text' FROM json_each(?) AS q`,
		tenantID, rows.QuestionsJSON(qs))
	return err
}

// GapDocumentsLink links the live documents among docIDs.
func (e *executor) GapDocumentsLink(ctx context.Context, tenantID, gapID string, docIDs []string) (map[string]bool, error) {
	return collectIDs(query(ctx, e.q, "gap_documents.create",
		`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
		 SELECT tenant_id, ?, id FROM documents
		  WHERE tenant_id = ? AND is_deleted = 0 AND id IN (SELECT value FROM json_each(?))
		 RETURNING document_id`, gapID, tenantID, rows.IDsJSON(docIDs)))
}

// gapConds are the SQL of the gap list's terms, one parameter per value.
var gapConds = map[rows.GapTerm]string{
	rows.GapTermStatus:      "status = ?",
	rows.GapTermCategory:    "category = ?",
	rows.GapTermPriorityMin: "priority >= ?",
	rows.GapTermBefore:      "(priority, created_at, id) < (?, ?, ?)",
}

// scanListedGap reads a gap row of a list.
func scanListedGap(r rows.Scanner) (engram.Gap, error) { return scanGap(r) }

// GapList reads the page in one statement: the inner query picks it
// through the (tenant_id, priority, created_at, id) index, and the counts
// run for the page's rows only.
func (e *executor) GapList(ctx context.Context, tenantID string, f engram.GapFilter) ([]engram.Gap, error) {
	conds := []string{"tenant_id = ?"}
	args := []any{tenantID}
	for _, c := range rows.GapConds(f) {
		conds = append(conds, gapConds[c.Term])
		for _, v := range c.Values {
			args = append(args, rows.TimeParam(v, fmtTime))
		}
	}
	args = append(args, f.Limit+1)
	const order = ` ORDER BY priority DESC, created_at DESC, id DESC`
	rs, err := query(ctx, e.q, "gaps.list",
		`SELECT `+gapColumns+`, `+gapCountColumns+`
		   FROM (SELECT * FROM knowledge_gaps WHERE `+strings.Join(conds, " AND ")+order+` LIMIT ?) AS g`+order, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out, err := rows.Collect(rs, scanListedGap)
	return out, translate(err)
}

// GapGet reads the gap, its questions and its live document ids in one
// statement.
func (e *executor) GapGet(ctx context.Context, tenantID, id string) (engram.GapDetail, bool, error) {
	var d engram.GapDetail
	var questions, docs string
	g, err := scanGap(queryRow(ctx, e.q, "gaps.get",
		`SELECT `+gapColumns+`, `+gapCountColumns+`,
		        (SELECT json_group_array(json_object('index', position, 'text', text))
		           FROM gap_questions WHERE tenant_id = ?1 AND gap_id = ?2),
		        (SELECT json_group_array(gd.document_id)
		           FROM gap_documents gd JOIN documents d ON d.tenant_id = gd.tenant_id AND d.id = gd.document_id
		          WHERE gd.tenant_id = ?1 AND gd.gap_id = ?2 AND d.is_deleted = 0)
		   FROM knowledge_gaps g WHERE g.tenant_id = ?1 AND g.id = ?2`, tenantID, id), &questions, &docs)
	if isNoRows(err) {
		return d, false, nil
	}
	if err != nil {
		return d, false, translate(err)
	}
	d.Gap = g
	if err := json.Unmarshal([]byte(questions), &d.Questions); err != nil {
		return d, false, err
	}
	if err := json.Unmarshal([]byte(docs), &d.DocumentIDs); err != nil {
		return d, false, err
	}
	sort.Slice(d.Questions, func(i, j int) bool { return d.Questions[i].Index < d.Questions[j].Index })
	sort.Strings(d.DocumentIDs)
	return d, true, nil
}

// GapUpdate applies the patch; nil fields keep their column.
func (e *executor) GapUpdate(ctx context.Context, tenantID, id string, p engram.GapPatch, at time.Time) (bool, error) {
	category := rows.GapCategoryParam(p)
	res, err := exec(ctx, e.q, "gaps.update",
		`UPDATE knowledge_gaps
		    SET title = coalesce(?, title), description = coalesce(?, description),
		        category = coalesce(?, category), priority = coalesce(?, priority), updated_at = ?
		  WHERE tenant_id = ? AND id = ?`,
		p.Title, p.Description, category, p.Priority, fmtTime(at), tenantID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// GapDelete deletes the gap; its rows in other tables go by cascade.
func (e *executor) GapDelete(ctx context.Context, tenantID, id string) (bool, error) {
	res, err := exec(ctx, e.q, "gaps.delete", `DELETE FROM knowledge_gaps WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// GapsLock is a no-op: the one writer serialises write transactions.
func (e *executor) GapsLock(context.Context, string, []string) error { return nil }

// GapsSetStatus sets the status in one UPDATE … RETURNING id.
func (e *executor) GapsSetStatus(ctx context.Context, tenantID string, ids []string, st engram.GapStatus, at time.Time) (map[string]bool, error) {
	return collectIDs(query(ctx, e.q, "gaps.set_status",
		`UPDATE knowledge_gaps
		    SET status = ?1,
		        closed_at = CASE WHEN ?1 = 'closed' THEN coalesce(closed_at, ?2) END,
		        updated_at = ?2
		  WHERE tenant_id = ?3 AND id IN (SELECT value FROM json_each(?4))
		 RETURNING id`, string(st), fmtTime(at), tenantID, rows.IDsJSON(ids)))
}
