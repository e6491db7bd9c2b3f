package http

import (
	"net/http"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
)

// Connector syncs as background jobs: POST starts one (202 with the job's
// id), status reports the latest one with the connector's last-sync
// fields, cancel stops the running one at its next batch boundary. The
// job rows live in the database, so any API process answers for any
// worker's sync.

func (s *Server) syncRoutes() {
	s.handle("POST /api/integrations/{id}/sync", canWrite, s.startSync)
	s.handle("GET /api/integrations/{id}/sync/status", canRead, s.syncStatus)
	s.handle("POST /api/integrations/{id}/sync/cancel", canWrite, s.cancelSync)
}

// startSync handles POST /api/integrations/{id}/sync {"full_sync"?: bool}.
func (s *Server) startSync(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		FullSync bool `json:"full_sync"`
	}
	id, err := pathIDAndBody(r, &body, bodyOptional)
	if err != nil {
		return err
	}
	c, err := s.store.GetConnector(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	if c.Type == connector.Push {
		return engram.Errorf(engram.EInvalid, "integration %s is a push connector: its items are posted to it, there is nothing to fetch", id)
	}
	// EnqueueJob checks again, under the connector's lock, that it is not
	// disconnected; this read only picks the error for a push connector.
	j, err := s.store.EnqueueJob(r.Context(), p.TenantID, p.Actor(),
		engram.JobRequest{Kind: engram.JobSync, ConnectorID: id, Full: body.FullSync})
	if err != nil {
		return err
	}
	return s.respondAccepted(w, r, j)
}

// syncStatus handles GET /api/integrations/{id}/sync/status.
func (s *Server) syncStatus(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	// The job first: a sync ends by writing its job and the connector's
	// last-sync fields in one transaction, so a job read as finished means
	// the connector read after it shows the outcome too. The other order
	// could pair a finished job with the connector as it was before.
	j, err := s.store.LatestConnectorJob(r.Context(), p.TenantID, id, engram.JobSync)
	if err != nil {
		return err
	}
	c, err := s.store.GetConnector(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success     bool             `json:"success"`
		Job         *engram.Job      `json:"job"`
		Integration engram.Connector `json:"integration"`
	}{true, j, c})
}

// cancelSync handles POST /api/integrations/{id}/sync/cancel: it cancels
// the connector's queued or running sync, or answers 404 when there is
// none.
func (s *Server) cancelSync(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
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
	if _, err := s.store.GetConnector(r.Context(), p.TenantID, id); err != nil {
		return err
	}
	j, err := s.store.LatestConnectorJob(r.Context(), p.TenantID, id, engram.JobSync)
	if err != nil {
		return err
	}
	if j == nil || j.Status.Final() {
		return engram.Errorf(engram.ENotFound, "integration %s has no queued or running sync", id)
	}
	out, err := s.store.CancelJob(r.Context(), p.TenantID, j.ID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, jobBody{true, out})
}
