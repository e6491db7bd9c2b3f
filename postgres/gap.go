package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
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
	g.Category = engram.GapCategory(category)
	g.Status = engram.GapStatus(status)
	// jsonb prints with spaces; clients get the same compact text on both
	// engines.
	var compact bytes.Buffer
	if json.Compact(&compact, context) == nil {
		context = compact.Bytes()
	}
	g.Context = json.RawMessage(context)
	inUTC(&g.CreatedAt, &g.UpdatedAt, g.ClosedAt)
	return g, nil
}

// auditGap writes the one audit_log row of a destructive or bulk request
// on gaps.
func (s *Store) auditGap(ctx context.Context, tx pgx.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES ($1, $2, $3, nullif($4, '')::uuid, $5, 'gap', $6, $7::jsonb)`,
		tenantID, engram.NewID(), ts(s.now()), actor, action, count, string(b))
	return err
}

func gapNotFound(id string) error { return engram.Errorf(engram.ENotFound, "gap %s not found", id) }

// CreateGap inserts the gap, its questions and its document links: three
// statements (two without documents). The documents are locked FOR KEY
// SHARE while linked, so one being hard-deleted at the same moment is
// either linked before or skipped, never a foreign-key error.
func (s *Store) CreateGap(ctx context.Context, tenantID string, g engram.PreparedGap) (engram.GapDetail, error) {
	now := ts(s.now())
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, "gaps.create",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			tenantID, g.ID, g.Title, g.Description, string(g.Category), g.Priority, now); err != nil {
			return err
		}
		if _, err := exec(ctx, tx, "gap_questions.create",
			`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
			 SELECT $1, q.gap_id, q.position, q.text
			   FROM json_to_recordset($2::json) AS q(gap_id uuid, position integer, text text)`,
			tenantID, rows.QuestionsJSON(g.ID, g.Questions)); err != nil {
			return err
		}
		if len(g.DocumentIDs) == 0 {
			return nil
		}
		rs, err := query(ctx, tx, "gap_documents.create",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT d.tenant_id, $1, d.id FROM unnest($3::uuid[]) AS u(id)
			   JOIN documents d ON d.tenant_id = $2 AND d.id = u.id
			  WHERE NOT d.is_deleted
			  FOR KEY SHARE OF d
			 RETURNING document_id::text`, g.ID, tenantID, g.DocumentIDs)
		if err != nil {
			return err
		}
		linked, err := collectIDs(rs)
		if err != nil {
			return err
		}
		if nf := rows.NotFound(g.DocumentIDs, linked); len(nf) > 0 {
			return engram.Errorf(engram.EInvalid, "document_ids: %s is not a document of this tenant", nf[0])
		}
		return nil
	})
	if err != nil {
		return engram.GapDetail{}, err
	}
	return engram.NewGapDetail(g, now), nil
}

// ListGaps reads one keyset page with the counts of every gap on it in
// one statement. The inner query picks the page through the
// (tenant_id, priority, created_at, id) index; the counts run for the
// page's rows only.
func (s *Store) ListGaps(ctx context.Context, tenantID string, f engram.GapFilter) (engram.GapPage, error) {
	var a args
	conds := []string{"tenant_id = " + a.add(tenantID)}
	if f.Status != nil {
		conds = append(conds, "status = "+a.add(string(*f.Status)))
	}
	if f.Category != nil {
		conds = append(conds, "category = "+a.add(string(*f.Category)))
	}
	if f.PriorityMin > 0 {
		conds = append(conds, "priority >= "+a.add(f.PriorityMin))
	}
	if c := f.Cursor; c != nil {
		conds = append(conds, "(priority, created_at, id) < ("+a.add(c.Priority)+", "+a.add(ts(c.CreatedAt))+", "+a.add(c.ID)+"::uuid)")
	}
	const order = ` ORDER BY priority DESC, created_at DESC, id DESC`
	q := `SELECT ` + gapColumns + `, ` + gapCountColumns + `
	        FROM (SELECT * FROM knowledge_gaps WHERE ` + strings.Join(conds, " AND ") + order + ` LIMIT ` + a.add(f.Limit+1) + `) AS g` + order
	page := engram.GapPage{Gaps: []engram.Gap{}}
	err := s.read(ctx, func(c *pgxConn) error {
		rs, err := query(ctx, c, "gaps.list", q, a...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			g, err := scanGap(rs)
			if err != nil {
				return err
			}
			page.Gaps = append(page.Gaps, g)
		}
		return translate(rs.Err())
	})
	if err != nil {
		return engram.GapPage{}, err
	}
	page.Finish(f.Limit)
	return page, nil
}

