package sqlite

import (
	"context"
	"database/sql"

	"github.com/engram-kb/engram"
)

// Answers, their verification and feedback. Every change to a gap's
// answers ends with recomputeGapStatus in the same transaction, so the
// status never lags the answers.

const answerColumns = `id, gap_id, question_position, answer_text, created_by, is_verified, verified_by,
	verified_at, created_at, updated_at`

func scanAnswer(r scanner) (engram.GapAnswer, error) {
	var a engram.GapAnswer
	var createdBy, verifiedBy, verifiedAt sql.NullString
	var createdAt, updatedAt string
	if err := r.Scan(&a.ID, &a.GapID, &a.QuestionIndex, &a.AnswerText, &createdBy, &a.IsVerified, &verifiedBy,
		&verifiedAt, &createdAt, &updatedAt); err != nil {
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

// recomputeGapStatus moves the gap to the status its answers imply, in one
// UPDATE whose counts are subqueries: engram.AutoGapStatus in SQL. A closed
// gap stays closed.
func (s *Store) recomputeGapStatus(ctx context.Context, tx *sql.Tx, tenantID, gapID string) (engram.GapStatus, error) {
	var st string
	err := queryRow(ctx, tx, "gaps.recompute_status",
		`UPDATE knowledge_gaps
		    SET status = CASE
		            WHEN knowledge_gaps.status = 'closed' THEN 'closed'
		            WHEN c.answers = 0 THEN 'open'
		            WHEN c.answered < c.questions THEN 'in_progress'
		            WHEN c.verified = c.answers THEN 'verified'
		            ELSE 'answered' END,
		        updated_at = ?3
		   FROM (SELECT (SELECT count(*) FROM gap_questions WHERE tenant_id = ?1 AND gap_id = ?2) AS questions,
		                count(*) AS answers,
		                count(DISTINCT question_position) AS answered,
		                coalesce(sum(is_verified), 0) AS verified
		           FROM gap_answers WHERE tenant_id = ?1 AND gap_id = ?2) AS c
		  WHERE knowledge_gaps.tenant_id = ?1 AND knowledge_gaps.id = ?2
		 RETURNING knowledge_gaps.status`, tenantID, gapID, s.nowText()).Scan(&st)
	if isNoRows(err) {
		return "", gapNotFound(gapID)
	}
	return engram.GapStatus(st), translate(err)
}

// AddGapAnswer checks the gap and its number of questions (one
// statement), inserts the answer (one) and recomputes the status (one).
func (s *Store) AddGapAnswer(ctx context.Context, tenantID, actor, gapID string, index int, text string) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := queryRow(ctx, tx, "gaps.question_count",
			`SELECT (SELECT count(*) FROM gap_questions q WHERE q.tenant_id = g.tenant_id AND q.gap_id = g.id)
			   FROM knowledge_gaps g WHERE g.tenant_id = ? AND g.id = ?`, tenantID, gapID).Scan(&n)
		if isNoRows(err) {
			return gapNotFound(gapID)
		}
		if err != nil {
			return translate(err)
		}
		if err := engram.CheckQuestionIndex(index, n); err != nil {
			return err
		}
		now := s.nowText()
		res.Answer, err = scanAnswer(queryRow(ctx, tx, "gap_answers.create",
			`INSERT INTO gap_answers (tenant_id, id, gap_id, question_position, answer_text, created_by, created_at, updated_at)
			 VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, ?)
			 RETURNING `+answerColumns, tenantID, engram.NewID(), gapID, index, text, actor, now, now))
		if err != nil {
			return translate(err)
		}
		res.GapStatus, err = s.recomputeGapStatus(ctx, tx, tenantID, gapID)
		return err
	})
	return res, err
}

// changeAnswer runs one UPDATE … RETURNING on an answer of the gap and
// recomputes the gap's status: two statements.
func (s *Store) changeAnswer(ctx context.Context, op, tenantID, gapID, answerID, set string, args ...any) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res.Answer, err = scanAnswer(queryRow(ctx, tx, op,
			`UPDATE gap_answers SET `+set+`
			  WHERE tenant_id = ? AND gap_id = ? AND id = ?
			 RETURNING `+answerColumns, append(args, tenantID, gapID, answerID)...))
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
// verification. SQLite evaluates every SET expression on the old row, so
// answer_text there is the text before the change.
func (s *Store) UpdateGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID, text string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, "gap_answers.update", tenantID, gapID, answerID,
		`is_verified = CASE WHEN answer_text = ?1 THEN is_verified ELSE 0 END,
		 verified_by = CASE WHEN answer_text = ?1 THEN verified_by END,
		 verified_at = CASE WHEN answer_text = ?1 THEN verified_at END,
		 updated_at = CASE WHEN answer_text = ?1 THEN updated_at ELSE ?2 END,
		 answer_text = ?1`, text, s.nowText())
}

// VerifyGapAnswer marks the answer verified; an answer already verified
// keeps who verified it and when.
func (s *Store) VerifyGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, "gap_answers.verify", tenantID, gapID, answerID,
		`verified_by = CASE WHEN is_verified = 1 THEN verified_by ELSE nullif(?1, '') END,
		 verified_at = CASE WHEN is_verified = 1 THEN verified_at ELSE ?2 END,
		 updated_at = CASE WHEN is_verified = 1 THEN updated_at ELSE ?2 END,
		 is_verified = 1`, actor, s.nowText())
}

// AddGapFeedback counts the feedback on the gap (one statement, which
// also finds the gap) and keeps it with its comment (a second).
func (s *Store) AddGapFeedback(ctx context.Context, tenantID, actor, gapID string, useful bool, comment string) (engram.GapFeedbackCounts, error) {
	var c engram.GapFeedbackCounts
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		u, nu := 0, 1
		if useful {
			u, nu = 1, 0
		}
		err := queryRow(ctx, tx, "gaps.feedback_count",
			`UPDATE knowledge_gaps SET feedback_useful = feedback_useful + ?, feedback_not_useful = feedback_not_useful + ?
			  WHERE tenant_id = ? AND id = ? RETURNING feedback_useful, feedback_not_useful`,
			u, nu, tenantID, gapID).Scan(&c.Useful, &c.NotUseful)
		if isNoRows(err) {
			return gapNotFound(gapID)
		}
		if err != nil {
			return translate(err)
		}
		_, err = exec(ctx, tx, "gap_feedback.create",
			`INSERT INTO gap_feedback (tenant_id, id, gap_id, useful, comment, created_by, created_at)
			 VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?)`,
			tenantID, engram.NewID(), gapID, useful, comment, actor, s.nowText())
		return err
	})
	return c, err
}
