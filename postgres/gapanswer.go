package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
)

// Answers, the facts the gap status machine reads, and feedback.

// gapFactsColumns read a gap's engram.GapFacts in the statement that
// writes one of its answers; tenant and gap are the parameters holding
// their ids. The subqueries read with the statement's snapshot, which
// leaves out the statement's own row (GapFacts.Apply adds it) and, as the
// statement starts after the gap is locked, includes every answer
// committed before the lock was granted.
func gapFactsColumns(tenant, gap string) string {
	return `(SELECT g.status FROM knowledge_gaps g WHERE g.tenant_id = ` + tenant + ` AND g.id = ` + gap + `),
	(SELECT count(*) FROM gap_questions q WHERE q.tenant_id = ` + tenant + ` AND q.gap_id = ` + gap + `),
	(SELECT coalesce(json_agg(json_build_object('id', f.id, 'index', f.question_position, 'verified', f.is_verified)), '[]'::json)
	   FROM gap_answers f WHERE f.tenant_id = ` + tenant + ` AND f.gap_id = ` + gap + `)`
}

const answerColumns = `id::text, gap_id::text, question_position, answer_text, created_by::text, is_verified,
	verified_by::text, verified_at, created_at, updated_at`

// scanAnswer reads answerColumns, then extra.
func scanAnswer(r pgx.Row, extra ...any) (engram.GapAnswer, error) {
	var a engram.GapAnswer
	if err := r.Scan(append([]any{&a.ID, &a.GapID, &a.QuestionIndex, &a.AnswerText, &a.CreatedBy, &a.IsVerified, &a.VerifiedBy,
		&a.VerifiedAt, &a.CreatedAt, &a.UpdatedAt}, extra...)...); err != nil {
		return a, err
	}
	inUTC(&a.CreatedAt, &a.UpdatedAt, a.VerifiedAt)
	return a, nil
}

// GapAnswers reads the gap's answers, oldest first.
func (e *executor) GapAnswers(ctx context.Context, tenantID, gapID string) ([]engram.GapAnswer, error) {
	out := []engram.GapAnswer{}
	err := e.run(ctx, tenantID, func(q querier) error {
		rs, err := query(ctx, q, "gap_answers.list",
			`SELECT `+answerColumns+` FROM gap_answers WHERE tenant_id = $1 AND gap_id = $2 ORDER BY created_at, id`, tenantID, gapID)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			a, err := scanAnswer(rs)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return translate(rs.Err())
	})
	return out, err
}

// GapLockQuestions locks the gap's row and counts its questions.
func (e *executor) GapLockQuestions(ctx context.Context, tenantID, gapID string) (int, bool, error) {
	var n int
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "gaps.lock_count",
			`SELECT (SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id)
			   FROM knowledge_gaps g WHERE g.tenant_id = $1 AND g.id = $2 FOR UPDATE OF g`,
			[]any{tenantID, gapID}, &n)
	})
	if isNoRows(err) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// GapStatusWrite stores the computed status.
func (e *executor) GapStatusWrite(ctx context.Context, tenantID, gapID string, st engram.GapStatus, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gaps.write_status",
			`UPDATE knowledge_gaps SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4`,
			string(st), ts(at), tenantID, gapID)
		return err
	})
}

// GapAnswerInsert inserts the answer and returns its row with the facts.
func (e *executor) GapAnswerInsert(ctx context.Context, tenantID string, a engram.NewGapAnswer, at time.Time) (engram.GapAnswer, engram.GapFacts, error) {
	var out engram.GapAnswer
	var fd rows.GapFactsRow
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		out, err = oneRow(ctx, q, "gap_answers.create",
			`INSERT INTO gap_answers (tenant_id, id, gap_id, question_position, answer_text, created_by, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, nullif($6, '')::uuid, $7, $7)
			 RETURNING `+answerColumns+`, `+gapFactsColumns("$1", "$3"),
			func(r pgx.Row) (engram.GapAnswer, error) { return scanAnswer(r, fd.Dest()...) },
			tenantID, a.ID, a.GapID, a.QuestionIndex, a.Text, a.CreatedBy, ts(at))
		return err
	})
	if err != nil {
		return out, engram.GapFacts{}, translate(err)
	}
	f, err := fd.Facts()
	return out, f, err
}