// GetGap reads the gap with its questions and live document ids (one
// statement) and its answers (a second).
func (s *Store) GetGap(ctx context.Context, tenantID, id string) (engram.GapDetail, error) {
	var d engram.GapDetail
	err := s.read(ctx, func(c *pgxConn) error {
		var err error
		d, err = getGap(ctx, c, tenantID, id)
		return err
	})
	return d, err
}

func getGap(ctx context.Context, q querier, tenantID, id string) (engram.GapDetail, error) {
	var d engram.GapDetail
	var questions []byte
	start := time.Now()
	g, err := scanGap(q.QueryRow(ctx,
		`SELECT `+gapColumns+`, `+gapCountColumns+`,
		        (SELECT coalesce(json_agg(json_build_object('index', position, 'text', text) ORDER BY position), '[]'::json)
		           FROM gap_questions WHERE tenant_id = $1 AND gap_id = $2),
		        (SELECT coalesce(array_agg(gd.document_id::text ORDER BY gd.document_id), '{}')
		           FROM gap_documents gd JOIN documents d ON d.tenant_id = gd.tenant_id AND d.id = gd.document_id
		          WHERE gd.tenant_id = $1 AND gd.gap_id = $2 AND NOT d.is_deleted)
		   FROM knowledge_gaps g WHERE g.tenant_id = $1 AND g.id = $2`, tenantID, id), &questions, &d.DocumentIDs)
	oneRowStatement(ctx, "gaps.get", start, err)
	if isNoRows(err) {
		return d, gapNotFound(id)
	}
	if err != nil {
		return d, translate(err)
	}
	d.Gap = g
	if err := json.Unmarshal(questions, &d.Questions); err != nil {
		return d, err
	}
	sort.Strings(d.DocumentIDs)
	rs, err := query(ctx, q, "gap_answers.list",
		`SELECT `+answerColumns+` FROM gap_answers WHERE tenant_id = $1 AND gap_id = $2 ORDER BY created_at, id`, tenantID, id)
	if err != nil {
		return d, err
	}
	defer rs.Close()
	d.Answers = []engram.GapAnswer{}
	for rs.Next() {
		a, err := scanAnswer(rs)
		if err != nil {
			return d, err
		}
		d.Answers = append(d.Answers, a)
	}
	return d, translate(rs.Err())
}

// UpdateGap applies the patch (one statement) and reads the gap back (two).
func (s *Store) UpdateGap(ctx context.Context, tenantID, id string, p engram.GapPatch) (engram.GapDetail, error) {
	var d engram.GapDetail
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var category *string
		if p.Category != nil {
			c := string(*p.Category)
			category = &c
		}
		tag, err := exec(ctx, tx, "gaps.update",
			`UPDATE knowledge_gaps
			    SET title = coalesce($1, title), description = coalesce($2, description),
			        category = coalesce($3, category), priority = coalesce($4::smallint, priority), updated_at = $5
			  WHERE tenant_id = $6 AND id = $7`,
			p.Title, p.Description, category, p.Priority, ts(s.now()), tenantID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gapNotFound(id)
		}
		d, err = getGap(ctx, tx, tenantID, id)
		return err
	})
	return d, err
}

