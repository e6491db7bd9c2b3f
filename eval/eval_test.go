package eval_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/eval"
	"github.com/engram-kb/engram/internal/embedtest"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/provider/openai"
)

// sliceFloor is the nDCG@10 that the first 40 man-page queries, over
// their pages and 40 others, must reach on each engine (measured: 0.9270
// on SQLite, 0.9287 on PostgreSQL; docs/SEARCH.md has the whole set's
// figures).
const sliceFloor = 0.85

func TestManpagesSlice(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "retrieval", "manpages")
	if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); err != nil {
		t.Skip("the man-page set is not beside the repository:", err)
	}
	set, err := eval.Load(dir, 40, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Queries) != 40 || len(set.Docs) < 40 {
		t.Fatalf("slice has %d queries and %d documents", len(set.Queries), len(set.Docs))
	}
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		rep, runs, err := eval.Run(context.Background(), s, s.Engine(), set, eval.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: nDCG@10 %.4f MRR@10 %.4f Recall@100 %.4f", rep.Engine, rep.NDCG10, rep.MRR10, rep.Recall100)
		if rep.NDCG10 < sliceFloor {
			t.Fatalf("%s: nDCG@10 %.4f below the floor %.2f", rep.Engine, rep.NDCG10, sliceFloor)
		}
		if len(runs) != len(set.Queries) {
			t.Fatalf("%d rankings for %d queries", len(runs), len(set.Queries))
		}
	})
}

func TestScore(t *testing.T) {
	rel := map[string]int{"a": 2}
	if n, m, r := eval.Score([]string{"x", "a"}, rel); m != 0.5 || r != 1 || n < 0.63 || n > 0.631 {
		t.Fatalf("Score = %v %v %v", n, m, r)
	}
	if n, m, r := eval.Score([]string{"x"}, rel); n != 0 || m != 0 || r != 0 {
		t.Fatalf("Score of a miss = %v %v %v", n, m, r)
	}
}

// TestManpagesSliceVectors runs the same slice in vector and hybrid mode
// with the hashing embedder of internal/embedtest behind the
// OpenAI-compatible client, the corpus embedded by the embedding jobs'
// batches. It checks the mechanics, not quality: the hashing embedder
// makes no semantic claim, so its figures (logged) say nothing about a
// real model. Every query must be answered, and hybrid results carry
// both ranks.
func TestManpagesSliceVectors(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "retrieval", "manpages")
	if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); err != nil {
		t.Skip("the man-page set is not beside the repository:", err)
	}
	set, err := eval.Load(dir, 40, 40)
	if err != nil {
		t.Fatal(err)
	}
	srv := embedtest.New(256)
	t.Cleanup(srv.Close)
	c, err := openai.NewClient(openai.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	e, err := openai.NewEmbeddings(c, openai.EmbeddingsConfig{Model: embedtest.Model, Dimensions: 256})
	if err != nil {
		t.Fatal(err)
	}
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		s.SetEmbedder(e)
		for _, mode := range []engram.SearchMode{engram.SearchVector, engram.SearchHybrid} {
			rep, runs, err := eval.Run(context.Background(), s, s.Engine(), set, eval.Options{Mode: mode,
				Embed: func(ctx context.Context, tenantID string) error {
					for {
						p, err := s.EmbedBatch(ctx, tenantID, e, 64)
						if err != nil || p.Read == 0 {
							return err
						}
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s (hashing embedder): nDCG@10 %.4f MRR@10 %.4f Recall@100 %.4f", rep.Engine, mode, rep.NDCG10, rep.MRR10, rep.Recall100)
			if len(runs) != len(set.Queries) || rep.EmbedSeconds == 0 {
				t.Fatalf("%s: %d rankings for %d queries, embedded in %vs", mode, len(runs), len(set.Queries), rep.EmbedSeconds)
			}
			for _, r := range runs {
				if len(r.IDs) == 0 {
					t.Fatalf("%s: query %s has no results", mode, r.QueryID)
				}
			}
		}
	})
}
