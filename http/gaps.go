package http

import (
	"net/http"

	"github.com/engram-kb/engram"
)

// The knowledge gap endpoints. Viewers read gaps; members and admins
// create, answer, verify, close and delete them. Each handler is one store
// call (two where it answers with the gap it changed): the status machine,
// the counts and the audit rows live in the store, in SQL.

// gapInput is the body of POST /api/knowledge/gaps.
type gapInput struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	Priority    *int     `json:"priority"`
	Questions   []string `json:"questions"`
	DocumentIDs []string `json:"document_ids"`
}

// createGap handles POST /api/knowledge/gaps.
func (s *Server) createGap(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var in gapInput
	if err := decodeBody(r, &in, bodyRequired); err != nil {
		return err
	}
	g := engram.NewGap{Title: in.Title, Description: in.Description, Category: engram.GapCategory(in.Category),
		Priority: engram.DefaultGapPriority, Questions: in.Questions, DocumentIDs: in.DocumentIDs}
	if in.Priority != nil {
		g.Priority = *in.Priority
	}
	prepared, err := g.Prepare()
	if err != nil {
		return err
	}
	d, err := s.store.CreateGap(r.Context(), p.TenantID, prepared)
	if err != nil {
		return err
	}
	return s.respondGap(w, r, http.StatusCreated, d)
}

// listGaps handles GET /api/knowledge/gaps: priority high to low, then
// newest first, one keyset page at a time.
func (s *Server) listGaps(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "status", "category", "priority_min", "limit", "cursor")
	if err != nil {
		return err
	}
	var f engram.GapFilter
	if v, ok := q.get("status"); ok {
		st, err := parseEnum("status", v, engram.GapStatuses)
		if err != nil {
			return err
		}
		f.Status = &st
	}
	if v, ok := q.get("category"); ok {
		c, err := parseEnum("category", v, engram.GapCategories)
		if err != nil {
			return err
		}
		f.Category = &c
	}
	if f.PriorityMin, err = q.intRange("priority_min", 0, 1, 5); err != nil {
		return err
	}
	if f.Limit, err = q.intRange("limit", engram.DefaultListLimit, 1, engram.MaxListLimit); err != nil {
		return err
	}
	if v, ok := q.get("cursor"); ok {
		if f.Cursor, err = engram.DecodeGapCursor(v); err != nil {
			return err
		}
	}
	page, err := s.store.ListGaps(r.Context(), p.TenantID, f)
	if err != nil {
		return err
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
		Gaps       []engram.Gap `json:"gaps"`
		Pagination pagination   `json:"pagination"`
	}{true, page.Gaps, pagination{f.Limit, page.HasMore, next}})
}

