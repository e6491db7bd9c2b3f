package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/engram-kb/engram"
)

// Asking the documents and keeping the conversations. Anyone who can
// read the tenant's documents may ask (a viewer included): a question
// changes nothing but the caller's own conversations. Conversations are
// the caller's alone; another person's answers 404, an admin's request
// included, unless its owner shared it.

// askRoutes registers the ask and conversation endpoints.
func (s *Server) askRoutes() {
	s.handle("POST /api/ask", canRead, s.ask)
	s.handle("POST /api/ask/{message_id}/feedback", canRead, s.askFeedback)
	s.handle("GET /api/chat/conversations", canRead, s.listConversations)
	s.handle("POST /api/chat/conversations", canRead, s.createConversation)
	s.handle("GET /api/chat/conversations/{id}", canRead, s.getConversation)
	s.handle("PATCH /api/chat/conversations/{id}", canRead, s.patchConversation)
	s.handle("DELETE /api/chat/conversations/{id}", canRead, s.deleteConversation)
	s.handle("POST /api/chat/conversations/{id}/messages", canRead, s.addMessages)
}

// askFilters are the search filters an ask may carry.
type askFilters struct {
	Classification *string `json:"classification"`
	Status         *string `json:"status"`
	SourceType     *string `json:"source_type"`
	ConnectorID    *string `json:"connector_id"`
	SenderEmail    *string `json:"sender_email"`
	CreatedAfter   *string `json:"created_after"`
	CreatedBefore  *string `json:"created_before"`
}

// filter turns the filters into a search filter, with the search
// endpoint's checks.
func (f *askFilters) filter() (engram.SearchFilter, error) {
	q := params{}
	for name, v := range map[string]*string{"classification": f.Classification, "status": f.Status, "source_type": f.SourceType,
		"connector_id": f.ConnectorID, "sender_email": f.SenderEmail, "created_after": f.CreatedAfter, "created_before": f.CreatedBefore} {
		if v != nil {
			q[name] = []string{*v}
		}
	}
	var out engram.SearchFilter
	var err error
	if v, ok := q.get("classification"); ok {
		c, err := parseEnum("filters.classification", v, engram.Classifications)
		if err != nil {
			return out, err
		}
		out.Classification = &c
	}
	if v, ok := q.get("status"); ok {
		st, err := parseEnum("filters.status", v, engram.DocumentStatuses)
		if err != nil {
			return out, err
		}
		out.Status = &st
	}
	if v, ok := q.get("source_type"); ok {
		if v == "" || len(v) > 50 {
			return out, engram.Errorf(engram.EInvalid, "filters.source_type: must be 1 to 50 characters")
		}
		out.SourceType = &v
	}
	if v, ok := q.get("sender_email"); ok {
		if v == "" || len(v) > 320 {
			return out, engram.Errorf(engram.EInvalid, "filters.sender_email: must be 1 to 320 characters")
		}
		out.SenderEmail = &v
	}
	if out.ConnectorID, err = q.id("connector_id"); err != nil {
		return out, err
	}
	if out.CreatedAfter, err = q.timestamp("created_after"); err != nil {
		return out, err
	}
	if out.CreatedBefore, err = q.timestamp("created_before"); err != nil {
		return out, err
	}
	return out, nil
}

// ask handles POST /api/ask. With Accept: text/event-stream the answer
// streams as server-sent events: "token" events with the text as it is
// made, then "citations", then "done" with the whole answer as the JSON
// endpoint gives it (or "error"). A client that goes away cancels the
// model's call.
func (s *Server) ask(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Question       string      `json:"question"`
		ConversationID *string     `json:"conversation_id"`
		Filters        *askFilters `json:"filters"`
		TopK           *int        `json:"top_k"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	in := engram.AskInput{Question: body.Question}
	if body.ConversationID != nil && *body.ConversationID != "" {
		id, err := parseID("conversation_id", *body.ConversationID)
		if err != nil {
			return err
		}
		in.ConversationID = id
	}
	if body.TopK != nil {
		if *body.TopK < 1 || *body.TopK > engram.MaxAskTopK {
			return engram.Errorf(engram.EInvalid, "top_k: must be between 1 and %d", engram.MaxAskTopK)
		}
		in.TopK = *body.TopK
	}
	if body.Filters != nil {
		f, err := body.Filters.filter()
		if err != nil {
			return err
		}
		in.Filter = f
	}
	opt := engram.AskOptions{Chat: s.chat, DailyTokens: s.chatDailyTokens}
	if !wantsEventStream(r) {
		a, err := s.store.Ask(r.Context(), p.TenantID, p.Actor(), in, opt)
		if err != nil {
			return err
		}
		return s.respond(w, r, http.StatusOK, askBody(a))
	}
	sse := &eventStream{w: w, rc: http.NewResponseController(w)}
	opt.OnDelta = func(text string) error { return sse.send("token", map[string]string{"text": text}) }
	a, err := s.store.Ask(r.Context(), p.TenantID, p.Actor(), in, opt)
	if err != nil {
		if !sse.started {
			return err // still a plain JSON error, with its status
		}
		if r.Context().Err() != nil {
			return nil // the client went away
		}
		code, msg := engram.ErrorCode(err), engram.ErrorMessage(err)
		if code == engram.EInternal {
			s.log.Error("internal error", "request_id", infoOf(r).id, "route", r.Pattern, "error", engram.LogText(err))
		}
		_ = sse.send("error", map[string]any{"success": false, "error": msg, "code": code, "request_id": infoOf(r).id})
		return nil
	}
	if err := sse.send("citations", map[string]any{"citations": a.Citations}); err != nil {
		return nil
	}
	_ = sse.send("done", askBody(a))
	return nil
}

// askResponse is the JSON of an answer.
type askResponse struct {
	Success        bool              `json:"success"`
	Answer         string            `json:"answer"`
	Citations      []engram.Citation `json:"citations"`
	Mode           string            `json:"mode"`
	ConversationID string            `json:"conversation_id"`
	MessageID      string            `json:"message_id"`
}

func askBody(a engram.AskAnswer) askResponse {
	cs := a.Citations
	if cs == nil {
		cs = []engram.Citation{}
	}
	return askResponse{true, a.Answer, cs, a.Mode, a.ConversationID, a.MessageID}
}

// wantsEventStream reports whether the client asked for server-sent
// events.
func wantsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

// eventStream writes server-sent events, the headers with the first.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func (e *eventStream) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !e.started {
		e.started = true
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Accel-Buffering", "no")
		e.w.WriteHeader(http.StatusOK)
	}
	if _, err := fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	if err := e.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// askFeedback handles POST /api/ask/{message_id}/feedback.
func (s *Server) askFeedback(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := parseID("message_id", r.PathValue("message_id"))
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Rating  string `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	if err := s.store.RateAnswer(r.Context(), p.TenantID, p.Actor(), id, engram.AskFeedback{Rating: body.Rating, Comment: body.Comment}); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool `json:"success"`
	}{true})
}
