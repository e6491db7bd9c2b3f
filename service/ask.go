package service

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/textsearch"
)

// Asking the documents: retrieval is Search (the search use case, with
// its rules: live documents, no spam, no rejected ones, the tenant's
// alone), then either the best-matching sentences of the passages
// (extractive, no model) or a model's answer over the numbered passages
// (generative), whose citations are checked against the passages sent.
// A question the passages do not cover is answered so, with no model
// call, and kept as evidence of a knowledge gap.
//
// Statements per ask, whatever the tenant's size: the conversation and
// its last turns when one is continued (two), the budget when a model is
// used (one), the search (one), the passages' text (one when something
// matched), and one
// transaction of two writes (three when the question becomes evidence,
// four with the model's usage).

// NotCoveredAnswer is the answer to a question the documents do not
// cover.
const NotCoveredAnswer = "The documents do not cover this question: nothing in them matches it closely enough to answer. It has been kept so that someone can fill the gap."

// noValidCitation is added to a model's answer none of whose citations
// name a passage it was sent.
const noValidCitation = "\n\n(This answer cites none of the passages it was given, so nothing in the documents supports it.)"

// MinAskCoverage is the share of a question's key words the best passage
// must contain for the question to count as covered (docs/SEARCH.md has
// how it was measured).
const MinAskCoverage = 0.4

// followUpTurns is how many of a conversation's last messages a
// follow-up is read with.
const followUpTurns = 6

// extractiveSentences is how many sentences an extractive answer has at
// most.
const extractiveSentences = 3

// questionWords are words that shape a question but say nothing of its
// subject; they are not searched for.
var questionWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`what which how why when where who whom whose does do did doing done can could
		should would shall may might must i me my we our us you your he she his her its tell explain please
		has have had about any some there here get got want need know many much`) {
		questionWords[w] = true
	}
}

// keyWords are the distinct folded words of s that say what it is
// about: no stop words, no question words.
func keyWords(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range textsearch.Tokens(s) {
		if textsearch.IsStopWord(t.Text) || questionWords[t.Text] || seen[t.Text] {
			continue
		}
		seen[t.Text] = true
		out = append(out, t.Text)
		if len(out) == engram.MaxSearchTerms {
			break
		}
	}
	return out
}

// askFingerprint is the fingerprint of a question's subject: its key
// words, sorted (engram.AskFingerprint).
func askFingerprint(q string) string {
	words := keyWords(q)
	if len(words) == 0 {
		return engram.AskFingerprint(engram.NormalizeSubject(q))
	}
	sort.Strings(words)
	return engram.AskFingerprint(strings.Join(words, " "))
}

// passage is a retrieved chunk, numbered from 1 in rank order.
type passage struct {
	n      int
	result engram.SearchResult
	text   string
}

