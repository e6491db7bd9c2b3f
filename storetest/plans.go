package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// ExerciseAll makes every kind of store call for one tenant, with ctx, so
// that an engine's plan test can capture and EXPLAIN each statement the
// store sends. The tenant needs a push connector and at least 100 live
// documents; some of the connector's should have external ids ext-2,
// ext-4, … so the sync batch finds both known and new items.
func ExerciseAll(cctx context.Context, t *testing.T, s engram.Store, a, actor string) {
	t.Helper()
	page, err := s.ListDocuments(cctx, a, engram.DocumentFilter{Sort: engram.SortCreatedAt, Desc: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(page.Documents))
	for i, d := range page.Documents {
		ids[i] = d.ID
	}
	run := func(name string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	st, cl, src := engram.StatusClassified, engram.ClassWork, "mail"
	after := time.Now().Add(-time.Hour)
	for _, sort := range []engram.DocumentSort{engram.SortCreatedAt, engram.SortSourceCreatedAt, engram.SortTitle, engram.SortConfidence} {
		for _, desc := range []bool{false, true} {
			p, err := s.ListDocuments(cctx, a, engram.DocumentFilter{Sort: sort, Desc: desc, Limit: 50})
			run("list", err)
			c, _ := engram.DecodeCursor(p.NextCursor, sort, desc)
			_, err = s.ListDocuments(cctx, a, engram.DocumentFilter{Sort: sort, Desc: desc, Limit: 50, Cursor: c})
			run("list page 2", err)
		}
	}
	for _, f := range []engram.DocumentFilter{
		{Status: &st}, {Classification: &cl}, {NeedsReview: true}, {SourceType: &src},
		{CreatedAfter: &after}, {NeedsReview: true, Sort: engram.SortConfidence},
	} {
		if f.Sort == "" {
			f.Sort = engram.SortCreatedAt
		}
		f.Limit = 50
		_, err := s.ListDocuments(cctx, a, f)
		run("filtered list", err)
	}
	_, err = s.ListDocuments(cctx, a, engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 50, IncludeTotal: true, Status: &st})
	run("list with total", err)
	_, err = s.GetDocument(cctx, a, ids[0], false)
	run("get", err)
	title := "x"
	_, err = s.UpdateDocument(cctx, a, ids[0], engram.DocumentPatch{Title: &title})
	run("update", err)
	_, err = s.DocumentStats(cctx, a)
	run("stats", err)
	work := func(_ context.Context, in []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		out := make([]engram.ClassifyResult, len(in))
		for i := range out {
			out[i] = engram.ClassifyResult{Classification: engram.ClassWork, Confidence: 0.7}
		}
		return out, nil
	}
	_, err = s.ClassifyDocuments(cctx, a, actor, engram.ClassifySelection{IDs: ids[:50]}, work)
	run("classify", err)
	_, err = s.ClassifyDocuments(cctx, a, actor, engram.ClassifySelection{Limit: 50}, work)
	run("classify pending", err)
	_, err = s.ConfirmDocuments(cctx, a, actor, ids[:20], nil)
	run("confirm", err)
	_, err = s.SetClassification(cctx, a, actor, ids[20:30], engram.ClassSpam)
	run("set class", err)
	_, err = s.RejectDocuments(cctx, a, actor, ids[30:40], "no")
	run("reject", err)
	_, err = s.DeleteDocuments(cctx, a, actor, ids[40:50], false)
	run("soft delete", err)
	_, err = s.RestoreDocuments(cctx, a, actor, ids[40:50])
	run("restore", err)
	_, err = s.DeleteDocuments(cctx, a, actor, ids[50:100], true)
	run("hard delete", err)
	conns, err := s.ListConnectors(cctx, a)
	run("list connectors", err)
	items := make([]engram.SourceItem, 100)
	for i := range items {
		// Half of them exist already (seeded as ext-2, ext-4, …).
		items[i] = engram.SourceItem{ExternalID: fmt.Sprint("ext-", i*2), Title: "synced", Content: fmt.Sprint("v2 ", i)}
	}
	prepared, _, err := engram.PrepareSyncItems(conns[0].ID, items, true)
	run("prepare sync", err)
	runID := engram.NewID()
	_, err = s.SyncBatch(cctx, a, conns[0].ID, prepared, engram.SyncOptions{RunID: runID})
	run("sync batch", err)
	_, err = s.FinishFullSync(cctx, a, conns[0].ID, runID, true)
	run("finish full sync", err)
	docs, err := engram.PrepareDocuments([]engram.NewDocument{{Title: "new", Content: "new text"}})
	run("prepare", err)
	run("create", s.CreateDocuments(cctx, a, docs))
	exerciseGaps(cctx, t, s, a, actor, ids[:5])

}

// exerciseGaps makes every kind of gap store call.
func exerciseGaps(cctx context.Context, t *testing.T, s engram.Store, a, actor string, docIDs []string) {
	t.Helper()
	run := func(name string, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	g, err := engram.NewGap{Title: "Who owns Hermes?", Category: engram.GapCategory("context"), Priority: 3,
		Questions: []string{"Who owns it?", "Where is it documented?"}, DocumentIDs: docIDs}.Prepare()
	run("prepare gap", err)
	created, err := s.CreateGap(cctx, a, g)
	run("create gap", err)
	open := engram.GapStatus("open")
	cat := engram.GapCategory("decision")
	p, err := s.ListGaps(cctx, a, engram.GapFilter{Limit: 50})
	run("list gaps", err)
	if p.NextCursor != "" {
		c, err := engram.DecodeGapCursor(p.NextCursor)
		run("gap cursor", err)
		_, err = s.ListGaps(cctx, a, engram.GapFilter{Limit: 50, Cursor: c})
		run("list gaps page 2", err)
	}
	_, err = s.ListGaps(cctx, a, engram.GapFilter{Limit: 50, Status: &open, PriorityMin: 3})
	run("list open gaps", err)
	_, err = s.ListGaps(cctx, a, engram.GapFilter{Limit: 50, Category: &cat})
	run("list gaps by category", err)
	_, err = s.GetGap(cctx, a, created.ID)
	run("get gap", err)
	title := "Who owns the Hermes service?"
	_, err = s.UpdateGap(cctx, a, created.ID, engram.GapPatch{Title: &title})
	run("update gap", err)
	ans, err := s.AddGapAnswer(cctx, a, actor, created.ID, 0, "The platform team.")
	run("answer", err)
	_, err = s.UpdateGapAnswer(cctx, a, actor, created.ID, ans.Answer.ID, "The platform team (Ann).")
	run("update answer", err)
	_, err = s.VerifyGapAnswer(cctx, a, actor, created.ID, ans.Answer.ID)
	run("verify answer", err)
	_, err = s.AddGapFeedback(cctx, a, actor, created.ID, true, "useful")
	run("feedback", err)
	_, err = s.GapStats(cctx, a)
	run("gap stats", err)
	_, err = s.SetGapStatus(cctx, a, actor, []string{created.ID, engram.NewID()}, engram.GapStatus("closed"))
	run("bulk gap status", err)
	_, err = s.CountAnalysisDocuments(cctx, a)
	run("count analysis documents", err)
	adocs, err := s.ListAnalysisDocuments(cctx, a, "", 50)
	run("list analysis documents", err)
	if len(adocs) > 0 {
		props, err := engram.PrepareProposals([]engram.GapProposal{{Category: engram.GapCategory("process"), Subject: "release freeze",
			Title: "How does the release freeze work?", Priority: 3, Questions: []string{"What are the steps?"},
			Evidence: []engram.GapEvidence{{DocumentID: adocs[0].ID, Sentence: "Follow the release freeze process."}}}}, adocs, "test")
		run("prepare proposals", err)
		_, err = s.UpsertGapProposals(cctx, a, actor, props)
		run("upsert proposals", err)
	}
	run("delete gap", s.DeleteGap(cctx, a, actor, created.ID))
}
