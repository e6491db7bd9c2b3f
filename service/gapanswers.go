package service

import (
	"context"

	"github.com/engram-kb/engram"
)

// Answers, their verification and feedback. Every change to a gap's
// answers is one transaction of three statements: read the gap's facts
// (locking its row on PostgreSQL), write the answer, and store the status
// engram.AutoGapStatus computes from the facts with the change applied. The
// status therefore never lags the answers, and its rule is written once.

// changeAnswers runs write on the gap's facts and moves the gap to the
// status they imply afterwards. Returns not_found, or write's error.
func (s *Store) changeAnswers(ctx context.Context, tenantID, gapID string, write func(tx engram.Tx, f engram.GapFacts) (engram.GapAnswer, error)) (engram.GapAnswerResult, error) {
	var res engram.GapAnswerResult
	err := s.inTx(ctx, func(tx engram.Tx) error {
		f, ok, err := tx.GapFactsLock(ctx, tenantID, gapID)
		if err != nil {
			return err
		}
		if !ok {
			return gapNotFound(gapID)
		}
		if res.Answer, err = write(tx, f); err != nil {
			return err
		}
		f.Apply(res.Answer)
		res.GapStatus = f.AutoStatus()
		return tx.GapStatusWrite(ctx, tenantID, gapID, res.GapStatus, s.now())
	})
	return res, err
}

func answerNotFound(gapID, answerID string) error {
	return engram.Errorf(engram.ENotFound, "answer %s of gap %s not found", answerID, gapID)
}

// AddGapAnswer answers question index of the gap: three statements.
// Returns not_found, or invalid_argument when the gap has no such
// question.
func (s *Store) AddGapAnswer(ctx context.Context, tenantID, actor, gapID string, index int, text string) (engram.GapAnswerResult, error) {
	return s.changeAnswers(ctx, tenantID, gapID, func(tx engram.Tx, f engram.GapFacts) (engram.GapAnswer, error) {
		if err := engram.CheckQuestionIndex(index, f.Questions); err != nil {
			return engram.GapAnswer{}, err
		}
		return tx.GapAnswerInsert(ctx, tenantID, engram.NewGapAnswer{ID: engram.NewID(), GapID: gapID,
			QuestionIndex: index, Text: text, CreatedBy: actor}, s.now())
	})
}

// UpdateGapAnswer replaces an answer's text; a changed text needs
// verifying again. Three statements. Returns not_found.
func (s *Store) UpdateGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID, text string) (engram.GapAnswerResult, error) {
	return s.changeAnswers(ctx, tenantID, gapID, func(tx engram.Tx, _ engram.GapFacts) (engram.GapAnswer, error) {
		a, ok, err := tx.GapAnswerUpdate(ctx, tenantID, gapID, answerID, text, s.now())
		if err == nil && !ok {
			err = answerNotFound(gapID, answerID)
		}
		return a, err
	})
}

// VerifyGapAnswer marks an answer verified by the caller; verifying a
// verified answer changes nothing. Three statements. Returns not_found.
func (s *Store) VerifyGapAnswer(ctx context.Context, tenantID, actor, gapID, answerID string) (engram.GapAnswerResult, error) {
	return s.changeAnswers(ctx, tenantID, gapID, func(tx engram.Tx, _ engram.GapFacts) (engram.GapAnswer, error) {
		a, ok, err := tx.GapAnswerVerify(ctx, tenantID, gapID, answerID, actor, s.now())
		if err == nil && !ok {
			err = answerNotFound(gapID, answerID)
		}
		return a, err
	})
}

// AddGapFeedback counts the feedback on the gap (one statement, which
// also finds the gap) and keeps it with its comment (a second). Returns
// not_found.
func (s *Store) AddGapFeedback(ctx context.Context, tenantID, actor, gapID string, useful bool, comment string) (engram.GapFeedbackCounts, error) {
	var c engram.GapFeedbackCounts
	err := s.inTx(ctx, func(tx engram.Tx) error {
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
