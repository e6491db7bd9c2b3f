package drivertest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// testSearch covers SearchLexical, SearchWordChunks and SearchReindex: one statement per
// search, BM25 order with the title weighted, best chunk or every chunk,
// the filters and their defaults, paging, other tenants, and the index
// kept by the delete batches of delete-all and of a connector's delete.
func testSearch(t *testing.T, h Harness) {
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()
	word := func(w string) engram.SearchQuery {
		return engram.SearchQuery{All: [][]engram.SearchTerm{{{w}}}}
	}
	search := func(r engram.SearchRequest) []engram.SearchHit {
		t.Helper()
		if r.Limit == 0 {
			r.Limit = 100
		}
		if r.TitleWeight == 0 {
			r.TitleWeight = 2
		}
		var hits []engram.SearchHit
		count(t, "SearchLexical", 1, func(ctx context.Context) (err error) {
			hits, err = f.d.Reader().SearchLexical(ctx, f.tenant, r)
			return err
		})
		return hits
	}
	ids := func(hits []engram.SearchHit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.DocumentID)
		}
		return out
	}

	long := strings.Repeat("Filler words about nothing in particular. ", 60) + "The osprey appears once here."
	in := []engram.NewDocument{
		{Title: "Osprey sightings", Content: "Seen near the lake.", SourceType: "note", SenderEmail: "ann@acme.com"},
		{Title: "Lake report", Content: "An osprey, an osprey, and more osprey by the lake.", SourceType: "mail"},
		{Title: "Long read", Content: long + " " + long},
	}
	p, err := engram.PrepareDocuments(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateDocuments(ctx, f.tenant, p); err != nil {
		t.Fatal(err)
	}
	title, text, longDoc := p[0].ID, p[1].ID, p[2].ID
	other := f.otherTenant(t)
	theirs, _ := engram.PrepareDocuments([]engram.NewDocument{{Title: "Osprey osprey osprey", Content: "osprey"}})
	if err := f.s.CreateDocuments(ctx, other, theirs); err != nil {
		t.Fatal(err)
	}

	// Chunk counts per word: the tenant's only, stopped at the limit, a
	// word no chunk holds missing or 0; one statement.
	var counts map[string]int
	count(t, "SearchWordChunks", 1, func(ctx context.Context) (err error) {
		counts, err = f.d.Reader().SearchWordChunks(ctx, f.tenant, []string{"lake", "filler", "zzyzx", "sightings"}, 1000)
		return err
	})
	if counts["lake"] != 2 || counts["sightings"] != 1 || counts["zzyzx"] != 0 || counts["filler"] < 2 {
		t.Fatalf("SearchWordChunks = %v, want lake 2, sightings 1, filler 2 or more, zzyzx 0", counts)
	}
	count(t, "SearchWordChunks limited", 1, func(ctx context.Context) (err error) {
		counts, err = f.d.Reader().SearchWordChunks(ctx, other, []string{"osprey", "lake"}, 1)
		return err
	})
	if counts["osprey"] != 1 || counts["lake"] != 0 {
		t.Fatalf("SearchWordChunks of the other tenant, limit 1 = %v, want osprey 1, lake 0", counts)
	}

	hits := search(engram.SearchRequest{Query: word("osprey")})
	if got := ids(hits); len(got) != 3 || slices.Contains(got, theirs[0].ID) {
		t.Fatalf("osprey = %v", got)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score || hits[i].Score <= 0 {
			t.Fatalf("scores not descending and positive: %+v", hits)
		}
	}
	if hits[0].DocumentID == longDoc {
		t.Fatalf("the long document with one mention ranks first: %v", ids(hits))
	}
	// The title counts more: with a large weight the titled one leads.
	if h := search(engram.SearchRequest{Query: word("osprey"), TitleWeight: 20}); h[0].DocumentID != title {
		t.Fatalf("title weight 20: first is %s, want %s", h[0].DocumentID, title)
	}
	// Every chunk, or the best one per document.
	if len(p[2].Chunks) < 2 {
		t.Fatalf("the long document has %d chunks", len(p[2].Chunks))
	}
	chunks := search(engram.SearchRequest{Query: word("filler"), Chunks: true})
	if len(chunks) != len(p[2].Chunks) {
		t.Fatalf("group=chunks found %d chunks, want %d", len(chunks), len(p[2].Chunks))
	}
	if best := search(engram.SearchRequest{Query: word("filler")}); len(best) != 1 || best[0].ChunkContent == "" {
		t.Fatalf("best chunk = %+v", best)
	}
	// Paging.
	page1 := search(engram.SearchRequest{Query: word("osprey"), Limit: 2})
	page2 := search(engram.SearchRequest{Query: word("osprey"), Limit: 2, Offset: 2})
	if got := append(ids(page1), ids(page2)...); !slices.Equal(got, ids(hits)) {
		t.Fatalf("pages = %v, want %v", got, ids(hits))
	}
	// Filters.
	note, email := "note", "ann@acme.com"
	after := time.Now().Add(-time.Hour)
	before := time.Now().Add(-time.Minute * 59)
	for _, c := range []struct {
		name string
		f    engram.SearchFilter
		want []string
	}{
		{"source_type", engram.SearchFilter{SourceType: &note}, []string{title}},
		{"sender_email", engram.SearchFilter{SenderEmail: &email}, []string{title}},
		{"created_after", engram.SearchFilter{CreatedAfter: &after}, []string{title, text, longDoc}},
		{"created_before", engram.SearchFilter{CreatedBefore: &before}, nil},
	} {
		got := ids(search(engram.SearchRequest{Query: word("osprey"), Filter: c.f}))
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("filter %s = %v, want %v", c.name, got, want)
		}
	}
	// Spam and rejected documents only when asked for.
	if _, err := f.s.SetClassification(ctx, f.tenant, f.actor, []string{title}, engram.ClassSpam); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RejectDocuments(ctx, f.tenant, f.actor, []string{text}, ""); err != nil {
		t.Fatal(err)
	}
	if got := ids(search(engram.SearchRequest{Query: word("osprey")})); !slices.Equal(got, []string{longDoc}) {
		t.Fatalf("default filters = %v, want only %s", got, longDoc)
	}
	spam, rejected := engram.ClassSpam, engram.StatusRejected
	if got := ids(search(engram.SearchRequest{Query: word("osprey"), Filter: engram.SearchFilter{Classification: &spam}})); !slices.Equal(got, []string{title}) {
		t.Fatalf("classification=spam = %v", got)
	}
	if got := ids(search(engram.SearchRequest{Query: word("osprey"), Filter: engram.SearchFilter{Status: &rejected}})); !slices.Equal(got, []string{text}) {
		t.Fatalf("status=rejected = %v", got)
	}

	// Reindex: two statements a batch, and nothing changes.
	var last string
	var n int
	count(t, "SearchReindex", 2, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			last, n, err = tx.SearchReindex(ctx, f.tenant, engram.NilID, 100)
			return err
		})
	})
	if want := len(p[0].Chunks) + len(p[1].Chunks) + len(p[2].Chunks); n != want || last == "" {
		t.Fatalf("reindex = %q, %d chunks; want %d", last, n, want)
	}
	if got := ids(search(engram.SearchRequest{Query: word("filler")})); !slices.Equal(got, []string{longDoc}) {
		t.Fatalf("after reindex: filler = %v", got)
	}

	// A connector's hard delete batch and a delete-all batch leave no
	// entries behind.
	c, err := f.s.CreateConnector(ctx, f.tenant, f.actor, "push", "feed", json.RawMessage(`{}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := engram.PrepareSyncItems(c.ID, []engram.SourceItem{{ExternalID: "x", Title: "Pelican", Content: "A pelican."}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SyncBatch(ctx, f.tenant, c.ID, items, engram.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := search(engram.SearchRequest{Query: word("pelican")}); len(got) != 1 {
		t.Fatalf("pelican = %v", ids(got))
	}
	for _, b := range []engram.DeleteBatch{{Hard: true, ConnectorID: c.ID}, {Hard: true}} {
		if err := f.inTx(t, ctx, func(tx engram.Tx) error {
			b.After, b.Limit, b.Bound = engram.NilID, 1000, "ffffffff-ffff-ffff-ffff-ffffffffffff"
			_, err := tx.DocumentsDeleteBatch(ctx, f.tenant, b, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []string{"pelican", "osprey", "filler"} {
		if got := search(engram.SearchRequest{Query: word(w), Filter: engram.SearchFilter{Classification: &spam}}); len(got) != 0 {
			t.Fatalf("%s after delete-all = %v", w, ids(got))
		}
		if got := search(engram.SearchRequest{Query: word(w)}); len(got) != 0 {
			t.Fatalf("%s after delete-all = %v", w, ids(got))
		}
	}
}