// changeAnswer runs one UPDATE … RETURNING on an answer of the gap, with
// the facts. set uses parameters from $4 on; $1 to $3 are the tenant, the
// gap and the answer.
func (e *executor) changeAnswer(ctx context.Context, op, tenantID, gapID, answerID, set string, args ...any) (engram.GapAnswer, engram.GapFacts, bool, error) {
	var a engram.GapAnswer
	var fd rows.GapFactsRow
	err := e.run(ctx, tenantID, func(q querier) (err error) {
		a, err = oneRow(ctx, q, op,
			`UPDATE gap_answers SET `+set+`
			  WHERE tenant_id = $1 AND gap_id = $2 AND id = $3
			 RETURNING `+answerColumns+`, `+gapFactsColumns("$1", "$2"),
			func(r pgx.Row) (engram.GapAnswer, error) { return scanAnswer(r, fd.Dest()...) },
			append([]any{tenantID, gapID, answerID}, args...)...)
		return err
	})
	if isNoRows(err) {
		return a, engram.GapFacts{}, false, nil
	}
	if err != nil {
		return a, engram.GapFacts{}, false, translate(err)
	}
	f, err := fd.Facts()
	return a, f, err == nil, err
}

// GapAnswerUpdate replaces the text. Every SET expression sees the old
// row, so answer_text there is the text before the change.
func (e *executor) GapAnswerUpdate(ctx context.Context, tenantID, gapID, answerID, text string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool, error) {
	return e.changeAnswer(ctx, "gap_answers.update", tenantID, gapID, answerID,
		`is_verified = is_verified AND answer_text = $4,
		 verified_by = CASE WHEN answer_text = $4 THEN verified_by END,
		 verified_at = CASE WHEN answer_text = $4 THEN verified_at END,
		 updated_at = CASE WHEN answer_text = $4 THEN updated_at ELSE $5 END,
		 answer_text = $4`, text, ts(at))
}

// GapAnswerVerify marks the answer verified unless it already is.
func (e *executor) GapAnswerVerify(ctx context.Context, tenantID, gapID, answerID, actor string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool, error) {
	return e.changeAnswer(ctx, "gap_answers.verify", tenantID, gapID, answerID,
		`verified_by = CASE WHEN is_verified THEN verified_by ELSE nullif($4, '')::uuid END,
		 verified_at = CASE WHEN is_verified THEN verified_at ELSE $5 END,
		 updated_at = CASE WHEN is_verified THEN updated_at ELSE $5 END,
		 is_verified = true`, actor, ts(at))
}

// GapFeedbackCount adds the vote to the gap's tally; the UPDATE also
// locks the gap's row.
func (e *executor) GapFeedbackCount(ctx context.Context, tenantID, gapID string, useful bool) (engram.GapFeedbackCounts, bool, error) {
	var c engram.GapFeedbackCounts
	u, nu := 0, 1
	if useful {
		u, nu = 1, 0
	}
	err := e.run(ctx, tenantID, func(q querier) error {
		return queryRow(ctx, q, "gaps.feedback_count",
			`UPDATE knowledge_gaps SET feedback_useful = feedback_useful + $1, feedback_not_useful = feedback_not_useful + $2
			  WHERE tenant_id = $3 AND id = $4 RETURNING feedback_useful, feedback_not_useful`,
			[]any{u, nu, tenantID, gapID}, &c.Useful, &c.NotUseful)
	})
	if isNoRows(err) {
		return c, false, nil
	}
	return c, err == nil, err
}

// GapFeedbackInsert keeps the feedback row.
func (e *executor) GapFeedbackInsert(ctx context.Context, tenantID, gapID, actor string, useful bool, comment string, at time.Time) error {
	return e.run(ctx, tenantID, func(q querier) error {
		_, err := exec(ctx, q, "gap_feedback.create",
			`INSERT INTO gap_feedback (tenant_id, id, gap_id, useful, comment, created_by, created_at)
			 VALUES ($1, $2, $3, $4, $5, nullif($6, '')::uuid, $7)`,
			tenantID, engram.NewID(), gapID, useful, comment, actor, ts(at))
		return err
	})
}
