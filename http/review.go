package http

import (
	"net/http"

	"github.com/engram-kb/engram"
)

// The single-document review endpoints. Each is the bulk store call with
// one id, so both paths share the store's rules, audit row and isolation;
// a missing id becomes not_found instead of a not_found list.

// classifyDocument handles POST /api/documents/{id}/classify.
func (s *Server) classifyDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		AutoConfirmThreshold *float64 `json:"auto_confirm_threshold"`
	}
	id, err := pathIDAndBody(r, &body, bodyOptional)
	if err != nil {
		return err
	}
	if err := checkThreshold(body.AutoConfirmThreshold); err != nil {
		return err
	}
	sel := engram.ClassifySelection{IDs: []string{id}, AutoConfirmThreshold: body.AutoConfirmThreshold, Settings: p.TenantSettings}
	o, err := s.store.ClassifyDocuments(r.Context(), p.TenantID, p.Actor(), sel, s.classifyFunc(p))
	if err != nil {
		return err
	}
	if len(o.NotFound) > 0 {
		return engram.Errorf(engram.ENotFound, "document %s not found", id)
	}
	res, ok := o.Results[id]
	if !ok {
		return s.classifySkipped(r, p, id)
	}
	d, err := s.store.GetDocument(r.Context(), p.TenantID, id, false)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success        bool                  `json:"success"`
		Document       engram.Document       `json:"document"`
		Classification engram.ClassifyResult `json:"classification"`
	}{true, d, res})
}

// classifySkipped explains why the classifier left a document alone: a
// person already decided on it. The extra read happens only on this path
// and lets the message say which decision it was.
func (s *Server) classifySkipped(r *http.Request, p engram.Principal, id string) error {
	d, err := s.store.GetDocument(r.Context(), p.TenantID, id, false)
	if err != nil {
		return err
	}
	verb := "confirmed"
	if d.Status == engram.StatusRejected {
		verb = "rejected"
	}
	return &engram.Error{
		Code:    engram.EConflict,
		Message: "document was " + verb + " by a person; the classifier does not overwrite it",
		Details: map[string]any{"document_id": id, "status": d.Status},
	}
}

// setClassification handles PUT /api/documents/{id}/classify.
func (s *Server) setClassification(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Classification *string `json:"classification"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	c, err := requiredClassification(body.Classification)
	if err != nil {
		return err
	}
	res, err := s.store.SetClassification(r.Context(), p.TenantID, p.Actor(), []string{id}, c)
	if err != nil {
		return err
	}
	return s.respondChanged(w, r, p, res, id)
}

// confirmDocument handles POST /api/documents/{id}/confirm.
func (s *Server) confirmDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Classification *string `json:"classification"`
	}
	id, err := pathIDAndBody(r, &body, bodyOptional)
	if err != nil {
		return err
	}
	c, err := classification(body.Classification)
	if err != nil {
		return err
	}
	res, err := s.store.ConfirmDocuments(r.Context(), p.TenantID, p.Actor(), []string{id}, c)
	if err != nil {
		return err
	}
	return s.respondChanged(w, r, p, res, id)
}

// rejectDocument handles POST /api/documents/{id}/reject.
func (s *Server) rejectDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Reason string `json:"reason"`
	}
	id, err := pathIDAndBody(r, &body, bodyOptional)
	if err != nil {
		return err
	}
	if err := checkReason(body.Reason); err != nil {
		return err
	}
	res, err := s.store.RejectDocuments(r.Context(), p.TenantID, p.Actor(), []string{id}, body.Reason)
	if err != nil {
		return err
	}
	return s.respondChanged(w, r, p, res, id)
}

// respondChanged answers a single-document change with the document as it
// now is, or not_found.
func (s *Server) respondChanged(w http.ResponseWriter, r *http.Request, p engram.Principal, res engram.BulkResult, id string) error {
	if err := mustHaveFound(res, id); err != nil {
		return err
	}
	d, err := s.store.GetDocument(r.Context(), p.TenantID, id, false)
	if err != nil {
		return err
	}
	return s.respondDocument(w, r, d)
}

// deleteDocument handles DELETE /api/documents/{id}?hard=true|false.
func (s *Server) deleteDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "hard")
	if err != nil {
		return err
	}
	hard, err := q.boolean("hard", false)
	if err != nil {
		return err
	}
	res, err := s.store.DeleteDocuments(r.Context(), p.TenantID, p.Actor(), []string{id}, hard)
	if err != nil {
		return err
	}
	if err := mustHaveFound(res, id); err != nil {
		return err
	}
	return s.respondDeleted(w, r, res, hard)
}

// restoreDocument handles POST /api/documents/{id}/restore.
func (s *Server) restoreDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	res, err := s.store.RestoreDocuments(r.Context(), p.TenantID, p.Actor(), []string{id})
	if err != nil {
		return err
	}
	if len(res.NotFound) > 0 {
		return engram.Errorf(engram.ENotFound, "document %s not found among deleted documents", id)
	}
	return s.respondCount(w, r, "restored", res)
}
