package http_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/analyze"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/connector"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/jobs"
)

// runJobs attaches River to s with a worker that runs every job kind, for
// tests of endpoints whose work is a job, and stops it when the test ends.
func runJobs(t *testing.T, s testdb.Store, reg ...connector.Registry) {
	t.Helper()
	cfg := jobs.Config{Workers: 1, Classifier: classify.New(), Analyzer: analyze.New(),
		AnalyzerName: analyze.Name, PollInterval: 50 * time.Millisecond}
	if len(reg) > 0 {
		cfg.Connectors = reg[0]
	}
	testdb.RunJobs(t, s, cfg)
}

// waitJob polls GET /api/jobs/{id} until the job is final.
func (e *env) waitJob(t *testing.T, key, id string) engram.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		j := into[jobResp](t, e.call(t, "GET", "/api/jobs/"+id, key, nil).want(t, http.StatusOK, "")).Job
		if j.Status.Final() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish within 60s", id)
	return engram.Job{}
}

// analyze starts a gap analysis through the API, waits for its job and
// returns the summary it left as its result.
func (e *env) analyze(t *testing.T, key string, body any) engram.AnalysisSummary {
	t.Helper()
	id := into[acceptedResp](t, e.call(t, "POST", "/api/knowledge/analyze", key, body).want(t, http.StatusAccepted, "")).JobID
	j := e.waitJob(t, key, id)
	var sum engram.AnalysisSummary
	if j.Status != engram.JobSucceeded || j.Kind != engram.JobAnalyzeGaps || json.Unmarshal(j.Result, &sum) != nil {
		t.Fatalf("analysis job = %+v %s", j, j.Result)
	}
	return sum
}
