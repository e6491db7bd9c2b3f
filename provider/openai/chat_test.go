package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/provider/openai"
)

// chatFake is an OpenAI-compatible chat server: each request takes the
// next scripted step; past the last it answers "hello world" (streamed
// when asked).
type chatFake struct {
	t     *testing.T
	steps []func(w http.ResponseWriter, r *http.Request) bool
	calls atomic.Int32
}

func (f *chatFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.calls.Add(1))
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer sk-chat-secret" {
		f.t.Errorf("%s %s with %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct{ Role, Content string }
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &req); err != nil || req.Model != "test-chat" || len(req.Messages) == 0 {
		f.t.Errorf("request %s: %v", raw, err)
	}
	if n <= len(f.steps) && f.steps[n-1](w, r) {
		return
	}
	if !req.Stream {
		fmt.Fprint(w, `{"choices":[{"message":{"role":"assistant","content":"hello world"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}`)
		return
	}
	sse(w, `{"choices":[{"delta":{"role":"assistant"}}]}`, `{"choices":[{"delta":{"content":"hello"}}]}`,
		`{"choices":[{"delta":{"content":" world"},"finish_reason":"stop"}]}`, `{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}`, "[DONE]")
}

// sse writes events, flushing each.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

func newChat(t *testing.T, f *chatFake, cfg openai.Config) *openai.Chat {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg.BaseURL, cfg.APIKey = srv.URL+"/v1", "sk-chat-secret"
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = time.Millisecond
	}
	c, err := openai.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := openai.NewChat(c, openai.ChatConfig{Model: "test-chat"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type step = func(http.ResponseWriter, *http.Request) bool

func TestChat(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
		return true
	}
	for _, c := range []struct {
		name    string
		stream  bool
		steps   []step
		cfg     openai.Config
		code    string
		calls   int32
		message string
		text    string // the deltas handed on, when streaming
	}{
		{name: "plain", calls: 1},
		{name: "stream", stream: true, calls: 1, text: "hello|world"},
		{name: "stream after 429 with Retry-After", stream: true, steps: []step{status(429, "Retry-After", "0.05")}, calls: 2, text: "hello|world"},
		{name: "stream after 503", stream: true, steps: []step{status(503)}, calls: 2, text: "hello|world"},
		{name: "400 is not retried", stream: true, steps: []step{status(400)}, calls: 1, code: engram.EInvalid, message: "scripted failure"},
		{name: "500 every time", stream: true, steps: []step{status(500), status(500)}, cfg: openai.Config{MaxAttempts: 2},
			calls: 2, code: engram.EUnavailable, message: "HTTP 500"},
		{name: "timeout then ok", stream: true, steps: []step{hang}, cfg: openai.Config{Timeout: 100 * time.Millisecond}, calls: 2, text: "hello|world"},
		{name: "malformed chunk", stream: true, steps: []step{func(w http.ResponseWriter, r *http.Request) bool {
			sse(w, `{"choices":[{"delta":{"content":"hel"}}]}`, `{"choices":[{"delta":`)
			return true
		}}, calls: 1, code: engram.EInternal, message: "not the API's JSON", text: "hel"},
		{name: "stream cut after text is not retried", stream: true, steps: []step{func(w http.ResponseWriter, r *http.Request) bool {
			sse(w, `{"choices":[{"delta":{"content":"hel"}}]}`)
			return true
		}}, calls: 1, code: engram.EUnavailable, message: "ended before", text: "hel"},
		{name: "stalls mid-stream", stream: true, cfg: openai.Config{Timeout: 100 * time.Millisecond}, steps: []step{func(w http.ResponseWriter, r *http.Request) bool {
			sse(w, `{"choices":[{"delta":{"content":"hel"}}]}`)
			return hang(w, r)
		}}, calls: 1, code: engram.EUnavailable, message: "no answer within", text: "hel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := &chatFake{t: t, steps: c.steps}
			m := newChat(t, f, c.cfg)
			var deltas []string
			var on func(string) error
			if c.stream {
				on = func(s string) error { deltas = append(deltas, strings.TrimSpace(s)); return nil }
			}
			start := time.Now()
			resp, err := m.Complete(context.Background(), engram.ChatRequest{Messages: []engram.ChatMessage{{Role: "user", Content: "hi"}}}, on)
			if got := f.calls.Load(); got != c.calls {
				t.Errorf("%d requests, want %d", got, c.calls)
			}
			if strings.Join(deltas, "|") != c.text {
				t.Errorf("deltas %q, want %q", deltas, c.text)
			}
			if c.code != "" {
				if engram.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.message) || strings.Contains(err.Error(), "sk-chat-secret") {
					t.Fatalf("err = %v, want %s with %q", err, c.code, c.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Content != "hello world" || resp.FinishReason != "stop" || resp.Usage.Total() != 9 {
				t.Fatalf("response %+v", resp)
			}
			if strings.Contains(c.name, "Retry-After") && time.Since(start) < 50*time.Millisecond {
				t.Fatalf("retried after %s, before Retry-After", time.Since(start))
			}
		})
	}
}

// TestChatCallbackStops checks that an error from onDelta (a client that
// went away) ends the call with that error and no retry.
func TestChatCallbackStops(t *testing.T) {
	t.Parallel()
	f := &chatFake{t: t}
	m := newChat(t, f, openai.Config{})
	gone := errors.New("client gone")
	_, err := m.Complete(context.Background(), engram.ChatRequest{Messages: []engram.ChatMessage{{Role: "user", Content: "hi"}}},
		func(string) error { return gone })
	if !errors.Is(err, gone) || f.calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls", err, f.calls.Load())
	}
}
