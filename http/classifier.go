package http

import (
	"net/http"

	"github.com/engram-kb/engram"
)

// classifierStatus handles GET /api/classifier: the tenant's model in use
// (null before the first training), its held-out figures, and how many
// decisions people have made.
func (s *Server) classifierStatus(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	st, err := s.store.ClassifierStatus(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success  bool `json:"success"`
		Learning bool `json:"learning"`
		engram.ClassifierStatus
	}{true, s.learner != nil, st})
}

// trainClassifier handles POST /api/classifier/train: train a model on
// the tenant's decisions now, then (unless {"reclassify": false})
// classify again the documents a machine classified, never a person's.
func (s *Server) trainClassifier(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	body := struct {
		Reclassify *bool `json:"reclassify"`
	}{}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	if s.learner == nil {
		return engram.Errorf(engram.EUnavailable, "this server has no learning classifier")
	}
	m, err := s.store.TrainClassifier(r.Context(), p.TenantID, p.KeyID, p.TenantSettings, s.learner)
	if err != nil {
		return err
	}
	var re *engram.ReclassifyOutcome
	if body.Reclassify == nil || *body.Reclassify {
		c, err := s.store.TenantClassifier(r.Context(), p.TenantID, s.learner, s.classifier)
		if err != nil {
			return err
		}
		o, err := s.store.Reclassify(r.Context(), p.TenantID, p.TenantSettings, c)
		if err != nil {
			return err
		}
		re = &o
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success    bool                      `json:"success"`
		Model      engram.ClassifierModel    `json:"model"`
		Reclassify *engram.ReclassifyOutcome `json:"reclassify"`
	}{true, m, re})
}
