package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestRefreshStatistics: a table changed more than the threshold since its
// last analysis is analyzed, and then no longer counts as changed.
func TestRefreshStatistics(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tn, _, err := s.CreateTenant(ctx, "T", "t")
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]engram.NewDocument, 300)
	for i := range docs {
		docs[i] = engram.NewDocument{Title: fmt.Sprint("doc ", i), Content: "text"}
	}
	p, err := engram.PrepareDocuments(docs)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
		t.Fatal(err)
	}
	// The cumulative statistics reach pg_stat_user_tables when a backend
	// goes idle, within a second or so.
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = s.RefreshStatistics(ctx, 250); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "documents") {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Contains(got, "documents") || !slices.Contains(got, "document_chunks") {
		t.Fatalf("analyzed %v, want documents and document_chunks (300 new rows each)", got)
	}
	if slices.Contains(got, "knowledge_gaps") {
		t.Fatalf("analyzed %v: knowledge_gaps did not change", got)
	}
	var analyzed *time.Time
	if err := testdb.Postgres(s).Pool().QueryRow(ctx, `SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'documents' AND schemaname = current_schema()`).Scan(&analyzed); err != nil || analyzed == nil {
		t.Fatalf("documents last_analyze = %v, %v", analyzed, err)
	}
	if again, err := s.RefreshStatistics(ctx, 250); err != nil || slices.Contains(again, "documents") {
		t.Fatalf("second refresh analyzed %v, %v; want documents left alone", again, err)
	}
}
