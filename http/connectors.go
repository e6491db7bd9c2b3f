package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
)

// Connectors ("integrations" in the API). Creating and changing them needs
// an admin key: a folder or mail connector reads files on the server, so
// choosing its path is an operator's decision, not every member's.

func (s *Server) connectorRoutes() {
	s.handle("GET /api/integrations", canRead, s.listConnectors)
	s.handle("POST /api/integrations", canAdmin, s.createConnector)
	s.handle("GET /api/integrations/{id}", canRead, s.getConnector)
	s.handle("PATCH /api/integrations/{id}", canAdmin, s.patchConnector)
	s.handle("DELETE /api/integrations/{id}", canAdmin, s.deleteConnector)
	s.handle("POST /api/integrations/{id}/documents", canWrite, s.pushDocuments)
}

type connectorResponse struct {
	Success     bool             `json:"success"`
	Integration engram.Connector `json:"integration"`
}

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	list, err := s.store.ListConnectors(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success      bool               `json:"success"`
		Integrations []engram.Connector `json:"integrations"`
	}{true, list})
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Type         *string         `json:"type"`
		Name         *string         `json:"name"`
		Settings     json.RawMessage `json:"settings"`
		SyncInterval json.RawMessage `json:"sync_interval"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if body.Type == nil {
		return engram.Errorf(engram.EInvalid, "type: required; one of %v", connector.Types())
	}
	if body.Name == nil {
		return engram.Errorf(engram.EInvalid, "name: required")
	}
	if err := engram.ValidateConnectorName(*body.Name); err != nil {
		return err
	}
	settings, err := s.connectors.ValidateSettings(p.TenantSlug, *body.Type, body.Settings)
	if err != nil {
		return err
	}
	interval, err := syncInterval(*body.Type, body.SyncInterval)
	if err != nil {
		return err
	}
	c, err := s.store.CreateConnector(r.Context(), p.TenantID, p.Actor(), *body.Type, *body.Name, settings, interval)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, connectorResponse{true, c})
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	c, err := s.store.GetConnector(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, connectorResponse{true, c})
}

// connectorStatuses are the statuses a person may set; error is engram's.
var connectorStatuses = []engram.ConnectorStatus{engram.ConnectorActive, engram.ConnectorPaused, engram.ConnectorDisconnected}

func (s *Server) patchConnector(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Name         *string         `json:"name"`
		Status       *string         `json:"status"`
		Settings     json.RawMessage `json:"settings"`
		SyncInterval json.RawMessage `json:"sync_interval"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	var patch engram.ConnectorPatch
	if body.Name == nil && body.Status == nil && body.Settings == nil && body.SyncInterval == nil {
		return engram.Errorf(engram.EInvalid, "body: nothing to change; give name, status, settings and/or sync_interval")
	}
	if body.Name != nil {
		if err := engram.ValidateConnectorName(*body.Name); err != nil {
			return err
		}
		patch.Name = body.Name
	}
	if body.Status != nil {
		st, err := parseEnum("status", *body.Status, connectorStatuses)
		if err != nil {
			return err
		}
		patch.Status = &st
	}
	if body.Settings != nil || body.SyncInterval != nil {
		// Settings and schedule are checked against the connector's own
		// type.
		c, err := s.store.GetConnector(r.Context(), p.TenantID, id)
		if err != nil {
			return err
		}
		if body.Settings != nil {
			if patch.Settings, err = s.connectors.ValidateSettings(p.TenantSlug, c.Type, body.Settings); err != nil {
				return err
			}
		}
		if body.SyncInterval != nil {
			d, err := syncInterval(c.Type, body.SyncInterval)
			if err != nil {
				return err
			}
			patch.SyncInterval = &d
		}
	}
	c, err := s.store.UpdateConnector(r.Context(), p.TenantID, p.Actor(), id, patch)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, connectorResponse{true, c})
}

