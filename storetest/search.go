package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// testSearch checks lexical search on the engine: every write path keeps
// the index exact, other tenants are never hits, hostile queries are
// safe, filters and paging hold, and a search costs the same statements at two
// tenant sizes.
func testSearch(t *testing.T, h Harness) {
	t.Run("WritePaths", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		docs := mustPrepare(t, []engram.NewDocument{
			{Title: "Quarterly roadmap", Content: "The migration to the new billing platform slips to October."},
			{Title: "Lunch menu", Content: "Soup, bread and a crème brûlée for dessert."},
		})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, docs); err != nil {
			t.Fatal(err)
		}
		road, lunch := docs[0].ID, docs[1].ID
		wantHits(t, f, "billing", road)
		wantHits(t, f, "creme brulee", lunch) // diacritics folded
		wantHits(t, f, "PLATFORM", road)      // case folded
		wantHits(t, f, "platforms")           // not stemmed (docs/SEARCH.md)

		// An edited title is found by its new words, not its old ones.
		title := "Zeppelin budget"
		if _, err := f.s.UpdateDocument(ctx, f.tenant.ID, road, engram.DocumentPatch{Title: &title}); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "zeppelin", road)
		wantHits(t, f, "quarterly")
		wantHits(t, f, "billing", road)

		// Soft delete hides, restore shows, hard delete removes.
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}, false); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "billing")
		if _, err := f.s.RestoreDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "billing", road)
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{road}, true); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "billing")

		// A sync inserts, then a changed item replaces its words.
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "notes", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		push := func(content string) string {
			p, _, err := engram.PrepareSyncItems(c.ID, []engram.SourceItem{{ExternalID: "n1", Title: "Field notes", Content: content}}, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, p, engram.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
			page, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "field notes"})
			if err != nil || len(page.Results) != 1 {
				t.Fatalf("search field notes = %+v, %v", page.Results, err)
			}
			return page.Results[0].DocumentID
		}
		note := push("Walrus colony counted at dawn.")
		wantHits(t, f, "walrus", note)
		push("Penguins only this time.")
		wantHits(t, f, "walrus")
		wantHits(t, f, "penguins", note)

		// Reindex changes nothing that search sees.
		if _, err := f.s.Reindex(ctx, f.tenant.ID); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "penguins", note)
		wantHits(t, f, "dessert", lunch)
		wantHits(t, f, "walrus")
	})

	t.Run("TenantsAndHostileQueries", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		mine := mustPrepare(t, []engram.NewDocument{{Title: "Kestrel report", Content: "A kestrel nests on the roof; see CA.pl and e-mail."}})
		theirs := mustPrepare(t, []engram.NewDocument{{Title: "Kestrel secret", Content: "Their kestrel nests elsewhere."}})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, mine); err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateDocuments(ctx, other.ID, theirs); err != nil {
			t.Fatal(err)
		}
		wantHits(t, f, "kestrel", mine[0].ID)
		wantHits(t, f, "secret")
		wantHits(t, f, `"kestrel nests" -elsewhere`, mine[0].ID)
		wantHits(t, f, "kestrel -roof")
		wantHits(t, f, "zebra OR roof", mine[0].ID)
		wantHits(t, f, "ca.pl", mine[0].ID)
		hostile := []string{`"`, `"unbalanced kestrel`, `kestrel"`, `NEAR(a b)`, `title:kestrel`, `*`, `kestrel*`,
			`'; DROP TABLE documents; --`, `a & b | !c <-> d`, `(((`, `)`, `-`, `--`, `OR`, `AND OR NOT`, "😀 kestrel 🦅",
			`\`, `''`, `{}`, strings.Repeat("kestrel ", 2000), strings.Repeat("x", 20000), "-kestrel", "the", "!!!"}
		for _, q := range hostile {
			if _, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: q}); err != nil {
				t.Errorf("Search(%.40q) = %v, want no error", q, err)
			}
		}
		for _, q := range []string{"", "   ", "\n\t"} {
			_, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: q})
			wantCode(t, err, engram.EInvalid)
		}
	})

	t.Run("FiltersPagingStatements", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		counts := map[int]int{}
		total := 0
		for _, n := range []int{10, 300} {
			var nd []engram.NewDocument
			for i := total; i < n; i++ {
				nd = append(nd, engram.NewDocument{Title: fmt.Sprintf("Harbour log %d", i),
					Content: fmt.Sprintf("Entry %d: the harbour tide was %s.", i, strings.Repeat("calm ", i%7+1))})
			}
			if err := f.s.CreateDocuments(ctx, f.tenant.ID, mustPrepare(t, nd)); err != nil {
				t.Fatal(err)
			}
			total = n
			cctx, st := counted()
			page, err := f.s.Search(cctx, f.tenant.ID, engram.SearchInput{Query: "harbour tide", Limit: 5})
			if err != nil || len(page.Results) != 5 || !page.HasMore {
				t.Fatalf("search at %d: %d results, more %v, %v", n, len(page.Results), page.HasMore, err)
			}
			counts[n] = st.Count()
		}
		// Two words: one statement ranks; on an engine that scores by
		// every word, one before it reads their counts (the plan of which
		// find the candidates).
		want := 1
		if capabilities(t, f.s).SearchAllWords {
			want = 2
		}
		if counts[10] != want || counts[300] != want {
			t.Fatalf("statements per search = %v, want %d at both sizes", counts, want)
		}
		// Paging walks every document once.
		seen := map[string]bool{}
		in := engram.SearchInput{Query: "harbour", Limit: 100}
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
				if r.Ranks.Lexical == nil || r.Snippet == "" || len(r.Matches) == 0 {
					t.Fatalf("result without rank, snippet or matches: %+v", r)
				}
				s := []rune(r.Snippet)
				if m := r.Matches[0]; !strings.EqualFold(string(s[m.Start:m.End]), "harbour") {
					t.Fatalf("match %v of %q is %q", m, r.Snippet, string(s[m.Start:m.End]))
				}
			}
			if !page.HasMore {
				break
			}
			in.Cursor = page.NextCursor
		}
		if len(seen) != 300 {
			t.Fatalf("paging saw %d documents, want 300", len(seen))
		}
		_, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "tide", Cursor: in.Cursor})
		wantCode(t, err, engram.EInvalid)

		// Spam is left out unless asked for.
		page, err := f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "harbour", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		id := page.Results[0].DocumentID
		if _, err := f.s.SetClassification(ctx, f.tenant.ID, f.key.ID, []string{id}, engram.ClassSpam); err != nil {
			t.Fatal(err)
		}
		page, _ = f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "harbour", Limit: 100})
		if slices.ContainsFunc(page.Results, func(r engram.SearchResult) bool { return r.DocumentID == id }) {
			t.Fatal("a spam document is a hit by default")
		}
		spam := engram.ClassSpam
		page, _ = f.s.Search(ctx, f.tenant.ID, engram.SearchInput{Query: "harbour", Filter: engram.SearchFilter{Classification: &spam}})
		if len(page.Results) != 1 || page.Results[0].DocumentID != id {
			t.Fatalf("classification=spam = %+v", page.Results)
		}
	})
}

// wantHits checks that a search of f's tenant finds exactly the
// documents ids.
func wantHits(t *testing.T, f fixture, q string, ids ...string) {
	t.Helper()
	page, err := f.s.Search(context.Background(), f.tenant.ID, engram.SearchInput{Query: q, Limit: 100})
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	var got []string
	for _, r := range page.Results {
		got = append(got, r.DocumentID)
	}
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Search(%q) = %v, want %v", q, got, want)
	}
}