// Ask answers a question; see engram.ChatStore.
func (s *Store) Ask(ctx context.Context, tenantID, owner string, in engram.AskInput, opt engram.AskOptions) (engram.AskAnswer, error) {
	var ans engram.AskAnswer
	in.Question = strings.TrimSpace(in.Question)
	if in.Question == "" {
		return ans, engram.Errorf(engram.EInvalid, "question: must not be empty")
	}
	if utf8.RuneCountInString(in.Question) > engram.MaxQuestionRunes {
		return ans, engram.Errorf(engram.EInvalid, "question: must be at most %d characters", engram.MaxQuestionRunes)
	}
	if in.TopK == 0 {
		in.TopK = engram.DefaultAskTopK
	}
	if in.TopK < 1 || in.TopK > engram.MaxAskTopK {
		return ans, engram.Errorf(engram.EInvalid, "top_k: must be between 1 and %d", engram.MaxAskTopK)
	}
	var history []engram.Message
	if in.ConversationID != "" {
		c, ok, err := s.d.Reader().ConversationGet(ctx, tenantID, in.ConversationID, owner)
		if err != nil {
			return ans, err
		}
		if !ok || c.Owner != owner {
			// A conversation shared with the caller is theirs to read,
			// not to continue.
			return ans, conversationNotFound(in.ConversationID)
		}
		if history, err = s.d.Reader().MessagesRecent(ctx, tenantID, in.ConversationID, followUpTurns); err != nil {
			return ans, err
		}
	}
	used := 0
	// The budget is read once, before the first model call: a question
	// answered without the model (not covered) is answered even when the
	// day's tokens are spent.
	budgetRead := false
	checkBudget := func() error {
		if opt.Chat == nil || opt.DailyTokens <= 0 || budgetRead {
			return nil
		}
		budgetRead = true
		day := engram.UsageDay(s.now())
		n, err := s.d.Reader().LLMUsageRead(ctx, tenantID, day)
		if err != nil {
			return err
		}
		if n >= opt.DailyTokens {
			return &engram.Error{Code: engram.ERateLimited, Message: "the tenant's daily budget of language-model tokens is spent; ask again tomorrow (UTC)",
				Details: map[string]any{"retry_after": int(day.Add(24*time.Hour).Sub(s.now()).Seconds()) + 1}}
		}
		return nil
	}
	for _, m := range history {
		if m.Role == engram.ChatUser {
			if err := checkBudget(); err != nil { // the follow-up is rewritten by the model
				return ans, err
			}
			break
		}
	}
	query, u, err := s.standalone(ctx, in.Question, history, opt.Chat)
	if err != nil {
		return ans, err
	}
	used += u
	ans.Query = query
	passages, err := s.retrieve(ctx, tenantID, query, in)
	if err != nil {
		return ans, err
	}
	ans.Coverage = coverageOf(query, passages)
	ans.Covered = ans.Coverage >= MinAskCoverage
	switch {
	case !ans.Covered:
		ans.Mode, ans.Answer, ans.Citations = engram.AskExtractive, NotCoveredAnswer, []engram.Citation{}
		if opt.Chat != nil {
			ans.Mode = engram.AskGenerative
		}
		if opt.OnDelta != nil {
			if err := opt.OnDelta(ans.Answer); err != nil {
				return ans, err
			}
		}
	case opt.Chat == nil:
		ans.Mode = engram.AskExtractive
		ans.Answer, ans.Citations = extract(query, passages)
		if opt.OnDelta != nil {
			if err := opt.OnDelta(ans.Answer); err != nil {
				return ans, err
			}
		}
	default:
		if err := checkBudget(); err != nil {
			return ans, err
		}
		ans.Mode = engram.AskGenerative
		sent := withinBudget(passages, engram.AskContextTokens)
		resp, err := opt.Chat.Complete(ctx, engram.ChatRequest{Messages: answerPrompt(in.Question, sent)}, opt.OnDelta)
		if err != nil {
			return ans, err
		}
		used += resp.Usage.Total()
		ans.Answer, ans.Citations = checkCitations(resp.Content, sent)
		if len(ans.Citations) == 0 {
			ans.Answer += noValidCitation
		}
	}
	return ans, s.keepTurn(ctx, tenantID, owner, in, &ans, used)
}

// keepTurn stores the question and its answer, the evidence of a
// question not covered and the model's usage, in one transaction.
func (s *Store) keepTurn(ctx context.Context, tenantID, owner string, in engram.AskInput, ans *engram.AskAnswer, used int) error {
	now := s.now().UTC()
	ans.ConversationID, ans.MessageID = in.ConversationID, engram.NewID()
	question := engram.Message{ID: engram.NewID(), Role: engram.ChatUser, Content: in.Question, Citations: []engram.Citation{}, CreatedAt: now}
	answer := engram.Message{ID: ans.MessageID, Role: engram.ChatAssistant, Content: ans.Answer, Citations: ans.Citations, CreatedAt: now.Add(time.Microsecond)}
	return s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		if ans.ConversationID == "" {
			ans.ConversationID = engram.NewID()
			err := tx.ConversationInsert(ctx, tenantID, engram.Conversation{ID: ans.ConversationID, Owner: owner,
				Title: conversationTitle(in.Question), CreatedAt: now, LastMessageAt: answer.CreatedAt})
			if err != nil {
				return err
			}
		} else {
			ok, err := tx.ConversationTouch(ctx, tenantID, ans.ConversationID, owner, conversationTitle(in.Question), answer.CreatedAt)
			if err != nil {
				return err
			}
			if !ok {
				return conversationNotFound(ans.ConversationID) // deleted meanwhile
			}
		}
		question.ConversationID, answer.ConversationID = ans.ConversationID, ans.ConversationID
		if err := tx.MessagesInsert(ctx, tenantID, []engram.Message{question, answer}); err != nil {
			return err
		}
		if !ans.Covered {
			err := tx.AskEvidenceInsert(ctx, tenantID, []engram.AskEvidence{{MessageID: ans.MessageID, ConversationID: ans.ConversationID,
				Question: in.Question, Asker: owner, Reason: engram.AskNotCovered, Fingerprint: askFingerprint(in.Question), CreatedAt: now}})
			if err != nil {
				return err
			}
		}
		if used > 0 {
			return tx.LLMUsageAdd(ctx, tenantID, engram.UsageDay(now), used)
		}
		return nil
	})
}

