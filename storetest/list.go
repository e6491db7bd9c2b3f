package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// listFixture makes documents whose sort columns take repeated values and
// NULLs, so keyset pagination is tested on ties and on NULL boundaries.
func listFixture(t *testing.T, h Harness) (fixture, []engram.Document) {
	f := newFixture(t, h)
	ctx := context.Background()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var docs []engram.NewDocument
	for i := 0; i < 40; i++ {
		d := engram.NewDocument{Title: fmt.Sprintf("title %02d", i%7), Content: "c", SourceType: []string{"api", "folder"}[i%2]}
		if i%3 != 0 {
			sc := base.Add(time.Duration(i%5) * time.Hour)
			d.SourceCreatedAt = &sc
		}
		docs = append(docs, d)
	}
	p := mustPrepare(t, docs)
	if err := f.s.CreateDocuments(ctx, f.tenant.ID, p); err != nil {
		t.Fatal(err)
	}
	// Give some documents a confidence (others keep NULL), with ties.
	var ids []string
	for i := 0; i < 25; i++ {
		ids = append(ids, p[i].ID)
	}
	confs := map[string]float64{}
	for i, id := range ids {
		confs[id] = []float64{0.3, 0.5, 0.9}[i%3]
	}
	_, err := f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: ids},
		func(_ context.Context, in []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			out := make([]engram.ClassifyResult, len(in))
			for i, d := range in {
				out[i] = engram.ClassifyResult{Classification: engram.ClassWork, Confidence: confs[d.ID], Reason: "test"}
			}
			return out, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	all := make([]engram.Document, 0, len(p))
	for _, d := range p {
		got, err := f.s.GetDocument(ctx, f.tenant.ID, d.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got)
	}
	return f, all
}

// sortKey orders documents the way engram promises: NULL smallest, then
// the value, then the id.
func less(a, b engram.Document, s engram.DocumentSort) bool {
	cmp := func() int {
		switch s {
		case engram.SortTitle:
			return compare(a.Title, b.Title)
		case engram.SortCreatedAt:
			return a.CreatedAt.Compare(b.CreatedAt)
		case engram.SortSourceCreatedAt:
			switch {
			case a.SourceCreatedAt == nil && b.SourceCreatedAt == nil:
				return 0
			case a.SourceCreatedAt == nil:
				return -1
			case b.SourceCreatedAt == nil:
				return 1
			}
			return a.SourceCreatedAt.Compare(*b.SourceCreatedAt)
		default:
			switch {
			case a.ClassificationConfidence == nil && b.ClassificationConfidence == nil:
				return 0
			case a.ClassificationConfidence == nil:
				return -1
			case b.ClassificationConfidence == nil:
				return 1
			}
			x, y := *a.ClassificationConfidence, *b.ClassificationConfidence
			return compare(x, y)
		}
	}()
	if cmp != 0 {
		return cmp < 0
	}
	return a.ID < b.ID
}

func compare[T string | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testList(t *testing.T, h Harness) {
	t.Parallel()
	f, all := listFixture(t, h)
	ctx := context.Background()
	for _, s := range []engram.DocumentSort{engram.SortCreatedAt, engram.SortSourceCreatedAt, engram.SortTitle, engram.SortConfidence} {
		for _, desc := range []bool{false, true} {
			want := append([]engram.Document(nil), all...)
			sort.Slice(want, func(i, j int) bool {
				if desc {
					return less(want[j], want[i], s)
				}
				return less(want[i], want[j], s)
			})
			var got []string
			var cursor *engram.Cursor
			for page := 0; ; page++ {
				if page > 20 {
					t.Fatalf("%s desc=%v: pagination does not end", s, desc)
				}
				pg, err := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{Sort: s, Desc: desc, Limit: 7, Cursor: cursor})
				if err != nil {
					t.Fatalf("%s desc=%v: %v", s, desc, err)
				}
				for _, d := range pg.Documents {
					if d.Content != nil {
						t.Fatalf("list item carries content")
					}
					got = append(got, d.ID)
				}
				if !pg.HasMore {
					break
				}
				cursor, err = engram.DecodeCursor(pg.NextCursor, s, desc)
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%s desc=%v: listed %d documents, want %d", s, desc, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i].ID {
					t.Fatalf("%s desc=%v: position %d is %s, want %s", s, desc, i, got[i], want[i].ID)
				}
			}
		}
	}

	t.Run("FiltersOffsetTotal", func(t *testing.T) {
		work := engram.ClassWork
		classified := engram.StatusClassified
		folder := "folder"
		cases := []struct {
			name string
			f    engram.DocumentFilter
			want func(d engram.Document) bool
		}{
			{"classification", engram.DocumentFilter{Classification: &work}, func(d engram.Document) bool { return d.Classification == work }},
			{"status", engram.DocumentFilter{Status: &classified}, func(d engram.Document) bool { return d.Status == classified }},
			{"needs_review", engram.DocumentFilter{NeedsReview: true}, func(d engram.Document) bool { return d.Status == classified && !d.UserConfirmed }},
			{"source_type", engram.DocumentFilter{SourceType: &folder}, func(d engram.Document) bool { return d.SourceType == "folder" }},
			{"created_after", engram.DocumentFilter{CreatedAfter: &all[0].CreatedAt}, func(d engram.Document) bool { return !d.CreatedAt.Before(all[0].CreatedAt) }},
		}
		for _, c := range cases {
			want := 0
			for _, d := range all {
				if c.want(d) {
					want++
				}
			}
			c.f.Sort, c.f.Limit, c.f.IncludeTotal = engram.SortCreatedAt, 200, true
			pg, err := f.s.ListDocuments(ctx, f.tenant.ID, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Documents) != want || pg.Total == nil || *pg.Total != want || want == 0 {
				t.Fatalf("%s: got %d documents, total %v; want %d (> 0)", c.name, len(pg.Documents), pg.Total, want)
			}
			for _, d := range pg.Documents {
				if !c.want(d) {
					t.Fatalf("%s: document %s does not match", c.name, d.ID)
				}
			}
		}
		pg, err := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 10, Offset: 35})
		if err != nil || len(pg.Documents) != 5 || pg.HasMore {
			t.Fatalf("offset page: %d documents, has_more %v, %v; want 5, false", len(pg.Documents), pg.HasMore, err)
		}
	})
}
