package http_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/analyze"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

// env is a running server over a real store with one tenant ("acme") and a
// key of every role.
type env struct {
	store  testdb.Store
	srv    *httptest.Server
	tenant engram.Tenant
	admin  engram.NewKey
	member engram.NewKey
	viewer engram.NewKey
	logs   *logBuffer
}

// option changes the server's config before it starts.
type option func(*enghttp.Config)

func withClassifier(c engram.Classifier) option {
	return func(cfg *enghttp.Config) { cfg.Classifier = c }
}

// newEnv starts a server on s. Its default classifier is titleClassifier,
// whose verdicts the tests can predict exactly.
func newEnv(t *testing.T, s testdb.Store, opts ...option) *env {
	t.Helper()
	ctx := context.Background()
	tn, admin, err := s.CreateTenant(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	member, err := s.CreateAPIKey(ctx, "acme", engram.RoleMember, "member", nil)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := s.CreateAPIKey(ctx, "acme", engram.RoleViewer, "viewer", nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	cfg := enghttp.Config{
		Store:      s,
		Classifier: &titleClassifier{},
		Analyzer:   analyze.New(),
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:    "test-1.2.3",
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := httptest.NewServer(enghttp.NewServer(cfg))
	t.Cleanup(srv.Close)
	return &env{store: s, srv: srv, tenant: tn, admin: admin, member: member, viewer: viewer, logs: logs}
}

// result is one response, already checked for the invariants every
// response must keep (see call).
type result struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
	// Statements is the count from the Server-Timing header.
	Statements int
}

var serverTimingRe = regexp.MustCompile(`^db;dur=\d+\.\d{3};desc="(\d+) statements"$`)

// call sends one request with the given API key (none when empty). body is
// sent as is when it is a string or []byte, as JSON otherwise, and not at
// all when nil. Every response must be a JSON object whose "success"
// matches its status, with a request id and a Server-Timing header.
func (e *env) call(t *testing.T, method, path, key string, body any, header ...string) result {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, raw)
	}
	if err := json.Unmarshal(raw, &res.Body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, raw)
	}
	if ok, isBool := res.Body["success"].(bool); !isBool || ok != (res.Status < 400) {
		t.Fatalf("%s %s: status %d with success %v: %s", method, path, res.Status, res.Body["success"], raw)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("%s %s: no X-Request-Id", method, path)
	}
	m := serverTimingRe.FindStringSubmatch(resp.Header.Get("Server-Timing"))
	if m == nil {
		t.Fatalf("%s %s: Server-Timing %q does not match %s", method, path, resp.Header.Get("Server-Timing"), serverTimingRe)
	}
	res.Statements, _ = strconv.Atoi(m[1])
	return res
}

// want fails unless r has the status and, for errors, the code and a
// message containing every one of msg.
func (r result) want(t *testing.T, status int, code string, msg ...string) result {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if code != "" && r.Body["code"] != code {
		t.Fatalf("code %v, want %q: %s", r.Body["code"], code, r.Raw)
	}
	for _, m := range msg {
		if e, _ := r.Body["error"].(string); !strings.Contains(e, m) {
			t.Fatalf("error %q does not contain %q", e, m)
		}
	}
	return r
}

// into decodes a response body into a typed value.
func into[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Raw, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Raw)
	}
	return v
}

// Typed views of the responses.
type (
	createResp struct {
		Created int      `json:"created"`
		IDs     []string `json:"ids"`
	}
	documentResp struct {
		Document engram.Document `json:"document"`
	}
	listResp struct {
		Documents  []engram.Document `json:"documents"`
		Pagination struct {
			Limit      int     `json:"limit"`
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
			Total      *int    `json:"total"`
		} `json:"pagination"`
	}
	statsResp struct {
		Stats engram.DocumentStats `json:"stats"`
	}
)

// create makes documents with the given titles through the API and
// returns their ids.
func (e *env) create(t *testing.T, key string, titles ...string) []string {
	t.Helper()
	docs := make([]map[string]any, len(titles))
	for i, title := range titles {
		docs[i] = map[string]any{"title": title, "content": "content of " + title}
	}
	r := e.call(t, "POST", "/api/documents", key, map[string]any{"documents": docs}).want(t, http.StatusCreated, "")
	c := into[createResp](t, r)
	if c.Created != len(titles) || len(c.IDs) != len(titles) {
		t.Fatalf("created %d, ids %d; want %d", c.Created, len(c.IDs), len(titles))
	}
	return c.IDs
}

// get reads a document through the API with key.
func (e *env) get(t *testing.T, key, id string) engram.Document {
	t.Helper()
	return into[documentResp](t, e.call(t, "GET", "/api/documents/"+id+"?include_deleted=true", key, nil).want(t, http.StatusOK, "")).Document
}

// titleClassifier decides by the first word of a title: "work" 0.92,
// "spam" 0.7, "personal" 0.8, anything else unknown 0.4. It records the
// tenant settings it was given.
type titleClassifier struct {
	mu       sync.Mutex
	settings []string
}

func (c *titleClassifier) Classify(_ context.Context, settings json.RawMessage, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	c.mu.Lock()
	c.settings = append(c.settings, string(settings))
	c.mu.Unlock()
	out := make([]engram.ClassifyResult, len(docs))
	for i, d := range docs {
		word, _, _ := strings.Cut(d.Title, " ")
		switch word {
		case "work":
			out[i] = engram.ClassifyResult{Classification: engram.ClassWork, Confidence: 0.92, Reason: "title says work"}
		case "spam":
			out[i] = engram.ClassifyResult{Classification: engram.ClassSpam, Confidence: 0.7, Reason: "title says spam"}
		case "personal":
			out[i] = engram.ClassifyResult{Classification: engram.ClassPersonal, Confidence: 0.8, Reason: "title says personal"}
		default:
			out[i] = engram.ClassifyResult{Classification: engram.ClassUnknown, Confidence: 0.4, Reason: "no idea", IsBorderline: true}
		}
	}
	return out, nil
}

// logBuffer collects the server's JSON log lines; the server writes from
// its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the log records with the given request id.
func (b *logBuffer) lines(t *testing.T, requestID string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	text := b.buf.String()
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["request_id"] == requestID {
			out = append(out, m)
		}
	}
	return out
}
