package service

import (
	"context"

	"github.com/engram-kb/engram"
)

// Answers, their verification and feedback. Every change to a gap's
// answers is one transaction: lock the gap (PostgreSQL; adding an answer
// also counts the questions, on both engines), write the answer in a
// statement that also reads the gap's facts, and store the status
// engram.AutoGapStatus computes from the facts with the change applied.
// The status therefore never lags the answers, and its rule is written
// once.

// moveStatus stores the status the facts imply once a is applied to them.
func (s *Store) moveStatus(ctx context.Context, tx engram.Tx, tenantID, gapID string, a engram.GapAnswer, f engram.GapFacts) (engram.GapAnswerResult, error) {
	f.Apply(a)
	res := engram.GapAnswerResult{Answer: a, GapStatus: f.AutoStatus()}
	return res, tx.GapStatusWrite(ctx, tenantID, gapID, res.GapStatus, s.now())
}

// AddGapAnswer answers question index of the gap: three statements.
// Returns not_found, or invalid_argument when the gap has no such
// question.
func (s *Store) AddGapAnswer(ctx context.Context, tenantID, actor, gapID string, index int, text string) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		n, ok, err := tx.GapLockQuestions(ctx, tenantID, gapID)
		if err != nil {
			return err
		}
		if !ok {
			return gapNotFound(gapID)
		}
		if err := engram.CheckQuestionIndex(index, n); err != nil {
			return err
		}
		a, f, err := tx.GapAnswerInsert(ctx, tenantID, engram.NewGapAnswer{ID: engram.NewID(), GapID: gapID,
			QuestionIndex: index, Text: text, CreatedBy: actor}, s.now())
		if err != nil {
			return err
		}
		res, err = s.moveStatus(ctx, tx, tenantID, gapID, a, f)
		return err
	})
	return res, err
}

// changeAnswer locks the gap (PostgreSQL only), runs write on one of its
// answers and moves the gap's status: three statements on PostgreSQL, two
// on SQLite. Returns not_found.
func (s *Store) changeAnswer(ctx context.Context, tenantID, gapID, answerID string, write func(tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error)) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if err := tx.GapsLock(ctx, tenantID, []string{gapID}); err != nil {
			return err
		}
		a, f, ok, err := write(tx)
		if err != nil {
			return err
		}
		if !ok {
			return engram.Errorf(engram.ENotFound, "answer %s of gap %s not found", answerID, gapID)
		}
		res, err = s.moveStatus(ctx, tx, tenantID, gapID, a, f)
		return err
	})
	return res, err
}

// UpdateGapAnswer replaces an answer's text; a changed text needs
// verifying again. Returns not_found.
func (s *Store) UpdateGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID, text string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, tenantID, gapID, answerID, func(tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error) {
		return tx.GapAnswerUpdate(ctx, tenantID, gapID, answerID, text, s.now())
	})
}

// VerifyGapAnswer marks an answer verified by the caller; verifying a
// verified answer changes nothing. Returns not_found.
func (s *Store) VerifyGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID string) (engram.GapAnswerResult, error) {
	return s.changeAnswer(ctx, tenantID, gapID, answerID, func(tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error) {
		return tx.GapAnswerVerify(ctx, tenantID, gapID, answerID, actor, s.now())
	})
}

// AddGapFeedback counts the feedback on the gap (one statement, which
// also finds the gap) and keeps it with its comment (a second). Returns
// not_found.
func (s *Store) AddGapFeedback(ctx context.Context, tenantID, actor, gapID string, useful bool, comment string) (engram.GapFeedbackCounts, error) {
	var c engram.GapFeedbackCounts
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		var ok bool
		var err error
		if c, ok, err = tx.GapFeedbackCount(ctx, tenantID, gapID, useful); err != nil {
			return err
		}
		if !ok {
			return gapNotFound(gapID)
		}
		return tx.GapFeedbackInsert(ctx, tenantID, gapID, actor, useful, comment, s.now())
	})
	return c, err
}
