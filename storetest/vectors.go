package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/embedtest"
	"github.com/engram-kb/engram/provider/openai"
)

// vectorDims is the length of the test embedder's vectors.
const vectorDims = 64

// testEmbedder is an embeddings client of srv with short timeouts and
// backoffs, reporting dims.
func testEmbedder(t *testing.T, srv *embedtest.Server, dims int) engram.Embedder {
	t.Helper()
	c, err := openai.NewClient(openai.Config{BaseURL: srv.URL, Timeout: 300 * time.Millisecond, MaxAttempts: 3,
		BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e, err := openai.NewEmbeddings(c, openai.EmbeddingsConfig{Model: embedtest.Model, Dimensions: dims, SendDimensions: true, Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// embedAll runs embedding batches of the tenant until none is left and
// returns how many vectors they wrote.
func embedAll(t *testing.T, s engram.Store, tenantID string, e engram.Embedder) int {
	t.Helper()
	total := 0
	for range 1000 {
		p, err := s.EmbedBatch(context.Background(), tenantID, e, 7)
		if err != nil {
			t.Fatalf("EmbedBatch: %v", err)
		}
		if p.Read == 0 {
			return total
		}
		total += p.Written
	}
	t.Fatal("EmbedBatch never ran out of chunks")
	return 0
}

// vectorHits returns the documents a search in mode finds, best first.
func vectorHits(t *testing.T, f fixture, mode engram.SearchMode, q string) ([]string, engram.SearchPage) {
	t.Helper()
	page, err := f.s.Search(context.Background(), f.tenant.ID, engram.SearchInput{Query: q, Mode: mode, Limit: 100})
	if err != nil {
		t.Fatalf("Search(%q, %s): %v", q, mode, err)
	}
	var ids []string
	for _, r := range page.Results {
		ids = append(ids, r.DocumentID)
	}
	return ids, page
}

// testVectors checks embedding and vector and hybrid search on the
// engine, with a hashing embedder served over HTTP (embedtest: it
// matches shared words, nothing semantic): every write path keeps the
// vectors exact (a deleted document is never a vector hit, a changed
// chunk waits for its new vector and is found lexically meanwhile), a
// model change re-embeds, other tenants are never hits, provider faults
// fail a batch cleanly and never break a search, and the statement
// counts.
func testVectors(t *testing.T, h Harness) {
	t.Run("WritePaths", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		srv := embedtest.New(vectorDims)
		defer srv.Close()
		e := testEmbedder(t, srv, vectorDims)
		if _, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "x", Mode: engram.SearchVector}); engram.ErrorCode(err) != engram.EInvalid {
			t.Fatalf("vector search without an embedder: %v", err)
		}
		f.s.SetEmbedder(e)
		docs := mustPrepare(t, []engram.NewDocument{
			{Title: "Quarterly roadmap", Content: "The migration to the new billing platform slips to October."},
			{Title: "Lunch menu", Content: "Soup, bread and a crème brûlée for dessert."},
		})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, docs); err != nil {
			t.Fatal(err)
		}
		road, lunch := docs[0].ID, docs[1].ID
		// Not embedded yet: vector search finds nothing, hybrid finds by
		// words.
		if ids, _ := vectorHits(t, f, engram.SearchVector, "billing platform"); len(ids) != 0 {
			t.Fatalf("vector hits before embedding: %v", ids)
		}
		ids, page := vectorHits(t, f, "", "billing platform")
		if page.Mode != engram.SearchHybrid || !slices.Equal(ids, []string{road}) || page.Results[0].Ranks.Vector != nil || page.Results[0].Ranks.Lexical == nil {
			t.Fatalf("hybrid before embedding: %s %v %+v", page.Mode, ids, page.Results)
		}
		due, err := f.s.TenantsToEmbed(ctx, e, 100)
		if err != nil || !slices.Contains(due, f.tenant.ID) {
			t.Fatalf("TenantsToEmbed = %v, %v", due, err)
		}
		if n := embedAll(t, f.s, f.tenant.ID, e); n != 2 {
			t.Fatalf("embedded %d chunks, want 2", n)
		}
		st, err := f.s.EmbedStatus(ctx, f.tenant.ID, e)
		if err != nil || st.Chunks != 2 || st.Embedded != 2 || st.Model != embedtest.Model+"@64" {
			t.Fatalf("EmbedStatus = %+v, %v", st, err)
		}
		if due, _ := f.s.TenantsToEmbed(ctx, e, 100); slices.Contains(due, f.tenant.ID) {
			t.Fatal("a tenant with every chunk embedded is still due")
		}
		ids, page = vectorHits(t, f, engram.SearchVector, "billing platform October")
		if len(ids) == 0 || ids[0] != road || page.Results[0].Ranks.Vector == nil || *page.Results[0].Ranks.Vector != 1 ||
			page.Results[0].Ranks.Lexical != nil || page.Results[0].Score <= 0 {
			t.Fatalf("vector search = %v %+v", ids, page.Results)
		}
		ids, page = vectorHits(t, f, engram.SearchHybrid, "billing platform")
		if ids[0] != road || page.Results[0].Ranks.Vector == nil || page.Results[0].Ranks.Lexical == nil {
			t.Fatalf("hybrid search = %v %+v", ids, page.Results)
		}
		if want := 2.0 / (60 + 1); page.Results[0].Score != want {
			t.Fatalf("hybrid score of a document first in both = %v, want %v", page.Results[0].Score, want)
		}

		// Soft delete hides, restore shows, hard delete removes.
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}, false); err != nil {
			t.Fatal(err)
		}
		if ids, _ := vectorHits(t, f, engram.SearchVector, "billing platform October"); slices.Contains(ids, road) {
			t.Fatal("a soft-deleted document is a vector hit")
		}
		if _, err := f.s.RestoreDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}); err != nil {
			t.Fatal(err)
		}
		if ids, _ := vectorHits(t, f, engram.SearchVector, "billing platform October"); !slices.Contains(ids, road) {
			t.Fatal("a restored document is not a vector hit")
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}, true); err != nil {
			t.Fatal(err)
		}
		if ids, _ := vectorHits(t, f, engram.SearchVector, "billing platform October"); slices.Contains(ids, road) {
			t.Fatal("a hard-deleted document is a vector hit")
		}
		if st, _ := f.s.EmbedStatus(ctx, f.tenant.ID, e); st.Chunks != 1 || st.Embedded != 1 {
			t.Fatalf("after the hard delete: %+v", st)
		}

		// A changed item's chunk waits for its new vector: its old one
		// is gone with the old text, and the words find it meanwhile.
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "notes", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		push := func(content string) {
			p, _, err := engram.PrepareSyncItems(c.ID, []engram.SourceItem{{ExternalID: "n1", Title: "Field notes", Content: content}}, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, p, engram.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		push("Walrus colony counted at dawn.")
		embedAll(t, f.s, f.tenant.ID, e)
		walrus, _ := vectorHits(t, f, engram.SearchVector, "walrus colony dawn")
		if len(walrus) == 0 {
			t.Fatal("the synced note is not a vector hit")
		}
		note := walrus[0]
		push("Penguins only this time.")
		if st, _ := f.s.EmbedStatus(ctx, f.tenant.ID, e); st.Embedded != st.Chunks-1 {
			t.Fatalf("after a change: %+v, want the changed chunk not embedded", st)
		}
		if ids, _ := vectorHits(t, f, engram.SearchVector, "walrus colony dawn"); slices.Contains(ids, note) {
			t.Fatal("a changed note is a vector hit by its old text")
		}
		ids, page = vectorHits(t, f, engram.SearchHybrid, "penguins")
		if i := slices.Index(ids, note); i < 0 || page.Results[i].Ranks.Lexical == nil || page.Results[i].Ranks.Vector != nil {
			t.Fatalf("hybrid before the new vector = %v %+v", ids, page.Results)
		}
		if n := embedAll(t, f.s, f.tenant.ID, e); n != 1 {
			t.Fatalf("re-embedded %d chunks after a change, want 1", n)
		}
		if ids, _ := vectorHits(t, f, engram.SearchVector, "penguins only this time"); len(ids) == 0 || ids[0] != note {
			t.Fatalf("vector search for the new text = %v", ids)
		}

		_ = lunch
	})

	t.Run("Tenants", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		srv := embedtest.New(vectorDims)
		defer srv.Close()
		e := testEmbedder(t, srv, vectorDims)
		f.s.SetEmbedder(e)
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		theirs := mustPrepare(t, []engram.NewDocument{{Title: "Secret plans", Content: "Zeppelin hangar blueprints."}})
		if err := f.s.CreateDocuments(ctx, other.ID, theirs); err != nil {
			t.Fatal(err)
		}
		ours := mustPrepare(t, []engram.NewDocument{{Title: "Notes", Content: "Nothing about airships here."}})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, ours); err != nil {
			t.Fatal(err)
		}
		embedAll(t, f.s, other.ID, e)
		embedAll(t, f.s, f.tenant.ID, e)
		for _, mode := range []engram.SearchMode{engram.SearchVector, engram.SearchHybrid} {
			ids, _ := vectorHits(t, f, mode, "zeppelin hangar blueprints secret plans")
			if slices.Contains(ids, theirs[0].ID) {
				t.Fatalf("%s search found another tenant's document", mode)
			}
		}
		// A model change (here, its length) makes every chunk due again.
		e2 := testEmbedder(t, srv, vectorDims/2)
		if st, _ := f.s.EmbedStatus(ctx, f.tenant.ID, e2); st.Embedded != 0 || st.Chunks != 1 {
			t.Fatalf("status under a new model: %+v", st)
		}
		if n := embedAll(t, f.s, f.tenant.ID, e2); n != 1 {
			t.Fatalf("re-embedded %d chunks under a new model, want 1", n)
		}
		f.s.SetEmbedder(e2)
		if ids, _ := vectorHits(t, f, engram.SearchVector, "airships notes"); !slices.Equal(ids, []string{ours[0].ID}) {
			t.Fatalf("vector search under the new model = %v", ids)
		}
	})

	t.Run("Faults", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		srv := embedtest.New(vectorDims)
		defer srv.Close()
		e := testEmbedder(t, srv, vectorDims)
		f.s.SetEmbedder(e)
		docs := mustPrepare(t, []engram.NewDocument{{Title: "Harbour log", Content: "The harbour tide was calm."}})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, docs); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			fault engram.SearchMode
			set   func()
			code  string
		}{
			{"500", func() { srv.SetFault(embedtest.ServerError) }, engram.EUnavailable},
			{"429", func() { srv.SetFault(embedtest.RateLimit) }, engram.EUnavailable},
			{"timeout", func() { srv.SetFault(embedtest.Hang) }, engram.EUnavailable},
			{"dimensions", func() { srv.SetFault(embedtest.WrongDimensions) }, engram.EInternal},
			{"malformed", func() { srv.SetFault(embedtest.Malformed) }, engram.EInternal},
		} {
			c.set()
			p, err := f.s.EmbedBatch(ctx, f.tenant.ID, e, 10)
			if engram.ErrorCode(err) != c.code || p.Written != 0 {
				t.Fatalf("%s: EmbedBatch = %+v, %v; want %s", c.fault, p, err, c.code)
			}
			if st, _ := f.s.EmbedStatus(ctx, f.tenant.ID, e); st.Embedded != 0 {
				t.Fatalf("%s: a failed batch stored vectors: %+v", c.fault, st)
			}
			// A search never breaks: hybrid answers by its words, vector
			// says the provider failed.
			ids, page := vectorHits(t, f, engram.SearchHybrid, "harbour tide")
			if page.Mode != engram.SearchLexical || !slices.Equal(ids, []string{docs[0].ID}) {
				t.Fatalf("%s: hybrid search = %s %v", c.fault, page.Mode, ids)
			}
			_, err = f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "harbour", Mode: engram.SearchVector})
			wantCode(t, err, engram.EUnavailable)
		}
		// A 429 and a 500 that pass are retried within the batch.
		srv.Script(embedtest.RateLimit, embedtest.ServerError)
		if p, err := f.s.EmbedBatch(ctx, f.tenant.ID, e, 10); err != nil || p.Written != 1 {
			t.Fatalf("EmbedBatch after a 429 and a 500 = %+v, %v", p, err)
		}
	})

	t.Run("Statements", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		srv := embedtest.New(vectorDims)
		defer srv.Close()
		e := testEmbedder(t, srv, vectorDims)
		f.s.SetEmbedder(e)
		counts := map[int][3]int{}
		total := 0
		for _, n := range []int{10, 200} {
			prev := total
			var nd []engram.NewDocument
			for i := total; i < n; i++ {
				nd = append(nd, engram.NewDocument{Title: "Harbour log", Content: "The harbour tide was calm and the gulls were loud."})
			}
			if err := f.s.CreateDocuments(ctx, f.tenant.ID, mustPrepare(t, nd)); err != nil {
				t.Fatal(err)
			}
			total = n
			cctx, st := counted()
			if p, err := f.s.EmbedBatch(cctx, f.tenant.ID, e, 500); err != nil || p.Written != n-prev {
				t.Fatalf("EmbedBatch at %d = %+v, %v", n, p, err)
			}
			batch := st.Count()
			cctx, st = counted()
			page, err := f.s.Search(cctx, f.tenant.ID, engram.SearchInput{Query: "harbour gulls", Mode: engram.SearchVector, Limit: 5})
			if err != nil || len(page.Results) != 5 || !page.HasMore {
				t.Fatalf("vector search at %d: %d results, %v", n, len(page.Results), err)
			}
			vector := st.Count()
			cctx, st = counted()
			// Every document matches both sides: the page is lexical hits.
			if page, err = f.s.Search(cctx, f.tenant.ID, engram.SearchInput{Query: "harbour gulls", Limit: 5}); err != nil || len(page.Results) != 5 {
				t.Fatalf("hybrid search at %d: %d results, %v", n, len(page.Results), err)
			}
			counts[n] = [3]int{batch, vector, st.Count()}
		}
		// A hybrid search of two words plans its lexical side first on an
		// engine that scores by every word (one more statement).
		hybrid := 2
		if capabilities(t, f.s).SearchAllWords {
			hybrid = 3
		}
		for n, c := range counts {
			if c != [3]int{2, 2, hybrid} {
				t.Fatalf("statements at %d documents (embed batch, vector search, hybrid search) = %v, want 2, 2, %d", n, c, hybrid)
			}
		}
		// Paging a vector search walks every document once.
		seen := map[string]bool{}
		in := engram.SearchInput{Query: "harbour", Mode: engram.SearchVector, Limit: 30}
		for {
			page, err := f.s.Search(ctx, f.tenant.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Results {
				if seen[r.DocumentID] {
					t.Fatalf("document %s on two pages", r.DocumentID)
				}
				seen[r.DocumentID] = true
			}
			if !page.HasMore {
				break
			}
			in.Cursor = page.NextCursor
		}
		if len(seen) != 200 {
			t.Fatalf("paging saw %d documents, want 200", len(seen))
		}
	})
}
