package postgres

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

// gapColumns are a gap's own columns, read through the alias g.
const gapColumns = `g.id::text, g.title, g.description, g.category, g.priority, g.status, g.context, g.fingerprint,
	g.feedback_useful, g.feedback_not_useful, g.created_at, g.updated_at, g.closed_at`

// gapCountColumns count a gap's questions and its answered questions in
// the statement that reads the gap: a list pays for them once per page,
// not once per gap.
const gapCountColumns = `
	(SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id),
	(SELECT count(DISTINCT a.question_position) FROM gap_answers a WHERE a.tenant_id = g.tenant_id AND a.gap_id = g.id)`

// scanGap reads gapColumns and gapCountColumns, then extra.
func scanGap(r pgx.Row, extra ...any) (engram.Gap, error) {
	var g engram.Gap
	var category, status string
	var context []byte
	dest := append([]any{&g.ID, &g.Title, &g.Description, &category, &g.Priority, &status, &context, &g.Fingerprint,
		&g.FeedbackUseful, &g.FeedbackNotUseful, &g.CreatedAt, &g.UpdatedAt, &g.ClosedAt,
		&g.QuestionCount, &g.AnsweredCount}, extra...)
	if err := r.Scan(dest...); err != nil {
		return g, err
	}
	rows.FinishGap(&g, category, status, compactJSON(context))
	inUTC(&g.CreatedAt, &g.UpdatedAt, g.ClosedAt)
	return g, nil
}

// GapInsert inserts the gap's row.
func (e *executor) GapInsert(ctx context.Context, tenantID string, g engram.PreparedGap, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gaps.create",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			tenantID, g.ID, g.Title, g.Description, string(g.Category), g.Priority, ts(at))
		return err
	})
}

// GapQuestionsInsert inserts the questions from one JSON array.
func (e *executor) GapQuestionsInsert(ctx context.Context, tenantID string, qs []engram.NewGapQuestion) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gap_questions.create",
			`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
			 SELECT $1, q.gap_id, q.position, q.text
			   FROM json_to_recordset($2::json) AS q(gap_id uuid, position integer, text text)`,
			tenantID, rows.QuestionsJSON(qs))
		return err
	})
}

