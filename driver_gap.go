package engram

import (
	"context"
	"time"
)

// GapFacts are what the gap status machine reads of one gap: its status,
// its number of questions and, for each answer, the question it answers
// and whether it is verified. The statement that writes an answer reads
// them, so that they are as fresh as the write.
type GapFacts struct {
	Status    GapStatus
	Questions int
	Answers   []GapAnswerFact
}

// GapAnswerFact is one answer as the status machine counts it.
type GapAnswerFact struct {
	ID            string `json:"id"`
	QuestionIndex int    `json:"index"`
	Verified      bool   `json:"verified"`
}

// Apply records the state of an answer just written: it replaces the
// answer of the same id, or adds it.
func (f *GapFacts) Apply(a GapAnswer) {
	fact := GapAnswerFact{ID: a.ID, QuestionIndex: a.QuestionIndex, Verified: a.IsVerified}
	for i := range f.Answers {
		if f.Answers[i].ID == a.ID {
			f.Answers[i] = fact
			return
		}
	}
	f.Answers = append(f.Answers, fact)
}

// AutoStatus is the status the facts imply (see AutoGapStatus).
func (f GapFacts) AutoStatus() GapStatus {
	answered := map[int]bool{}
	verified := 0
	for _, a := range f.Answers {
		answered[a.QuestionIndex] = true
		if a.Verified {
			verified++
		}
	}
	return AutoGapStatus(f.Status, f.Questions, len(answered), len(f.Answers), verified)
}

// NewGapQuestion is one question row to insert.
type NewGapQuestion struct {
	GapID string `json:"gap_id"`
	Index int    `json:"position"`
	Text  string `json:"text"`
}

// GapLink links a gap to a document.
type GapLink struct {
	GapID      string `json:"gap_id"`
	DocumentID string `json:"document_id"`
}

// NewGapAnswer is an answer to insert.
type NewGapAnswer struct {
	ID            string
	GapID         string
	QuestionIndex int
	Text          string
	// CreatedBy is the API key id of the author; "" for none.
	CreatedBy string
}

