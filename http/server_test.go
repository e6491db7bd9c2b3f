package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		r := e.call(t, "GET", "/api/health", "", nil).want(t, http.StatusOK, "")
		want := map[string]any{"success": true, "status": "ok", "database": s.Engine(), "version": "test-1.2.3"}
		if len(r.Body) != len(want) {
			t.Fatalf("health body = %s", r.Raw)
		}
		for k, v := range want {
			if r.Body[k] != v {
				t.Fatalf("health %s = %v, want %v", k, r.Body[k], v)
			}
		}
		if r.Statements != 0 {
			t.Fatalf("health took %d statements, want 0", r.Statements)
		}
	})
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		for _, tc := range []struct{ name, header string }{
			{"missing", ""},
			{"wrong scheme", "Basic " + e.admin.Secret},
			{"empty bearer", "Bearer "},
			{"unknown key", "Bearer egm_notakeyatall"},
			{"key with a suffix", "Bearer " + e.admin.Secret + "x"},
		} {
			var hdr []string
			if tc.header != "" {
				hdr = []string{"Authorization", tc.header}
			}
			for _, path := range []string{"/api/documents", "/api/documents/stats"} {
				r := e.call(t, "GET", path, "", nil, hdr...).want(t, http.StatusUnauthorized, engram.EUnauthorized)
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: no WWW-Authenticate header", tc.name)
				}
			}
		}
		// The scheme is case-insensitive.
		e.call(t, "GET", "/api/documents", "", nil, "Authorization", "bearer "+e.viewer.Secret).want(t, http.StatusOK, "")
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		ids := e.create(t, e.admin.Secret, "work plan", "spam offer")
		id, other := ids[0], ids[1]
		before := e.get(t, e.admin.Secret, id)
		ref := `{"document_ids":["` + id + `"]}`
		writes := []struct{ method, path, body string }{
			{"POST", "/api/documents", `{"documents":[{"title":"x"}]}`},
			{"PATCH", "/api/documents/" + id, `{"title":"viewer was here"}`},
			{"DELETE", "/api/documents/" + id, ""},
			{"DELETE", "/api/documents/" + id + "?hard=true", ""},
			{"POST", "/api/documents/classify", ref},
			{"POST", "/api/documents/" + id + "/classify", ""},
			{"PUT", "/api/documents/" + id + "/classify", `{"classification":"spam"}`},
			{"POST", "/api/documents/" + id + "/confirm", ""},
			{"POST", "/api/documents/" + id + "/reject", `{"reason":"no"}`},
			{"POST", "/api/documents/" + id + "/restore", ""},
			{"POST", "/api/documents/bulk/classify", `{"document_ids":["` + id + `"],"classification":"spam"}`},
			{"POST", "/api/documents/bulk/confirm", ref},
			{"POST", "/api/documents/bulk/reject", ref},
			{"POST", "/api/documents/bulk/delete", `{"document_ids":["` + id + `"],"hard":true}`},
			{"POST", "/api/documents/bulk/restore", ref},
		}
		for _, w := range writes {
			var body any
			if w.body != "" {
				body = w.body
			}
			e.call(t, w.method, w.path, e.viewer.Secret, body).want(t, http.StatusForbidden, engram.EForbidden, "viewer")
		}
		if after := e.get(t, e.admin.Secret, id); !sameDocument(before, after) {
			t.Fatalf("viewer changed the document:\nbefore %+v\nafter  %+v", before, after)
		}
		if n := listTotal(t, e, e.admin.Secret, ""); n != 2 {
			t.Fatalf("documents after viewer writes = %d, want 2", n)
		}
		// Viewers read everything.
		for _, path := range []string{"/api/documents", "/api/documents/" + id, "/api/documents/stats", "/api/documents/review"} {
			e.call(t, "GET", path, e.viewer.Secret, nil).want(t, http.StatusOK, "")
		}
		// Members write, including hard deletes.
		e.call(t, "PATCH", "/api/documents/"+id, e.member.Secret, `{"title":"member edit"}`).want(t, http.StatusOK, "")
		e.call(t, "DELETE", "/api/documents/"+other+"?hard=true", e.member.Secret, nil).want(t, http.StatusOK, "")
		e.call(t, "GET", "/api/documents/"+other+"?include_deleted=true", e.admin.Secret, nil).want(t, http.StatusNotFound, engram.ENotFound)
	})
}

// sameDocument compares every field the API returns.
func sameDocument(a, b engram.Document) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func listTotal(t *testing.T, e *env, key, query string) int {
	t.Helper()
	l := into[listResp](t, e.call(t, "GET", "/api/documents?include_total=true"+query, key, nil).want(t, http.StatusOK, ""))
	return *l.Pagination.Total
}

