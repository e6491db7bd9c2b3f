package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strings"

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
func scanGap(r scanner, extra ...any) (engram.Gap, error) {
	var g engram.Gap
	var category, status, context, createdAt, updatedAt string
	var fingerprint, closedAt sql.NullString
	dest := append([]any{&g.ID, &g.Title, &g.Description, &category, &g.Priority, &status, &context, &fingerprint,
		&g.FeedbackUseful, &g.FeedbackNotUseful, &createdAt, &updatedAt, &closedAt,
		&g.QuestionCount, &g.AnsweredCount}, extra...)
	if err := r.Scan(dest...); err != nil {
		return g, err
	}
	g.Category = engram.GapCategory(category)
	g.Status = engram.GapStatus(status)
	g.Context = json.RawMessage(context)
	if fingerprint.Valid {
		g.Fingerprint = &fingerprint.String
	}
	g.CreatedAt = parseTime(createdAt)
	g.UpdatedAt = parseTime(updatedAt)
	g.ClosedAt = parseTimePtr(closedAt)
	return g, nil
}

// auditGap writes the one audit_log row of a destructive or bulk request
// on gaps.
func (s *Store) auditGap(ctx context.Context, tx *sql.Tx, tenantID, actor, action string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	_, err = exec(ctx, tx, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, action, target_type, target_count, details)
		 VALUES (?, ?, ?, nullif(?, ''), ?, 'gap', ?, ?)`,
		tenantID, engram.NewID(), s.nowText(), actor, action, count, string(b))
	return err
}

func gapNotFound(id string) error { return engram.Errorf(engram.ENotFound, "gap %s not found", id) }

// CreateGap inserts the gap, its questions and its document links: three
// statements (two without documents).
func (s *Store) CreateGap(ctx context.Context, tenantID string, g engram.PreparedGap) (engram.GapDetail, error) {
	now := s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := exec(ctx, tx, "gaps.create",
			`INSERT INTO knowledge_gaps (tenant_id, id, title, description, category, priority, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, g.ID, g.Title, g.Description, string(g.Category), g.Priority, fmtTime(now), fmtTime(now)); err != nil {
			return err
		}
		if _, err := exec(ctx, tx, "gap_questions.create",
			`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
			 SELECT ?, q.value->>'gap_id', q.value->>'position', q.value->>'text' FROM json_each(?) AS q`,
			tenantID, rows.QuestionsJSON(g.ID, g.Questions)); err != nil {
			return err
		}
		if len(g.DocumentIDs) == 0 {
			return nil
		}
		linked, err := updateReturningIDs(ctx, tx, "gap_documents.create",
			`INSERT INTO gap_documents (tenant_id, gap_id, document_id)
			 SELECT tenant_id, ?, id FROM documents
			  WHERE tenant_id = ? AND is_deleted = 0 AND `+idsIn+`
			 RETURNING document_id`, g.ID, tenantID, rows.IDsJSON(g.DocumentIDs))
		if err != nil {
			return err
		}
		return missingDocuments(g.DocumentIDs, linked)
	})
	if err != nil {
		return engram.GapDetail{}, err
	}
	return engram.NewGapDetail(g, now), nil
}

// missingDocuments fails a create whose document ids are not all live
// documents of the tenant.
func missingDocuments(want []string, linked map[string]bool) error {
	if nf := rows.NotFound(want, linked); len(nf) > 0 {
		return engram.Errorf(engram.EInvalid, "document_ids: %s is not a document of this tenant", nf[0])
	}
	return nil
}

// ListGaps reads one keyset page with the counts of every gap on it in
// one statement. The inner query picks the page through the
// (tenant_id, priority, created_at, id) index; the counts run for the
// page's rows only.
func (s *Store) ListGaps(ctx context.Context, tenantID string, f engram.GapFilter) (engram.GapPage, error) {
	conds := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if f.Status != nil {
		conds = append(conds, "status = ?")
		args = append(args, string(*f.Status))
	}
	if f.Category != nil {
		conds = append(conds, "category = ?")
		args = append(args, string(*f.Category))
	}
	if f.PriorityMin > 0 {
		conds = append(conds, "priority >= ?")
		args = append(args, f.PriorityMin)
	}
	if c := f.Cursor; c != nil {
		conds = append(conds, "(priority, created_at, id) < (?, ?, ?)")
		args = append(args, c.Priority, fmtTime(c.CreatedAt), c.ID)
	}
	args = append(args, f.Limit+1)
	const order = ` ORDER BY priority DESC, created_at DESC, id DESC`
	rs, err := query(ctx, s.read, "gaps.list",
		`SELECT `+gapColumns+`, `+gapCountColumns+`
		   FROM (SELECT * FROM knowledge_gaps WHERE `+strings.Join(conds, " AND ")+order+` LIMIT ?) AS g`+order, args...)
	if err != nil {
		return engram.GapPage{}, err
	}
	defer rs.Close()
	page := engram.GapPage{Gaps: []engram.Gap{}}
	for rs.Next() {
		g, err := scanGap(rs)
		if err != nil {
			return page, err
		}
		page.Gaps = append(page.Gaps, g)
	}
	if err := rs.Err(); err != nil {
		return page, translate(err)
	}
	page.Finish(f.Limit)
	return page, nil
}

