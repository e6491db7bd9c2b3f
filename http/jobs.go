package http

import (
	"net/http"

	"github.com/engram-kb/engram"
)

// Background jobs: delete-all and large classification runs are recorded
// as jobs and run by River workers (in `engram serve` or `engram worker`);
// these endpoints start them and report them from the database, so any
// API process can answer for any job.

// jobBody is a job as the API shows it.
type jobBody struct {
	Success bool       `json:"success"`
	Job     engram.Job `json:"job"`
}

// acceptedBody answers a request that started a job.
type acceptedBody struct {
	Success bool   `json:"success"`
	JobID   string `json:"job_id"`
	Job     string `json:"job_url"`
}

func (s *Server) respondAccepted(w http.ResponseWriter, r *http.Request, j engram.Job) error {
	w.Header().Set("Location", "/api/jobs/"+j.ID)
	return s.respond(w, r, http.StatusAccepted, acceptedBody{Success: true, JobID: j.ID, Job: "/api/jobs/" + j.ID})
}

// deleteAllDocuments handles DELETE /api/documents/all?hard=true|false
// (admins only): it starts a delete-all job and answers 202 with its id,
// or 409 with the id of the one already running.
func (s *Server) deleteAllDocuments(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "hard", "batch_size")
	if err != nil {
		return err
	}
	hard, err := q.boolean("hard", false)
	if err != nil {
		return err
	}
	batch, err := q.intRange("batch_size", s.jobBatchSize, 1, engram.MaxBulkIDs)
	if err != nil {
		return err
	}
	j, err := s.store.EnqueueJob(r.Context(), p.TenantID, p.Actor(), engram.JobRequest{Kind: engram.JobDeleteAll, Hard: hard, BatchSize: batch})
	if err != nil {
		return err
	}
	return s.respondAccepted(w, r, j)
}

// getJob handles GET /api/jobs/{id}.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	j, err := s.store.GetJob(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, jobBody{true, j})
}

// cancelJob handles POST /api/jobs/{id}/cancel: a queued job is cancelled
// at once, a running one at its next batch boundary; the job as it is now
// comes back (status "running" with cancel_requested_at set until then).
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if err := decodeBody(r, &struct{}{}, bodyOptional); err != nil {
		return err
	}
	j, err := s.store.CancelJob(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, jobBody{true, j})
}

// listJobs handles GET /api/jobs?kind=&status=&limit=&cursor=: the
// tenant's jobs, newest first, keyset-paginated.
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "kind", "status", "limit", "cursor")
	if err != nil {
		return err
	}
	var f engram.JobFilter
	if f.Limit, err = q.intRange("limit", engram.DefaultListLimit, 1, engram.MaxListLimit); err != nil {
		return err
	}
	if v, ok := q.get("kind"); ok {
		k, err := parseEnum("kind", v, engram.JobKinds)
		if err != nil {
			return err
		}
		f.Kind = &k
	}
	if v, ok := q.get("status"); ok {
		st, err := parseEnum("status", v, engram.JobStatuses)
		if err != nil {
			return err
		}
		f.Status = &st
	}
	if v, ok := q.get("cursor"); ok {
		if f.Cursor, err = engram.DecodeJobCursor(v); err != nil {
			return err
		}
	}
	page, err := s.store.ListJobs(r.Context(), p.TenantID, f)
	if err != nil {
		return err
	}
	if page.Jobs == nil {
		page.Jobs = []engram.Job{}
	}
	var next *string
	if page.HasMore {
		next = &page.NextCursor
	}
	type pagination struct {
		Limit      int     `json:"limit"`
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success    bool         `json:"success"`
		Jobs       []engram.Job `json:"jobs"`
		Pagination pagination   `json:"pagination"`
	}{true, page.Jobs, pagination{f.Limit, page.HasMore, next}})
}
