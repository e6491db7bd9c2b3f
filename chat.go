package engram

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Chat is a language model behind the OpenAI-compatible chat completions
// API (provider/openai implements it). Asking questions and, later, a
// model-based classifier depend on it alone.
type Chat interface {
	// Complete sends the messages and returns the model's answer. When
	// onDelta is not nil the answer streams: onDelta receives each piece
	// of text as it arrives, and an error it returns stops the call.
	// Returns unavailable when the provider could not be reached, kept
	// refusing (rate limits, server errors) or did not answer in time,
	// invalid_argument when it refused the request, and internal when its
	// answer was not what the API promises (malformed JSON or chunks).
	Complete(ctx context.Context, req ChatRequest, onDelta func(string) error) (ChatResponse, error)
	// Model names the model.
	Model() string
}

// Chat roles.
const (
	ChatSystem    = "system"
	ChatUser      = "user"
	ChatAssistant = "assistant"
)

// ChatMessage is one message sent to a model.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is what a model is asked.
type ChatRequest struct {
	Messages []ChatMessage
	// MaxTokens bounds the answer (0: the provider's default).
	MaxTokens int
	// Temperature, when not nil, is sent as is.
	Temperature *float64
}

// ChatUsage is what a call cost in tokens, as the provider counted it
// (estimated from the text when it did not say).
type ChatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Total is the tokens the call used in all.
func (u ChatUsage) Total() int { return u.PromptTokens + u.CompletionTokens }

// ChatResponse is a model's answer.
type ChatResponse struct {
	Content string
	// FinishReason is the provider's ("stop", "length", …).
	FinishReason string
	Usage        ChatUsage
}

// EstimateTokens is a rough token count of s (about four bytes a token),
// used for budgets before a call and when a provider reports no usage.
func EstimateTokens(s string) int { return (len(s) + 3) / 4 }

// Conversation is a series of questions and answers, owned by the user
// or API key that started it.
type Conversation struct {
	ID            string    `json:"id"`
	Owner         string    `json:"owner"`
	Title         string    `json:"title"`
	Shared        bool      `json:"shared"`
	CreatedAt     time.Time `json:"created_at"`
	LastMessageAt time.Time `json:"last_message_at"`
}

// Message roles a conversation keeps.
var MessageRoles = []string{ChatUser, ChatAssistant}

// Citation is a passage an answer cites as [N].
type Citation struct {
	N          int    `json:"n"`
	DocumentID string `json:"document_id"`
	ChunkIndex int    `json:"chunk_index"`
	Title      string `json:"title"`
	Snippet    string `json:"snippet"`
}

// Message is one turn of a conversation.
type Message struct {
	ID             string     `json:"id"`
	ConversationID string     `json:"conversation_id"`
	Role           string     `json:"role"`
	Content        string     `json:"content"`
	Citations      []Citation `json:"citations"`
	CreatedAt      time.Time  `json:"created_at"`
}

// ConversationDetail is a conversation with its messages, oldest first.
type ConversationDetail struct {
	Conversation
	Messages []Message `json:"messages"`
}

// Conversation limits.
const (
	MaxConversationTitle = 200
	MaxMessageContent    = 100000
	MaxMessageCitations  = 50
	// MaxConversationMessages is how many of a conversation's messages a
	// read returns (the newest ones).
	MaxConversationMessages = 500
	DefaultConversationPage = 20
	MaxConversationPage     = 100
)

// ConversationPage is one page of a caller's conversations, newest first.
type ConversationPage struct {
	Conversations []Conversation
	HasMore       bool
	NextCursor    string
}

// Ask reasons: why a question became evidence of a knowledge gap.
const (
	AskNotCovered = "not_covered"
	AskRatedDown  = "rated_down"
)

// AskEvidence is a question the documents could not answer, or whose
// answer was rated down: evidence for a knowledge gap.
type AskEvidence struct {
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	Question       string `json:"question"`
	Asker          string `json:"asker"`
	Reason         string `json:"reason"`
	// Fingerprint is AskFingerprint(Question).
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
}

// AskFingerprint identifies a question across askers and wordings by
// its subject: the distinct key words of the question, folded and
// sorted, as package service makes them (so "What is the parental leave
// policy?" and "parental leave policy" are one gap). It does not depend
// on the gap's category, which the wording decides.
func AskFingerprint(subject string) string {
	return GapFingerprint(GapContext, subject)
}

// AskCategory is the gap category a question falls in, by its first
// words: why → rationale, when → timeline, how → process, who →
// relationship, a decision → decision, anything else → context.
func AskCategory(question string) GapCategory {
	words := strings.Fields(NormalizeSubject(question))
	for i, w := range words {
		if i > 3 {
			break
		}
		switch w {
		case "why":
			return GapRationale
		case "when":
			return GapTimeline
		case "how":
			return GapProcess
		case "who", "whom", "whose":
			return GapRelationship
		case "decide", "decided", "decision", "chose", "choose":
			return GapDecision
		}
	}
	for _, w := range words {
		if w == "decided" || w == "decision" {
			return GapDecision
		}
	}
	return GapContext
}

// CitationsJSON is the stored form of citations: a JSON array.
func CitationsJSON(cs []Citation) string {
	if cs == nil {
		cs = []Citation{}
	}
	b, _ := json.Marshal(cs)
	return string(b)
}
