package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// Statement budgets of the gap methods, asserted exactly where an engine
// cannot differ and as a ceiling where PostgreSQL adds a row lock.
const (
	gapGetStatements    = 2
	gapAnswerStatements = 3
	maxUpsertStatements = 4
)

func testGaps(t *testing.T, h Harness) {
	t.Run("StatusMachine", func(t *testing.T) { t.Parallel(); testGapStatusMachine(t, h) })
	t.Run("CreateGetDelete", func(t *testing.T) { t.Parallel(); testGapCRUD(t, h) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testGapList(t, h) })
	t.Run("Stats", func(t *testing.T) { t.Parallel(); testGapStats(t, h) })
	t.Run("BulkStatus", func(t *testing.T) { t.Parallel(); testGapBulkStatus(t, h) })
	t.Run("Analysis", func(t *testing.T) { t.Parallel(); testGapAnalysis(t, h) })
	t.Run("Isolation", func(t *testing.T) { t.Parallel(); testGapIsolation(t, h) })
}

// newGap creates a hand-made gap with the given number of questions.
func newGap(t *testing.T, f fixture, title string, priority, questions int, docs ...string) engram.GapDetail {
	t.Helper()
	g := engram.NewGap{Title: title, Description: "why " + title, Category: engram.GapProcess, Priority: priority, DocumentIDs: docs}
	for i := range questions {
		g.Questions = append(g.Questions, fmt.Sprintf("question %d of %s?", i, title))
	}
	p, err := g.Prepare()
	if err != nil {
		t.Fatalf("prepare gap: %v", err)
	}
	d, err := f.s.CreateGap(context.Background(), f.tenant.ID, p)
	if err != nil {
		t.Fatalf("create gap: %v", err)
	}
	return d
}

func getGap(t *testing.T, f fixture, id string) engram.GapDetail {
	t.Helper()
	ctx, st := counted()
	d, err := f.s.GetGap(ctx, f.tenant.ID, id)
	if err != nil {
		t.Fatalf("get gap %s: %v", id, err)
	}
	if st.Count() != gapGetStatements {
		t.Fatalf("get gap took %d statements, want %d", st.Count(), gapGetStatements)
	}
	return d
}

// wantAutoStatus checks the stored status against engram.AutoGapStatus
// computed from the gap's own questions and answers, and against want.
func wantAutoStatus(t *testing.T, f fixture, id string, before, want engram.GapStatus) engram.GapDetail {
	t.Helper()
	d := getGap(t, f, id)
	verified := 0
	for _, a := range d.Answers {
		if a.IsVerified {
			verified++
		}
	}
	if ref := engram.AutoGapStatus(before, d.QuestionCount, d.AnsweredCount, len(d.Answers), verified); ref != want || d.Status != want {
		t.Fatalf("status = %s, AutoGapStatus = %s, want %s (%d questions, %d answered, %d answers, %d verified)",
			d.Status, ref, want, d.QuestionCount, d.AnsweredCount, len(d.Answers), verified)
	}
	return d
}

