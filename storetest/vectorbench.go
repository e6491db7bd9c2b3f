package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// randomEmbedder gives random vectors: for timing the exact scan, whose
// cost does not depend on what the vectors mean.
type randomEmbedder struct{ dims int }

func (e randomEmbedder) Model() string   { return "random" }
func (e randomEmbedder) Dimensions() int { return e.dims }
func (e randomEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		v := make([]float32, e.dims)
		for j := range v {
			v[j] = rand.Float32()*2 - 1
		}
		out[i] = v
	}
	return out, nil
}

// benchVectorSearch times vector searches (mode vector, one document
// per result, 20 results) of a tenant of n one-chunk documents with
// vectors of dims numbers, and reports the p50 and p95 of the searches'
// times. The sizes and lengths come from ENGRAM_BENCH_VECTOR_CHUNKS and
// ENGRAM_BENCH_VECTOR_DIMS (comma-separated; defaults 1000,10000 and
// 384), so that a longer measurement is asked for, not run by default.
func benchVectorSearch(b *testing.B, newStore func(b *testing.B) engram.Store) {
	sizes, dimses := envInts("ENGRAM_BENCH_VECTOR_CHUNKS", []int{1000, 10000}), envInts("ENGRAM_BENCH_VECTOR_DIMS", []int{384})
	for _, dims := range dimses {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("VectorSearch/dims=%d/chunks=%d", dims, n), func(b *testing.B) {
				s, tenant, _ := benchTenant(b, newStore)
				createDocs(b, s, tenant, n, "bench", "A short note about the release plan.")
				e := randomEmbedder{dims}
				for {
					p, err := s.EmbedBatch(context.Background(), tenant, e, 2000)
					if err != nil {
						b.Fatal(err)
					}
					if p.Read == 0 {
						break
					}
				}
				s.SetEmbedder(e)
				var lat []time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					page, err := s.Search(context.Background(), tenant, engram.SearchInput{Query: "release plan", Mode: engram.SearchVector})
					lat = append(lat, time.Since(t0))
					if err != nil || len(page.Results) != min(n, engram.DefaultSearchLimit) {
						b.Fatalf("search: %d results, %v", len(page.Results), err)
					}
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)].Microseconds())/1000, "p95-ms")
			})
		}
	}
}

// envInts reads a comma-separated list of numbers from the environment.
func envInts(name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}