// standalone makes a follow-up a question that stands alone, from the
// conversation's last question: by the model when there is one, else by
// adding the last question's key words the new one lacks. It returns the
// query to search and the tokens the model used.
func (s *Store) standalone(ctx context.Context, question string, history []engram.Message, chat engram.Chat) (string, int, error) {
	var prev []engram.Message
	for _, m := range history {
		if m.Role == engram.ChatUser {
			prev = append(prev, m)
		}
	}
	if len(prev) == 0 {
		return question, 0, nil
	}
	last := prev[len(prev)-1].Content
	if chat != nil {
		var b strings.Builder
		for _, m := range history {
			b.WriteString(m.Role + ": " + truncate(m.Content, 500) + "\n")
		}
		resp, err := chat.Complete(ctx, engram.ChatRequest{MaxTokens: 100, Messages: []engram.ChatMessage{
			{Role: engram.ChatSystem, Content: "Rewrite the user's follow-up question as one standalone search query, using the conversation for what it refers to. Answer with the query alone."},
			{Role: engram.ChatUser, Content: "Conversation:\n" + b.String() + "\nFollow-up question: " + question},
		}}, nil)
		if err == nil && strings.TrimSpace(resp.Content) != "" {
			return truncate(strings.TrimSpace(resp.Content), engram.MaxQuestionRunes), resp.Usage.Total(), nil
		}
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		// The model failed: the key words still make a query.
	}
	have := map[string]bool{}
	for _, w := range keyWords(question) {
		have[w] = true
	}
	var carried []string
	for _, w := range keyWords(last) {
		if !have[w] {
			carried = append(carried, w)
		}
	}
	if len(carried) == 0 {
		return question, 0, nil
	}
	return question + " " + strings.Join(carried, " "), 0, nil
}

// retrieve runs the search for the question as it stands (search's own
// parsing and ranking, passage by passage) and returns the passages with
// their text.
func (s *Store) retrieve(ctx context.Context, tenantID, query string, in engram.AskInput) ([]passage, error) {
	if len(keyWords(query)) == 0 {
		return nil, nil
	}
	page, err := s.Search(ctx, tenantID, engram.SearchInput{Query: query, Filter: in.Filter, Chunks: true, Limit: in.TopK})
	if err != nil {
		return nil, err
	}
	results := page.Results
	if len(results) == 0 {
		return nil, nil
	}
	refs := make([]engram.ChunkRef, len(results))
	for i, r := range results {
		refs[i] = engram.ChunkRef{DocumentID: r.DocumentID, ChunkIndex: r.ChunkIndex}
	}
	texts, err := s.d.Reader().ChunksRead(ctx, tenantID, refs)
	if err != nil {
		return nil, err
	}
	byRef := map[engram.ChunkRef]string{}
	for _, t := range texts {
		byRef[engram.ChunkRef{DocumentID: t.DocumentID, ChunkIndex: t.ChunkIndex}] = t.Content
	}
	var out []passage
	for _, r := range results {
		text, ok := byRef[engram.ChunkRef{DocumentID: r.DocumentID, ChunkIndex: r.ChunkIndex}]
		if !ok {
			continue // deleted since the search
		}
		out = append(out, passage{n: len(out) + 1, result: r, text: text})
	}
	return out, nil
}

// coverageOf is the share of the query's key words the best passage
// (its title and text) holds; 0 without a passage.
func coverageOf(query string, ps []passage) float64 {
	words := keyWords(query)
	if len(ps) == 0 || len(words) == 0 {
		return 0
	}
	return coverage(words, ps[0].result.Title+"\n"+ps[0].text)
}

// coverage is the share of words found in text.
func coverage(words []string, text string) float64 {
	in := map[string]bool{}
	for _, t := range textsearch.Tokens(text) {
		in[t.Text] = true
	}
	n := 0
	for _, w := range words {
		if in[w] {
			n++
		}
	}
	return float64(n) / float64(len(words))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// citationFor is the citation of a passage.
func citationFor(p passage) engram.Citation {
	return engram.Citation{N: p.n, DocumentID: p.result.DocumentID, ChunkIndex: p.result.ChunkIndex, Title: p.result.Title, Snippet: p.result.Snippet}
}