func testGapStatusMachine(t *testing.T, h Harness) {
	f := newFixture(t, h)
	bg := context.Background()
	g := newGap(t, f, "deploys", 3, 2)
	if g.Status != engram.GapOpen || g.QuestionCount != 2 || g.AnsweredCount != 0 {
		t.Fatalf("new gap = %+v", g.Gap)
	}
	tid, key := f.tenant.ID, f.key.ID

	answer := func(index int, text string, want engram.GapStatus) engram.GapAnswer {
		t.Helper()
		before := getGap(t, f, g.ID).Status
		ctx, st := counted()
		r, err := f.s.AddGapAnswer(ctx, tid, key, g.ID, index, text)
		if err != nil {
			t.Fatalf("answer %d: %v", index, err)
		}
		if st.Count() != gapAnswerStatements {
			t.Fatalf("add answer took %d statements, want %d", st.Count(), gapAnswerStatements)
		}
		if r.GapStatus != want || r.Answer.QuestionIndex != index || r.Answer.AnswerText != text || r.Answer.CreatedBy == nil || *r.Answer.CreatedBy != key {
			t.Fatalf("answer result = %+v, want status %s", r, want)
		}
		wantAutoStatus(t, f, g.ID, before, want)
		return r.Answer
	}
	verify := func(a engram.GapAnswer, want engram.GapStatus) {
		t.Helper()
		before := getGap(t, f, g.ID).Status
		ctx, st := counted()
		r, err := f.s.VerifyGapAnswer(ctx, tid, key, g.ID, a.ID)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if st.Count() > gapAnswerStatements {
			t.Fatalf("verify took %d statements, want at most %d", st.Count(), gapAnswerStatements)
		}
		if r.GapStatus != want || !r.Answer.IsVerified || r.Answer.VerifiedAt == nil || r.Answer.VerifiedBy == nil {
			t.Fatalf("verify result = %+v, want status %s", r, want)
		}
		wantAutoStatus(t, f, g.ID, before, want)
	}
	setStatus := func(s engram.GapStatus) {
		t.Helper()
		r, err := f.s.SetGapStatus(bg, tid, key, []string{g.ID}, s)
		if err != nil || r.Changed != 1 {
			t.Fatalf("set status %s = %+v, %v", s, r, err)
		}
	}

	// Out of range and unknown ids change nothing.
	for _, idx := range []int{-1, 2, 99} {
		_, err := f.s.AddGapAnswer(bg, tid, key, g.ID, idx, "x")
		wantCode(t, err, engram.EInvalid)
	}
	_, err := f.s.AddGapAnswer(bg, tid, key, engram.NewID(), 0, "x")
	wantCode(t, err, engram.ENotFound)
	_, err = f.s.VerifyGapAnswer(bg, tid, key, g.ID, engram.NewID())
	wantCode(t, err, engram.ENotFound)
	_, err = f.s.UpdateGapAnswer(bg, tid, key, g.ID, engram.NewID(), "x")
	wantCode(t, err, engram.ENotFound)
	if n := f.in.GapChildRows(t, tid, g.ID, "gap_answers"); n != 0 {
		t.Fatalf("answer rows after failed answers = %d", n)
	}

	a0 := answer(0, "we ship on Tuesdays", engram.GapInProgress)
	a1 := answer(1, "the release captain", engram.GapAnswered)
	verify(a0, engram.GapAnswered)
	verify(a1, engram.GapVerified)
	// Verifying twice changes nothing, and keeps the first verification.
	first := getGap(t, f, g.ID).Answers[1]
	verify(a1, engram.GapVerified)
	if again := getGap(t, f, g.ID).Answers[1]; !again.VerifiedAt.Equal(*first.VerifiedAt) {
		t.Fatalf("second verify moved verified_at: %v -> %v", first.VerifiedAt, again.VerifiedAt)
	}

	// An unchanged text keeps its verification; a changed one loses it.
	r, err := f.s.UpdateGapAnswer(bg, tid, key, g.ID, a1.ID, "the release captain")
	if err != nil || !r.Answer.IsVerified || r.GapStatus != engram.GapVerified {
		t.Fatalf("same-text update = %+v, %v", r, err)
	}
	r, err = f.s.UpdateGapAnswer(bg, tid, key, g.ID, a1.ID, "the on-call release captain")
	if err != nil || r.Answer.IsVerified || r.Answer.VerifiedAt != nil || r.Answer.VerifiedBy != nil ||
		r.Answer.AnswerText != "the on-call release captain" || r.GapStatus != engram.GapAnswered {
		t.Fatalf("changed-text update = %+v, %v", r, err)
	}
	wantAutoStatus(t, f, g.ID, engram.GapVerified, engram.GapAnswered)
	verify(a1, engram.GapVerified)
	// A second answer to an answered question, not yet verified.
	a2 := answer(0, "and on Thursdays since May", engram.GapAnswered)

	// A person closes the gap; automatic moves never reopen it.
	setStatus(engram.GapClosed)
	d := getGap(t, f, g.ID)
	if d.Status != engram.GapClosed || d.ClosedAt == nil {
		t.Fatalf("closed gap = %+v", d.Gap)
	}
	verify(a2, engram.GapClosed)
	answer(1, "also the SRE on duty", engram.GapClosed)
	if d2 := getGap(t, f, g.ID); !d2.ClosedAt.Equal(*d.ClosedAt) {
		t.Fatalf("closed_at moved while closed: %v -> %v", d.ClosedAt, d2.ClosedAt)
	}
	// Closing again keeps the first closed_at.
	setStatus(engram.GapClosed)
	if d2 := getGap(t, f, g.ID); !d2.ClosedAt.Equal(*d.ClosedAt) {
		t.Fatalf("closing a closed gap moved closed_at")
	}
	// Reopening clears closed_at; the next answer event moves the status
	// with the work again.
	setStatus(engram.GapOpen)
	if d := getGap(t, f, g.ID); d.Status != engram.GapOpen || d.ClosedAt != nil {
		t.Fatalf("reopened gap = %+v", d.Gap)
	}
	last := answer(0, "see the release calendar", engram.GapAnswered)
	_ = last
	if n := f.in.GapChildRows(t, tid, g.ID, "gap_answers"); n != 5 {
		t.Fatalf("answer rows = %d, want 5", n)
	}
	if n, _ := f.in.AuditRows(t, tid, "gaps.set_status"); n != 3 {
		t.Fatalf("status audit rows = %d, want 3", n)
	}

	// The pure rule, case by case.
	for _, c := range []struct {
		cur         engram.GapStatus
		q, aq, a, v int
		want        engram.GapStatus
	}{
		{engram.GapOpen, 2, 0, 0, 0, engram.GapOpen},
		{engram.GapVerified, 2, 0, 0, 0, engram.GapOpen},
		{engram.GapOpen, 2, 1, 1, 1, engram.GapInProgress},
		{engram.GapOpen, 2, 2, 3, 2, engram.GapAnswered},
		{engram.GapAnswered, 2, 2, 3, 3, engram.GapVerified},
		{engram.GapClosed, 2, 2, 3, 3, engram.GapClosed},
		{engram.GapClosed, 2, 0, 0, 0, engram.GapClosed},
	} {
		if got := engram.AutoGapStatus(c.cur, c.q, c.aq, c.a, c.v); got != c.want {
			t.Errorf("AutoGapStatus(%s, %d, %d, %d, %d) = %s, want %s", c.cur, c.q, c.aq, c.a, c.v, got, c.want)
		}
	}
}

