package engram_test

import (
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func TestNewGapPrepare(t *testing.T) {
	t.Parallel()
	ok := engram.NewGap{Title: "t", Category: engram.GapProcess, Priority: 3, Questions: []string{"q?"}}
	for _, c := range []struct {
		name   string
		change func(g *engram.NewGap)
		msg    string
	}{
		{"empty title", func(g *engram.NewGap) { g.Title = "  " }, "title: must not be empty"},
		{"long title", func(g *engram.NewGap) { g.Title = strings.Repeat("é", engram.MaxGapTitleLen+1) }, "title: at most 500"},
		{"category", func(g *engram.NewGap) { g.Category = "gossip" }, `category: "gossip" is not one of decision, technical, process, context, relationship, timeline, outcome, rationale`},
		{"priority", func(g *engram.NewGap) { g.Priority = 6 }, "priority: must be from 1 to 5, got 6"},
		{"no questions", func(g *engram.NewGap) { g.Questions = nil }, "questions: at least one question is required"},
		{"blank question", func(g *engram.NewGap) { g.Questions = []string{"a", " "} }, "questions[1]: must not be empty"},
		{"NUL", func(g *engram.NewGap) { g.Description = "a\x00b" }, "description: must be valid UTF-8 without NUL"},
		{"bad document id", func(g *engram.NewGap) { g.DocumentIDs = []string{"nope"} }, `document_ids[0]: "nope" is not a valid id`},
	} {
		g := ok
		c.change(&g)
		_, err := g.Prepare()
		if engram.ErrorCode(err) != engram.EInvalid || !strings.Contains(engram.ErrorMessage(err), c.msg) {
			t.Errorf("%s: %v, want %q", c.name, err, c.msg)
		}
	}
	if _, err := ok.Prepare(); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareProposalsMerges(t *testing.T) {
	t.Parallel()
	d1, d2 := engram.NewID(), engram.NewID()
	docs := []engram.AnalysisDocument{{ID: d1}, {ID: d2}}
	p := func(subject, doc string, prio int) engram.GapProposal {
		return engram.GapProposal{Category: engram.GapContext, Subject: subject, Title: "What is it?", Priority: prio,
			Questions: []string{"What?"}, Rule: "r", Evidence: []engram.GapEvidence{{DocumentID: doc, Sentence: "s"}}}
	}
	out, err := engram.PrepareProposals([]engram.GapProposal{p("ZQX", d1, 2), p(" zqx! ", d2, 4), p("other", d2, 1)}, docs, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d proposals, want 2", len(out))
	}
	for _, o := range out {
		if o.Fingerprint == engram.GapFingerprint(engram.GapContext, "ZQX") && (len(o.DocumentIDs) != 2 || o.Priority != 4) {
			t.Fatalf("merged proposal = %+v", o)
		}
	}
	if engram.GapFingerprint(engram.GapContext, "ZQX") == engram.GapFingerprint(engram.GapDecision, "ZQX") {
		t.Fatal("category is not part of the fingerprint")
	}
	if _, err := engram.PrepareProposals([]engram.GapProposal{p("x", engram.NewID(), 1)}, docs, "t"); err == nil {
		t.Fatal("evidence from a document the analyzer was not given was accepted")
	}
}

func TestGapCursorRoundTrip(t *testing.T) {
	t.Parallel()
	g := engram.Gap{ID: engram.NewID(), Priority: 4, CreatedAt: time.Now()}
	c, err := engram.DecodeGapCursor(engram.GapCursorAfter(g).Encode())
	if err != nil || c.ID != g.ID || c.Priority != 4 || !c.CreatedAt.Equal(g.CreatedAt) {
		t.Fatalf("cursor = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "x", "eyJwIjo5fQ"} {
		if _, err := engram.DecodeGapCursor(bad); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}
