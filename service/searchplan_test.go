package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/service"
)

// TestSearchRareWordsFind: on an engine that scores by every word
// (PostgreSQL), a query's common words do not find candidates once its
// rare ones fill the budget; a misspelt rare word does not leave the
// common ones without candidates; the plan costs one statement, and none
// for one word. On SQLite nothing is planned: every word finds.
func TestSearchRareWordsFind(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		tn, _, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		var nd []engram.NewDocument
		for i := range 40 {
			nd = append(nd, engram.NewDocument{Title: fmt.Sprintf("Harbour log %d", i), Content: "The harbour was calm today."})
		}
		nd = append(nd,
			engram.NewDocument{Title: "Ferry", Content: "The ferry left the harbour, the harbour master waved."},
			engram.NewDocument{Title: "Ferry notice", Content: "The ferry is late."})
		p, err := engram.PrepareDocuments(nd)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
			t.Fatal(err)
		}
		both, ferryOnly := p[40].ID, p[41].ID
		small := service.New(testdb.Driver(s), service.Options{SearchMatchBudget: 5})
		ids := func(page engram.SearchPage) []string {
			var out []string
			for _, r := range page.Results {
				out = append(out, r.DocumentID)
			}
			return out
		}
		search := func(st engram.Store, q string, want int) engram.SearchPage {
			t.Helper()
			cctx, stats := engram.WithQueryStats(ctx)
			page, err := st.Search(cctx, tn.ID, engram.SearchInput{Query: q, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if stats.Count() != want {
				t.Errorf("Search(%q) sent %d statements, want %d", q, stats.Count(), want)
			}
			return page
		}
		planned := testdb.Driver(s).Capabilities().SearchAllWords
		two := 1
		if planned {
			two = 2
		}
		// "harbour" is in 41 chunks, past the budget of 5: "ferry" (2)
		// alone finds.
		got := ids(search(small, "harbour ferry", two))
		slices.Sort(got)
		want := []string{both, ferryOnly}
		slices.Sort(want)
		if planned && !slices.Equal(got, want) {
			t.Errorf("budget 5: harbour ferry = %v, want %v", got, want)
		}
		if !planned && len(got) != 42 {
			t.Errorf("budget 5, not planned: harbour ferry found %d documents, want 42", len(got))
		}
		// With the default budget every word finds: 42 documents.
		if got := ids(search(s, "harbour ferry", two)); len(got) != 42 {
			t.Errorf("default budget: harbour ferry found %d documents, want 42", len(got))
		}
		// A word no chunk holds takes the next clause along.
		if got := ids(search(small, "harbour zzyzx", two)); len(got) != 41 {
			t.Errorf("budget 5: harbour zzyzx found %d documents, want 41", len(got))
		}
		// One clause needs no plan.
		if got := ids(search(small, "harbour", 1)); len(got) != 41 {
			t.Errorf("budget 5: harbour found %d documents, want 41", len(got))
		}
	})
}
