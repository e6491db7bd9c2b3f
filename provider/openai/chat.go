package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// ChatConfig configures a Chat client.
type ChatConfig struct {
	// Model is the model's name, e.g. gpt-4o-mini or llama3.1.
	Model string
	// MaxTokens bounds each answer unless the request says (default 800).
	MaxTokens int
}

// Chat is engram.Chat over POST /v1/chat/completions.
type Chat struct {
	c   *Client
	cfg ChatConfig
}

var _ engram.Chat = (*Chat)(nil)

// NewChat returns a chat model that sends its requests through c.
func NewChat(c *Client, cfg ChatConfig) (*Chat, error) {
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, engram.Errorf(engram.EInvalid, "llm-model: must not be empty")
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 800
	}
	return &Chat{c: c, cfg: cfg}, nil
}

// Model names the model.
func (m *Chat) Model() string { return m.cfg.Model }

type chatRequest struct {
	Model         string               `json:"model"`
	Messages      []engram.ChatMessage `json:"messages"`
	MaxTokens     int                  `json:"max_tokens,omitempty"`
	Temperature   *float64             `json:"temperature,omitempty"`
	Stream        bool                 `json:"stream,omitempty"`
	StreamOptions *streamOptions       `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
}

const chatPath = "/v1/chat/completions"

// Complete asks the model. Without onDelta it is one request through
// Client.Post (with its retries). With onDelta the answer streams as
// server-sent events; an attempt is retried, like any other, only until
// the first piece of text has been handed on, and Timeout then bounds the
// wait for each next chunk rather than the whole answer.
func (m *Chat) Complete(ctx context.Context, req engram.ChatRequest, onDelta func(string) error) (engram.ChatResponse, error) {
	body := chatRequest{Model: m.cfg.Model, Messages: req.Messages, MaxTokens: req.MaxTokens, Temperature: req.Temperature}
	if body.MaxTokens <= 0 {
		body.MaxTokens = m.cfg.MaxTokens
	}
	var prompt strings.Builder
	for _, msg := range req.Messages {
		prompt.WriteString(msg.Content)
	}
	if onDelta == nil {
		var resp chatResponse
		if err := m.c.Post(ctx, chatPath, body, &resp); err != nil {
			return engram.ChatResponse{}, err
		}
		if len(resp.Choices) == 0 {
			return engram.ChatResponse{}, engram.Errorf(engram.EInternal, "chat: the answer has no choices")
		}
		out := engram.ChatResponse{Content: resp.Choices[0].Message.Content, FinishReason: resp.Choices[0].FinishReason}
		out.Usage = usage(resp.Usage, prompt.String(), out.Content)
		return out, nil
	}
	body.Stream = true
	body.StreamOptions = &streamOptions{IncludeUsage: true}
	payload, err := json.Marshal(body)
	if err != nil {
		return engram.ChatResponse{}, err
	}
	out, err := m.c.stream(ctx, chatPath, payload, onDelta)
	if err != nil {
		return engram.ChatResponse{}, err
	}
	out.Usage = usage(out.reported, prompt.String(), out.Content)
	return out.ChatResponse, nil
}

// usage is what the provider reported, or an estimate from the text.
func usage(u *chatUsage, prompt, answer string) engram.ChatUsage {
	if u != nil && u.PromptTokens+u.CompletionTokens > 0 {
		return engram.ChatUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	}
	return engram.ChatUsage{PromptTokens: engram.EstimateTokens(prompt), CompletionTokens: engram.EstimateTokens(answer)}
}

type streamed struct {
	engram.ChatResponse
	reported *chatUsage
}

// stream posts payload and reads the answer's server-sent events, with
// the retries and the concurrency limit of Post.
func (c *Client) stream(ctx context.Context, path string, payload []byte, onDelta func(string) error) (streamed, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return streamed{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	var last error
	for attempt := 1; ; attempt++ {
		out, started, wait, err := c.streamAttempt(ctx, path, payload, onDelta)
		if err == nil {
			return out, nil
		}
		last = err
		if started || wait < 0 || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			break
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		t := time.NewTimer(min(wait, c.cfg.BackoffMax))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return streamed{}, ctx.Err()
		}
	}
	if ctx.Err() != nil {
		return streamed{}, ctx.Err()
	}
	var cb errCallback
	if errors.As(last, &cb) {
		return streamed{}, cb.err
	}
	var se *StatusError
	if errors.As(last, &se) && !retryable(se.Status) {
		return streamed{}, engram.Errorf(engram.EInvalid, "%s%s: %s", c.cfg.BaseURL, path, se.Error())
	}
	var ee *engram.Error
	if errors.As(last, &ee) {
		return streamed{}, last
	}
	return streamed{}, engram.Errorf(engram.EUnavailable, "%s%s: %v", c.cfg.BaseURL, path, last)
}

// errCallback marks an error onDelta returned, which ends the call as is.
type errCallback struct{ err error }

func (e errCallback) Error() string { return e.err.Error() }
func (e errCallback) Unwrap() error { return e.err }

// streamAttempt makes one streaming request. started reports whether
// text was handed to onDelta (the attempt cannot be repeated then); wait
// is as in attempt.
func (c *Client) streamAttempt(ctx context.Context, path string, payload []byte, onDelta func(string) error) (out streamed, started bool, wait time.Duration, err error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The timer bounds the wait for the headers, then for each chunk.
	idle := time.AfterFunc(c.cfg.Timeout, func() { cancel(errIdle) })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(payload))
	if err != nil {
		return out, false, -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return out, false, c.netWait(ctx, actx), c.netError(ctx, actx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		se := &StatusError{Status: resp.StatusCode, Message: redact(apiMessage(raw), c.cfg.APIKey)}
		if !retryable(resp.StatusCode) {
			return out, false, -1, se
		}
		return out, false, retryAfter(resp.Header.Get("Retry-After")), se
	}
	var text strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	done := false
	for sc.Scan() {
		idle.Reset(c.cfg.Timeout)
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue // comments, event names, blank separators
		}
		data = strings.TrimSpace(data)
		if data == "[DONE]" {
			done = true
			break
		}
		var ch chatChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return out, started, -1, engram.Errorf(engram.EInternal, "%s%s: a streamed chunk is not the API's JSON", c.cfg.BaseURL, path)
		}
		if ch.Usage != nil {
			out.reported = ch.Usage
		}
		for _, choice := range ch.Choices {
			if choice.FinishReason != nil && *choice.FinishReason != "" {
				out.FinishReason = *choice.FinishReason
			}
			if choice.Delta.Content == "" {
				continue
			}
			started = true
			text.WriteString(choice.Delta.Content)
			if err := onDelta(choice.Delta.Content); err != nil {
				return out, true, -1, errCallback{err}
			}
		}
	}
	if err := sc.Err(); err != nil && !done {
		return out, started, c.netWait(ctx, actx), c.netError(ctx, actx, err)
	}
	if !done && out.FinishReason == "" {
		// The stream ended without its end: a cut connection.
		return out, started, 0, errors.New("the stream ended before its last chunk")
	}
	out.Content = text.String()
	return out, started, 0, nil
}

var errIdle = errors.New("idle")

// netWait is the wait after a failed read: none when the caller gave up.
func (c *Client) netWait(ctx, actx context.Context) time.Duration {
	if ctx.Err() != nil {
		return -1
	}
	return 0
}

// netError names a failed request without quoting a header.
func (c *Client) netError(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(context.Cause(actx), errIdle) {
		return fmt.Errorf("no answer within %s", c.cfg.Timeout)
	}
	return errors.New("request failed: " + redact(err.Error(), c.cfg.APIKey))
}