func TestRouting(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		// Literal segments are not taken for an {id}.
		r := e.call(t, "GET", "/api/documents/stats", key, nil).want(t, http.StatusOK, "")
		if _, ok := r.Body["stats"]; !ok {
			t.Fatalf("stats: %s", r.Raw)
		}
		r = e.call(t, "GET", "/api/documents/review", key, nil).want(t, http.StatusOK, "")
		if _, ok := r.Body["documents"]; !ok {
			t.Fatalf("review: %s", r.Raw)
		}
		missing := engram.NewID()
		r = e.call(t, "POST", "/api/documents/bulk/confirm", key, `{"document_ids":["`+missing+`"]}`).want(t, http.StatusOK, "")
		if r.Body["confirmed"] != 0.0 {
			t.Fatalf("bulk confirm: %s", r.Raw)
		}
		r = e.call(t, "POST", "/api/documents/classify", key, `{"limit":1}`).want(t, http.StatusOK, "")
		if _, ok := r.Body["results"]; !ok {
			t.Fatalf("classify: %s", r.Raw)
		}
		// Unknown paths and methods answer in JSON too.
		e.call(t, "GET", "/api/nothing", key, nil).want(t, http.StatusNotFound, engram.ENotFound, "/api/nothing")
		e.call(t, "GET", "/api/documents/bulk/confirm", key, nil).want(t, http.StatusMethodNotAllowed, "", "POST")
		r = e.call(t, "PUT", "/api/documents", key, "{}").want(t, http.StatusMethodNotAllowed, "")
		if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Fatalf("Allow = %q", allow)
		}
	})
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		for _, tc := range []struct {
			in   string
			keep bool
		}{
			{"", false},
			{"trace-42.a_B", true},
			{strings.Repeat("a", 64), true},
			{strings.Repeat("a", 65), false},
			{"has space", false},
			{"semi;colon", false},
		} {
			var hdr []string
			if tc.in != "" {
				hdr = []string{"X-Request-Id", tc.in}
			}
			r := e.call(t, "GET", "/api/documents/"+engram.NewID(), e.admin.Secret, nil, hdr...).want(t, http.StatusNotFound, "")
			got := r.Header.Get("X-Request-Id")
			if tc.keep && got != tc.in {
				t.Fatalf("X-Request-Id %q came back as %q", tc.in, got)
			}
			if _, ok := engram.ParseID(got); !tc.keep && !ok {
				t.Fatalf("X-Request-Id %q: got %q, want a new id", tc.in, got)
			}
			if r.Body["request_id"] != got {
				t.Fatalf("body request_id %v, header %q", r.Body["request_id"], got)
			}
			// The access log line carries the id, the route pattern and
			// the statement count.
			lines := e.logs.lines(t, got)
			if len(lines) != 1 || lines[0]["msg"] != "request" || lines[0]["route"] != "GET /api/documents/{id}" ||
				lines[0]["status"] != 404.0 || lines[0]["statements"] != float64(r.Statements) ||
				lines[0]["tenant_id"] != e.tenant.ID || lines[0]["duration_ms"] == nil || lines[0]["db_ms"] == nil {
				t.Fatalf("access log for %q = %v", got, lines)
			}
		}
	})
}

// TestServerTiming checks that the header counts every statement of the
// request, and that creating 100 documents takes as many as creating one.
func TestServerTiming(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		// The first request of a key notes its use (one more statement,
		// at most once a minute); take it out of the comparison.
		e.call(t, "GET", "/api/documents/stats", key, nil).want(t, http.StatusOK, "")

		// What the two store calls cost on this engine, measured directly.
		ctx, st := engram.WithQueryStats(context.Background())
		if _, err := s.Authenticate(ctx, key); err != nil {
			t.Fatal(err)
		}
		auth := st.Count()
		st.Reset()
		p, err := engram.PrepareDocuments([]engram.NewDocument{{Title: "probe", Content: "probe"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDocuments(ctx, e.tenant.ID, p); err != nil {
			t.Fatal(err)
		}
		create := st.Count()

		counts := map[int]int{}
		for _, n := range []int{1, 100} {
			docs := make([]map[string]any, n)
			for i := range docs {
				docs[i] = map[string]any{"title": "doc", "content": "some content"}
			}
			r := e.call(t, "POST", "/api/documents", key, map[string]any{"documents": docs}).want(t, http.StatusCreated, "")
			counts[n] = r.Statements
		}
		if counts[1] != counts[100] || counts[1] != auth+create {
			t.Fatalf("statements for 1 and 100 documents = %d and %d, want both %d (authenticate %d + create %d)",
				counts[1], counts[100], auth+create, auth, create)
		}
		if n := listTotal(t, e, key, ""); n != 102 {
			t.Fatalf("documents = %d, want 102", n)
		}
		// Errors carry the header too.
		r := e.call(t, "GET", "/api/documents", "", nil).want(t, http.StatusUnauthorized, "")
		if r.Statements != 0 {
			t.Fatalf("request without a key took %d statements", r.Statements)
		}
	})
}

// TestInternalErrorsDoNotLeak closes the store under the server: the client
// learns only that something failed, the log learns what.
func TestInternalErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		id := e.create(t, e.admin.Secret, "doc")[0]
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.call(t, "GET", "/api/health", "", nil).want(t, http.StatusServiceUnavailable, engram.EUnavailable)
		if r.Header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		for _, req := range []struct{ method, path, body string }{
			{"GET", "/api/documents/" + id, ""},
			{"GET", "/api/documents", ""},
			{"POST", "/api/documents/bulk/confirm", `{"document_ids":["` + id + `"]}`},
		} {
			var body any
			if req.body != "" {
				body = req.body
			}
			r := e.call(t, req.method, req.path, e.admin.Secret, body)
			rid := r.Header.Get("X-Request-Id")
			switch r.Status {
			case http.StatusInternalServerError:
				want := map[string]any{"success": false, "error": "internal error", "code": "internal", "request_id": rid}
				if len(r.Body) != len(want) {
					t.Fatalf("%s %s: body %s has more than %v", req.method, req.path, r.Raw, want)
				}
				for k, v := range want {
					if r.Body[k] != v {
						t.Fatalf("%s %s: %s = %v, want %v", req.method, req.path, k, r.Body[k], v)
					}
				}
			case http.StatusServiceUnavailable:
				r.want(t, http.StatusServiceUnavailable, engram.EUnavailable)
			default:
				t.Fatalf("%s %s with a closed store: status %d: %s", req.method, req.path, r.Status, r.Raw)
			}
			for _, leak := range []string{"sql", "closed", "database is", "pgx", "sqlite"} {
				if strings.Contains(strings.ToLower(string(r.Raw)), leak) {
					t.Fatalf("%s %s: body leaks %q: %s", req.method, req.path, leak, r.Raw)
				}
			}
			if r.Status == http.StatusInternalServerError {
				// The log has what the client does not, under the same id.
				var logged bool
				for _, l := range e.logs.lines(t, rid) {
					if l["msg"] == "internal error" && strings.Contains(l["error"].(string), "closed") {
						logged = true
					}
				}
				if !logged {
					t.Fatalf("%s %s: internal error not logged with request id %s", req.method, req.path, rid)
				}
			}
		}
	})
}

