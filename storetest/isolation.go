package storetest

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
)

// testIsolation shows that tenant B can neither read, change, delete nor
// count tenant A's documents, even by mixing A's ids into its own lists.
func testIsolation(t *testing.T, h Harness) {
	t.Parallel()
	a := newFixture(t, h)
	ctx := context.Background()
	b, bKey, err := a.s.CreateTenant(ctx, "Beta", "beta")
	if err != nil {
		t.Fatal(err)
	}
	aIDs := createDocs(t, a.s, a.tenant.ID, 5, "a secret", "tenant A text")
	bIDs := createDocs(t, a.s, b.ID, 2, "b doc", "tenant B text")
	mixed := append(append([]string{}, bIDs...), aIDs...)
	actor := bKey.ID

	if _, err := a.s.GetDocument(ctx, b.ID, aIDs[0], true); engram.ErrorCode(err) != engram.ENotFound {
		t.Fatalf("B reads A's document: %v", err)
	}
	title := "hijacked"
	if _, err := a.s.UpdateDocument(ctx, b.ID, aIDs[0], engram.DocumentPatch{Title: &title}); engram.ErrorCode(err) != engram.ENotFound {
		t.Fatalf("B updates A's document: %v", err)
	}
	pg, err := a.s.ListDocuments(ctx, b.ID, engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 200, IncludeTotal: true})
	if err != nil || len(pg.Documents) != 2 || *pg.Total != 2 {
		t.Fatalf("B's list = %d documents, total %v, %v; want 2", len(pg.Documents), pg.Total, err)
	}

	check := func(name string, r engram.BulkResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		nf := map[string]bool{}
		for _, id := range r.NotFound {
			nf[id] = true
		}
		for _, id := range aIDs {
			if !nf[id] {
				t.Fatalf("%s: A's id %s not reported as not found: %+v", name, id, r)
			}
		}
		if r.Changed > len(bIDs) {
			t.Fatalf("%s changed %d rows, B has %d", name, r.Changed, len(bIDs))
		}
	}
	work := engram.ClassWork
	o, err := a.s.ClassifyDocuments(ctx, b.ID, actor, engram.ClassifySelection{IDs: mixed}, fixedClassifier(engram.ClassSpam, 0.9))
	check("classify", engram.BulkResult{Changed: o.Total, NotFound: o.NotFound}, err)
	r, err := a.s.SetClassification(ctx, b.ID, actor, mixed, engram.ClassSpam)
	check("set classification", r, err)
	r, err = a.s.ConfirmDocuments(ctx, b.ID, actor, mixed, &work)
	check("confirm", r, err)
	r, err = a.s.RejectDocuments(ctx, b.ID, actor, mixed, "x")
	check("reject", r, err)
	r, err = a.s.DeleteDocuments(ctx, b.ID, actor, mixed, false)
	check("soft delete", r, err)
	r, err = a.s.RestoreDocuments(ctx, b.ID, actor, mixed)
	check("restore", r, err)
	r, err = a.s.DeleteDocuments(ctx, b.ID, actor, mixed, true)
	check("hard delete", r, err)

	// A's documents are exactly as they were.
	for _, id := range aIDs {
		d := get(t, a, id)
		if d.Title != "a secret" || d.Status != engram.StatusPending || d.Classification != engram.ClassUnknown || d.IsDeleted || d.UserConfirmed {
			t.Fatalf("A's document changed by B: %+v", d)
		}
	}
	if got := a.in.DocumentRows(t, a.tenant.ID); got != 5 {
		t.Fatalf("A's document rows = %d, want 5", got)
	}
	st, err := a.s.DocumentStats(ctx, b.ID)
	if err != nil || st.Total != 0 {
		t.Fatalf("B's stats after deleting its own = %+v, %v", st, err)
	}
	st, _ = a.s.DocumentStats(ctx, a.tenant.ID)
	if st.Total != 5 || st.ByStatus[engram.StatusPending] != 5 {
		t.Fatalf("A's stats = %+v", st)
	}
}
