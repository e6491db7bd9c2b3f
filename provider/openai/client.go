// Package openai speaks the OpenAI-compatible HTTP API that OpenAI, Azure
// OpenAI, Ollama, vLLM, llama.cpp's server and LocalAI serve. Client is
// the HTTP core every endpoint shares (timeouts, retries with backoff on
// 429 and 5xx honouring Retry-After, a concurrency limit, the API key
// read from the environment or a file and never logged); Embeddings is
// the POST /v1/embeddings client behind engram.Embedder. A chat
// completions client reuses Client.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// Config configures a Client. Zero values take the defaults.
type Config struct {
	// BaseURL is the API's root, e.g. https://api.openai.com or
	// http://127.0.0.1:11434 (Ollama); "/v1/…" paths are added to it.
	BaseURL string
	// APIKey is sent as a bearer token; empty sends none (local servers).
	APIKey string
	// Timeout bounds one attempt (default 30s).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one call, the first included
	// (default 5).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the wait between attempts when the
	// server gives no Retry-After: BackoffBase doubled per attempt, with
	// jitter, at most BackoffMax (defaults 500ms and 30s). A Retry-After
	// longer than BackoffMax is capped to it.
	BackoffBase, BackoffMax time.Duration
	// MaxConcurrent bounds the calls in flight at once through this
	// client (default 4). A process makes one client per provider, so
	// this is the process's limit.
	MaxConcurrent int
	// HTTPClient sends the requests (default: a client of its own).
	HTTPClient *http.Client
}

// Client is the HTTP core of the OpenAI-compatible API.
type Client struct {
	cfg  Config
	sem  chan struct{}
	http *http.Client
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("openai: the base URL is empty")
	}
	if !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return nil, fmt.Errorf("openai: base URL %q is not http:// or https://", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1"), "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 500 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 30 * time.Second
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 4
	}
	h := cfg.HTTPClient
	if h == nil {
		h = &http.Client{}
	}
	return &Client{cfg: cfg, sem: make(chan struct{}, cfg.MaxConcurrent), http: h}, nil
}

// LoadKey returns the API key from the environment variable envVar when
// it is set, else from the first line of file when file is not empty,
// else "". The key itself never appears in an error.
func LoadKey(envVar, file string) (string, error) {
	if envVar != "" {
		if v := strings.TrimSpace(os.Getenv(envVar)); v != "" {
			return v, nil
		}
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("openai: reading the API key file %s: %w", file, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line), nil
}

// StatusError is an answer the server gave that was not a success.
type StatusError struct {
	Status int
	// Message is the server's error message, if it sent one in the
	// API's shape, cut to 200 bytes.
	Message string
}

func (e *StatusError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
}

// retryable reports whether a status is worth another attempt.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500
}

// Post sends body as JSON to path (e.g. "/v1/embeddings") and decodes a
// 2xx answer into out. It retries network errors, timeouts, 408, 429 and
// 5xx up to MaxAttempts, waiting Retry-After when the server says, else
// an exponential backoff with jitter. Errors: engram's unavailable when
// the attempts ran out on retryable failures, invalid_argument for
// another 4xx, internal for an answer that is not JSON of out's shape.
func (c *Client) Post(ctx context.Context, path string, body, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.sem }()

	var last error
	for attempt := 1; ; attempt++ {
		wait, err := c.attempt(ctx, path, payload, out)
		if err == nil {
			return nil
		}
		last = err
		if wait < 0 || attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
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
			// The caller's deadline ended the retries: say what failed.
			return engram.Errorf(engram.EUnavailable, "%s%s: %v (after %d attempts, then %v)", c.cfg.BaseURL, path, last, attempt, ctx.Err())
		}
	}
	var se *StatusError
	if errors.As(last, &se) && !retryable(se.Status) {
		return engram.Errorf(engram.EInvalid, "%s%s: %s", c.cfg.BaseURL, path, se.Error())
	}
	var ee *engram.Error
	if errors.As(last, &ee) {
		return last
	}
	return engram.Errorf(engram.EUnavailable, "%s%s: %v (after %d attempts)", c.cfg.BaseURL, path, last, c.cfg.MaxAttempts)
}

// attempt makes one request. It returns how long to wait before the
// next attempt (0: the backoff decides; -1: do not try again) and the
// error.
func (c *Client) attempt(ctx context.Context, path string, payload []byte, out any) (time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(payload))
	if err != nil {
		return -1, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		// A network error or this attempt's timeout: try again. The
		// error names the URL, never a header.
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("no answer within %s", c.cfg.Timeout)
		}
		return 0, errors.New("request failed: " + redact(err.Error(), c.cfg.APIKey))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, errors.New("reading the answer failed")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Status: resp.StatusCode, Message: redact(apiMessage(raw), c.cfg.APIKey)}
		if !retryable(resp.StatusCode) {
			return -1, se
		}
		return retryAfter(resp.Header.Get("Retry-After")), se
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return -1, engram.Errorf(engram.EInternal, "%s%s: the answer is not the API's JSON: %v", c.cfg.BaseURL, path, err)
	}
	return 0, nil
}

// backoff is the wait before attempt+1: BackoffBase·2^(attempt-1), with
// up to half of it as jitter so that clients rate-limited together do
// not come back together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase << min(attempt-1, 20)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; 0 when
// absent or unreadable.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// apiMessage pulls error.message out of an error answer.
func apiMessage(raw []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	m := e.Error.Message
	if len(m) > 200 {
		m = m[:200]
	}
	return m
}

// redact removes the key from a text that might quote it.
func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}