func testGapCRUD(t *testing.T, h Harness) {
	f := newFixture(t, h)
	bg := context.Background()
	tid := f.tenant.ID
	docs := createDocs(t, f.s, tid, 3, "source", "text")

	// A document that is not the tenant's fails the whole create.
	bad := engram.NewGap{Title: "t", Category: engram.GapContext, Priority: 2, Questions: []string{"q?"}, DocumentIDs: []string{docs[0], engram.NewID()}}
	p, err := bad.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.CreateGap(bg, tid, p)
	wantCode(t, err, engram.EInvalid)
	if n := f.in.GapRows(t, tid); n != 0 {
		t.Fatalf("gap rows after failed create = %d", n)
	}

	ctx, st := counted()
	good := engram.NewGap{Title: "  Who owns billing?  ", Description: "nobody knows", Category: engram.GapRelationship, Priority: 5,
		Questions: []string{"Who owns it?", " Who is the backup? "}, DocumentIDs: []string{docs[1], docs[0], docs[1]}}
	p, err = good.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	created, err := f.s.CreateGap(ctx, tid, p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Count() != 3 {
		t.Fatalf("create with documents took %d statements, want 3", st.Count())
	}
	got := getGap(t, f, created.ID)
	wantDocs := []string{docs[0], docs[1]}
	slices.Sort(wantDocs)
	if got.Title != "Who owns billing?" || got.Category != engram.GapRelationship || got.Priority != 5 || got.Status != engram.GapOpen ||
		got.Fingerprint != nil || string(got.Context) != "{}" || got.QuestionCount != 2 ||
		len(got.Questions) != 2 || got.Questions[1] != (engram.GapQuestion{Index: 1, Text: "Who is the backup?"}) ||
		!slices.Equal(got.DocumentIDs, wantDocs) || len(got.Answers) != 0 || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("gap = %+v, created = %+v", got, created)
	}
	if f.in.GapChildRows(t, tid, got.ID, "gap_questions") != 2 || f.in.GapChildRows(t, tid, got.ID, "gap_documents") != 2 {
		t.Fatal("question or document rows missing")
	}

	// A soft-deleted document is hidden; a hard-deleted one drops out.
	if _, err := f.s.DeleteDocuments(bg, tid, f.key.ID, []string{docs[0]}, false); err != nil {
		t.Fatal(err)
	}
	if d := getGap(t, f, got.ID); !slices.Equal(d.DocumentIDs, []string{docs[1]}) {
		t.Fatalf("documents with one soft-deleted = %v", d.DocumentIDs)
	}
	if _, err := f.s.DeleteDocuments(bg, tid, f.key.ID, []string{docs[0]}, true); err != nil {
		t.Fatal(err)
	}
	if n := f.in.GapChildRows(t, tid, got.ID, "gap_documents"); n != 1 {
		t.Fatalf("links after hard delete = %d, want 1", n)
	}

	// Patch.
	title, prio, cat := "Who owns invoicing?", 2, engram.GapDecision
	patch := engram.GapPatch{Title: &title, Priority: &prio, Category: &cat}
	if err := patch.Validate(); err != nil {
		t.Fatal(err)
	}
	u, err := f.s.UpdateGap(bg, tid, got.ID, patch)
	if err != nil || u.Title != title || u.Priority != 2 || u.Category != cat || u.Description != "nobody knows" || len(u.Questions) != 2 {
		t.Fatalf("updated = %+v, %v", u, err)
	}
	_, err = f.s.UpdateGap(bg, tid, engram.NewID(), patch)
	wantCode(t, err, engram.ENotFound)

	// Feedback.
	if _, err := f.s.AddGapFeedback(bg, tid, f.key.ID, got.ID, true, "good catch"); err != nil {
		t.Fatal(err)
	}
	c, err := f.s.AddGapFeedback(bg, tid, f.key.ID, got.ID, false, "")
	if err != nil || c != (engram.GapFeedbackCounts{Useful: 1, NotUseful: 1}) {
		t.Fatalf("feedback = %+v, %v", c, err)
	}
	_, err = f.s.AddGapFeedback(bg, tid, f.key.ID, engram.NewID(), true, "")
	wantCode(t, err, engram.ENotFound)
	if _, err := f.s.AddGapAnswer(bg, tid, f.key.ID, got.ID, 0, "finance"); err != nil {
		t.Fatal(err)
	}

	// Delete takes everything of the gap with it and is audited.
	ctx, st = counted()
	if err := f.s.DeleteGap(ctx, tid, f.key.ID, got.ID); err != nil {
		t.Fatal(err)
	}
	if st.Count() != 2 {
		t.Fatalf("delete took %d statements, want 2", st.Count())
	}
	for _, table := range []string{"gap_questions", "gap_answers", "gap_documents", "gap_feedback"} {
		if n := f.in.GapChildRows(t, tid, got.ID, table); n != 0 {
			t.Fatalf("%s rows after delete = %d", table, n)
		}
	}
	if n, last := f.in.AuditRows(t, tid, "gaps.delete"); n != 1 || last != 1 || f.in.AuditTarget(t, tid, "gaps.delete") != "gap" {
		t.Fatalf("delete audit rows = %d (count %d, target %q)", n, last, f.in.AuditTarget(t, tid, "gaps.delete"))
	}
	wantCode(t, f.s.DeleteGap(bg, tid, f.key.ID, got.ID), engram.ENotFound)
	_, err = f.s.GetGap(bg, tid, got.ID)
	wantCode(t, err, engram.ENotFound)
}

