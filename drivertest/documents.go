package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testDocuments(t *testing.T, h Harness) {
	t.Run("InsertRowsAndChunks", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		long := strings.Repeat("A paragraph about the quarterly roadmap. ", 120) // three chunks
		p, err := engram.PrepareDocuments([]engram.NewDocument{
			{Title: "long", Content: long, Recipients: []string{"a@x.io", "b@x.io"}},
			{Title: "short", Content: "text", Metadata: json.RawMessage(`{"k":"v"}`)},
			{Title: "empty"},
		})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2024, 2, 3, 4, 5, 6, 789000000, time.UTC)
		rowsSent := -1
		n := statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error {
				if err := tx.DocumentsInsert(ctx, f.tenant, p, at); err != nil {
					return err
				}
				rowsSent = statementsSoFar(ctx)
				return tx.ChunksInsert(ctx, f.tenant, p)
			})
		})
		wantStatements(t, "DocumentsInsert", rowsSent, 1)
		wantStatements(t, "ChunksInsert", n-rowsSent, 1)
		for i := range p {
			d, found, err := f.d.Reader().DocumentGet(context.Background(), f.tenant, p[i].ID, false)
			if err != nil || !found {
				t.Fatalf("document %d: %v, %v", i, found, err)
			}
			if d.Title != p[i].Title || d.Content == nil || *d.Content != p[i].Content || d.ContentHash != p[i].ContentHash ||
				d.ChunkCount != len(p[i].Chunks) || len(d.Recipients) != len(p[i].Recipients) ||
				!d.CreatedAt.Equal(at) || !d.UpdatedAt.Equal(at) || d.Status != engram.StatusPending {
				t.Errorf("document %d read back as %+v", i, d)
			}
		}
		if string(mustGet(t, f, p[1].ID).Metadata) != `{"k":"v"}` {
			t.Errorf("metadata = %s", mustGet(t, f, p[1].ID).Metadata)
		}
		// The chunks are there: inserting them again collides with them.
		err = f.d.Writer().ChunksInsert(context.Background(), f.tenant, p)
		if engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("second ChunksInsert: %v, want conflict", err)
		}
		if len(p[0].Chunks) < 3 {
			t.Fatalf("the long document has %d chunks, want at least 3", len(p[0].Chunks))
		}
	})

	t.Run("ListAndCount", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		in := make([]engram.NewDocument, 5)
		for i := range in {
			in[i] = engram.NewDocument{Title: fmt.Sprint("doc ", 4-i), Content: "text", SourceType: "api"}
		}
		in[4].SourceType = "mail"
		p, err := engram.PrepareDocuments(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.CreateDocuments(ctx, f.tenant, p); err != nil {
			t.Fatal(err)
		}
		// A deleted document and another tenant's are never listed.
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, []string{p[0].ID}, false); err != nil {
			t.Fatal(err)
		}
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		op, _ := engram.PrepareDocuments([]engram.NewDocument{{Title: "doc 9", Content: "text"}})
		if err := f.s.CreateDocuments(ctx, other.ID, op); err != nil {
			t.Fatal(err)
		}
		mail := "mail"
		byTitle := engram.DocumentFilter{Sort: engram.SortTitle, Limit: 2}
		cases := []struct {
			name   string
			f      engram.DocumentFilter
			titles string
		}{
			{"first page", byTitle, "doc 0,doc 1"},
			{"after a cursor", withCursor(byTitle, engram.Document{ID: p[3].ID, Title: "doc 1"}), "doc 2,doc 3"},
			{"offset", engram.DocumentFilter{Sort: engram.SortTitle, Limit: 10, Offset: 3}, "doc 3"},
			{"descending", engram.DocumentFilter{Sort: engram.SortTitle, Desc: true, Limit: 10}, "doc 3,doc 2,doc 1,doc 0"},
			{"filtered", engram.DocumentFilter{Sort: engram.SortCreatedAt, SourceType: &mail, Limit: 10}, "doc 0"},
		}
		for _, c := range cases {
			var docs []engram.Document
			n := statements(t, func(ctx context.Context) (err error) {
				docs, err = f.d.Reader().DocumentsList(ctx, f.tenant, c.f)
				return err
			})
			wantStatements(t, "DocumentsList "+c.name, n, 1)
			titles := make([]string, len(docs))
			for i, d := range docs {
				titles[i] = d.Title
				if d.Content != nil {
					t.Errorf("%s: a list item has content", c.name)
				}
			}
			if got := strings.Join(titles, ","); got != c.titles {
				t.Errorf("DocumentsList %s = %s, want %s", c.name, got, c.titles)
			}
			var count int
			n = statements(t, func(ctx context.Context) (err error) {
				count, err = f.d.Reader().DocumentsCount(ctx, f.tenant, c.f)
				return err
			})
			wantStatements(t, "DocumentsCount "+c.name, n, 1)
			want := 4
			if c.f.SourceType != nil {
				want = 1
			}
			if count != want {
				t.Errorf("DocumentsCount %s = %d, want %d (the page and cursor play no part)", c.name, count, want)
			}
		}
		_, err = f.d.Reader().DocumentsList(ctx, f.tenant, engram.DocumentFilter{Sort: "id; DROP TABLE documents", Limit: 1})
		if engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("DocumentsList with an unknown sort: %v, want invalid_argument", err)
		}
	})

	t.Run("Get", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ids := f.docs(t, 2, "got", "content")
		if _, err := f.s.DeleteDocuments(context.Background(), f.tenant, f.actor, ids[1:], false); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name           string
			tenant, id     string
			includeDeleted bool
			want           bool
		}{
			{"live", f.tenant, ids[0], false, true},
			{"deleted", f.tenant, ids[1], false, false},
			{"deleted included", f.tenant, ids[1], true, true},
			{"missing", f.tenant, engram.NewID(), true, false},
			{"another tenant's", engram.NewID(), ids[0], true, false},
		}
		for _, c := range cases {
			var d engram.Document
			var found bool
			n := statements(t, func(ctx context.Context) (err error) {
				d, found, err = f.d.Reader().DocumentGet(ctx, c.tenant, c.id, c.includeDeleted)
				return err
			})
			wantStatements(t, "DocumentGet "+c.name, n, 1)
			if found != c.want || (found && (d.ID != c.id || d.Content == nil || *d.Content != "content")) {
				t.Errorf("DocumentGet %s = %+v, %v; want found %v", c.name, d, found, c.want)
			}
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ids := f.docs(t, 2, "before", "content")
		if _, err := f.s.DeleteDocuments(context.Background(), f.tenant, f.actor, ids[1:], false); err != nil {
			t.Fatal(err)
		}
		title := "after"
		meta := `{"k":"v"}`
		at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		cases := []struct {
			name  string
			id    string
			patch engram.DocumentPatch
			want  bool
		}{
			{"title", ids[0], engram.DocumentPatch{Title: &title}, true},
			{"metadata", ids[0], engram.DocumentPatch{MetadataJSON: &meta}, true},
			{"deleted", ids[1], engram.DocumentPatch{Title: &title}, false},
			{"missing", engram.NewID(), engram.DocumentPatch{Title: &title}, false},
		}
		for _, c := range cases {
			var d engram.Document
			var found bool
			n := statements(t, func(ctx context.Context) (err error) {
				d, found, err = f.d.Writer().DocumentUpdate(ctx, f.tenant, c.id, c.patch, at)
				return err
			})
			wantStatements(t, "DocumentUpdate "+c.name, n, 1)
			if found != c.want || (found && (d.ID != c.id || d.Content == nil || !d.UpdatedAt.Equal(at))) {
				t.Errorf("DocumentUpdate %s = %+v, %v; want found %v", c.name, d, found, c.want)
			}
		}
		// Each patch left the other field as it was.
		d := mustGet(t, f, ids[0])
		if d.Title != "after" || string(d.Metadata) != meta || !d.UpdatedAt.Equal(at) {
			t.Errorf("after DocumentUpdate: %+v", d)
		}
		if d := mustGet(t, f, ids[1]); d.Title != "before" {
			t.Errorf("DocumentUpdate changed a deleted document: %+v", d)
		}
	})
}

