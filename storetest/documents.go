package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testDocuments(t *testing.T, h Harness) {
	t.Run("CreateConstantStatements", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		long := strings.Repeat("A paragraph about the quarterly roadmap. ", 120) // ~4,900 chars: 3 chunks
		counts := map[int]int{}
		for _, n := range []int{1, 100, 1000} {
			docs := make([]engram.NewDocument, n)
			for i := range docs {
				docs[i] = engram.NewDocument{Title: "doc", Content: long, Recipients: []string{"a@x.io"}}
			}
			p := mustPrepare(t, docs)
			ctx, st := counted()
			if err := f.s.CreateDocuments(ctx, f.tenant.ID, p); err != nil {
				t.Fatalf("create %d: %v", n, err)
			}
			counts[n] = st.Count()
			if got := f.in.ChunkRows(t, f.tenant.ID, p[n-1].ID); got != len(p[n-1].Chunks) || got < 3 {
				t.Fatalf("chunk rows of last document = %d, want %d (>= 3)", got, len(p[n-1].Chunks))
			}
		}
		if counts[1] > 3 || counts[1] != counts[100] || counts[100] != counts[1000] {
			t.Fatalf("statements to create 1/100/1000 documents = %v, want the same count, at most 3", counts)
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 1101 {
			t.Fatalf("document rows = %d, want 1101", got)
		}
	})

	t.Run("GetAndUpdate", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		sc := time.Date(2024, 3, 1, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
		p := mustPrepare(t, []engram.NewDocument{{
			Title: "Réunion 会議", Content: "Grüße — 日本語のテキスト.\n\nSecond paragraph.", SourceType: "folder",
			Sender: "Ann", SenderEmail: "Ann@Example.COM", Recipients: []string{"bo@example.com"},
			SourceCreatedAt: &sc, Metadata: json.RawMessage(`{"tags":["x"],"n":1}`),
		}})
		if err := f.s.CreateDocuments(ctx, f.tenant.ID, p); err != nil {
			t.Fatal(err)
		}
		d, err := f.s.GetDocument(ctx, f.tenant.ID, p[0].ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if d.Title != "Réunion 会議" || d.Content == nil || *d.Content != p[0].Content || d.SourceType != "folder" ||
			d.SenderEmail != "ann@example.com" || len(d.Recipients) != 1 || d.Status != engram.StatusPending ||
			d.Classification != engram.ClassUnknown || d.ClassificationConfidence != nil || d.ChunkCount != 1 ||
			d.IsDeleted || d.UserConfirmed || d.ContentHash != p[0].ContentHash {
			t.Fatalf("document = %+v", d)
		}
		if d.SourceCreatedAt == nil || !d.SourceCreatedAt.Equal(sc.Truncate(time.Microsecond)) {
			t.Fatalf("source_created_at = %v, want %v", d.SourceCreatedAt, sc)
		}
		var meta map[string]any
		if err := json.Unmarshal(d.Metadata, &meta); err != nil || meta["n"] != float64(1) {
			t.Fatalf("metadata = %s", d.Metadata)
		}
		if got := f.in.ChunkRows(t, f.tenant.ID, d.ID); got != d.ChunkCount {
			t.Fatalf("chunk rows = %d, chunk_count = %d", got, d.ChunkCount)
		}

		title := "Renamed"
		patch := engram.DocumentPatch{Title: &title, Metadata: json.RawMessage(`{"k":"v"}`)}
		if err := patch.Validate(); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.UpdateDocument(ctx, f.tenant.ID, d.ID, patch)
		if err != nil {
			t.Fatal(err)
		}
		if u.Title != "Renamed" || string(u.Metadata) != `{"k":"v"}` || *u.Content != *d.Content {
			t.Fatalf("updated = %+v", u)
		}
		again, _ := f.s.GetDocument(ctx, f.tenant.ID, d.ID, false)
		if again.Title != "Renamed" {
			t.Fatalf("update not stored: %+v", again)
		}
		_, err = f.s.GetDocument(ctx, f.tenant.ID, engram.NewID(), false)
		wantCode(t, err, engram.ENotFound)
		_, err = f.s.UpdateDocument(ctx, f.tenant.ID, engram.NewID(), patch)
		wantCode(t, err, engram.ENotFound)
	})

	t.Run("FailedCreateWritesNothing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		conn := f.in.InsertConnector(t, f.tenant.ID)
		ext := "same-external-id"
		docs := make([]engram.NewDocument, 50)
		for i := range docs {
			docs[i] = engram.NewDocument{Title: "t", Content: "some content"}
		}
		// The last two collide on (connector_id, external_id).
		docs[48].ConnectorID, docs[48].ExternalID = &conn, &ext
		docs[49].ConnectorID, docs[49].ExternalID = &conn, &ext
		err := f.s.CreateDocuments(ctx, f.tenant.ID, mustPrepare(t, docs))
		wantCode(t, err, engram.EConflict)
		// A connector that does not exist in this tenant.
		other := engram.NewID()
		docs[49].ConnectorID, docs[49].ExternalID = &other, &ext
		docs[48].ConnectorID = nil
		err = f.s.CreateDocuments(ctx, f.tenant.ID, mustPrepare(t, docs))
		wantCode(t, err, engram.EInvalid)
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 0 {
			t.Fatalf("document rows after failed creates = %d, want 0", got)
		}
	})
}