// syncInterval reads a connector's sync_interval: a duration string, or
// null (or absent) for none, which is 0. A push connector has nothing to
// fetch, so it takes no schedule.
func syncInterval(typ string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return 0, engram.Errorf(engram.EInvalid, "sync_interval: must be a duration string such as \"1h\", or null")
	}
	if typ == connector.Push {
		return 0, engram.Errorf(engram.EInvalid, "sync_interval: a push connector has nothing to fetch; its items are posted to it")
	}
	return engram.ParseSyncInterval(text)
}

// deleteConnector disconnects: the connector keeps its documents and its
// tombstones, so reconnecting it never re-imports what was deleted. With
// delete_documents=true it also starts a hard delete job scoped to the
// connector (the delete-all machinery with a connector filter) and answers
// 202 with the job's id; the tombstones it writes keep a reconnect from
// importing the documents again. A tenant runs one delete job at a time,
// so while another runs the answer is 409 with its id, and the connector
// stays as it was: the disconnect and the job are one transaction.
func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "delete_documents")
	if err != nil {
		return err
	}
	del, err := q.boolean("delete_documents", false)
	if err != nil {
		return err
	}
	if del {
		// The job's transaction disconnects the connector too, so a 409
		// leaves it connected.
		j, err := s.store.EnqueueJob(r.Context(), p.TenantID, p.Actor(),
			engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: id, BatchSize: s.jobBatchSize})
		if err != nil {
			return err
		}
		return s.respondAccepted(w, r, j)
	}
	st := engram.ConnectorDisconnected
	c, err := s.store.UpdateConnector(r.Context(), p.TenantID, p.Actor(), id, engram.ConnectorPatch{Status: &st})
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, connectorResponse{true, c})
}

// pushItem is one item of POST /api/integrations/{id}/documents.
type pushItem struct {
	ExternalID      string          `json:"external_id"`
	Title           string          `json:"title"`
	Content         string          `json:"content"`
	SourceURL       string          `json:"source_url"`
	Sender          string          `json:"sender"`
	SenderEmail     string          `json:"sender_email"`
	Recipients      []string        `json:"recipients"`
	SourceCreatedAt *string         `json:"source_created_at"`
	SourceUpdatedAt *string         `json:"source_updated_at"`
	Metadata        json.RawMessage `json:"metadata"`
}

// pushDocuments runs a push connector's batch through the sync pipeline,
// in one transaction, and reports what happened to each kind of item.
func (s *Server) pushDocuments(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Documents []pushItem `json:"documents"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	if n := len(body.Documents); n == 0 || n > engram.MaxPushItems {
		return engram.Errorf(engram.EInvalid, "documents: 1 to %d items per request, got %d", engram.MaxPushItems, n)
	}
	c, err := s.store.GetConnector(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	if c.Type != connector.Push {
		return engram.Errorf(engram.EInvalid, "integration %s is a %s connector; only push connectors take posted documents", id, c.Type)
	}
	items := make([]engram.SourceItem, len(body.Documents))
	for i, in := range body.Documents {
		f := "documents[" + strconv.Itoa(i) + "]."
		it := engram.SourceItem{ExternalID: in.ExternalID, Title: in.Title, Content: in.Content, SourceURL: in.SourceURL,
			Sender: in.Sender, SenderEmail: in.SenderEmail, Recipients: in.Recipients, Metadata: in.Metadata}
		if it.SourceCreatedAt, err = optionalTime(f+"source_created_at", in.SourceCreatedAt); err != nil {
			return err
		}
		if it.SourceUpdatedAt, err = optionalTime(f+"source_updated_at", in.SourceUpdatedAt); err != nil {
			return err
		}
		items[i] = it
	}
	prepared, _, err := engram.PrepareSyncItems(id, items, true)
	if err != nil {
		return err
	}
	counts, err := s.store.SyncBatch(r.Context(), p.TenantID, id, prepared, engram.SyncOptions{})
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool              `json:"success"`
		Report  engram.SyncCounts `json:"report"`
	}{true, counts})
}