// testDamage: a stored JSON value that does not decode is an internal
// error of every read that maps it, never an empty value.
func testDamage(t *testing.T, h Harness) {
	if h.Damage == nil {
		t.Skip("the harness cannot damage rows")
	}
	t.Parallel()
	f := newFixture(t, h)
	ctx := context.Background()
	id := f.docs(t, 1, "damaged", "text")[0]
	h.Damage(t, f.d, f.tenant, id)
	_, _, err := f.d.Reader().DocumentGet(ctx, f.tenant, id, false)
	wantInternal(t, "DocumentGet", err)
	_, err = f.d.Reader().DocumentsList(ctx, f.tenant, engram.DocumentFilter{Sort: engram.SortCreatedAt, Limit: 10})
	wantInternal(t, "DocumentsList", err)
	title := "renamed"
	_, _, err = f.d.Writer().DocumentUpdate(ctx, f.tenant, id, engram.DocumentPatch{Title: &title}, time.Now())
	wantInternal(t, "DocumentUpdate", err)
	_, _, err = f.d.Reader().TenantBySlug(ctx, "acme")
	wantInternal(t, "TenantBySlug", err)
}

// wantInternal fails the test unless err is an internal error.
func wantInternal(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || engram.ErrorCode(err) != engram.EInternal {
		t.Errorf("%s of a damaged row: %v, want an internal error", what, err)
	}
}

// withCursor returns f positioned after d.
func withCursor(f engram.DocumentFilter, d engram.Document) engram.DocumentFilter {
	c := engram.CursorFor(d, f.Sort, f.Desc)
	f.Cursor = &c
	return f
}

// mustGet reads a document, deleted or not, through the driver.
func mustGet(t *testing.T, f fixture, id string) engram.Document {
	t.Helper()
	d, found, err := f.d.Reader().DocumentGet(context.Background(), f.tenant, id, true)
	if err != nil || !found {
		t.Fatalf("document %s: %v, %v", id, found, err)
	}
	return d
}
