package drivertest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

var gapAnswerCases = []gapCase{
	{"GapAnswers", testGapAnswers},
	{"GapLockQuestions", testGapLockQuestions},
	{"GapLocksOrderWriters", testGapLocksOrderWriters},
	{"GapStatusWrite", testGapStatusWrite},
	{"GapAnswerInsert", testGapAnswerInsert},
	{"GapAnswerUpdate", testGapAnswerUpdate},
	{"GapAnswerVerify", testGapAnswerVerify},
	{"GapFeedbackCount", testGapFeedbackCount},
	{"GapFeedbackInsert", testGapFeedbackInsert},
	{"AnalysisDocumentsCount", testAnalysisCount},
	{"AnalysisDocumentsList", testAnalysisList},
	{"GapsUpsertProposals", testGapsUpsertProposals},
	{"GapLinksInsert", testGapLinksInsert},
}

// answer adds an answer through the store and returns it.
func (f fixture) answer(t *testing.T, gapID string, index int, text string) engram.GapAnswer {
	t.Helper()
	r, err := f.s.AddGapAnswer(context.Background(), f.tenant, f.actor, gapID, index, text)
	if err != nil {
		t.Fatal(err)
	}
	return r.Answer
}

func testGapAnswers(t *testing.T, f fixture) {
	g, other := f.gap(t, "answered", 2, 2), f.gap(t, "other", 2, 1)
	first, second := f.answer(t, g, 1, "first"), f.answer(t, g, 0, "second")
	f.answer(t, other, 0, "elsewhere")
	var got []engram.GapAnswer
	one(t, "GapAnswers", 1, func(ctx context.Context) (err error) {
		got, err = f.d.Reader().GapAnswers(ctx, f.tenant, g)
		return err
	})
	if len(got) != 2 || got[0].ID != first.ID || got[1].ID != second.ID || got[0].QuestionIndex != 1 || got[0].AnswerText != "first" ||
		got[0].GapID != g || got[0].CreatedBy == nil || *got[0].CreatedBy != f.actor {
		t.Errorf("answers = %+v", got)
	}
}

func testGapLockQuestions(t *testing.T, f fixture) {
	g := f.gap(t, "counted", 2, 3)
	other := f.other(t)
	for _, c := range []struct {
		tenant string
		n      int
		ok     bool
	}{{f.tenant, 3, true}, {other, 0, false}} {
		var n int
		var ok bool
		f.inTxOne(t, "GapLockQuestions", 1, func(ctx context.Context, tx engram.Tx) (err error) {
			n, ok, err = tx.GapLockQuestions(ctx, c.tenant, g)
			return err
		})
		if n != c.n || ok != c.ok {
			t.Errorf("tenant %s: %d questions, found %v; want %d, %v", c.tenant, n, ok, c.n, c.ok)
		}
	}
}

// testGapLocksOrderWriters checks that a second writer locking a gap waits
// for the first to end, and that the facts its answer's statement reads
// then include what the first wrote: otherwise two answers added at once
// would each leave the status one step behind.
func testGapLocksOrderWriters(t *testing.T, f fixture) {
	locks := []struct {
		name string
		lock func(ctx context.Context, tx engram.Tx, gapID string) error
	}{
		{"GapLockQuestions", func(ctx context.Context, tx engram.Tx, gapID string) error {
			_, _, err := tx.GapLockQuestions(ctx, f.tenant, gapID)
			return err
		}},
		{"GapsLock", func(ctx context.Context, tx engram.Tx, gapID string) error {
			return tx.GapsLock(ctx, f.tenant, []string{gapID})
		}},
	}
	ctx := context.Background()
	for _, l := range locks {
		g := f.gap(t, "contended", 2, 1)
		first, err := f.d.Begin(ctx, f.tenant)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.lock(ctx, first, g); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var seen engram.GapFacts
		var secondErr error
		ready := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A read first, so that the second writer does not lag behind
			// for want of a connection.
			_, _, secondErr = f.d.Reader().GapGet(ctx, f.tenant, g)
			close(ready)
			if secondErr == nil {
				secondErr = f.inTx(t, ctx, func(tx engram.Tx) (err error) {
					if err := l.lock(ctx, tx, g); err != nil {
						return err
					}
					_, seen, err = tx.GapAnswerInsert(ctx, f.tenant, engram.NewGapAnswer{ID: engram.NewID(), GapID: g, Text: "second"}, gapTime)
					return err
				})
			}
		}()
		<-ready
		time.Sleep(200 * time.Millisecond) // give the second writer the chance to overtake
		mine, _, err := first.GapAnswerInsert(ctx, f.tenant, engram.NewGapAnswer{ID: engram.NewID(), GapID: g, Text: "first"}, gapTime)
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if secondErr != nil {
			t.Fatal(secondErr)
		}
		if !slices.ContainsFunc(seen.Answers, func(a engram.GapAnswerFact) bool { return a.ID == mine.ID }) {
			t.Errorf("%s: the second writer's facts %+v miss the first's answer: it did not wait", l.name, seen)
		}
	}
}

