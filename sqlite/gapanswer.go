package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
)

// Answers, the facts the gap status machine reads, and feedback. SQLite's
// one writer serialises write transactions, so the facts a transaction
// reads stay true until it ends without a lock.

// gapFactsColumns read a gap's engram.GapFacts in the statement that
// writes one of its answers; tenant and gap are the parameters holding
// their ids. Whether the subqueries see the statement's own row does not
// matter: GapFacts.Apply replaces an answer by id.
func gapFactsColumns(tenant, gap string) string {
	return `(SELECT g.status FROM knowledge_gaps g WHERE g.tenant_id = ` + tenant + ` AND g.id = ` + gap + `),
	(SELECT count(*) FROM gap_questions q WHERE q.tenant_id = ` + tenant + ` AND q.gap_id = ` + gap + `),
	(SELECT json_group_array(json_object('id', f.id, 'index', f.question_position,
	                                     'verified', json(CASE WHEN f.is_verified THEN 'true' ELSE 'false' END)))
	   FROM gap_answers f WHERE f.tenant_id = ` + tenant + ` AND f.gap_id = ` + gap + `)`
}

const answerColumns = `id, gap_id, question_position, answer_text, created_by, is_verified, verified_by,
	verified_at, created_at, updated_at`

// scanAnswer reads answerColumns, then extra.
func scanAnswer(r rows.Scanner, extra ...any) (engram.GapAnswer, error) {
	var a engram.GapAnswer
	var createdBy, verifiedBy, verifiedAt sql.NullString
	var createdAt, updatedAt string
	if err := r.Scan(append([]any{&a.ID, &a.GapID, &a.QuestionIndex, &a.AnswerText, &createdBy, &a.IsVerified, &verifiedBy,
		&verifiedAt, &createdAt, &updatedAt}, extra...)...); err != nil {
		return a, err
	}
	if createdBy.Valid {
		a.CreatedBy = &createdBy.String
	}
	if verifiedBy.Valid {
		a.VerifiedBy = &verifiedBy.String
	}
	a.VerifiedAt = parseTimePtr(verifiedAt)
	a.CreatedAt = parseTime(createdAt)
	a.UpdatedAt = parseTime(updatedAt)
	return a, nil
}

