package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// Conversations are private to their owner (the user or API key that
// started them): every read and write names the caller, and the drivers
// match it in SQL, so another person's conversation answers not_found
// exactly as one that does not exist — an admin of the tenant included —
// unless its owner shared it, which lets others read it, never write it.

func conversationNotFound(id string) error {
	return engram.Errorf(engram.ENotFound, "conversation %s not found", id)
}

// CreateConversation starts an empty conversation: one statement.
func (s *Store) CreateConversation(ctx context.Context, tenantID, owner, title string) (engram.Conversation, error) {
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > engram.MaxConversationTitle {
		return engram.Conversation{}, engram.Errorf(engram.EInvalid, "title: must be at most %d characters", engram.MaxConversationTitle)
	}
	now := s.now().UTC()
	c := engram.Conversation{ID: engram.NewID(), Owner: owner, Title: title, CreatedAt: now, LastMessageAt: now}
	return c, s.d.Writer().ConversationInsert(ctx, tenantID, c)
}

type conversationCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// ListConversations reads one keyset page of owner's conversations,
// newest first: one statement.
func (s *Store) ListConversations(ctx context.Context, tenantID, owner string, limit int, cursor string) (engram.ConversationPage, error) {
	var page engram.ConversationPage
	if limit == 0 {
		limit = engram.DefaultConversationPage
	}
	if limit < 1 || limit > engram.MaxConversationPage {
		return page, engram.Errorf(engram.EInvalid, "limit: must be between 1 and %d", engram.MaxConversationPage)
	}
	var after *engram.ConversationKey
	if cursor != "" {
		var c conversationCursor
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(b, &c) != nil {
			return page, engram.Errorf(engram.EInvalid, "cursor: not a cursor this list returned; start again without it")
		}
		id, ok := engram.ParseID(c.ID)
		if !ok {
			return page, engram.Errorf(engram.EInvalid, "cursor: not a cursor this list returned; start again without it")
		}
		after = &engram.ConversationKey{LastMessageAt: c.At, ID: id}
	}
	cs, err := s.d.Reader().ConversationList(ctx, tenantID, owner, after, limit+1)
	if err != nil {
		return page, err
	}
	if len(cs) > limit {
		cs = cs[:limit]
		last := cs[limit-1]
		b, _ := json.Marshal(conversationCursor{At: last.LastMessageAt, ID: last.ID})
		page.HasMore, page.NextCursor = true, base64.RawURLEncoding.EncodeToString(b)
	}
	page.Conversations = cs
	return page, nil
}

// GetConversation reads a conversation with its newest messages: two
// statements.
func (s *Store) GetConversation(ctx context.Context, tenantID, id, viewer string) (engram.ConversationDetail, error) {
	c, ok, err := s.d.Reader().ConversationGet(ctx, tenantID, id, viewer)
	if err != nil {
		return engram.ConversationDetail{}, err
	}
	if !ok {
		return engram.ConversationDetail{}, conversationNotFound(id)
	}
	ms, err := s.d.Reader().MessagesRecent(ctx, tenantID, id, engram.MaxConversationMessages)
	if err != nil {
		return engram.ConversationDetail{}, err
	}
	return engram.ConversationDetail{Conversation: c, Messages: ms}, nil
}

// checkMessages validates messages a client sends.
func checkMessages(ms []engram.Message) error {
	if len(ms) == 0 {
		return engram.Errorf(engram.EInvalid, "messages: at least one is needed")
	}
	for i, m := range ms {
		if m.Role != engram.ChatUser && m.Role != engram.ChatAssistant {
			return engram.Errorf(engram.EInvalid, "role: %q is not one of user, assistant", m.Role)
		}
		if isBlank(m.Content) {
			return engram.Errorf(engram.EInvalid, "content: must not be empty")
		}
		if utf8.RuneCountInString(m.Content) > engram.MaxMessageContent {
			return engram.Errorf(engram.EInvalid, "content: must be at most %d characters", engram.MaxMessageContent)
		}
		if len(m.Citations) > engram.MaxMessageCitations {
			return engram.Errorf(engram.EInvalid, "sources: at most %d", engram.MaxMessageCitations)
		}
		for _, c := range m.Citations {
			if _, ok := engram.ParseID(c.DocumentID); !ok && c.DocumentID != "" {
				return engram.Errorf(engram.EInvalid, "sources: document_id %q is not a valid id", c.DocumentID)
			}
		}
		_ = i
	}
	return nil
}

// AddMessages keeps a client's messages in owner's conversation: one
// transaction of two statements (the conversation's time, which also
// proves it is the owner's, and the messages).
func (s *Store) AddMessages(ctx context.Context, tenantID, owner, conversationID string, ms []engram.Message) ([]engram.Message, error) {
	if err := checkMessages(ms); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	for i := range ms {
		ms[i].ID, ms[i].ConversationID, ms[i].CreatedAt = engram.NewID(), conversationID, now.Add(time.Duration(i)*time.Microsecond)
		if ms[i].Citations == nil {
			ms[i].Citations = []engram.Citation{}
		}
	}
	err := s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		ok, err := tx.ConversationTouch(ctx, tenantID, conversationID, owner, conversationTitle(ms[0].Content), now)
		if err != nil {
			return err
		}
		if !ok {
			return conversationNotFound(conversationID)
		}
		return tx.MessagesInsert(ctx, tenantID, ms)
	})
	if err != nil {
		return nil, err
	}
	return ms, nil
}

// ShareConversation shares owner's conversation or stops sharing it: one
// statement.
func (s *Store) ShareConversation(ctx context.Context, tenantID, id, owner string, shared bool) (engram.Conversation, error) {
	c, ok, err := s.d.Writer().ConversationShare(ctx, tenantID, id, owner, shared)
	if err == nil && !ok {
		err = conversationNotFound(id)
	}
	return c, err
}

// DeleteConversation deletes owner's conversation and its messages: one
// statement.
func (s *Store) DeleteConversation(ctx context.Context, tenantID, id, owner string) error {
	ok, err := s.d.Writer().ConversationDelete(ctx, tenantID, id, owner)
	if err == nil && !ok {
		err = conversationNotFound(id)
	}
	return err
}

// conversationTitle is a conversation's title from its first question.
func conversationTitle(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if utf8.RuneCountInString(q) <= 80 {
		return q
	}
	r := []rune(q)[:80]
	return strings.TrimSpace(string(r)) + "…"
}