func testGapStatusWrite(t *testing.T, f fixture) {
	g := f.gap(t, "moved", 2, 1)
	f.inTxOne(t, "GapStatusWrite", 1, func(ctx context.Context, tx engram.Tx) error {
		return tx.GapStatusWrite(ctx, f.tenant, g, engram.GapAnswered, gapTime)
	})
	if d := f.read(t, g); d.Status != engram.GapAnswered || !d.UpdatedAt.Equal(gapTime) || d.ClosedAt != nil {
		t.Errorf("gap = %+v", d.Gap)
	}
	// Another tenant's write changes nothing.
	other := f.other(t)
	f.inTxOne(t, "GapStatusWrite of another tenant's gap", 1, func(ctx context.Context, tx engram.Tx) error {
		return tx.GapStatusWrite(ctx, other, g, engram.GapOpen, gapTime)
	})
	if d := f.read(t, g); d.Status != engram.GapAnswered {
		t.Errorf("another tenant moved the gap to %s", d.Status)
	}
}

func testGapAnswerInsert(t *testing.T, f fixture) {
	g := f.gap(t, "answered", 2, 3)
	first := f.answer(t, g, 0, "first")
	if _, err := f.s.VerifyGapAnswer(context.Background(), f.tenant, f.actor, g, first.ID); err != nil {
		t.Fatal(err)
	}
	in := []engram.NewGapAnswer{
		{ID: engram.NewID(), GapID: g, QuestionIndex: 2, Text: "by a key", CreatedBy: f.actor},
		{ID: engram.NewID(), GapID: g, QuestionIndex: 0, Text: "by nobody"},
	}
	var out []engram.GapAnswer
	var facts engram.GapFacts
	for _, a := range in {
		f.inTxOne(t, "GapAnswerInsert", 1, func(ctx context.Context, tx engram.Tx) error {
			r, fs, err := tx.GapAnswerInsert(ctx, f.tenant, a, gapTime)
			out, facts = append(out, r), fs
			return err
		})
	}
	if a := out[0]; a.ID != in[0].ID || a.GapID != g || a.QuestionIndex != 2 || a.AnswerText != "by a key" || a.CreatedBy == nil ||
		*a.CreatedBy != f.actor || a.IsVerified || a.VerifiedAt != nil || !a.CreatedAt.Equal(gapTime) || !a.UpdatedAt.Equal(gapTime) {
		t.Errorf("inserted answer = %+v", a)
	}
	if out[1].CreatedBy != nil {
		t.Errorf("an answer without an author has created_by %v", *out[1].CreatedBy)
	}
	// The facts of the second insert, with it applied: three answers to
	// two of three questions, one verified.
	facts.Apply(out[1])
	want := map[string]engram.GapAnswerFact{
		first.ID:  {ID: first.ID, QuestionIndex: 0, Verified: true},
		in[0].ID:  {ID: in[0].ID, QuestionIndex: 2},
		out[1].ID: {ID: out[1].ID, QuestionIndex: 0},
	}
	if facts.Status != engram.GapInProgress || facts.Questions != 3 || len(facts.Answers) != 3 {
		t.Fatalf("facts = %+v", facts)
	}
	for _, a := range facts.Answers {
		if want[a.ID] != a {
			t.Errorf("answer fact %+v, want %+v", a, want[a.ID])
		}
	}
	if got, err := f.d.Reader().GapAnswers(context.Background(), f.tenant, g); err != nil || len(got) != 3 {
		t.Errorf("answers read back = %+v, %v", got, err)
	}
}

// changeAnswer runs one answer change in its own transaction, which must
// send one statement, and returns the answer with its gap's facts (the
// change applied).
func (f fixture) changeAnswer(t *testing.T, what string, fn func(ctx context.Context, tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error)) (engram.GapAnswer, engram.GapFacts, bool) {
	t.Helper()
	var a engram.GapAnswer
	var facts engram.GapFacts
	var ok bool
	f.inTxOne(t, what, 1, func(ctx context.Context, tx engram.Tx) (err error) {
		a, facts, ok, err = fn(ctx, tx)
		return err
	})
	if ok {
		facts.Apply(a)
	}
	return a, facts, ok
}