// GetGap reads the gap with its questions and live document ids (one
// statement) and its answers (a second).
func (s *Store) GetGap(ctx context.Context, tenantID, id string) (engram.GapDetail, error) {
	return s.getGap(ctx, s.read, tenantID, id)
}

func (s *Store) getGap(ctx context.Context, q querier, tenantID, id string) (engram.GapDetail, error) {
	var d engram.GapDetail
	var questions, docs string
	g, err := scanGap(queryRow(ctx, q, "gaps.get",
		`SELECT `+gapColumns+`, `+gapCountColumns+`,
		        (SELECT json_group_array(json_object('index', position, 'text', text))
		           FROM gap_questions WHERE tenant_id = ?1 AND gap_id = ?2),
		        (SELECT json_group_array(gd.document_id)
		           FROM gap_documents gd JOIN documents d ON d.tenant_id = gd.tenant_id AND d.id = gd.document_id
		          WHERE gd.tenant_id = ?1 AND gd.gap_id = ?2 AND d.is_deleted = 0)
		   FROM knowledge_gaps g WHERE g.tenant_id = ?1 AND g.id = ?2`, tenantID, id), &questions, &docs)
	if isNoRows(err) {
		return d, gapNotFound(id)
	}
	if err != nil {
		return d, translate(err)
	}
	d.Gap = g
	if err := json.Unmarshal([]byte(questions), &d.Questions); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(docs), &d.DocumentIDs); err != nil {
		return d, err
	}
	sort.Slice(d.Questions, func(i, j int) bool { return d.Questions[i].Index < d.Questions[j].Index })
	sort.Strings(d.DocumentIDs)
	rs, err := query(ctx, q, "gap_answers.list",
		`SELECT `+answerColumns+` FROM gap_answers WHERE tenant_id = ? AND gap_id = ? ORDER BY created_at, id`, tenantID, id)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var category *string
		if p.Category != nil {
			c := string(*p.Category)
			category = &c
		}
		res, err := exec(ctx, tx, "gaps.update",
			`UPDATE knowledge_gaps
			    SET title = coalesce(?, title), description = coalesce(?, description),
			        category = coalesce(?, category), priority = coalesce(?, priority), updated_at = ?
			  WHERE tenant_id = ? AND id = ?`,
			p.Title, p.Description, category, p.Priority, s.nowText(), tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gapNotFound(id)
		}
		d, err = s.getGap(ctx, tx, tenantID, id)
		return err
	})
	return d, err
}

// DeleteGap deletes the gap (its questions, answers, links and feedback go
// by cascade) and writes the audit row: two statements.
func (s *Store) DeleteGap(ctx context.Context, tenantID, actor, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := exec(ctx, tx, "gaps.delete", `DELETE FROM knowledge_gaps WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gapNotFound(id)
		}
		return s.auditGap(ctx, tx, tenantID, actor, "gaps.delete", 1, map[string]any{"ids": []string{id}})
	})
}

// SetGapStatus sets a person's status on the gaps in one UPDATE and writes
// the audit row: two statements. SQLite's one writer keeps two of them
// from interleaving.
func (s *Store) SetGapStatus(ctx context.Context, tenantID, actor string, ids []string, st engram.GapStatus) (engram.BulkResult, error) {
	var res engram.BulkResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		found, err := updateReturningIDs(ctx, tx, "gaps.set_status",
			`UPDATE knowledge_gaps
			    SET status = ?1,
			        closed_at = CASE WHEN ?1 = 'closed' THEN coalesce(closed_at, ?2) END,
			        updated_at = ?2
			  WHERE tenant_id = ?3 AND id IN (SELECT value FROM json_each(?4))
			 RETURNING id`, string(st), s.nowText(), tenantID, rows.IDsJSON(ids))
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
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = ?1),
	  (SELECT count(*) FROM gap_answers WHERE tenant_id = ?1 AND is_verified = 1),
	  coalesce(sum(feedback_useful), 0), coalesce(sum(feedback_not_useful), 0)
	  FROM knowledge_gaps WHERE tenant_id = ?1`)
	return b.String()
}()

// gapCountsQuery reads the gap panel from the tenant's gap_counts rows
// (see migration 00013): a few dozen rows however many gaps there are.
// Built once from the fixed lists of statuses and categories.
var gapCountsQuery = func() string {
	var b strings.Builder
	sum := func(col, cond string) {
		b.WriteString(`coalesce(sum(` + col + `) FILTER (WHERE ` + cond + `), 0)`)
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
	b.WriteString(` FROM gap_counts WHERE tenant_id = ?`)
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
	if err := queryRow(ctx, s.read, op, q, tenantID).Scan(dest...); err != nil {
		return engram.GapStats{}, translate(err)
	}
	return engram.FillGapStats(byStatus, byCategory, answers, verified, useful, notUseful), nil
}
