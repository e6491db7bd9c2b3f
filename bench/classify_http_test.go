package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"testing"

	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestClassifyHTTP runs the bench's classifier measurement (train on 10,000,
// classify 10,000 through POST /api/documents/classify) against an
// httptest server, on the engine ENGRAM_CLASSIFY_HTTP names. It asserts
// nothing: a measuring aid for one operation without `engram bench`.
func TestClassifyHTTP(t *testing.T) {
	if os.Getenv("ENGRAM_CLASSIFY_HTTP") == "" {
		t.Skip()
	}
	for _, e := range testdb.Engines(t) {
		if os.Getenv("ENGRAM_CLASSIFY_HTTP") != "all" && os.Getenv("ENGRAM_CLASSIFY_HTTP") != e.Name {
			continue
		}
		s := e.Open(t)
		srv := httptest.NewServer(enghttp.NewServer(enghttp.Config{Store: s, Classifier: classify.New(), Learner: classify.Learner{}}))
		defer srv.Close()
		if p := os.Getenv("ENGRAM_CPU_PROFILE"); p != "" {
			f, _ := os.Create(p + ".http." + e.Name)
			pprof.StartCPUProfile(f)
		}
		r := &runner{cfg: Config{Store: s, URL: srv.URL, Runs: 1, Classifier: 10000, Logf: t.Logf}, base: srv.URL, client: &http.Client{}}
		res, err := r.classifier(context.Background())
		if os.Getenv("ENGRAM_CPU_PROFILE") != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range res {
			t.Logf("%s %s: %.0f ms", e.Name, x.Op, x.Engram.Median)
		}
	}
}
