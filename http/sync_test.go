package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/connector"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/jobs"
)

type syncStatusResp struct {
	Job         *engram.Job      `json:"job"`
	Integration engram.Connector `json:"integration"`
}

// vault makes a folder of n notes under a new root and returns the root
// and the folder.
func vault(t *testing.T, n int) (string, string) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "acme", "vault") // the test tenant is acme
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("note-%02d.md", i)), []byte(fmt.Sprintf("# Note %d\n\nBody %d.\n", i, i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, dir
}

// TestSyncJobAPI starts, refuses, cancels and reports connector syncs with
// River attached insert-only, so the jobs stay queued and the test sees
// each state; TestSyncJobRuns runs them with workers.
func TestSyncJobAPI(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		testdb.AttachJobs(t, s)
		root, dir := vault(t, 3)
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = connector.Registry{Roots: []string{root}} })
		ctx := context.Background()
		folder := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "folder", "name": "notes", "settings": map[string]any{"path": dir}}).want(t, 201, "")).Integration
		push := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "push", "name": "tool"}).want(t, 201, "")).Integration
		base := "/api/integrations/" + folder.ID + "/sync"

		st := into[syncStatusResp](t, e.call(t, "GET", base+"/status", e.viewer.Secret, nil).want(t, 200, ""))
		if st.Job != nil || st.Integration.ID != folder.ID || st.Integration.LastSyncAt != nil {
			t.Fatalf("status before any sync = %+v", st)
		}
		e.call(t, "POST", base, e.viewer.Secret, nil).want(t, http.StatusForbidden, engram.EForbidden)
		e.call(t, "POST", base+"/cancel", e.member.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		r := e.call(t, "POST", base, e.member.Secret, map[string]any{"full_sync": true}).want(t, http.StatusAccepted, "")
		id := into[acceptedResp](t, r).JobID
		if r.Header.Get("Location") != "/api/jobs/"+id {
			t.Fatalf("Location = %q", r.Header.Get("Location"))
		}
		c := e.call(t, "POST", base, e.admin.Secret, nil).want(t, http.StatusConflict, engram.EConflict)
		if c.Body["job_id"] != id {
			t.Fatalf("409 names job %v, want %s", c.Body["job_id"], id)
		}
		j, err := s.GetJob(ctx, e.tenant.ID, id)
		if err != nil || j.Kind != engram.JobSync || j.Status != engram.JobQueued || j.ConnectorID == nil || *j.ConnectorID != folder.ID || !j.Params.Full {
			t.Fatalf("job row = %+v, %v", j, err)
		}
		st = into[syncStatusResp](t, e.call(t, "GET", base+"/status", e.viewer.Secret, nil).want(t, 200, ""))
		if st.Job == nil || st.Job.ID != id || st.Job.Status != engram.JobQueued {
			t.Fatalf("status = %+v", st)
		}
		e.call(t, "POST", "/api/integrations/"+push.ID+"/sync", e.member.Secret, nil).want(t, http.StatusBadRequest, engram.EInvalid, "push")

		// Another tenant's key finds nothing.
		_, other, err := s.CreateTenant(ctx, "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		e.call(t, "POST", base, other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "GET", base+"/status", other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "POST", base+"/cancel", other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)

		// Cancelling a queued sync ends it at once and frees the connector.
		cj := into[jobResp](t, e.call(t, "POST", base+"/cancel", e.member.Secret, nil).want(t, 200, "")).Job
		if cj.ID != id || cj.Status != engram.JobCancelled {
			t.Fatalf("cancelled = %+v", cj)
		}
		e.call(t, "POST", base+"/cancel", e.member.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "POST", base, e.member.Secret, nil).want(t, http.StatusAccepted, "")

		// A disconnected connector takes no sync.
		e.call(t, "DELETE", "/api/integrations/"+folder.ID, e.admin.Secret, nil).want(t, 200, "")
		e.call(t, "POST", "/api/integrations/"+folder.ID+"/sync/cancel", e.member.Secret, nil).want(t, 200, "")
		e.call(t, "POST", base, e.member.Secret, nil).want(t, http.StatusConflict, engram.EConflict, "disconnected")
	})
}