// DeleteGap deletes the gap (its questions, answers, links and feedback go
// by cascade) and writes the audit row: two statements.
func (s *Store) DeleteGap(ctx context.Context, tenantID, actor, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, "gaps.delete", `DELETE FROM knowledge_gaps WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gapNotFound(id)
		}
		return s.auditGap(ctx, tx, tenantID, actor, "gaps.delete", 1, map[string]any{"ids": []string{id}})
	})
}

// lockGaps locks the tenant's gaps among ids in id order, so two requests
// over the same gaps queue instead of deadlocking.
func lockGaps(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) error {
	_, err := exec(ctx, tx, "gaps.lock",
		`SELECT 1 FROM unnest($2::uuid[]) AS u(id) JOIN knowledge_gaps g ON g.tenant_id = $1 AND g.id = u.id
		  ORDER BY g.id FOR UPDATE OF g`, tenantID, ids)
	return err
}

// SetGapStatus locks the gaps, sets a person's status in one UPDATE and
// writes the audit row: three statements.
func (s *Store) SetGapStatus(ctx context.Context, tenantID, actor string, ids []string, st engram.GapStatus) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockGaps(ctx, tx, tenantID, ids); err != nil {
			return err
		}
		rs, err := query(ctx, tx, "gaps.set_status",
			`UPDATE knowledge_gaps g
			    SET status = $1,
			        closed_at = CASE WHEN $1 = 'closed' THEN coalesce(g.closed_at, $2) END,
			        updated_at = $2
			   FROM unnest($4::uuid[]) AS u(id)
			  WHERE g.tenant_id = $3 AND g.id = u.id
			 RETURNING g.id::text`, string(st), ts(s.now()), tenantID, ids)
		if err != nil {
			return err
		}
		found, err := collectIDs(rs)
		if err != nil {
			return err
		}
		res = engram.BulkResult{Changed: len(found), NotFound: rows.NotFound(ids, found)}
		return s.auditGap(ctx, tx, tenantID, actor, "gaps.set_status", res.Changed, map[string]any{"ids": ids, "status": st})
	})
	return res, err
}

// gapStatsQuery counts the gap panel from the gaps and answers themselves,
// in one statement built once from the fixed lists of statuses and
// categories: the bench's floor, and what tests check the kept counts
// against.
var gapStatsQuery = func() string {
	var b strings.Builder
	b.WriteString(`SELECT count(*) FILTER (WHERE status = 'open')`)
	for _, st := range engram.GapStatuses[1:] {
		b.WriteString(`, count(*) FILTER (WHERE status = '` + string(st) + `')`)
	}
	for _, c := range engram.GapCategories {
		b.WriteString(`, count(*) FILTER (WHERE category = '` + string(c) + `')`)
	}
	b.WriteString(`,
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = $1),
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = $1 AND is_verified),
	  coalesce(sum(feedback_useful), 0), coalesce(sum(feedback_not_useful), 0)
	  FROM knowledge_gaps WHERE tenant_id = $1`)
	return b.String()
}()

// gapCountsQuery reads the gap panel from the tenant's gap_counts rows
// (see migration 00013): a few dozen rows however many gaps there are.
// Built once from the fixed lists of statuses and categories.
var gapCountsQuery = func() string {
	var b strings.Builder
	sum := func(col, cond string) {
		b.WriteString(`coalesce(sum(` + col + `) FILTER (WHERE ` + cond + `), 0)::bigint`)
	}
	b.WriteString(`SELECT `)
	for i, st := range engram.GapStatuses {
		if i > 0 {
			b.WriteString(`, `)
		}
		sum(`gaps`, `status = '`+string(st)+`'`)
	}
	for _, c := range engram.GapCategories {
		b.WriteString(`, `)
		sum(`gaps`, `category = '`+string(c)+`'`)
	}
	for _, col := range []string{`answers`, `verified_answers`, `useful`, `not_useful`} {
		b.WriteString(`, `)
		sum(col, `true`)
	}
	b.WriteString(` FROM gap_counts WHERE tenant_id = $1`)
	return b.String()
}()

// GapStats reads the tenant's kept gap counts in one statement.
func (s *Store) GapStats(ctx context.Context, tenantID string) (engram.GapStats, error) {
	return s.gapStats(ctx, "gaps.stats", gapCountsQuery, tenantID)
}

// gapStats runs a gap stats query: gapCountsQuery, or gapStatsQuery to
// count the gaps and answers themselves.
func (s *Store) gapStats(ctx context.Context, op, q, tenantID string) (engram.GapStats, error) {
	byStatus := make([]int, len(engram.GapStatuses))
	byCategory := make([]int, len(engram.GapCategories))
	var dest []any
	for i := range byStatus {
		dest = append(dest, &byStatus[i])
	}
	for i := range byCategory {
		dest = append(dest, &byCategory[i])
	}
	var answers, verified, useful, notUseful int
	dest = append(dest, &answers, &verified, &useful, &notUseful)
	err := s.read(ctx, func(c *pgxConn) error {
		return queryRow(ctx, c, op, q, []any{tenantID}, dest...)
	})
	if err != nil {
		return engram.GapStats{}, err
	}
	return engram.FillGapStats(byStatus, byCategory, answers, verified, useful, notUseful), nil
}
