package drivertest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// gapCase is one driver method's case, on a fresh database.
type gapCase struct {
	name string
	run  func(t *testing.T, f fixture)
}

func testGaps(t *testing.T, h Harness) {
	cases := []gapCase{
		{"GapInsert", testGapInsert},
		{"GapQuestionsInsert", testGapQuestionsInsert},
		{"GapDocumentsLink", testGapDocumentsLink},
		{"GapList", testGapList},
		{"GapGet", testGapGet},
		{"GapUpdate", testGapUpdate},
		{"GapDelete", testGapDelete},
		{"GapsLock", testGapsLock},
		{"GapsSetStatus", testGapsSetStatus},
		{"GapStatsAndRecount", testGapStats},
	}
	cases = append(cases, gapAnswerCases...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newFixture(t, h))
		})
	}
}

// gapTime is the time the cases write at: whole seconds, so that both
// engines store it exactly.
var gapTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// gap creates a gap through the store, with n questions and the given
// documents, and returns its id.
func (f fixture) gap(t *testing.T, title string, priority, n int, docs ...string) string {
	t.Helper()
	g := engram.NewGap{Title: title, Description: "about " + title, Category: engram.GapProcess, Priority: priority, DocumentIDs: docs}
	for i := range n {
		g.Questions = append(g.Questions, fmt.Sprintf("question %d of %s?", i, title))
	}
	p, err := g.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.s.CreateGap(context.Background(), f.tenant, p)
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// one runs fn, which must send exactly want statements.
func one(t *testing.T, what string, want int, fn func(ctx context.Context) error) {
	t.Helper()
	wantStatements(t, what, statements(t, fn), want)
}

// inTxOne runs fn in a committed transaction; fn must send exactly want
// statements.
func (f fixture) inTxOne(t *testing.T, what string, want int, fn func(ctx context.Context, tx engram.Tx) error) {
	t.Helper()
	one(t, what, want, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) error { return fn(ctx, tx) })
	})
}

// read returns a gap as the driver reads it, failing when it is missing.
func (f fixture) read(t *testing.T, id string) engram.GapDetail {
	t.Helper()
	d, ok, err := f.d.Reader().GapGet(context.Background(), f.tenant, id)
	if err != nil || !ok {
		t.Fatalf("read gap %s: found %v, %v", id, ok, err)
	}
	return d
}

// other creates a second tenant and returns its id.
func (f fixture) other(t *testing.T) string {
	t.Helper()
	tn, _, err := f.s.CreateTenant(context.Background(), "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func testGapInsert(t *testing.T, f fixture) {
	p, err := engram.NewGap{Title: "Who owns billing?", Description: "d", Category: engram.GapRelationship, Priority: 4,
		Questions: []string{"who?"}}.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	f.inTxOne(t, "GapInsert", 1, func(ctx context.Context, tx engram.Tx) error {
		return tx.GapInsert(ctx, f.tenant, p, gapTime)
	})
	g := f.read(t, p.ID)
	if g.Title != p.Title || g.Description != "d" || g.Category != engram.GapRelationship || g.Priority != 4 ||
		g.Status != engram.GapOpen || g.Fingerprint != nil || string(g.Context) != "{}" || g.QuestionCount != 0 ||
		!g.CreatedAt.Equal(gapTime) || !g.UpdatedAt.Equal(gapTime) || g.ClosedAt != nil {
		t.Errorf("inserted gap = %+v", g.Gap)
	}
	if _, ok, err := f.d.Reader().GapGet(context.Background(), f.other(t), p.ID); ok || err != nil {
		t.Errorf("another tenant reads the gap: %v, %v", ok, err)
	}
}

func testGapQuestionsInsert(t *testing.T, f fixture) {
	a, b := f.gap(t, "a", 3, 1), f.gap(t, "b", 3, 1)
	qs := []engram.NewGapQuestion{{GapID: a, Index: 1, Text: "a1"}, {GapID: b, Index: 1, Text: "b1"}, {GapID: a, Index: 2, Text: "a2"}}
	f.inTxOne(t, "GapQuestionsInsert", 1, func(ctx context.Context, tx engram.Tx) error {
		return tx.GapQuestionsInsert(ctx, f.tenant, qs)
	})
	ga, gb := f.read(t, a), f.read(t, b)
	if len(ga.Questions) != 3 || ga.Questions[1] != (engram.GapQuestion{Index: 1, Text: "a1"}) ||
		ga.Questions[2] != (engram.GapQuestion{Index: 2, Text: "a2"}) || ga.QuestionCount != 3 {
		t.Errorf("questions of a = %+v", ga.Questions)
	}
	if len(gb.Questions) != 2 || gb.Questions[1].Text != "b1" {
		t.Errorf("questions of b = %+v", gb.Questions)
	}
}

func testGapDocumentsLink(t *testing.T, f fixture) {
	ctx := context.Background()
	docs := f.docs(t, 4, "source", "text")
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, docs[3:], false); err != nil {
		t.Fatal(err)
	}
	other := f.other(t)
	theirs := f.docsOf(t, other, 1)
	g := f.gap(t, "linked", 3, 1)
	var linked map[string]bool
	f.inTxOne(t, "GapDocumentsLink", 1, func(ctx context.Context, tx engram.Tx) (err error) {
		linked, err = tx.GapDocumentsLink(ctx, f.tenant, g, append(slices.Clone(docs), engram.NewID(), theirs[0]))
		return err
	})
	if len(linked) != 3 || !linked[docs[0]] || !linked[docs[1]] || !linked[docs[2]] {
		t.Errorf("linked %v, want the three live documents", linked)
	}
	if got, want := f.read(t, g).DocumentIDs, slices.Sorted(slices.Values(docs[:3])); !slices.Equal(got, want) {
		t.Errorf("documents of the gap = %v, want %v", got, want)
	}
}