// TestSyncJobRuns runs syncs of a folder vault with River's workers: the
// first creates every note, the second (idempotent) finds them unchanged,
// and the connector records the outcome.
func TestSyncJobRuns(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		root, dir := vault(t, 7)
		reg := connector.Registry{Roots: []string{root}}
		testdb.RunJobs(t, s, jobs.Config{Workers: 1, Classifier: classify.New(), Connectors: reg, PollInterval: 50 * time.Millisecond})
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = reg })
		folder := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "folder", "name": "notes", "settings": map[string]any{"path": dir}}).want(t, 201, "")).Integration
		base := "/api/integrations/" + folder.ID + "/sync"
		run := func() (engram.Job, engram.Connector, map[string]any) {
			t.Helper()
			e.call(t, "POST", base, e.member.Secret, nil).want(t, http.StatusAccepted, "")
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				st := into[syncStatusResp](t, e.call(t, "GET", base+"/status", e.viewer.Secret, nil).want(t, 200, ""))
				if st.Job != nil && st.Job.Status.Final() {
					var res map[string]any
					if err := json.Unmarshal(st.Job.Result, &res); err != nil {
						t.Fatalf("result %s: %v", st.Job.Result, err)
					}
					return *st.Job, st.Integration, res
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatal("sync did not finish within 60s")
			return engram.Job{}, engram.Connector{}, nil
		}
		j, c, res := run()
		if j.Status != engram.JobSucceeded || j.Progress.Done != 7 || res["created"] != 7.0 || res["unchanged"] != 0.0 {
			t.Fatalf("first sync = %+v %s", j, j.Result)
		}
		if _, ok := res["failures"].([]any); !ok {
			t.Fatalf("result has no failures list: %s", j.Result)
		}
		if c.LastSyncAt == nil || c.LastSyncStatus == nil || *c.LastSyncStatus != "succeeded" || c.LastSyncError != nil {
			t.Fatalf("connector after sync = %+v", c)
		}
		j, _, res = run()
		if j.Status != engram.JobSucceeded || res["created"] != 0.0 || res["unchanged"] != 7.0 {
			t.Fatalf("second sync = %+v %s", j, j.Result)
		}
		if st, err := s.DocumentStats(ctx, e.tenant.ID); err != nil || st.Total != 7 {
			t.Fatalf("documents = %+v, %v", st, err)
		}
	})
}

// TestDisconnectDeletingDocuments deletes one connector's documents as a
// job: the other connector's and the manual documents stay, tombstones
// are written, and the reconnected connector does not import them again.
func TestDisconnectDeletingDocuments(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		runJobs(t, s)
		e := newEnv(t, s)
		ctx := context.Background()
		mk := func(name string) engram.Connector {
			return into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
				map[string]any{"type": "push", "name": name}).want(t, 201, "")).Integration
		}
		a, b := mk("a"), mk("b")
		e.call(t, "POST", "/api/integrations/"+a.ID+"/documents", e.member.Secret, pushBody("a", 5, "1")).want(t, 200, "")
		e.call(t, "POST", "/api/integrations/"+b.ID+"/documents", e.member.Secret, pushBody("b", 3, "1")).want(t, 200, "")
		e.create(t, e.member.Secret, "manual")

		e.call(t, "DELETE", "/api/integrations/"+a.ID+"?delete_documents=true", e.member.Secret, nil).want(t, http.StatusForbidden, engram.EForbidden)
		_, other, err := s.CreateTenant(ctx, "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		e.call(t, "DELETE", "/api/integrations/"+a.ID+"?delete_documents=true", other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)

		id := into[acceptedResp](t, e.call(t, "DELETE", "/api/integrations/"+a.ID+"?delete_documents=true", e.admin.Secret, nil).
			want(t, http.StatusAccepted, "")).JobID
		j := e.waitJob(t, e.admin.Secret, id)
		var res engram.DeleteAllResult
		if j.Status != engram.JobSucceeded || j.Progress != (engram.JobProgress{Done: 5, Total: 5}) ||
			json.Unmarshal(j.Result, &res) != nil || res != (engram.DeleteAllResult{Hard: true, Deleted: 5, Tombstoned: 5}) {
			t.Fatalf("delete job = %+v %s", j, j.Result)
		}
		counts, err := s.(interface {
			TenantCounts(context.Context, string) (engram.TenantCounts, error)
		}).TenantCounts(ctx, e.tenant.ID)
		if err != nil || counts.Documents != 4 || counts.Tombstones != 5 || counts.OrphanChunks != 0 {
			t.Fatalf("counts = %+v, %v", counts, err)
		}
		if c := into[connectorResp](t, e.call(t, "GET", "/api/integrations/"+a.ID, e.viewer.Secret, nil)).Integration; c.Status != engram.ConnectorDisconnected {
			t.Fatalf("connector a = %+v", c)
		}
		// Reconnected, the connector takes the same items as tombstoned.
		e.call(t, "PATCH", "/api/integrations/"+a.ID, e.admin.Secret, map[string]any{"status": "active"}).want(t, 200, "")
		rep := into[pushResp](t, e.call(t, "POST", "/api/integrations/"+a.ID+"/documents", e.member.Secret, pushBody("a", 5, "2")).want(t, 200, "")).Report
		if rep.SkippedTombstoned != 5 || rep.Created != 0 {
			t.Fatalf("push after delete = %+v", rep)
		}
		rep = into[pushResp](t, e.call(t, "POST", "/api/integrations/"+b.ID+"/documents", e.member.Secret, pushBody("b", 3, "1")).want(t, 200, "")).Report
		if rep.Unchanged != 3 {
			t.Fatalf("connector b after a's delete = %+v", rep)
		}
	})
}

