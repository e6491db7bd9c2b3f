package engram

import (
	"context"
	"time"
)

// Ask modes: how an answer was made.
const (
	AskGenerative = "generative"
	AskExtractive = "extractive"
)

// Ask limits.
const (
	MaxQuestionRunes = 2000
	DefaultAskTopK   = 5
	MaxAskTopK       = 20
	// AskContextTokens bounds the passages sent to a model.
	AskContextTokens = 3000
	// MaxFeedbackComment bounds a feedback comment, in characters.
	MaxFeedbackComment = 2000
)

// AskInput is a question as a client asks it.
type AskInput struct {
	Question string
	// ConversationID continues a conversation of the caller's; "" starts
	// one.
	ConversationID string
	Filter         SearchFilter
	TopK           int
}

// AskOptions are how a store answers: the model (nil: extractive
// answers), its per-tenant daily token budget, and where streamed text
// goes.
type AskOptions struct {
	Chat Chat
	// DailyTokens is the most tokens a tenant's questions may use a day
	// (UTC) through Chat; 0 means no limit.
	DailyTokens int
	// OnDelta, when not nil, receives the answer's text as it is made;
	// an error it returns (a client gone) stops the model's call.
	OnDelta func(string) error
}

// AskAnswer is the answer to a question.
type AskAnswer struct {
	Answer         string     `json:"answer"`
	Citations      []Citation `json:"citations"`
	Mode           string     `json:"mode"`
	ConversationID string     `json:"conversation_id"`
	MessageID      string     `json:"message_id"`
	// Covered is false when the documents held nothing relevant:
	// Coverage, the share of the question's key words the best passage
	// holds, was under the store's threshold.
	Covered  bool    `json:"-"`
	Coverage float64 `json:"-"`
	// Query is what was searched, after a follow-up was made standalone.
	Query string `json:"-"`
}

// AskFeedback is a rating of an answer.
type AskFeedback struct {
	Rating  string
	Comment string
}

// AskEvidenceSummary is what filing questions as gap evidence did.
type AskEvidenceSummary struct {
	Questions   int `json:"questions"`
	GapsCreated int `json:"gaps_created"`
	GapsUpdated int `json:"gaps_updated"`
}

// ChatStore is the use cases of asking the documents and keeping the
// conversations. owner and viewer are the caller's Principal.Actor().
type ChatStore interface {
	// Ask answers a question from the tenant's documents and keeps the
	// question and its answer in the conversation. Returns
	// invalid_argument (an empty or overlong question, a bad top_k),
	// not_found (a conversation that is not the caller's), rate_limited
	// (the tenant's daily token budget is spent) and unavailable (the
	// model failed).
	Ask(ctx context.Context, tenantID, owner string, in AskInput, opt AskOptions) (AskAnswer, error)
	// CreateConversation starts an empty conversation.
	CreateConversation(ctx context.Context, tenantID, owner, title string) (Conversation, error)
	// ListConversations lists owner's conversations, newest first, a
	// keyset page at a time. Returns invalid_argument for a bad cursor.
	ListConversations(ctx context.Context, tenantID, owner string, limit int, cursor string) (ConversationPage, error)
	// GetConversation reads a conversation viewer owns or that is
	// shared, with its messages. Returns not_found.
	GetConversation(ctx context.Context, tenantID, id, viewer string) (ConversationDetail, error)
	// AddMessages keeps messages a client made in owner's conversation.
	// Returns not_found, invalid_argument.
	AddMessages(ctx context.Context, tenantID, owner, conversationID string, ms []Message) ([]Message, error)
	// ShareConversation shares owner's conversation with the tenant, or
	// stops sharing it. Returns not_found.
	ShareConversation(ctx context.Context, tenantID, id, owner string, shared bool) (Conversation, error)
	// DeleteConversation deletes owner's conversation. Returns not_found.
	DeleteConversation(ctx context.Context, tenantID, id, owner string) error
	// RateAnswer keeps a rating of an answer the rater may see; a rating
	// down makes its question evidence of a knowledge gap. Returns
	// not_found, invalid_argument.
	RateAnswer(ctx context.Context, tenantID, rater, messageID string, f AskFeedback) error
	// FileAskEvidence turns the questions not yet filed into knowledge
	// gaps (one per fingerprint, found again when it exists) and files
	// them under it.
	FileAskEvidence(ctx context.Context, tenantID, actor string, limit int) (AskEvidenceSummary, error)
	// PublishGapAnswers makes every gap with answers a document of
	// source_type gap_answer (replaced when its answers change), so that
	// the next ask finds them, and returns how many it created and
	// removed.
	PublishGapAnswers(ctx context.Context, tenantID, actor string) (created, removed int, err error)
}

// UsageDay is the UTC day of t, the day a token budget counts t in.
func UsageDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