// GapAnswers reads the gap's answers, oldest first.
func (e *executor) GapAnswers(ctx context.Context, tenantID, gapID string) ([]engram.GapAnswer, error) {
	rs, err := query(ctx, e.q, "gap_answers.list",
		`SELECT `+answerColumns+` FROM gap_answers WHERE tenant_id = ? AND gap_id = ? ORDER BY created_at, id`, tenantID, gapID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []engram.GapAnswer{}
	for rs.Next() {
		a, err := scanAnswer(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, translate(rs.Err())
}

// GapLockQuestions counts the gap's questions; it locks nothing (see
// above).
func (e *executor) GapLockQuestions(ctx context.Context, tenantID, gapID string) (int, bool, error) {
	var n int
	err := queryRow(ctx, e.q, "gaps.question_count",
		`SELECT (SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id)
		   FROM knowledge_gaps g WHERE g.tenant_id = ? AND g.id = ?`, tenantID, gapID).Scan(&n)
	if isNoRows(err) {
		return 0, false, nil
	}
	return n, err == nil, translate(err)
}

// GapStatusWrite stores the computed status.
func (e *executor) GapStatusWrite(ctx context.Context, tenantID, gapID string, st engram.GapStatus, at time.Time) error {
	_, err := exec(ctx, e.q, "gaps.write_status",
		`UPDATE knowledge_gaps SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		string(st), fmtTime(at), tenantID, gapID)
	return err
}

// GapAnswerInsert inserts the answer and returns its row with the facts.
func (e *executor) GapAnswerInsert(ctx context.Context, tenantID string, a engram.NewGapAnswer, at time.Time) (engram.GapAnswer, engram.GapFacts, error) {
	var fd rows.GapFactsRow
	out, err := scanAnswer(queryRow(ctx, e.q, "gap_answers.create",
		`INSERT INTO gap_answers (tenant_id, id, gap_id, question_position, answer_text, created_by, created_at, updated_at)
		 VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, ''), ?7, ?7)
		 RETURNING `+answerColumns+`, `+gapFactsColumns("?1", "?3"),
		tenantID, a.ID, a.GapID, a.QuestionIndex, a.Text, a.CreatedBy, fmtTime(at)), fd.Dest()...)
	if err != nil {
		return out, engram.GapFacts{}, translate(err)
	}
	f, err := fd.Facts()
	return out, f, err
}

// changeAnswer runs one UPDATE … RETURNING on an answer of the gap, with
// the facts. set uses parameters from ?4 on; ?1 to ?3 are the tenant, the
// gap and the answer.
func (e *executor) changeAnswer(ctx context.Context, op, tenantID, gapID, answerID, set string, args ...any) (engram.GapAnswer, engram.GapFacts, bool, error) {
	var fd rows.GapFactsRow
	a, err := scanAnswer(queryRow(ctx, e.q, op,
		`UPDATE gap_answers SET `+set+`
		  WHERE tenant_id = ?1 AND gap_id = ?2 AND id = ?3
		 RETURNING `+answerColumns+`, `+gapFactsColumns("?1", "?2"), append([]any{tenantID, gapID, answerID}, args...)...), fd.Dest()...)
	if isNoRows(err) {
		return a, engram.GapFacts{}, false, nil
	}
	if err != nil {
		return a, engram.GapFacts{}, false, translate(err)
	}
	f, err := fd.Facts()
	return a, f, err == nil, err
}

// GapAnswerUpdate replaces the text. SQLite evaluates every SET
// expression on the old row, so answer_text there is the text before the
// change.
func (e *executor) GapAnswerUpdate(ctx context.Context, tenantID, gapID, answerID, text string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool, error) {
	return e.changeAnswer(ctx, "gap_answers.update", tenantID, gapID, answerID,
		`is_verified = CASE WHEN answer_text = ?4 THEN is_verified ELSE 0 END,
		 verified_by = CASE WHEN answer_text = ?4 THEN verified_by END,
		 verified_at = CASE WHEN answer_text = ?4 THEN verified_at END,
		 updated_at = CASE WHEN answer_text = ?4 THEN updated_at ELSE ?5 END,
		 answer_text = ?4`, text, fmtTime(at))
}

// GapAnswerVerify marks the answer verified unless it already is.
func (e *executor) GapAnswerVerify(ctx context.Context, tenantID, gapID, answerID, actor string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool, error) {
	return e.changeAnswer(ctx, "gap_answers.verify", tenantID, gapID, answerID,
		`verified_by = CASE WHEN is_verified = 1 THEN verified_by ELSE nullif(?4, '') END,
		 verified_at = CASE WHEN is_verified = 1 THEN verified_at ELSE ?5 END,
		 updated_at = CASE WHEN is_verified = 1 THEN updated_at ELSE ?5 END,
		 is_verified = 1`, actor, fmtTime(at))
}

// GapFeedbackCount adds the vote to the gap's tally.
func (e *executor) GapFeedbackCount(ctx context.Context, tenantID, gapID string, useful bool) (engram.GapFeedbackCounts, bool, error) {
	var c engram.GapFeedbackCounts
	u, nu := 0, 1
	if useful {
		u, nu = 1, 0
	}
	err := queryRow(ctx, e.q, "gaps.feedback_count",
		`UPDATE knowledge_gaps SET feedback_useful = feedback_useful + ?, feedback_not_useful = feedback_not_useful + ?
		  WHERE tenant_id = ? AND id = ? RETURNING feedback_useful, feedback_not_useful`,
		u, nu, tenantID, gapID).Scan(&c.Useful, &c.NotUseful)
	if isNoRows(err) {
		return c, false, nil
	}
	return c, err == nil, translate(err)
}

// GapFeedbackInsert keeps the feedback row.
func (e *executor) GapFeedbackInsert(ctx context.Context, tenantID, gapID, actor string, useful bool, comment string, at time.Time) error {
	_, err := exec(ctx, e.q, "gap_feedback.create",
		`INSERT INTO gap_feedback (tenant_id, id, gap_id, useful, comment, created_by, created_at)
		 VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?)`,
		tenantID, engram.NewID(), gapID, useful, comment, actor, fmtTime(at))
	return err
}