// TestSyncJobCancelRunning cancels a running sync: the job is marked
// running (as a worker would) before any worker exists, the cancel is
// asked through the API, and the worker that then takes it stops at its
// first batch boundary and records the cancel on the connector.
func TestSyncJobCancelRunning(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		testdb.AttachJobs(t, s)
		root, dir := vault(t, 4)
		reg := connector.Registry{Roots: []string{root}}
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = reg })
		folder := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "folder", "name": "notes", "settings": map[string]any{"path": dir}}).want(t, 201, "")).Integration
		base := "/api/integrations/" + folder.ID + "/sync"
		id := into[acceptedResp](t, e.call(t, "POST", base, e.member.Secret, nil).want(t, http.StatusAccepted, "")).JobID
		if _, err := s.StartJob(ctx, e.tenant.ID, id); err != nil {
			t.Fatal(err)
		}
		cj := into[jobResp](t, e.call(t, "POST", base+"/cancel", e.member.Secret, nil).want(t, 200, "")).Job
		if cj.Status != engram.JobRunning || cj.CancelRequestedAt == nil {
			t.Fatalf("after cancel = %+v", cj)
		}
		runJobs(t, s, reg)
		j := e.waitJob(t, e.member.Secret, id)
		if j.Status != engram.JobCancelled || j.Progress.Done != 0 {
			t.Fatalf("cancelled sync = %+v %s", j, j.Result)
		}
		st := into[syncStatusResp](t, e.call(t, "GET", base+"/status", e.viewer.Secret, nil).want(t, 200, ""))
		if st.Integration.LastSyncStatus == nil || *st.Integration.LastSyncStatus != "cancelled" || st.Integration.LastSyncAt == nil {
			t.Fatalf("connector after cancel = %+v", st.Integration)
		}
		if ds, err := s.DocumentStats(ctx, e.tenant.ID); err != nil || ds.Total != 0 {
			t.Fatalf("documents = %+v, %v", ds, err)
		}
	})
}

// TestScheduledSync gives a folder connector a sync_interval and no
// request: River's periodic scheduler starts its first sync by itself,
// and, the next one being an hour away, no other.
func TestScheduledSync(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		root, dir := vault(t, 5)
		reg := connector.Registry{Roots: []string{root}}
		var mu sync.Mutex
		finished := map[string]int{}
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = reg })
		folder := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "folder", "name": "notes", "settings": map[string]any{"path": dir}, "sync_interval": "1h"}).want(t, 201, "")).Integration
		testdb.RunJobs(t, s, jobs.Config{Workers: 1, Classifier: classify.New(), Connectors: reg,
			PollInterval: 50 * time.Millisecond, ScheduleEvery: 200 * time.Millisecond,
			Finished: func(k engram.JobKind, st engram.JobStatus) {
				mu.Lock()
				defer mu.Unlock()
				finished[string(k)+"/"+string(st)]++
			}})
		base := "/api/integrations/" + folder.ID + "/sync/status"
		var st syncStatusResp
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			st = into[syncStatusResp](t, e.call(t, "GET", base, e.viewer.Secret, nil).want(t, 200, ""))
			if st.Job != nil && st.Job.Status.Final() {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st.Job == nil || st.Job.Status != engram.JobSucceeded || !st.Job.Scheduled || st.Job.Progress.Done != 5 {
			t.Fatalf("scheduled sync = %+v", st.Job)
		}
		c := st.Integration
		if c.LastSyncStatus == nil || *c.LastSyncStatus != "succeeded" || c.NextSyncAt == nil ||
			c.NextSyncAt.Before(time.Now().Add(59*time.Minute)) {
			t.Fatalf("connector after its scheduled sync = %+v: want the next one an hour on", c)
		}
		// More scheduler passes find nothing due.
		time.Sleep(time.Second)
		page, err := s.ListJobs(ctx, e.tenant.ID, engram.JobFilter{Limit: 10})
		if err != nil || len(page.Jobs) != 1 {
			t.Fatalf("jobs = %+v, %v; want the one scheduled sync", page.Jobs, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if finished["sync/succeeded"] != 1 {
			t.Fatalf("finished jobs counted = %v", finished)
		}
	})
}
