package postgres

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// Answers, their verification and feedback. Every change to a gap's
// answers first locks the gap row and ends with recomputeGapStatus in the
// same transaction. The lock matters: under READ COMMITTED, two answers
// added at once would otherwise each count the answers without the
// other's and leave the status one step behind.

const answerColumns = `id::text, gap_id::text, question_position, answer_text, created_by::text, is_verified,
	verified_by::text, verified_at, created_at, updated_at`

func scanAnswer(r pgx.Row) (engram.GapAnswer, error) {
	var a engram.GapAnswer
	if err := r.Scan(&a.ID, &a.GapID, &a.QuestionIndex, &a.AnswerText, &a.CreatedBy, &a.IsVerified, &a.VerifiedBy,
		&a.VerifiedAt, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return a, err
	}
	inUTC(&a.CreatedAt, &a.UpdatedAt, a.VerifiedAt)
	return a, nil
}

// recomputeGapStatus moves the gap to the status its answers imply, in one
// UPDATE whose counts are subqueries: engram.AutoGapStatus in SQL. A closed
// gap stays closed.
func (s *Store) recomputeGapStatus(ctx context.Context, tx pgx.Tx, tenantID, gapID string) (engram.GapStatus, error) {
	var st string
	err := queryRow(ctx, tx, "gaps.recompute_status",
		`UPDATE knowledge_gaps g
		    SET status = CASE
		            WHEN g.status = 'closed' THEN 'closed'
		            WHEN c.answers = 0 THEN 'open'
		            WHEN c.answered < c.questions THEN 'in_progress'
		            WHEN c.verified = c.answers THEN 'verified'
		            ELSE 'answered' END,
		        updated_at = $3
		   FROM (SELECT (SELECT count(*) FROM gap_questions WHERE tenant_id = $1 AND gap_id = $2) AS questions,
		                count(*) AS answers,
		                count(DISTINCT question_position) AS answered,
		                count(*) FILTER (WHERE is_verified) AS verified
		           FROM gap_answers WHERE tenant_id = $1 AND gap_id = $2) AS c
		  WHERE g.tenant_id = $1 AND g.id = $2
		 RETURNING g.status`, []any{tenantID, gapID, ts(s.now())}, &st)
	if isNoRows(err) {
		return "", gapNotFound(gapID)
	}
	return engram.GapStatus(st), err
}

// AddGapAnswer locks the gap and counts its questions (one statement),
// inserts the answer (one) and recomputes the status (one).
func (s *Store) AddGapAnswer(ctx context.Context, tenantID, actor, gapID string, index int, text string) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		err := queryRow(ctx, tx, "gaps.lock_count",
			`SELECT (SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id)
			   FROM knowledge_gaps g WHERE g.tenant_id = $1 AND g.id = $2 FOR UPDATE OF g`,
			[]any{tenantID, gapID}, &n)
		if isNoRows(err) {
			return gapNotFound(gapID)
		}
		if err != nil {
			return err
		}
		if err := engram.CheckQuestionIndex(index, n); err != nil {
			return err
		}
		now := ts(s.now())
		start := time.Now()
		res.Answer, err = scanAnswer(tx.QueryRow(ctx,
			`INSERT INTO gap_answers (tenant_id, id, gap_id, question_position, answer_text, created_by, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, nullif($6, '')::uuid, $7, $7)
			 RETURNING `+answerColumns, tenantID, engram.NewID(), gapID, index, text, actor, now))
		oneRowStatement(ctx, "gap_answers.create", start, err)
		if err != nil {
			return translate(err)
		}
		res.GapStatus, err = s.recomputeGapStatus(ctx, tx, tenantID, gapID)
		return err
	})
	return res, err
}

// changeAnswer locks the gap (one statement), runs one UPDATE … RETURNING
// on an answer of it (one) and recomputes the gap's status (one). set uses
// parameters from $4 on; $1 to $3 are the tenant, the gap and the answer.
func (s *Store) changeAnswer(ctx context.Context, op, tenantID, gapID, answerID, set string, args ...any) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, "gaps.lock",
			`SELECT 1 FROM knowledge_gaps WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, gapID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return gapNotFound(gapID)
		}
		start := time.Now()
		res.Answer, err = scanAnswer(tx.QueryRow(ctx,
			`UPDATE gap_answers SET `+set+`
			  WHERE tenant_id = $1 AND gap_id = $2 AND id = $3
			 RETURNING `+answerColumns, append([]any{tenantID, gapID, answerID}, args...)...))
		oneRowStatement(ctx, op, start, err)
		if isNoRows(err) {
			return engram.Errorf(engram.ENotFound, "answer %s of gap %s not found", answerID, gapID)
		}
		if err != nil {
			return translate(err)
		}
		res.GapStatus, err = s.recomputeGapStatus(ctx, tx, tenantID, gapID)
		return err
	})
	return res, err
}

// UpdateGapAnswer replaces the text; a changed text loses its
// verification. Every SET expression sees the old row, so answer_text
// there is the text before the change.
func (s *Store) UpdateGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID, text string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, "gap_answers.update", tenantID, gapID, answerID,
		`is_verified = is_verified AND answer_text = $4,
		 verified_by = CASE WHEN answer_text = $4 THEN verified_by END,
		 verified_at = CASE WHEN answer_text = $4 THEN verified_at END,
		 updated_at = CASE WHEN answer_text = $4 THEN updated_at ELSE $5 END,
		 answer_text = $4`, text, ts(s.now()))
}

// VerifyGapAnswer marks the answer verified; an answer already verified
// keeps who verified it and when.
func (s *Store) VerifyGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, "gap_answers.verify", tenantID, gapID, answerID,
		`verified_by = CASE WHEN is_verified THEN verified_by ELSE nullif($4, '')::uuid END,
		 verified_at = CASE WHEN is_verified THEN verified_at ELSE $5 END,
		 updated_at = CASE WHEN is_verified THEN updated_at ELSE $5 END,
		 is_verified = true`, actor, ts(s.now()))
}

// AddGapFeedback counts the feedback on the gap (one statement, which
// also finds and locks the gap) and keeps it with its comment (a second).
func (s *Store) AddGapFeedback(ctx context.Context, tenantID, actor, gapID string, useful bool, comment string) (engram.GapFeedbackCounts, error) {
	var c engram.GapFeedbackCounts
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		u, nu := 0, 1
		if useful {
			u, nu = 1, 0
		}
		err := queryRow(ctx, tx, "gaps.feedback_count",
			`UPDATE knowledge_gaps SET feedback_useful = feedback_useful + $1, feedback_not_useful = feedback_not_useful + $2
			  WHERE tenant_id = $3 AND id = $4 RETURNING feedback_useful, feedback_not_useful`,
			[]any{u, nu, tenantID, gapID}, &c.Useful, &c.NotUseful)
		if isNoRows(err) {
			return gapNotFound(gapID)
		}
		if err != nil {
			return err
		}
		_, err = exec(ctx, tx, "gap_feedback.create",
			`INSERT INTO gap_feedback (tenant_id, id, gap_id, useful, comment, created_by, created_at)
			 VALUES ($1, $2, $3, $4, $5, nullif($6, '')::uuid, $7)`,
			tenantID, engram.NewID(), gapID, useful, comment, actor, ts(s.now()))
		return err
	})
	return c, err
}