// docsOf creates n documents in another tenant.
func (f fixture) docsOf(t *testing.T, tenantID string, n int) []string {
	t.Helper()
	g := f
	g.tenant = tenantID
	return g.docs(t, n, "theirs", "text")
}

func testGapList(t *testing.T, f fixture) {
	var ids []string
	for i, p := range []int{2, 5, 3, 5} {
		ids = append(ids, f.gap(t, fmt.Sprint("gap ", i), p, i+1))
	}
	list := func(flt engram.GapFilter) []string {
		var gaps []engram.Gap
		one(t, "GapList", 1, func(ctx context.Context) (err error) {
			gaps, err = f.d.Reader().GapList(ctx, f.tenant, flt)
			return err
		})
		out := make([]string, len(gaps))
		for i, g := range gaps {
			out[i] = g.ID
			if n := slices.Index(ids, g.ID); g.QuestionCount != n+1 || g.AnsweredCount != 0 {
				t.Errorf("gap %d counts %d/%d, want 0/%d", n, g.AnsweredCount, g.QuestionCount, n+1)
			}
		}
		return out
	}
	// Limit 2 reads a third row, so the use case knows there is more.
	if got, want := list(engram.GapFilter{Limit: 2}), []string{ids[3], ids[1], ids[2]}; !slices.Equal(got, want) {
		t.Errorf("first page = %v, want %v", got, want)
	}
	c := engram.GapCursorAfter(f.read(t, ids[1]).Gap)
	if got, want := list(engram.GapFilter{Limit: 2, Cursor: &c}), []string{ids[2], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("page after the cursor = %v, want %v", got, want)
	}
	if got, want := list(engram.GapFilter{Limit: 10, PriorityMin: 4}), []string{ids[3], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("priority 4 and up = %v, want %v", got, want)
	}
	if got := list(engram.GapFilter{Limit: 10}); len(got) != 4 {
		t.Errorf("all = %v", got)
	}
}

func testGapGet(t *testing.T, f fixture) {
	ctx := context.Background()
	docs := f.docs(t, 2, "source", "text")
	id := f.gap(t, "detail", 4, 2, docs...)
	if _, err := f.s.AddGapAnswer(ctx, f.tenant, f.actor, id, 1, "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, docs[:1], false); err != nil {
		t.Fatal(err)
	}
	var d engram.GapDetail
	var ok bool
	one(t, "GapGet", 1, func(ctx context.Context) (err error) {
		d, ok, err = f.d.Reader().GapGet(ctx, f.tenant, id)
		return err
	})
	if !ok || d.Title != "detail" || d.Priority != 4 || d.QuestionCount != 2 || d.AnsweredCount != 1 ||
		len(d.Questions) != 2 || d.Questions[0].Index != 0 || d.Questions[1].Text != "question 1 of detail?" ||
		!slices.Equal(d.DocumentIDs, docs[1:]) || d.Answers != nil {
		t.Errorf("gap = %+v (found %v)", d, ok)
	}
	one(t, "GapGet of a missing gap", 1, func(ctx context.Context) (err error) {
		_, ok, err = f.d.Reader().GapGet(ctx, f.tenant, engram.NewID())
		return err
	})
	if ok {
		t.Error("a missing gap was found")
	}
}

func testGapUpdate(t *testing.T, f fixture) {
	id := f.gap(t, "before", 2, 1)
	title, cat := "after", engram.GapTimeline
	var ok bool
	f.inTxOne(t, "GapUpdate", 1, func(ctx context.Context, tx engram.Tx) (err error) {
		ok, err = tx.GapUpdate(ctx, f.tenant, id, engram.GapPatch{Title: &title, Category: &cat}, gapTime)
		return err
	})
	d := f.read(t, id)
	if !ok || d.Title != "after" || d.Category != cat || d.Description != "about before" || d.Priority != 2 || !d.UpdatedAt.Equal(gapTime) {
		t.Errorf("updated gap = %+v (found %v)", d.Gap, ok)
	}
	other := f.other(t)
	f.inTxOne(t, "GapUpdate of another tenant's gap", 1, func(ctx context.Context, tx engram.Tx) (err error) {
		ok, err = tx.GapUpdate(ctx, other, id, engram.GapPatch{Title: &title}, gapTime)
		return err
	})
	if ok {
		t.Error("another tenant updated the gap")
	}
}