// GapExecutor runs the gap statements. Methods that find a gap or an
// answer by id report false, not an error, when no row of the tenant
// matched: the use case decides what that means.
type GapExecutor interface {
	// GapInsert inserts a hand-made gap's row (not its questions or
	// documents), open, created and updated at at: one statement.
	// Returns conflict when the id is taken.
	GapInsert(ctx context.Context, tenantID string, g PreparedGap, at time.Time) error
	// GapQuestionsInsert inserts questions of gaps: one statement whatever
	// their number. Call it only with at least one question.
	GapQuestionsInsert(ctx context.Context, tenantID string, qs []NewGapQuestion) error
	// GapDocumentsLink links a gap to those of docIDs that are live
	// documents of the tenant and returns the ids it linked: one
	// statement. On PostgreSQL the documents are key-share locked while
	// linked, so one hard-deleted at the same moment is linked before or
	// skipped, never a foreign-key error.
	GapDocumentsLink(ctx context.Context, tenantID, gapID string, docIDs []string) (map[string]bool, error)
	// GapList reads up to f.Limit+1 gaps of f's keyset page, each with its
	// question and answered counts: one statement.
	GapList(ctx context.Context, tenantID string, f GapFilter) ([]Gap, error)
	// GapGet reads a gap with its questions and the ids of its live
	// documents, without its answers: one statement.
	GapGet(ctx context.Context, tenantID, id string) (GapDetail, bool, error)
	// GapAnswers reads a gap's answers, oldest first: one statement.
	GapAnswers(ctx context.Context, tenantID, gapID string) ([]GapAnswer, error)
	// GapUpdate applies a validated patch at at: one statement.
	GapUpdate(ctx context.Context, tenantID, id string, p GapPatch, at time.Time) (bool, error)
	// GapDelete deletes a gap; its questions, answers, links and feedback
	// go by cascade. One statement.
	GapDelete(ctx context.Context, tenantID, id string) (bool, error)
	// GapsLock locks the tenant's gaps among ids, in id order, until the
	// transaction ends, so two requests over the same gaps queue instead
	// of deadlocking: one statement on PostgreSQL, none on SQLite, whose
	// one writer already serialises write transactions.
	GapsLock(ctx context.Context, tenantID string, ids []string) error
	// GapsSetStatus sets a person's status on the tenant's gaps among ids
	// (closed keeps or sets closed_at, any other status clears it) and
	// returns the ids it changed: one statement.
	GapsSetStatus(ctx context.Context, tenantID string, ids []string, st GapStatus, at time.Time) (map[string]bool, error)
	// GapLockQuestions counts a gap's questions before an answer is
	// added: one statement, which on PostgreSQL also locks the gap's row
	// until the transaction ends (GapsLock does the same before an answer
	// is changed). The lock matters: under READ COMMITTED, two answers
	// added at once would otherwise each count the answers without the
	// other's and leave the status one step behind. The facts are read by
	// the answer's own statement, which starts after the lock is held; a
	// statement that waited for a lock still reads with the snapshot it
	// took before waiting.
	GapLockQuestions(ctx context.Context, tenantID, gapID string) (int, bool, error)
	// GapStatusWrite stores the status the machine computed, at at: one
	// statement. closed_at is left as it is.
	GapStatusWrite(ctx context.Context, tenantID, gapID string, st GapStatus, at time.Time) error
	// GapAnswerInsert inserts an answer created at at and returns it with
	// its gap's facts as the statement saw them, with or without the new
	// answer (GapFacts.Apply makes either right): one statement. Returns
	// conflict when the id is taken.
	GapAnswerInsert(ctx context.Context, tenantID string, a NewGapAnswer, at time.Time) (GapAnswer, GapFacts, error)
	// GapAnswerUpdate replaces an answer's text and returns the answer
	// with its gap's facts, as GapAnswerInsert; a changed text loses its
	// verification and moves updated_at. One statement.
	GapAnswerUpdate(ctx context.Context, tenantID, gapID, answerID, text string, at time.Time) (GapAnswer, GapFacts, bool, error)
	// GapAnswerVerify marks an answer verified by actor ("" for none) and
	// returns it with its gap's facts, as GapAnswerInsert; an answer
	// already verified keeps who verified it and when. One statement.
	GapAnswerVerify(ctx context.Context, tenantID, gapID, answerID, actor string, at time.Time) (GapAnswer, GapFacts, bool, error)
	// GapFeedbackCount adds one useful or not-useful vote to a gap's tally
	// and returns the tally: one statement.
	GapFeedbackCount(ctx context.Context, tenantID, gapID string, useful bool) (GapFeedbackCounts, bool, error)
	// GapFeedbackInsert keeps a piece of feedback with its comment, by
	// actor ("" for none): one statement. Returns invalid_argument when
	// the gap is not the tenant's.
	GapFeedbackInsert(ctx context.Context, tenantID, gapID, actor string, useful bool, comment string, at time.Time) error
	// GapStats reads the tenant's kept gap counts: one statement over a
	// few dozen rows however many gaps there are.
	GapStats(ctx context.Context, tenantID string) (GapStats, error)
	// GapRecount counts the tenant's gaps, answers and feedback themselves
	// (what tests check the kept counts against): one statement.
	GapRecount(ctx context.Context, tenantID string) (GapStats, error)
	// AnalysisDocumentsCount counts the documents an analysis reads: live
	// work documents that were classified or confirmed. One statement.
	AnalysisDocumentsCount(ctx context.Context, tenantID string) (int, error)
	// AnalysisDocumentsList reads up to limit of those documents with ids
	// after afterID ("" for the start), in id order, with at most
	// MaxAnalysisContent characters of their content: one statement.
	AnalysisDocumentsList(ctx context.Context, tenantID, afterID string, limit int) ([]AnalysisDocument, error)
	// GapsUpsertProposals inserts the proposals whose fingerprint the
	// tenant does not have yet, created at at, and returns, for every
	// proposal, the id of the gap holding its fingerprint (its own id when
	// it was inserted) keyed by fingerprint: one statement. An existing
	// gap is left as people made it. On PostgreSQL the rows are written in
	// fingerprint order, so concurrent runs lock them in the same order.
	GapsUpsertProposals(ctx context.Context, tenantID string, ps []PreparedProposal, at time.Time) (map[string]string, error)
	// GapLinksInsert adds the links whose document is still a document of
	// the tenant, keeping the ones that exist: one statement. A document
	// deleted since it was read is skipped, not an error.
	GapLinksInsert(ctx context.Context, tenantID string, links []GapLink) error
}
