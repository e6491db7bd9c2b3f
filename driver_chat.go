package engram

import (
	"context"
	"time"
)

// ConversationKey is a position in an owner's conversations, newest
// first: the page after it starts below it.
type ConversationKey struct {
	LastMessageAt time.Time
	ID            string
}

// ChunkRef names a chunk of a document; Content is its text when read.
type ChunkRef struct {
	DocumentID string `json:"document_id"`
	ChunkIndex int    `json:"chunk_index"`
	Content    string `json:"-"`
}

// GapAnswerRow is one answer to a gap's question, as published.
type GapAnswerRow struct {
	GapID    string
	Title    string
	Position int
	Question string
	Answer   string
}

// AskedMessage is an answer with the question it answered, as feedback
// finds it.
type AskedMessage struct {
	Message
	Owner    string
	Question string
}

// ChatExecutor runs the statements of conversations, answers' feedback,
// the evidence they leave for knowledge gaps, and the language model's
// daily token budget. Methods that find a conversation or a message by id
// report false, not an error, when no row of the tenant the caller may
// see matched.
type ChatExecutor interface {
	// ConversationInsert inserts a conversation: one statement. Returns
	// conflict when the id is taken.
	ConversationInsert(ctx context.Context, tenantID string, c Conversation) error
	// ConversationList reads up to limit of owner's conversations after
	// the key (nil: from the newest), newest first: one statement.
	ConversationList(ctx context.Context, tenantID, owner string, after *ConversationKey, limit int) ([]Conversation, error)
	// ConversationGet reads a conversation that viewer owns or that is
	// shared: one statement.
	ConversationGet(ctx context.Context, tenantID, id, viewer string) (Conversation, bool, error)
	// ConversationTouch moves owner's conversation's last_message_at to
	// at (and sets its title when it has none): one statement.
	ConversationTouch(ctx context.Context, tenantID, id, owner, title string, at time.Time) (bool, error)
	// ConversationShare sets whether owner's conversation is shared and
	// returns it: one statement.
	ConversationShare(ctx context.Context, tenantID, id, owner string, shared bool) (Conversation, bool, error)
	// ConversationDelete deletes owner's conversation; its messages and
	// their feedback go by cascade. One statement.
	ConversationDelete(ctx context.Context, tenantID, id, owner string) (bool, error)
	// MessagesInsert inserts messages (of conversations the caller
	// checked): one statement whatever their number.
	MessagesInsert(ctx context.Context, tenantID string, ms []Message) error
	// MessagesRecent reads the newest limit messages of a conversation,
	// returned oldest first: one statement.
	MessagesRecent(ctx context.Context, tenantID, conversationID string, limit int) ([]Message, error)
	// AskedMessageGet reads an assistant message of a conversation
	// viewer owns or that is shared, with the user's message before it:
	// one statement.
	AskedMessageGet(ctx context.Context, tenantID, messageID, viewer string) (AskedMessage, bool, error)
	// AskFeedbackUpsert stores rater's rating of a message, replacing an
	// earlier one of the same rater: one statement.
	AskFeedbackUpsert(ctx context.Context, tenantID, messageID, rater, rating, comment string, at time.Time) error
	// AskEvidenceInsert stores evidence, keeping what is already stored
	// for the same message and reason: one statement.
	AskEvidenceInsert(ctx context.Context, tenantID string, ev []AskEvidence) error
	// AskEvidencePending reads up to limit pieces of evidence the gap
	// analysis has not filed yet, oldest first: one statement.
	AskEvidencePending(ctx context.Context, tenantID string, limit int) ([]AskEvidence, error)
	// AskEvidenceFile files the pending evidence of each fingerprint
	// under the gap gapIDs maps it to: one statement.
	AskEvidenceFile(ctx context.Context, tenantID string, gapIDs map[string]string) error
	// ChunksRead reads the text of the tenant's chunks among refs (of live
	// documents; others are left out): one statement.
	ChunksRead(ctx context.Context, tenantID string, refs []ChunkRef) ([]ChunkRef, error)
	// GapAnswerRows reads up to limit answers of the tenant's gaps that
	// are not closed, each with its gap's title and its question, in gap,
	// question and answer order: one statement.
	GapAnswerRows(ctx context.Context, tenantID string, limit int) ([]GapAnswerRow, error)
	// LLMUsageRead reads the tokens the tenant used on day (UTC): one
	// statement.
	LLMUsageRead(ctx context.Context, tenantID string, day time.Time) (int, error)
	// LLMUsageAdd adds tokens to the tenant's use on day: one statement.
	LLMUsageAdd(ctx context.Context, tenantID string, day time.Time, tokens int) error
}