// panicClassifier fails the way a bug does.
type panicClassifier struct{}

func (panicClassifier) Classify(context.Context, json.RawMessage, []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	panic("classifier bug: index out of range")
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, withClassifier(panicClassifier{}))
		id := e.create(t, e.admin.Secret, "doc")[0]
		r := e.call(t, "POST", "/api/documents/"+id+"/classify", e.admin.Secret, nil).want(t, http.StatusInternalServerError, engram.EInternal)
		if r.Body["error"] != "internal error" || strings.Contains(string(r.Raw), "index out of range") {
			t.Fatalf("panic response: %s", r.Raw)
		}
		var stack bool
		for _, l := range e.logs.lines(t, r.Header.Get("X-Request-Id")) {
			if l["msg"] == "panic" && strings.Contains(l["stack"].(string), "Classify") {
				stack = true
			}
		}
		if !stack {
			t.Fatal("panic not logged with its stack")
		}
		// The transaction the panic left is rolled back: the document is
		// untouched and the server goes on serving.
		if d := e.get(t, e.admin.Secret, id); d.Status != engram.StatusPending {
			t.Fatalf("document after a panicking classify: %+v", d)
		}
	})
}

// blockingClassifier waits for its request to be cancelled.
type blockingClassifier struct{ entered chan struct{} }

func (c blockingClassifier) Classify(ctx context.Context, _ json.RawMessage, _ []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	close(c.entered)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestClientGone checks that a request the client abandons is logged as
// such, not as an internal error.
func TestClientGone(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		c := blockingClassifier{entered: make(chan struct{})}
		e := newEnv(t, s, withClassifier(c))
		id := e.create(t, e.admin.Secret, "doc")[0]

		// Serve through a wrapper that says when the handler has returned.
		done := make(chan struct{})
		h := e.srv.Config.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()

		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/documents/"+id+"/classify", nil)
		req.Header.Set("Authorization", "Bearer "+e.admin.Secret)
		req.Header.Set("X-Request-Id", "gone-1")
		go func() { <-c.entered; cancel() }()
		if _, err := srv.Client().Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("request error = %v, want context.Canceled", err)
		}
		<-done
		lines := e.logs.lines(t, "gone-1")
		var access, canceled bool
		for _, l := range lines {
			switch l["msg"] {
			case "request":
				access = l["status"] == 499.0
			case "request canceled":
				canceled = l["level"] == "INFO"
			case "internal error":
				t.Fatalf("a client going away was logged as an internal error: %v", l)
			}
		}
		if !access || !canceled {
			t.Fatalf("log for an abandoned request = %v", lines)
		}
		if d := e.get(t, e.admin.Secret, id); d.Status != engram.StatusPending {
			t.Fatalf("document after an abandoned classify: %+v", d)
		}
	})
}

func TestNewServerNeedsStoreAndClassifier(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("NewServer without a store did not panic")
		}
	}()
	enghttp.NewServer(enghttp.Config{})
}