// getGap handles GET /api/knowledge/gaps/{id}.
func (s *Server) getGap(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	d, err := s.store.GetGap(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respondGap(w, r, http.StatusOK, d)
}

// patchGap handles PATCH /api/knowledge/gaps/{id}.
func (s *Server) patchGap(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	var body struct {
		Title       *string `json:"title"`
		Description *string `json:"description"`
		Category    *string `json:"category"`
		Priority    *int    `json:"priority"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	patch := engram.GapPatch{Title: body.Title, Description: body.Description, Priority: body.Priority}
	if body.Category != nil {
		c := engram.GapCategory(*body.Category)
		patch.Category = &c
	}
	if err := patch.Validate(); err != nil {
		return err
	}
	d, err := s.store.UpdateGap(r.Context(), p.TenantID, id, patch)
	if err != nil {
		return err
	}
	return s.respondGap(w, r, http.StatusOK, d)
}

// deleteGap handles DELETE /api/knowledge/gaps/{id}.
func (s *Server) deleteGap(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteGap(r.Context(), p.TenantID, p.Actor(), id); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, map[string]any{"success": true, "deleted": 1, "id": id})
}

// statusOf checks the status a body gave.
func statusOf(v *string) (engram.GapStatus, error) {
	if v == nil {
		return "", engram.Errorf(engram.EInvalid, "status: required; %s", oneOf(engram.GapStatuses))
	}
	st := engram.GapStatus(*v)
	return st, engram.CheckGapStatus(st)
}

// setGapStatus handles PUT /api/knowledge/gaps/{id}/status: the bulk
// store call with one id, then the gap as it now is.
func (s *Server) setGapStatus(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	var body struct {
		Status *string `json:"status"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	st, err := statusOf(body.Status)
	if err != nil {
		return err
	}
	res, err := s.store.SetGapStatus(r.Context(), p.TenantID, p.Actor(), []string{id}, st)
	if err != nil {
		return err
	}
	if len(res.NotFound) > 0 {
		return engram.Errorf(engram.ENotFound, "gap %s not found", id)
	}
	d, err := s.store.GetGap(r.Context(), p.TenantID, id)
	if err != nil {
		return err
	}
	return s.respondGap(w, r, http.StatusOK, d)
}

// bulkGapStatus handles POST /api/knowledge/gaps/bulk/status.
func (s *Server) bulkGapStatus(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		GapIDs []string `json:"gap_ids"`
		Status *string  `json:"status"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	ids, err := engram.NormalizeIDs("gap_ids", body.GapIDs)
	if err != nil {
		return err
	}
	st, err := statusOf(body.Status)
	if err != nil {
		return err
	}
	res, err := s.store.SetGapStatus(r.Context(), p.TenantID, p.Actor(), ids, st)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success  bool             `json:"success"`
		Updated  int              `json:"updated"`
		Status   engram.GapStatus `json:"status"`
		NotFound []string         `json:"not_found"`
	}{true, res.Changed, st, notFound(res.NotFound)})
}

// addGapAnswer handles POST /api/knowledge/gaps/{id}/answers.
func (s *Server) addGapAnswer(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	var body struct {
		QuestionIndex *int   `json:"question_index"`
		AnswerText    string `json:"answer_text"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if body.QuestionIndex == nil {
		return engram.Errorf(engram.EInvalid, "question_index: required; the position of the question, from 0")
	}
	if err := engram.CheckAnswerText(body.AnswerText); err != nil {
		return err
	}
	res, err := s.store.AddGapAnswer(r.Context(), p.TenantID, p.Actor(), id, *body.QuestionIndex, body.AnswerText)
	if err != nil {
		return err
	}
	return s.respondAnswer(w, r, http.StatusCreated, res)
}

// updateGapAnswer handles PUT /api/knowledge/gaps/{id}/answers/{answer_id}.
func (s *Server) updateGapAnswer(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, answerID, err := answerPath(r)
	if err != nil {
		return err
	}
	var body struct {
		AnswerText string `json:"answer_text"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if err := engram.CheckAnswerText(body.AnswerText); err != nil {
		return err
	}
	res, err := s.store.UpdateGapAnswer(r.Context(), p.TenantID, p.Actor(), id, answerID, body.AnswerText)
	if err != nil {
		return err
	}
	return s.respondAnswer(w, r, http.StatusOK, res)
}

// verifyGapAnswer handles POST /api/knowledge/gaps/{id}/answers/{answer_id}/verify.
func (s *Server) verifyGapAnswer(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, answerID, err := answerPath(r)
	if err != nil {
		return err
	}
	var body struct{}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	res, err := s.store.VerifyGapAnswer(r.Context(), p.TenantID, p.Actor(), id, answerID)
	if err != nil {
		return err
	}
	return s.respondAnswer(w, r, http.StatusOK, res)
}

// gapFeedback handles POST /api/knowledge/gaps/{id}/feedback.
func (s *Server) gapFeedback(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := gapPath(r)
	if err != nil {
		return err
	}
	var body struct {
		Useful  *bool  `json:"useful"`
		Comment string `json:"comment"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if body.Useful == nil {
		return engram.Errorf(engram.EInvalid, "useful: required; true or false")
	}
	if err := engram.CheckFeedbackComment(body.Comment); err != nil {
		return err
	}
	c, err := s.store.AddGapFeedback(r.Context(), p.TenantID, p.Actor(), id, *body.Useful, body.Comment)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, struct {
		Success  bool                     `json:"success"`
		Feedback engram.GapFeedbackCounts `json:"feedback"`
	}{true, c})
}

// gapStats handles GET /api/knowledge/gaps/stats: one statement.
func (s *Server) gapStats(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	st, err := s.store.GapStats(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool            `json:"success"`
		Stats   engram.GapStats `json:"stats"`
	}{true, st})
}

// analyzeGaps handles POST /api/knowledge/analyze {"max_documents"?}: it
// starts an analyze_gaps job, which a worker runs with
// engram.RunGapAnalysis, and answers 202 with the job's id; the job's
// result is the summary.
func (s *Server) analyzeGaps(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		MaxDocuments *int `json:"max_documents"`
	}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	req := engram.JobRequest{Kind: engram.JobAnalyzeGaps, MaxDocuments: engram.DefaultAnalysisDocuments}
	if body.MaxDocuments != nil {
		if *body.MaxDocuments < 1 || *body.MaxDocuments > engram.MaxAnalysisDocuments {
			return engram.Errorf(engram.EInvalid, "max_documents: must be from 1 to %d, got %d", engram.MaxAnalysisDocuments, *body.MaxDocuments)
		}
		req.MaxDocuments = *body.MaxDocuments
	}
	if s.analyzer == nil {
		return engram.Errorf(engram.EUnavailable, "gap analysis is not configured on this server")
	}
	j, err := s.store.EnqueueJob(r.Context(), p.TenantID, p.Actor(), req)
	if err != nil {
		return err
	}
	return s.respondAccepted(w, r, j)
}

// gapPath reads the {id} of a gap route; gap routes take no query.
func gapPath(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := parseQuery(r); err != nil {
		return "", err
	}
	return id, nil
}

// answerPath reads the {id} and {answer_id} of an answer route.
func answerPath(r *http.Request) (string, string, error) {
	id, err := gapPath(r)
	if err != nil {
		return "", "", err
	}
	answerID, err := parseID("answer_id", r.PathValue("answer_id"))
	return id, answerID, err
}

// respondGap writes {"success":true,"gap":d}.
func (s *Server) respondGap(w http.ResponseWriter, r *http.Request, status int, d engram.GapDetail) error {
	// Lists are [] in JSON, never null, whatever the engine scanned.
	if d.DocumentIDs == nil {
		d.DocumentIDs = []string{}
	}
	if d.Questions == nil {
		d.Questions = []engram.GapQuestion{}
	}
	if d.Answers == nil {
		d.Answers = []engram.GapAnswer{}
	}
	return s.respond(w, r, status, struct {
		Success bool             `json:"success"`
		Gap     engram.GapDetail `json:"gap"`
	}{true, d})
}

// respondAnswer writes the answer and the status its gap is now in.
func (s *Server) respondAnswer(w http.ResponseWriter, r *http.Request, status int, res engram.GapAnswerResult) error {
	return s.respond(w, r, status, struct {
		Success   bool             `json:"success"`
		Answer    engram.GapAnswer `json:"answer"`
		GapStatus engram.GapStatus `json:"gap_status"`
	}{true, res.Answer, res.GapStatus})
}