// GapDocumentsLink links the live documents among docIDs, key-share
// locking them while it does.
func (e *executor) GapDocumentsLink(ctx context.Context, tenantID, gapID string, docIDs []string) (map[string]bool, error) {
	var linked map[string]bool
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		linked, err = idSet(query(ctx, q, "gap_documents.create",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT d.tenant_id, $1, d.id FROM unnest($3::uuid[]) AS u(id)
			   JOIN documents d ON d.tenant_id = $2 AND d.id = u.id
			  WHERE NOT d.is_deleted
			  FOR KEY SHARE OF d
			 RETURNING document_id::text`, gapID, tenantID, docIDs))
		return err
	})
	return linked, err
}

// gapConds are the SQL of the gap list's terms, given their values'
// parameters.
var gapConds = map[rows.GapTerm]func(ps []string) string{
	rows.GapTermStatus:      func(ps []string) string { return "status = " + ps[0] },
	rows.GapTermCategory:    func(ps []string) string { return "category = " + ps[0] },
	rows.GapTermPriorityMin: func(ps []string) string { return "priority >= " + ps[0] },
	rows.GapTermBefore: func(ps []string) string {
		return "(priority, created_at, id) < (" + ps[0] + ", " + ps[1] + ", " + ps[2] + "::uuid)"
	},
}

// scanListedGap reads a gap row of a list.
func scanListedGap(r rows.Scanner) (engram.Gap, error) { return scanGap(r) }

// GapList reads the page in one statement: the inner query picks it
// through the (tenant_id, priority, created_at, id) index, and the counts
// run for the page's rows only.
func (e *executor) GapList(ctx context.Context, tenantID string, f engram.GapFilter) ([]engram.Gap, error) {
	var args []any
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	conds := []string{"tenant_id = " + param(tenantID)}
	for _, c := range rows.GapConds(f) {
		ps := make([]string, len(c.Values))
		for i, v := range c.Values {
			ps[i] = param(rows.TimeParam(v, ts))
		}
		conds = append(conds, gapConds[c.Term](ps))
	}
	const order = ` ORDER BY priority DESC, created_at DESC, id DESC`
	sql := `SELECT ` + gapColumns + `, ` + gapCountColumns + `
	        FROM (SELECT * FROM knowledge_gaps WHERE ` + strings.Join(conds, " AND ") + order + ` LIMIT ` + param(f.Limit+1) + `) AS g` + order
	var out []engram.Gap
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "gaps.list", sql, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		out, err = rows.Collect(rs, scanListedGap)
		return translate(err)
	})
	return out, err
}

// GapGet reads the gap, its questions and its live document ids in one
// statement.
func (e *executor) GapGet(ctx context.Context, tenantID, id string) (engram.GapDetail, bool, error) {
	var d engram.GapDetail
	var questions []byte
	err := e.run(ctx, tenantID, func(q querier) error {
		var err error
		d.Gap, err = oneRow(ctx, q, "gaps.get",
			`SELECT `+gapColumns+`, `+gapCountColumns+`,
			        (SELECT coalesce(json_agg(json_build_object('index', position, 'text', text) ORDER BY position), '[]'::json)
			           FROM gap_questions WHERE tenant_id = $1 AND gap_id = $2),
			        (SELECT coalesce(array_agg(gd.document_id::text ORDER BY gd.document_id), '{}')
			           FROM gap_documents gd JOIN documents d ON d.tenant_id = gd.tenant_id AND d.id = gd.document_id
			          WHERE gd.tenant_id = $1 AND gd.gap_id = $2 AND NOT d.is_deleted)
			   FROM knowledge_gaps g WHERE g.tenant_id = $1 AND g.id = $2`,
			func(r pgx.Row) (engram.Gap, error) { return scanGap(r, &questions, &d.DocumentIDs) }, tenantID, id)
		return err
	})
	if isNoRows(err) {
		return engram.GapDetail{}, false, nil
	}
	if err != nil {
		return engram.GapDetail{}, false, translate(err)
	}
	if err := json.Unmarshal(questions, &d.Questions); err != nil {
		return engram.GapDetail{}, false, err
	}
	sort.Strings(d.DocumentIDs)
	return d, true, nil
}

// GapUpdate applies the patch; nil fields keep their column.
func (e *executor) GapUpdate(ctx context.Context, tenantID, id string, p engram.GapPatch, at time.Time) (bool, error) {
	category := rows.GapCategoryParam(p)
	var ok bool
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "gaps.update",
			`UPDATE knowledge_gaps
			    SET title = coalesce($1, title), description = coalesce($2, description),
			        category = coalesce($3, category), priority = coalesce($4::smallint, priority), updated_at = $5
			  WHERE tenant_id = $6 AND id = $7`,
			p.Title, p.Description, category, p.Priority, ts(at), tenantID, id)
		ok = tag.RowsAffected() > 0
		return err
	})
	return ok, err
}

// GapDelete deletes the gap; its rows in other tables go by cascade.
func (e *executor) GapDelete(ctx context.Context, tenantID, id string) (bool, error) {
	var ok bool
	err := e.run(ctx, tenantID, func(q querier) error {
		tag, err := exec(ctx, q, "gaps.delete", `DELETE FROM knowledge_gaps WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		ok = tag.RowsAffected() > 0
		return err
	})
	return ok, err
}

// GapsLock locks the tenant's gaps among ids in id order.
func (e *executor) GapsLock(ctx context.Context, tenantID string, ids []string) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gaps.lock",
			`SELECT 1 FROM unnest($2::uuid[]) AS u(id) JOIN knowledge_gaps g ON g.tenant_id = $1 AND g.id = u.id
			  ORDER BY g.id FOR UPDATE OF g`, tenantID, ids)
		return err
	})
}

// GapsSetStatus sets the status in one UPDATE … RETURNING id.
func (e *executor) GapsSetStatus(ctx context.Context, tenantID string, ids []string, st engram.GapStatus, at time.Time) (map[string]bool, error) {
	var found map[string]bool
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		found, err = idSet(query(ctx, q, "gaps.set_status",
			`UPDATE knowledge_gaps g
			    SET status = $1,
			        closed_at = CASE WHEN $1 = 'closed' THEN coalesce(g.closed_at, $2) END,
			        updated_at = $2
			   FROM unnest($4::uuid[]) AS u(id)
			  WHERE g.tenant_id = $3 AND g.id = u.id
			 RETURNING g.id::text`, string(st), ts(at), tenantID, ids))
		return err
	})
	return found, err
}
