package drivertest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// analysisDocs makes the documents an analysis must tell apart and
// returns the ids of the eligible ones (live work documents, confirmed),
// in id order.
func (f fixture) analysisDocs(t *testing.T, content string) []string {
	t.Helper()
	ctx := context.Background()
	ids := f.docs(t, 6, "analysed", content)
	work := engram.ClassWork
	if _, err := f.s.ConfirmDocuments(ctx, f.tenant, f.actor, ids[:4], &work); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[3:4], false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetClassification(ctx, f.tenant, f.actor, ids[4:5], engram.ClassPersonal); err != nil {
		t.Fatal(err)
	}
	// ids[5] stays pending.
	return slices.Sorted(slices.Values(ids[:3]))
}

func testAnalysisCount(t *testing.T, f fixture) {
	f.analysisDocs(t, "text")
	count := func(tenantID string) (n int) {
		one(t, "AnalysisDocumentsCount", 1, func(ctx context.Context) (err error) {
			n, err = f.d.Reader().AnalysisDocumentsCount(ctx, tenantID)
			return err
		})
		return n
	}
	if n := count(f.tenant); n != 3 {
		t.Errorf("count = %d, want 3", n)
	}
	if n := count(f.other(t)); n != 0 {
		t.Errorf("another tenant counts %d", n)
	}
}

func testAnalysisList(t *testing.T, f fixture) {
	want := f.analysisDocs(t, strings.Repeat("y", engram.MaxAnalysisContent+10))
	list := func(after string, limit int) []string {
		var docs []engram.AnalysisDocument
		one(t, "AnalysisDocumentsList", 1, func(ctx context.Context) (err error) {
			docs, err = f.d.Reader().AnalysisDocumentsList(ctx, f.tenant, after, limit)
			return err
		})
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
			if len(d.Content) != engram.MaxAnalysisContent || d.Title != "analysed" {
				t.Errorf("document %s: title %q, %d characters", d.ID, d.Title, len(d.Content))
			}
		}
		return ids
	}
	if got := list("", 2); !slices.Equal(got, want[:2]) {
		t.Errorf("first batch = %v, want %v", got, want[:2])
	}
	if got := list(want[1], 2); !slices.Equal(got, want[2:]) {
		t.Errorf("second batch = %v, want %v", got, want[2:])
	}
}

// proposals prepares one proposal per subject, citing docs.
func proposals(t *testing.T, docs []string, subjects ...string) []engram.PreparedProposal {
	t.Helper()
	in := make([]engram.AnalysisDocument, len(docs))
	for i, d := range docs {
		in[i] = engram.AnalysisDocument{ID: d}
	}
	var ps []engram.GapProposal
	for _, s := range subjects {
		p := engram.GapProposal{Category: engram.GapContext, Subject: s, Title: "What is " + s + "?", Priority: 2,
			Questions: []string{"What is it?"}, Rule: "test"}
		for _, d := range docs {
			p.Evidence = append(p.Evidence, engram.GapEvidence{DocumentID: d, Sentence: "uses " + s})
		}
		ps = append(ps, p)
	}
	out, err := engram.PrepareProposals(ps, in, "test")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testGapsUpsertProposals(t *testing.T, f fixture) {
	upsert := func(ps []engram.PreparedProposal) (ids map[string]string) {
		f.inTxOne(t, "GapsUpsertProposals", 1, func(ctx context.Context, tx engram.Tx) (err error) {
			ids, err = tx.GapsUpsertProposals(ctx, f.tenant, ps, gapTime)
			return err
		})
		return ids
	}
	first := proposals(t, nil, "ZQX", "Hermes")
	ids := upsert(first)
	for _, p := range first {
		if ids[p.Fingerprint] != p.ID {
			t.Fatalf("first upsert ids = %v, want each proposal's own", ids)
		}
		d := f.read(t, p.ID)
		if d.Fingerprint == nil || *d.Fingerprint != p.Fingerprint || d.Title != p.Title || d.Status != engram.GapOpen ||
			!strings.Contains(string(d.Context), `"rule":"test"`) || !d.CreatedAt.Equal(gapTime) {
			t.Errorf("proposed gap = %+v", d.Gap)
		}
	}
	// A person edits one; proposing it again (in other words of the same
	// subject) finds it and leaves it be.
	zqx := engram.GapFingerprint(engram.GapContext, "ZQX")
	edited := ids[zqx]
	title := "edited"
	if _, err := f.s.UpdateGap(context.Background(), f.tenant, edited, engram.GapPatch{Title: &title}); err != nil {
		t.Fatal(err)
	}
	again := proposals(t, nil, "zqx!", "Atlas")
	ids = upsert(again)
	atlas := engram.GapFingerprint(engram.GapContext, "Atlas")
	var fresh string
	for _, p := range again {
		if p.Fingerprint == atlas {
			fresh = p.ID
		}
	}
	if len(ids) != 2 || ids[zqx] != edited || ids[atlas] != fresh {
		t.Errorf("second upsert ids = %v, want %s and %s", ids, edited, fresh)
	}
	if d := f.read(t, edited); d.Title != "edited" {
		t.Errorf("found-again gap was overwritten: %+v", d.Gap)
	}
}

func testGapLinksInsert(t *testing.T, f fixture) {
	docs := f.docs(t, 2, "source", "text")
	theirs := f.docsOf(t, f.other(t), 1)
	a, b := f.gap(t, "a", 2, 1), f.gap(t, "b", 2, 1)
	links := []engram.GapLink{{GapID: a, DocumentID: docs[0]}, {GapID: a, DocumentID: docs[1]}, {GapID: b, DocumentID: docs[1]},
		{GapID: b, DocumentID: engram.NewID()}, {GapID: b, DocumentID: theirs[0]}}
	for range 2 { // the second time every link exists already
		f.inTxOne(t, "GapLinksInsert", 1, func(ctx context.Context, tx engram.Tx) error {
			return tx.GapLinksInsert(ctx, f.tenant, links)
		})
	}
	if got, want := f.read(t, a).DocumentIDs, slices.Sorted(slices.Values(docs)); !slices.Equal(got, want) {
		t.Errorf("documents of a = %v, want %v", got, want)
	}
	if got := f.read(t, b).DocumentIDs; !slices.Equal(got, docs[1:]) {
		t.Errorf("documents of b = %v, want %v", got, docs[1:])
	}
}