func testGapList(t *testing.T, h Harness) {
	f := newFixture(t, h)
	tid := f.tenant.ID
	// Priorities 1..5 and back; equal priorities list newest first.
	var ids []string
	prios := []int{3, 5, 1, 3, 5, 2, 3}
	for i, p := range prios {
		ids = append(ids, newGap(t, f, fmt.Sprintf("gap %d", i), p, i%3+1).ID)
	}
	if _, err := f.s.AddGapAnswer(context.Background(), tid, f.key.ID, ids[6], 0, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddGapAnswer(context.Background(), tid, f.key.ID, ids[6], 0, "b"); err != nil {
		t.Fatal(err)
	}
	want := []string{ids[4], ids[1], ids[6], ids[3], ids[0], ids[5], ids[2]}
	var got []string
	f2 := engram.GapFilter{Limit: 3}
	for {
		ctx, st := counted()
		page, err := f.s.ListGaps(ctx, tid, f2)
		if err != nil {
			t.Fatal(err)
		}
		if st.Count() != 1 {
			t.Fatalf("list took %d statements, want 1", st.Count())
		}
		for _, g := range page.Gaps {
			got = append(got, g.ID)
			i := slices.Index(ids, g.ID)
			wantAnswered := 0
			if i == 6 {
				wantAnswered = 1
			}
			if g.QuestionCount != i%3+1 || g.AnsweredCount != wantAnswered {
				t.Fatalf("gap %d counts = %d/%d, want %d/%d", i, g.AnsweredCount, g.QuestionCount, wantAnswered, i%3+1)
			}
		}
		if !page.HasMore {
			break
		}
		c, err := engram.DecodeGapCursor(page.NextCursor)
		if err != nil {
			t.Fatal(err)
		}
		f2.Cursor = c
	}
	if !slices.Equal(got, want) {
		t.Fatalf("list order = %v, want %v", got, want)
	}

	answered, process := engram.GapAnswered, engram.GapProcess
	for _, c := range []struct {
		f    engram.GapFilter
		want []string
	}{
		{engram.GapFilter{PriorityMin: 3, Limit: 50}, []string{ids[4], ids[1], ids[6], ids[3], ids[0]}},
		{engram.GapFilter{Status: &answered, Limit: 50}, []string{ids[6]}},
		{engram.GapFilter{Category: &process, PriorityMin: 5, Limit: 50}, []string{ids[4], ids[1]}},
	} {
		page, err := f.s.ListGaps(context.Background(), tid, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range page.Gaps {
			got = append(got, g.ID)
		}
		if !slices.Equal(got, c.want) || page.HasMore {
			t.Errorf("list %+v = %v, want %v", c.f, got, c.want)
		}
	}
}

func testGapStats(t *testing.T, h Harness) {
	f := newFixture(t, h)
	bg := context.Background()
	tid, key := f.tenant.ID, f.key.ID
	stats := func() engram.GapStats {
		t.Helper()
		ctx, st := counted()
		s, err := f.s.GapStats(ctx, tid)
		if err != nil {
			t.Fatal(err)
		}
		if st.Count() != 1 {
			t.Fatalf("gap stats took %d statements, want 1", st.Count())
		}
		return s
	}
	empty := stats()
	if empty.TotalGaps != 0 || len(empty.ByCategory) != len(engram.GapCategories) || empty.FeedbackRatio != nil {
		t.Fatalf("empty stats = %+v", empty)
	}
	a := newGap(t, f, "a", 3, 1)
	b := newGap(t, f, "b", 3, 2)
	c := newGap(t, f, "c", 3, 1)
	newGap(t, f, "d", 3, 1)
	r, _ := f.s.AddGapAnswer(bg, tid, key, a.ID, 0, "x")
	if _, err := f.s.VerifyGapAnswer(bg, tid, key, a.ID, r.Answer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddGapAnswer(bg, tid, key, b.ID, 0, "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetGapStatus(bg, tid, key, []string{c.ID}, engram.GapClosed); err != nil {
		t.Fatal(err)
	}
	for _, useful := range []bool{true, true, true, false} {
		if _, err := f.s.AddGapFeedback(bg, tid, key, b.ID, useful, ""); err != nil {
			t.Fatal(err)
		}
	}
	s := stats()
	if s.TotalGaps != 4 || s.OpenGaps != 1 || s.InProgressGaps != 1 || s.VerifiedGaps != 1 || s.ClosedGaps != 1 || s.AnsweredGaps != 0 ||
		s.ByCategory[engram.GapProcess] != 4 || s.ByCategory[engram.GapTimeline] != 0 || len(s.ByCategory) != 8 ||
		s.TotalAnswers != 2 || s.VerifiedAnswers != 1 || s.UsefulFeedback != 3 || s.NotUsefulFeedback != 1 ||
		s.FeedbackRatio == nil || *s.FeedbackRatio != 0.75 {
		t.Fatalf("stats = %+v", s)
	}
}

// proposals makes n analysis-style proposals over doc, with subjects
// prefix-0 … prefix-(n-1).
func proposals(n int, prefix string, docs []engram.AnalysisDocument) []engram.PreparedProposal {
	ps := make([]engram.GapProposal, n)
	for i := range ps {
		ps[i] = engram.GapProposal{Category: engram.GapContext, Subject: fmt.Sprintf("%s-%d", prefix, i), Title: "What is " + prefix + "?",
			Priority: 2, Questions: []string{"What is it?", "Who knows?"}, Rule: "test"}
		for _, d := range docs {
			ps[i].Evidence = append(ps[i].Evidence, engram.GapEvidence{DocumentID: d.ID, Sentence: "uses " + prefix})
		}
	}
	out, err := engram.PrepareProposals(ps, docs, "test")
	if err != nil {
		panic(err)
	}
	return out
}

func testGapBulkStatus(t *testing.T, h Harness) {
	f := newFixture(t, h)
	tid, key := f.tenant.ID, f.key.ID
	var counts []int
	for _, n := range []int{1, 100, 10000} {
		ctx, st := counted()
		o, err := f.s.UpsertGapProposals(ctx, tid, key, proposals(n, fmt.Sprint("bulk", n), nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Created) != n || st.Count() > maxUpsertStatements {
			t.Fatalf("upsert of %d: created %d in %d statements", n, len(o.Created), st.Count())
		}
		ids := append(slices.Clone(o.Created), engram.NewID())
		ctx, st = counted()
		r, err := f.s.SetGapStatus(ctx, tid, key, ids, engram.GapClosed)
		if err != nil || r.Changed != n || len(r.NotFound) != 1 || r.NotFound[0] != ids[n] {
			t.Fatalf("bulk close of %d = %+v, %v", n, r, err)
		}
		if st.Count() > maxBulkStatements {
			t.Fatalf("bulk status of %d took %d statements, want at most %d", n, st.Count(), maxBulkStatements)
		}
		t.Logf("bulk status of %d: %d statements in %v", n, st.Count(), st.Duration())
		counts = append(counts, st.Count())
		if n, last := f.in.AuditRows(t, tid, "gaps.set_status"); last != len(ids)-1 || f.in.AuditTarget(t, tid, "gaps.set_status") != "gap" {
			t.Fatalf("audit rows %d, last count %d", n, last)
		}
	}
	if counts[0] != counts[1] || counts[1] != counts[2] {
		t.Fatalf("bulk status statements at 1/100/10000 = %v, want equal", counts)
	}
	s, _ := f.s.GapStats(context.Background(), tid)
	if s.ClosedGaps != 10101 || s.TotalGaps != 10101 {
		t.Fatalf("stats after bulk close = %+v", s)
	}
}

// tbdAnalyzer proposes a decision gap for every line starting "TBD:" and
// one shared context gap when a document mentions ZQX.
type tbdAnalyzer struct{ calls, docs int }

func (a *tbdAnalyzer) Analyze(_ context.Context, docs []engram.AnalysisDocument) ([]engram.GapProposal, error) {
	a.calls++
	a.docs += len(docs)
	var out []engram.GapProposal
	for _, d := range docs {
		for _, line := range strings.Split(d.Content, "\n") {
			if subject, ok := strings.CutPrefix(line, "TBD:"); ok {
				out = append(out, engram.GapProposal{Category: engram.GapDecision, Subject: subject, Title: "Undecided:" + subject,
					Priority: 3, Questions: []string{"What was decided about" + subject + "?"}, Rule: "tbd",
					Evidence: []engram.GapEvidence{{DocumentID: d.ID, Sentence: line}}})
			}
		}
		if strings.Contains(d.Content, "ZQX") {
			out = append(out, engram.GapProposal{Category: engram.GapContext, Subject: "ZQX", Title: "What is ZQX?", Priority: 2,
				Questions: []string{"What does ZQX stand for?"}, Rule: "acronym",
				Evidence: []engram.GapEvidence{{DocumentID: d.ID, Sentence: "uses ZQX"}}})
		}
	}
	return out, nil
}

// analysisCorpus makes the documents of every kind and state an analysis
// must tell apart, each saying TBD about its own subject, and returns the
// ids of the eligible ones.
func analysisCorpus(t *testing.T, f fixture, tag string) (eligible []string) {
	t.Helper()
	bg := context.Background()
	tid, key := f.tenant.ID, f.key.ID
	mk := func(name string) string {
		return createDocs(t, f.s, tid, 1, name, "Notes.\nTBD: "+tag+" "+name+"\nThe ZQX rollout continues.")[0]
	}
	work := engram.ClassWork
	confirmed := mk("confirmed")
	if _, err := f.s.ConfirmDocuments(bg, tid, key, []string{confirmed}, &work); err != nil {
		t.Fatal(err)
	}
	classified := mk("classified")
	if _, err := f.s.ClassifyDocuments(bg, tid, key, engram.ClassifySelection{IDs: []string{classified}}, fixedClassifier(engram.ClassWork, 0.5)); err != nil {
		t.Fatal(err)
	}
	mk("pending")
	for _, c := range []engram.Classification{engram.ClassPersonal, engram.ClassSpam} {
		id := mk(string(c))
		if _, err := f.s.SetClassification(bg, tid, key, []string{id}, c); err != nil {
			t.Fatal(err)
		}
	}
	rejected := mk("rejected")
	deleted := mk("deleted")
	if _, err := f.s.ConfirmDocuments(bg, tid, key, []string{rejected, deleted}, &work); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RejectDocuments(bg, tid, key, []string{rejected}, "no"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteDocuments(bg, tid, key, []string{deleted}, false); err != nil {
		t.Fatal(err)
	}
	return []string{confirmed, classified}
}

func testGapAnalysis(t *testing.T, h Harness) {
	f := newFixture(t, h)
	bg := context.Background()
	tid, key := f.tenant.ID, f.key.ID
	eligible := analysisCorpus(t, f, "first")
	var progress [][2]int
	an := &tbdAnalyzer{}
	run := func(opt engram.AnalysisOptions) engram.AnalysisSummary {
		t.Helper()
		progress = nil
		sum, err := engram.RunGapAnalysis(bg, f.s, an, tid, key, opt, func(done, total int) { progress = append(progress, [2]int{done, total}) })
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	// Batches of one: the ZQX gap is made by the first batch and found
	// again by the second, within one run.
	sum := run(engram.AnalysisOptions{BatchSize: 1})
	if sum != (engram.AnalysisSummary{DocumentsScanned: 2, GapsCreated: 3, GapsUpdated: 0, Duration: sum.Duration}) ||
		!slices.Equal(progress, [][2]int{{1, 2}, {2, 2}}) || an.docs != 2 {
		t.Fatalf("first run = %+v, progress %v, analyzer saw %d documents", sum, progress, an.docs)
	}
	if n := f.in.GapRows(t, tid); n != 3 {
		t.Fatalf("gap rows = %d, want 3", n)
	}
	// The shared gap links both documents; its context says why.
	fp := engram.GapFingerprint(engram.GapContext, "zqx")
	var shared engram.GapDetail
	page, _ := f.s.ListGaps(bg, tid, engram.GapFilter{Limit: 50})
	for _, g := range page.Gaps {
		if g.Fingerprint != nil && *g.Fingerprint == fp {
			shared = getGap(t, f, g.ID)
		}
	}
	want := slices.Clone(eligible)
	slices.Sort(want)
	if shared.ID == "" || !slices.Equal(shared.DocumentIDs, want) || !strings.Contains(string(shared.Context), `"rule":"acronym"`) ||
		!strings.Contains(string(shared.Context), eligible[0]) || len(shared.Questions) != 1 {
		t.Fatalf("shared gap = %+v", shared)
	}

	// A second run over the same documents makes nothing new.
	sum = run(engram.AnalysisOptions{})
	if sum.DocumentsScanned != 2 || sum.GapsCreated != 0 || sum.GapsUpdated != 3 || f.in.GapRows(t, tid) != 3 {
		t.Fatalf("second run = %+v, gap rows %d", sum, f.in.GapRows(t, tid))
	}
	if n := f.in.GapChildRows(t, tid, shared.ID, "gap_questions"); n != 1 {
		t.Fatalf("questions of the shared gap after a second run = %d, want 1", n)
	}
	// New documents: their own gaps are new, the shared one gains links.
	more := analysisCorpus(t, f, "second")
	sum = run(engram.AnalysisOptions{MaxDocuments: 3})
	if sum.DocumentsScanned != 3 || sum.GapsCreated != 1 || sum.GapsUpdated != 3 || !slices.Equal(progress, [][2]int{{3, 3}}) {
		t.Fatalf("capped run = %+v, progress %v", sum, progress)
	}
	sum = run(engram.AnalysisOptions{})
	if sum.DocumentsScanned != 4 || sum.GapsCreated != 1 || sum.GapsUpdated != 4 || f.in.GapRows(t, tid) != 5 {
		t.Fatalf("run over new documents = %+v, gap rows %d", sum, f.in.GapRows(t, tid))
	}
	if d := getGap(t, f, shared.ID); len(d.DocumentIDs) != 4 || !slices.Contains(d.DocumentIDs, more[1]) {
		t.Fatalf("shared gap documents = %v", d.DocumentIDs)
	}

	// One batch upsert costs the same few statements for 1 or 200 proposals.
	docs, err := f.s.ListAnalysisDocuments(bg, tid, "", 10)
	if err != nil || len(docs) != 4 {
		t.Fatalf("analysis documents = %d, %v", len(docs), err)
	}
	var counts []int
	for _, n := range []int{1, 200} {
		ctx, st := counted()
		if _, err := f.s.UpsertGapProposals(ctx, tid, key, proposals(n, fmt.Sprint("many", n), docs)); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, st.Count())
	}
	if counts[0] != counts[1] || counts[0] > maxUpsertStatements {
		t.Fatalf("upsert statements for 1/200 proposals = %v, want equal and at most %d", counts, maxUpsertStatements)
	}
	if n, _ := f.in.AuditRows(t, tid, "gaps.analyze"); n == 0 || f.in.AuditTarget(t, tid, "gaps.analyze") != "gap" {
		t.Fatalf("analysis audit rows = %d", n)
	}
}

func testGapIsolation(t *testing.T, h Harness) {
	a := newFixture(t, h)
	bg := context.Background()
	b, bKey, err := a.s.CreateTenant(bg, "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	aDoc := createDocs(t, a.s, a.tenant.ID, 1, "a doc", "x")[0]
	ag := newGap(t, a, "secret", 4, 2, aDoc)
	ans, err := a.s.AddGapAnswer(bg, a.tenant.ID, a.key.ID, ag.ID, 0, "a's answer")
	if err != nil {
		t.Fatal(err)
	}
	bid, actor := b.ID, bKey.ID
	title := "hijacked"

	_, err = a.s.GetGap(bg, bid, ag.ID)
	wantCode(t, err, engram.ENotFound)
	_, err = a.s.UpdateGap(bg, bid, ag.ID, engram.GapPatch{Title: &title})
	wantCode(t, err, engram.ENotFound)
	_, err = a.s.AddGapAnswer(bg, bid, actor, ag.ID, 0, "b")
	wantCode(t, err, engram.ENotFound)
	_, err = a.s.UpdateGapAnswer(bg, bid, actor, ag.ID, ans.Answer.ID, "b")
	wantCode(t, err, engram.ENotFound)
	_, err = a.s.VerifyGapAnswer(bg, bid, actor, ag.ID, ans.Answer.ID)
	wantCode(t, err, engram.ENotFound)
	_, err = a.s.AddGapFeedback(bg, bid, actor, ag.ID, false, "b")
	wantCode(t, err, engram.ENotFound)
	wantCode(t, a.s.DeleteGap(bg, bid, actor, ag.ID), engram.ENotFound)
	r, err := a.s.SetGapStatus(bg, bid, actor, []string{ag.ID}, engram.GapClosed)
	if err != nil || r.Changed != 0 || len(r.NotFound) != 1 {
		t.Fatalf("B's bulk status on A's gap = %+v, %v", r, err)
	}
	// B cannot link A's document to its own gap.
	p, _ := engram.NewGap{Title: "b", Category: engram.GapContext, Priority: 1, Questions: []string{"q"}, DocumentIDs: []string{aDoc}}.Prepare()
	_, err = a.s.CreateGap(bg, bid, p)
	wantCode(t, err, engram.EInvalid)
	// B's list, stats and analysis see nothing of A's.
	if page, _ := a.s.ListGaps(bg, bid, engram.GapFilter{Limit: 50}); len(page.Gaps) != 0 {
		t.Fatalf("B lists %d gaps", len(page.Gaps))
	}
	if s, _ := a.s.GapStats(bg, bid); s.TotalGaps != 0 || s.TotalAnswers != 0 {
		t.Fatalf("B's stats = %+v", s)
	}
	work := engram.ClassWork
	if _, err := a.s.ConfirmDocuments(bg, a.tenant.ID, a.key.ID, []string{aDoc}, &work); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.s.CountAnalysisDocuments(bg, bid); n != 0 {
		t.Fatalf("B counts %d of A's documents", n)
	}
	// The same fingerprint in two tenants is two gaps; B's links to A's
	// document are dropped.
	aDocs := []engram.AnalysisDocument{{ID: aDoc}}
	if _, err := a.s.UpsertGapProposals(bg, a.tenant.ID, a.key.ID, proposals(1, "shared", aDocs)); err != nil {
		t.Fatal(err)
	}
	o, err := a.s.UpsertGapProposals(bg, bid, actor, proposals(1, "shared", aDocs))
	if err != nil || len(o.Created) != 1 {
		t.Fatalf("B's upsert = %+v, %v", o, err)
	}
	if n := a.in.GapChildRows(t, bid, o.Created[0], "gap_documents"); n != 0 {
		t.Fatalf("B's gap links %d of A's documents", n)
	}

	d := getGap(t, a, ag.ID)
	if d.Title != "secret" || d.Status != engram.GapInProgress || len(d.Answers) != 1 || d.Answers[0].AnswerText != "a's answer" ||
		d.Answers[0].IsVerified || d.FeedbackNotUseful != 0 || !slices.Equal(d.DocumentIDs, []string{aDoc}) {
		t.Fatalf("A's gap changed by B: %+v", d)
	}
	if a.in.GapRows(t, a.tenant.ID) != 2 || a.in.GapRows(t, bid) != 1 {
		t.Fatalf("gap rows: A %d, B %d", a.in.GapRows(t, a.tenant.ID), a.in.GapRows(t, bid))
	}
}