func testGapAnswerUpdate(t *testing.T, f fixture) {
	g := f.gap(t, "edited", 2, 1)
	a := f.answer(t, g, 0, "draft")
	if _, err := f.s.VerifyGapAnswer(context.Background(), f.tenant, f.actor, g, a.ID); err != nil {
		t.Fatal(err)
	}
	update := func(tenantID, text string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool) {
		return f.changeAnswer(t, "GapAnswerUpdate", func(ctx context.Context, tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error) {
			return tx.GapAnswerUpdate(ctx, tenantID, g, a.ID, text, at)
		})
	}
	// The same text keeps its verification and its time.
	same, facts, ok := update(f.tenant, "draft", gapTime)
	if !ok || !same.IsVerified || same.UpdatedAt.Equal(gapTime) || facts.AutoStatus() != engram.GapVerified {
		t.Errorf("same-text update = %+v, facts %+v", same, facts)
	}
	changed, facts, ok := update(f.tenant, "final", gapTime)
	if !ok || changed.IsVerified || changed.VerifiedBy != nil || changed.VerifiedAt != nil || changed.AnswerText != "final" ||
		!changed.UpdatedAt.Equal(gapTime) {
		t.Errorf("changed-text update = %+v", changed)
	}
	if len(facts.Answers) != 1 || facts.Answers[0].Verified || facts.Status != engram.GapVerified || facts.AutoStatus() != engram.GapAnswered {
		t.Errorf("facts after the change = %+v", facts)
	}
	if _, _, ok := update(f.other(t), "theirs", gapTime); ok {
		t.Error("another tenant updated the answer")
	}
	if got, _ := f.d.Reader().GapAnswers(context.Background(), f.tenant, g); len(got) != 1 || got[0].AnswerText != "final" {
		t.Errorf("answers read back = %+v", got)
	}
}

func testGapAnswerVerify(t *testing.T, f fixture) {
	g := f.gap(t, "checked", 2, 1)
	a := f.answer(t, g, 0, "claim")
	verify := func(answerID string, at time.Time) (engram.GapAnswer, engram.GapFacts, bool) {
		return f.changeAnswer(t, "GapAnswerVerify", func(ctx context.Context, tx engram.Tx) (engram.GapAnswer, engram.GapFacts, bool, error) {
			return tx.GapAnswerVerify(ctx, f.tenant, g, answerID, f.actor, at)
		})
	}
	v, facts, ok := verify(a.ID, gapTime)
	if !ok || !v.IsVerified || v.VerifiedBy == nil || *v.VerifiedBy != f.actor || v.VerifiedAt == nil || !v.VerifiedAt.Equal(gapTime) {
		t.Errorf("verified answer = %+v", v)
	}
	if facts.Status != engram.GapAnswered || facts.Questions != 1 || len(facts.Answers) != 1 || facts.AutoStatus() != engram.GapVerified {
		t.Errorf("facts = %+v", facts)
	}
	// Verifying again keeps the first verification.
	if again, _, _ := verify(a.ID, gapTime.Add(time.Hour)); !again.VerifiedAt.Equal(gapTime) || !again.UpdatedAt.Equal(gapTime) {
		t.Errorf("second verify = %+v", again)
	}
	if _, _, ok := verify(engram.NewID(), gapTime); ok {
		t.Error("a missing answer was verified")
	}
	if got, _ := f.d.Reader().GapAnswers(context.Background(), f.tenant, g); len(got) != 1 || !got[0].IsVerified {
		t.Errorf("answers read back = %+v", got)
	}
}

func testGapFeedbackCount(t *testing.T, f fixture) {
	g := f.gap(t, "rated", 2, 1)
	count := func(tenantID string, useful bool) (c engram.GapFeedbackCounts, ok bool) {
		f.inTxOne(t, "GapFeedbackCount", 1, func(ctx context.Context, tx engram.Tx) (err error) {
			c, ok, err = tx.GapFeedbackCount(ctx, tenantID, g, useful)
			return err
		})
		return c, ok
	}
	count(f.tenant, true)
	count(f.tenant, true)
	if c, ok := count(f.tenant, false); !ok || c != (engram.GapFeedbackCounts{Useful: 2, NotUseful: 1}) {
		t.Errorf("tally = %+v (found %v)", c, ok)
	}
	if _, ok := count(f.other(t), true); ok {
		t.Error("another tenant counted feedback on the gap")
	}
	if d := f.read(t, g); d.FeedbackUseful != 2 || d.FeedbackNotUseful != 1 {
		t.Errorf("gap tally = %d/%d", d.FeedbackUseful, d.FeedbackNotUseful)
	}
}

func testGapFeedbackInsert(t *testing.T, f fixture) {
	g := f.gap(t, "rated", 2, 1)
	f.inTxOne(t, "GapFeedbackInsert", 1, func(ctx context.Context, tx engram.Tx) error {
		return tx.GapFeedbackInsert(ctx, f.tenant, g, f.actor, true, "spot on", gapTime)
	})
	// No read of feedback rows exists; their foreign key shows they land
	// under the tenant's gap: another tenant's insert for it is refused.
	ctx := context.Background()
	other := f.other(t)
	err := f.inTx(t, ctx, func(tx engram.Tx) error {
		return tx.GapFeedbackInsert(ctx, other, g, "", false, "", gapTime)
	})
	if err == nil {
		t.Error("feedback was kept for another tenant's gap")
	}
}
