package http_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

type (
	acceptedResp struct {
		JobID string `json:"job_id"`
	}
	jobResp struct {
		Job engram.Job `json:"job"`
	}
	jobListResp struct {
		Jobs       []engram.Job `json:"jobs"`
		Pagination struct {
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		} `json:"pagination"`
	}
)

// TestDeleteAllAPI starts a delete-all through the API and watches it. The
// test runs the job's batches itself (River is attached insert-only), so
// it can look at the job between batches; package jobs and the command
// tests run it with River's workers.
func TestDeleteAllAPI(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		testdb.AttachJobs(t, s)
		e := newEnv(t, s)
		ctx := context.Background()
		ids := e.create(t, e.admin.Secret, "work 1", "work 2", "work 3", "work 4", "work 5")

		e.call(t, "DELETE", "/api/documents/all", e.member.Secret, nil).want(t, http.StatusForbidden, engram.EForbidden, "admin")
		e.call(t, "DELETE", "/api/documents/all", e.viewer.Secret, nil).want(t, http.StatusForbidden, engram.EForbidden)
		e.call(t, "DELETE", "/api/documents/all?hard=maybe", e.admin.Secret, nil).want(t, http.StatusBadRequest, engram.EInvalid, "hard")
		r := e.call(t, "DELETE", "/api/documents/all?hard=true&batch_size=2", e.admin.Secret, nil).want(t, http.StatusAccepted, "")
		id := into[acceptedResp](t, r).JobID
		if r.Header.Get("Location") != "/api/jobs/"+id {
			t.Fatalf("Location = %q", r.Header.Get("Location"))
		}
		c := e.call(t, "DELETE", "/api/documents/all", e.admin.Secret, nil).want(t, http.StatusConflict, engram.EConflict)
		if c.Body["job_id"] != id {
			t.Fatalf("409 names job %v, want %s", c.Body["job_id"], id)
		}
		// The single-document route still takes ids.
		e.call(t, "DELETE", "/api/documents/"+ids[4], e.member.Secret, nil).want(t, http.StatusOK, "")

		j := into[jobResp](t, e.call(t, "GET", "/api/jobs/"+id, e.viewer.Secret, nil).want(t, http.StatusOK, "")).Job
		if j.Status != engram.JobQueued || j.Kind != engram.JobDeleteAll || j.Progress.Total != 5 || j.StartedAt != nil {
			t.Fatalf("queued job = %+v", j)
		}
		if r := e.call(t, "GET", "/api/jobs/"+id, e.viewer.Secret, nil); r.Raw == nil || r.Body["job"].(map[string]any)["result"] != nil {
			t.Fatalf("queued job has a result: %s", r.Raw)
		}

		// Another tenant sees nothing of it.
		_, other, err := s.CreateTenant(ctx, "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		e.call(t, "GET", "/api/jobs/"+id, other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "POST", "/api/jobs/"+id+"/cancel", other.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
		if l := into[jobListResp](t, e.call(t, "GET", "/api/jobs", other.Secret, nil).want(t, http.StatusOK, "")); len(l.Jobs) != 0 {
			t.Fatalf("other tenant lists %d jobs", len(l.Jobs))
		}

		// One batch: progress is visible through the API.
		if _, err := s.StartJob(ctx, e.tenant.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunJobBatch(ctx, e.tenant.ID, id, nil); err != nil {
			t.Fatal(err)
		}
		j = into[jobResp](t, e.call(t, "GET", "/api/jobs/"+id, e.viewer.Secret, nil)).Job
		if j.Status != engram.JobRunning || j.Progress != (engram.JobProgress{Done: 2, Total: 5}) || j.StartedAt == nil {
			t.Fatalf("running job = %+v", j)
		}
		e.call(t, "POST", "/api/jobs/"+id+"/cancel", e.viewer.Secret, nil).want(t, http.StatusForbidden, engram.EForbidden)
		j = into[jobResp](t, e.call(t, "POST", "/api/jobs/"+id+"/cancel", e.member.Secret, nil).want(t, http.StatusOK, "")).Job
		if j.Status != engram.JobRunning || j.CancelRequestedAt == nil {
			t.Fatalf("job after cancel request = %+v", j)
		}
		if _, err := s.RunJobBatch(ctx, e.tenant.ID, id, nil); err != nil {
			t.Fatal(err)
		}
		r = e.call(t, "GET", "/api/jobs/"+id, e.viewer.Secret, nil)
		j = into[jobResp](t, r).Job
		if j.Status != engram.JobCancelled || j.Progress.Done != 2 || j.FinishedAt == nil {
			t.Fatalf("cancelled job = %+v", j)
		}
		res := r.Body["job"].(map[string]any)["result"].(map[string]any)
		if res["deleted"] != 2.0 || res["hard"] != true {
			t.Fatalf("cancelled job's result = %v", res)
		}
		if st := into[statsResp](t, e.call(t, "GET", "/api/documents/stats", e.admin.Secret, nil)).Stats; st.Total != 2 {
			t.Fatalf("documents after a cancelled delete-all: %+v", st)
		}

		// A new delete-all may start now; the list shows both, newest first.
		id2 := into[acceptedResp](t, e.call(t, "DELETE", "/api/documents/all", e.admin.Secret, nil).want(t, http.StatusAccepted, "")).JobID
		l := into[jobListResp](t, e.call(t, "GET", "/api/jobs?kind=delete_all&limit=1", e.viewer.Secret, nil).want(t, http.StatusOK, ""))
		if len(l.Jobs) != 1 || l.Jobs[0].ID != id2 || !l.Pagination.HasMore || l.Pagination.NextCursor == nil {
			t.Fatalf("first page = %+v", l)
		}
		l = into[jobListResp](t, e.call(t, "GET", "/api/jobs?kind=delete_all&limit=1&cursor="+*l.Pagination.NextCursor, e.viewer.Secret, nil))
		if len(l.Jobs) != 1 || l.Jobs[0].ID != id || l.Pagination.HasMore {
			t.Fatalf("second page = %+v", l)
		}
		l = into[jobListResp](t, e.call(t, "GET", "/api/jobs?status=cancelled", e.viewer.Secret, nil))
		if len(l.Jobs) != 1 || l.Jobs[0].ID != id {
			t.Fatalf("cancelled jobs = %+v", l)
		}
		e.call(t, "GET", "/api/jobs?status=done", e.viewer.Secret, nil).want(t, http.StatusBadRequest, engram.EInvalid, "status")
		e.call(t, "GET", "/api/jobs?cursor=nope", e.viewer.Secret, nil).want(t, http.StatusBadRequest, engram.EInvalid, "cursor")
		e.call(t, "GET", "/api/jobs/not-an-id", e.viewer.Secret, nil).want(t, http.StatusBadRequest, engram.EInvalid)
		e.call(t, "GET", "/api/jobs/"+engram.NewID(), e.viewer.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
	})
}

// TestClassifyAllPending starts a classification job for every pending
// document.
func TestClassifyAllPending(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		testdb.AttachJobs(t, s)
		e := newEnv(t, s)
		e.create(t, e.admin.Secret, "work a", "spam b", "personal c")
		e.call(t, "POST", "/api/documents/classify", e.member.Secret, map[string]any{"all_pending": true, "limit": 5}).
			want(t, http.StatusBadRequest, engram.EInvalid, "all_pending")
		r := e.call(t, "POST", "/api/documents/classify", e.member.Secret, map[string]any{"all_pending": true, "auto_confirm_threshold": 0.9}).
			want(t, http.StatusAccepted, "")
		id := into[acceptedResp](t, r).JobID
		ctx := context.Background()
		if _, err := s.StartJob(ctx, e.tenant.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunJobBatch(ctx, e.tenant.ID, id, &titleClassifier{}); err != nil {
			t.Fatal(err)
		}
		r = e.call(t, "GET", "/api/jobs/"+id, e.member.Secret, nil)
		j := into[jobResp](t, r).Job
		res := r.Body["job"].(map[string]any)["result"].(map[string]any)
		if j.Status != engram.JobSucceeded || j.Progress != (engram.JobProgress{Done: 3, Total: 3}) || res["classified"] != 3.0 || res["auto_confirmed"] != 1.0 {
			t.Fatalf("classify job = %+v, result %v", j, res)
		}
	})
}
