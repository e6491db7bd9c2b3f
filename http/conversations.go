package http

import (
	"net/http"

	"github.com/engram-kb/engram"
)

// conversationBody is the JSON of one conversation.
type conversationBody struct {
	Success      bool                `json:"success"`
	Conversation engram.Conversation `json:"conversation"`
}

// listConversations handles GET /api/chat/conversations: the caller's
// conversations, newest first, one keyset page at a time.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "limit", "cursor")
	if err != nil {
		return err
	}
	limit, err := q.intRange("limit", engram.DefaultConversationPage, 1, engram.MaxConversationPage)
	if err != nil {
		return err
	}
	cursor, _ := q.get("cursor")
	page, err := s.store.ListConversations(r.Context(), p.TenantID, p.Actor(), limit, cursor)
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
		Success       bool                  `json:"success"`
		Conversations []engram.Conversation `json:"conversations"`
		Pagination    pagination            `json:"pagination"`
	}{true, page.Conversations, pagination{limit, page.HasMore, next}})
}

// createConversation handles POST /api/chat/conversations {title?}.
func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Title string `json:"title"`
	}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	c, err := s.store.CreateConversation(r.Context(), p.TenantID, p.Actor(), body.Title)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, conversationBody{true, c})
}

// getConversation handles GET /api/chat/conversations/{id}: the
// conversation with its messages, oldest first.
func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	d, err := s.store.GetConversation(r.Context(), p.TenantID, id, p.Actor())
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success      bool                `json:"success"`
		Conversation engram.Conversation `json:"conversation"`
		Messages     []engram.Message    `json:"messages"`
	}{true, d.Conversation, d.Messages})
}

// patchConversation handles PATCH /api/chat/conversations/{id}
// {"shared": bool}.
func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Shared *bool `json:"shared"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	if body.Shared == nil {
		return engram.Errorf(engram.EInvalid, "shared: required (true or false)")
	}
	c, err := s.store.ShareConversation(r.Context(), p.TenantID, id, p.Actor(), *body.Shared)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, conversationBody{true, c})
}

// deleteConversation handles DELETE /api/chat/conversations/{id}.
func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if err := s.store.DeleteConversation(r.Context(), p.TenantID, id, p.Actor()); err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool   `json:"success"`
		ID      string `json:"id"`
	}{true, id})
}

// addMessages handles POST /api/chat/conversations/{id}/messages
// {role, content, sources}: a turn a client made itself.
func (s *Server) addMessages(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Role    string            `json:"role"`
		Content string            `json:"content"`
		Sources []engram.Citation `json:"sources"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	ms, err := s.store.AddMessages(r.Context(), p.TenantID, p.Actor(), id,
		[]engram.Message{{Role: body.Role, Content: body.Content, Citations: body.Sources}})
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusCreated, struct {
		Success bool           `json:"success"`
		Message engram.Message `json:"message"`
	}{true, ms[0]})
}