func testGapDelete(t *testing.T, f fixture) {
	ctx := context.Background()
	id := f.gap(t, "doomed", 2, 2, f.docs(t, 1, "source", "text")...)
	if _, err := f.s.AddGapAnswer(ctx, f.tenant, f.actor, id, 0, "x"); err != nil {
		t.Fatal(err)
	}
	del := func(tenantID string) (ok bool) {
		f.inTxOne(t, "GapDelete", 1, func(ctx context.Context, tx engram.Tx) (err error) {
			ok, err = tx.GapDelete(ctx, tenantID, id)
			return err
		})
		return ok
	}
	if del(f.other(t)) {
		t.Error("another tenant deleted the gap")
	}
	if !del(f.tenant) {
		t.Fatal("the gap was not found")
	}
	if _, ok, err := f.d.Reader().GapGet(ctx, f.tenant, id); ok || err != nil {
		t.Errorf("deleted gap still read: %v, %v", ok, err)
	}
	if a, err := f.d.Reader().GapAnswers(ctx, f.tenant, id); len(a) != 0 || err != nil {
		t.Errorf("answers of a deleted gap = %v, %v", a, err)
	}
	if del(f.tenant) {
		t.Error("a deleted gap was deleted again")
	}
}

func testGapsLock(t *testing.T, f fixture) {
	ids := []string{f.gap(t, "a", 1, 1), f.gap(t, "b", 1, 1), engram.NewID()}
	f.inTxOne(t, "GapsLock", ifLocks(f.caps), func(ctx context.Context, tx engram.Tx) error {
		return tx.GapsLock(ctx, f.tenant, ids)
	})
}

func testGapsSetStatus(t *testing.T, f fixture) {
	ids := []string{f.gap(t, "a", 1, 1), f.gap(t, "b", 1, 1)}
	set := func(st engram.GapStatus, at time.Time) map[string]bool {
		var found map[string]bool
		f.inTxOne(t, "GapsSetStatus", 1, func(ctx context.Context, tx engram.Tx) (err error) {
			found, err = tx.GapsSetStatus(ctx, f.tenant, append(slices.Clone(ids), engram.NewID()), st, at)
			return err
		})
		return found
	}
	if found := set(engram.GapClosed, gapTime); len(found) != 2 || !found[ids[0]] || !found[ids[1]] {
		t.Fatalf("closed %v, want both gaps", found)
	}
	// Closing again keeps the first closed_at; reopening clears it.
	set(engram.GapClosed, gapTime.Add(time.Hour))
	for _, id := range ids {
		if d := f.read(t, id); d.Status != engram.GapClosed || d.ClosedAt == nil || !d.ClosedAt.Equal(gapTime) {
			t.Errorf("closed gap = %+v", d.Gap)
		}
	}
	set(engram.GapOpen, gapTime)
	if d := f.read(t, ids[0]); d.Status != engram.GapOpen || d.ClosedAt != nil {
		t.Errorf("reopened gap = %+v", d.Gap)
	}
}

func testGapStats(t *testing.T, f fixture) {
	ctx := context.Background()
	a, b := f.gap(t, "a", 1, 1), f.gap(t, "b", 1, 2)
	f.gap(t, "c", 1, 1)
	r, err := f.s.AddGapAnswer(ctx, f.tenant, f.actor, a, 0, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VerifyGapAnswer(ctx, f.tenant, f.actor, a, r.Answer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddGapAnswer(ctx, f.tenant, f.actor, b, 0, "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddGapFeedback(ctx, f.tenant, f.actor, b, false, ""); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		read func(context.Context, string) (engram.GapStats, error)
	}{{"GapStats", f.d.Reader().GapStats}, {"GapRecount", f.d.Reader().GapRecount}} {
		var st engram.GapStats
		one(t, m.name, 1, func(ctx context.Context) (err error) {
			st, err = m.read(ctx, f.tenant)
			return err
		})
		if st.TotalGaps != 3 || st.OpenGaps != 1 || st.InProgressGaps != 1 || st.VerifiedGaps != 1 || st.ByCategory[engram.GapProcess] != 3 ||
			st.TotalAnswers != 2 || st.VerifiedAnswers != 1 || st.NotUsefulFeedback != 1 || st.UsefulFeedback != 0 {
			t.Errorf("%s = %+v", m.name, st)
		}
	}
}
