package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/metrics"
)

// TestMetricsExposition drives a real server and checks the scrape: request
// histograms by route, statements by operation, pool gauges, and no label
// that names a tenant or an id.
func TestMetricsExposition(t *testing.T) {
	// The statement observer is process-wide, so this test does not run in
	// parallel with itself; its engines run one after the other.
	for _, e := range testdb.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			s := e.Open(t)
			m := metrics.New(s.(engram.PoolReporter), 0)
			m.WatchJobs(s)
			testdb.AttachJobs(t, s)
			engram.SetStatementObserver(m.ObserveStatement)
			defer engram.SetStatementObserver(nil)
			api := enghttp.NewServer(enghttp.Config{Store: s, Classifier: classify.New(), ObserveRequest: m.ObserveRequest})
			srv := httptest.NewServer(api)
			defer srv.Close()
			tn, key, err := s.CreateTenant(context.Background(), "Acme", "acme")
			if err != nil {
				t.Fatal(err)
			}
			// One queued job, and one a worker reports finished.
			if _, err := s.EnqueueJob(context.Background(), tn.ID, key.ID, engram.JobRequest{Kind: engram.JobClassifyPending}); err != nil {
				t.Fatal(err)
			}
			m.JobFinished(engram.JobSync, engram.JobSucceeded)
			for i := 0; i < 3; i++ {
				req, _ := http.NewRequest("POST", srv.URL+"/api/documents", strings.NewReader(`{"documents":[{"title":"t","content":"c"}]}`))
				req.Header.Set("Authorization", "Bearer "+key.Secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			resp, _ := http.Get(srv.URL + "/api/documents/" + engram.NewID()) // 401, no key
			resp.Body.Close()

			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			text := string(body)
			for _, want := range []string{
				`engram_http_request_duration_seconds_count{method="POST",route="POST /api/documents",status_class="2xx"} 3`,
				`engram_http_request_duration_seconds_count{method="GET",route="GET /api/documents/{id}",status_class="4xx"} 1`,
				`engram_sql_statement_duration_seconds_count{op="documents.create"} 3`,
				`engram_db_pool_max_connections{pool=`,
				`engram_db_pool_acquire_timeouts_total{pool=`,
				`go_goroutines`,
				`engram_jobs{kind="classify_pending",status="queued"} 1`,
				`engram_jobs{kind="sync",status="running"} 0`,
				`engram_jobs_scrape_ok 1`,
				`engram_jobs_finished_total{kind="sync",status="succeeded"} 1`,
			} {
				if !strings.Contains(text, want) {
					t.Errorf("scrape lacks %s", want)
				}
			}
			if regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-`).MatchString(text) {
				t.Error("a label carries an id")
			}
		})
	}
}
