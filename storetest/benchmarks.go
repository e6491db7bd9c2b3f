package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/engram-kb/engram"
)

// Benchmarks of the store operations, run by each engine's tests
// (BenchmarkStore) so that benchstat can compare commits. They time the
// store call only; the documents each iteration works on are made with the
// timer stopped.

// RunBenchmarks runs every store benchmark on stores from newStore.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) engram.Store) {
	benchVectorSearch(b, newStore)
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint("Create/", n), func(b *testing.B) {
			s, tenant, _ := benchTenant(b, newStore)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				docs := make([]engram.NewDocument, n)
				for j := range docs {
					docs[j] = engram.NewDocument{Title: "bench", Content: "A short note about the release plan."}
				}
				p, _ := engram.PrepareDocuments(docs)
				b.StartTimer()
				if err := s.CreateDocuments(context.Background(), tenant, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, n := range []int{100, 1000, 10000} {
		for _, op := range []struct {
			name string
			run  func(s engram.Store, tenant, actor string, ids []string) error
		}{
			{"Confirm", func(s engram.Store, tenant, actor string, ids []string) error {
				_, err := s.ConfirmDocuments(context.Background(), tenant, actor, ids, nil)
				return err
			}},
			{"HardDelete", func(s engram.Store, tenant, actor string, ids []string) error {
				_, err := s.DeleteDocuments(context.Background(), tenant, actor, ids, true)
				return err
			}},
			{"Classify", func(s engram.Store, tenant, actor string, ids []string) error {
				_, err := s.ClassifyDocuments(context.Background(), tenant, actor, engram.ClassifySelection{IDs: ids}, fixedClassifier(engram.ClassWork, 0.8))
				return err
			}},
		} {
			b.Run(fmt.Sprintf("%s/%d", op.name, n), func(b *testing.B) {
				s, tenant, actor := benchTenant(b, newStore)
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ids := createDocs(b, s, tenant, n, "bench", "text")
					b.StartTimer()
					if err := op.run(s, tenant, actor, ids); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("Stats/10000", func(b *testing.B) {
		s, tenant, _ := benchTenant(b, newStore)
		createDocs(b, s, tenant, 10000, "bench", "text")
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.DocumentStats(context.Background(), tenant); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SyncBatch/500", func(b *testing.B) {
		s, tenant, actor := benchTenant(b, newStore)
		c, err := s.CreateConnector(context.Background(), tenant, actor, "push", "bench", json.RawMessage(`{}`), 0)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			items := syncItems(b, c.ID, fmt.Sprint("run", i), 500, "1")
			b.StartTimer()
			if _, err := s.SyncBatch(context.Background(), tenant, c.ID, items, engram.SyncOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchTenant(b *testing.B, newStore func(b *testing.B) engram.Store) (engram.Store, string, string) {
	b.Helper()
	s := newStore(b)
	tn, key, err := s.CreateTenant(context.Background(), "Bench", "bench")
	if err != nil {
		b.Fatal(err)
	}
	return s, tn.ID, key.ID
}
