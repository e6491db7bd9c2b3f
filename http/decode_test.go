package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestBadRequests sends one malformed request of every kind and checks
// that each is a 400 whose message names the field, parameter or byte at
// fault, and that none of them changed anything.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		id := e.create(t, e.admin.Secret, "spam one")[0]
		before := e.get(t, e.admin.Secret, id)
		otherCursor := engram.Cursor{Sort: engram.SortTitle, Desc: false, Value: ptr("a"), ID: id}.Encode()
		many := make([]map[string]string, engram.MaxDocumentsPerCreate+1)
		for i := range many {
			many[i] = map[string]string{"title": "t"}
		}
		tooMany := fmt.Sprintf(`{"documents":%s}`, mustJSON(t, many))

		cases := []struct {
			name, method, path, body string
			want                     []string
		}{
			// Body syntax.
			{"malformed JSON", "POST", "/api/documents", `{"documents":[{"title":"a"},]}`, []string{"body: malformed JSON at byte 28"}},
			{"truncated JSON", "POST", "/api/documents", `{"documents":[{"title":"a"}`, []string{"body: malformed JSON at byte 27", "unexpected end"}},
			{"empty body", "POST", "/api/documents", "", []string{"body: a JSON object is required"}},
			{"blank body", "PATCH", "/api/documents/" + id, "  \n", []string{"body: a JSON object is required"}},
			{"null body", "POST", "/api/documents", "null", []string{"body: must be a JSON object, not null"}},
			{"array body", "POST", "/api/documents", `[{"title":"a"}]`, []string{"body: must be a JSON object, not an array"}},
			{"trailing data", "POST", "/api/documents", `{"documents":[{"title":"a"}]} {"x":1}`, []string{"body: unexpected data after the JSON object at byte 30"}},
			{"second object on confirm", "POST", "/api/documents/" + id + "/confirm", `{}{}`, []string{"unexpected data after the JSON object at byte 2"}},
			// Fields.
			{"unknown field", "POST", "/api/documents", `{"documents":[{"title":"a"}],"tenant_id":"x"}`, []string{`body: unknown field "tenant_id"`}},
			{"client sets connector_id", "POST", "/api/documents", `{"documents":[{"title":"a","connector_id":"` + id + `"}]}`, []string{`body: unknown field "connector_id"`}},
			{"unknown field on patch", "PATCH", "/api/documents/" + id, `{"titel":"x"}`, []string{`body: unknown field "titel"`}},
			{"wrong type", "POST", "/api/documents", `{"documents":[{"title":"a"},{"title":5}]}`, []string{"documents[1].title: must be a string, not a number"}},
			{"wrong type in a list", "POST", "/api/documents", `{"documents":[{"title":"a","recipients":["x",true]}]}`, []string{"documents[0].recipients[1]: must be a string, not a boolean"}},
			{"documents not a list", "POST", "/api/documents", `{"documents":{"title":"a"}}`, []string{"documents: must be an array, not an object"}},
			{"bad time", "POST", "/api/documents", `{"documents":[{"title":"a"},{"title":"b","source_updated_at":"yesterday"}]}`, []string{`documents[1].source_updated_at: "yesterday" is not an RFC 3339 time`}},
			{"time not a string", "POST", "/api/documents", `{"documents":[{"title":"a","source_created_at":17}]}`, []string{"documents[0].source_created_at: must be a string, not a number"}},
			{"empty title", "POST", "/api/documents", `{"documents":[{"title":"a"},{"title":" "}]}`, []string{"documents[1].title: must not be empty"}},
			{"no documents", "POST", "/api/documents", `{"documents":[]}`, []string{"documents: at least one document is required"}},
			{"too many documents", "POST", "/api/documents", tooMany, []string{"documents: at most 1000 documents"}},
			{"bad e-mail", "POST", "/api/documents", `{"documents":[{"title":"a","sender_email":"nobody"}]}`, []string{"documents[0].sender_email"}},
			{"metadata not an object", "POST", "/api/documents", `{"documents":[{"title":"a","metadata":[1]}]}`, []string{"documents[0].metadata: must be a JSON object"}},
			{"patch nothing", "PATCH", "/api/documents/" + id, `{}`, []string{"nothing to change"}},
			{"year 0", "POST", "/api/documents", `{"documents":[{"title":"a","source_created_at":"0000-01-01T00:00:00Z"}]}`, []string{"documents[0].source_created_at: year 0 is out of range"}},
			{"year 0 on update", "POST", "/api/documents", `{"documents":[{"title":"a"},{"title":"b","source_updated_at":"0000-12-31T23:59:59Z"}]}`, []string{"documents[1].source_updated_at: year 0 is out of range"}},
			{"deep metadata", "POST", "/api/documents", `{"documents":[{"title":"a","metadata":` + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000) + `}]}`, []string{"documents[0].metadata.a.a", "nested deeper than 40 levels"}},
			{"metadata past its depth", "POST", "/api/documents", `{"documents":[{"title":"a","metadata":` + strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33) + `}]}`, []string{"documents[0].metadata: nested deeper than 32 levels"}},
			{"lone surrogate", "POST", "/api/documents", `{"documents":[{"title":"a"},{"title":"x\ud800y"}]}`, []string{`documents[1].title: contains a lone UTF-16 surrogate (\ud800)`}},
			{"reversed surrogates", "POST", "/api/documents", `{"documents":[{"title":"\udc00\ud800"}]}`, []string{"documents[0].title: contains a lone UTF-16 surrogate"}},
			{"invalid UTF-8 in body", "POST", "/api/documents", "{\"documents\":[{\"title\":\"a\xffb\"}]}", []string{"documents[0].title: is not valid UTF-8"}},
			{"invalid UTF-8 key", "POST", "/api/documents", "{\"documents\":[{\"ti\xfftle\":\"a\"}]}", []string{"a field name is not valid UTF-8"}},
			{"patch empty title", "PATCH", "/api/documents/" + id, `{"title":""}`, []string{"title: must not be empty"}},
			{"patch title type", "PATCH", "/api/documents/" + id, `{"title":["x"]}`, []string{"title: must be a string, not an array"}},
			// Path ids.
			{"bad uuid", "GET", "/api/documents/xyz", "", []string{`id: "xyz" is not a valid id`}},
			{"bad uuid on patch", "PATCH", "/api/documents/123", `{"title":"x"}`, []string{`id: "123" is not a valid id`}},
			{"bad uuid on delete", "DELETE", "/api/documents/not-a-uuid", "", []string{`id: "not-a-uuid" is not a valid id`}},
			{"bad uuid on confirm", "POST", "/api/documents/zz/confirm", "", []string{`id: "zz" is not a valid id`}},
			// Query parameters.
			{"unknown parameter", "GET", "/api/documents?stauts=pending", "", []string{`query: unknown parameter "stauts"`, "allowed: status"}},
			{"two unknown parameters", "GET", "/api/documents?b=1&a=2", "", []string{`query: unknown parameters "a", "b"`}},
			{"tenant in the query", "GET", "/api/documents/" + id + "?tenant_id=x", "", []string{`unknown parameter "tenant_id"`}},
			{"parameter twice", "GET", "/api/documents?status=pending&status=confirmed", "", []string{"status: given 2 times"}},
			{"bad status", "GET", "/api/documents?status=done", "", []string{`status: "done" is not one of pending, processing, classified, confirmed, rejected, archived`}},
			{"empty status", "GET", "/api/documents?status=", "", []string{`status: "" is not one of`}},
			{"bad classification", "GET", "/api/documents?classification=ham", "", []string{`classification: "ham" is not one of work, personal, spam, unknown`}},
			{"bad needs_review", "GET", "/api/documents?needs_review=yes", "", []string{`needs_review: "yes" is not one of true, false`}},
			{"bad include_total", "GET", "/api/documents?include_total=1", "", []string{`include_total: "1" is not one of true, false`}},
			{"bad connector", "GET", "/api/documents?connector_id=abc", "", []string{`connector_id: "abc" is not a valid id`}},
			{"bad created_after", "GET", "/api/documents?created_after=2024-13-01", "", []string{`created_after: "2024-13-01" is not an RFC 3339 time`}},
			{"NUL in a parameter", "GET", "/api/documents?source_type=%00", "", []string{"source_type: must be valid UTF-8 text without NUL characters"}},
			{"invalid UTF-8 in a parameter", "GET", "/api/documents?source_type=%ff", "", []string{"source_type: must be valid UTF-8 text without NUL characters"}},
			{"invalid UTF-8 parameter name", "GET", "/api/documents?%ff=1", "", []string{`query: parameter "\xff": must be valid UTF-8`}},
			{"bad created_before", "GET", "/api/documents?created_before=today", "", []string{`created_before: "today" is not an RFC 3339 time`}},
			{"bad sort", "GET", "/api/documents?sort=content", "", []string{`sort: "content" is not one of created_at, source_created_at, title, classification_confidence`}},
			{"sort injection", "GET", "/api/documents?sort=title%3B%20DROP%20TABLE%20documents", "", []string{`sort: "title; DROP TABLE documents" is not one of`}},
			{"bad order", "GET", "/api/documents?order=up", "", []string{`order: "up" is not one of asc, desc`}},
			{"limit zero", "GET", "/api/documents?limit=0", "", []string{`limit: "0" is not an integer from 1 to 200`}},
			{"limit negative", "GET", "/api/documents?limit=-5", "", []string{`limit: "-5" is not an integer from 1 to 200`}},
			{"limit too big", "GET", "/api/documents?limit=201", "", []string{`limit: "201" is not an integer from 1 to 200`}},
			{"limit not a number", "GET", "/api/documents?limit=ten", "", []string{`limit: "ten" is not an integer`}},
			{"limit fraction", "GET", "/api/documents/review?limit=1.5", "", []string{`limit: "1.5" is not an integer`}},
			{"offset negative", "GET", "/api/documents?offset=-1", "", []string{`offset: "-1" is not an integer from 0`}},
			{"cursor and offset", "GET", "/api/documents?offset=1&cursor=" + otherCursor, "", []string{"offset: cannot be combined with cursor"}},
			{"bad cursor", "GET", "/api/documents?cursor=bm90IGEgY3Vyc29y", "", []string{"cursor: not a cursor returned by this list"}},
			{"cursor of another order", "GET", "/api/documents?cursor=" + otherCursor, "", []string{"cursor: made for another sort or order"}},
			{"offset on review", "GET", "/api/documents/review?offset=5", "", []string{`query: unknown parameter "offset"`}},
			{"bad include_deleted", "GET", "/api/documents/" + id + "?include_deleted=maybe", "", []string{`include_deleted: "maybe" is not one of true, false`}},
			{"bad hard", "DELETE", "/api/documents/" + id + "?hard=yes", "", []string{`hard: "yes" is not one of true, false`}},
			{"query on stats", "GET", "/api/documents/stats?tenant=acme", "", []string{`query: unknown parameter "tenant"; allowed: none`}},
			// Bulk bodies.
			{"no ids", "POST", "/api/documents/bulk/confirm", `{}`, []string{"document_ids: at least one id is required"}},
			{"empty ids", "POST", "/api/documents/bulk/restore", `{"document_ids":[]}`, []string{"document_ids: at least one id is required"}},
			{"bad id in list", "POST", "/api/documents/bulk/reject", `{"document_ids":["` + id + `","nope"]}`, []string{`document_ids[1]: "nope" is not a valid id`}},
			{"id not a string", "POST", "/api/documents/bulk/delete", `{"document_ids":["` + id + `",7]}`, []string{"document_ids[1]: must be a string, not a number"}},
			{"hard not a boolean", "POST", "/api/documents/bulk/delete", `{"document_ids":["` + id + `"],"hard":"yes"}`, []string{"hard: must be true or false, not a string"}},
			{"bulk classify bad class", "POST", "/api/documents/bulk/classify", `{"document_ids":["` + id + `"],"classification":"ham"}`, []string{`classification: "ham" is not one of work, personal, spam, unknown`}},
			{"bulk classify no class", "POST", "/api/documents/bulk/classify", `{"document_ids":["` + id + `"]}`, []string{"classification: required"}},
			{"set class no body", "PUT", "/api/documents/" + id + "/classify", "", []string{"body: a JSON object is required"}},
			{"set class bad class", "PUT", "/api/documents/" + id + "/classify", `{"classification":"Work"}`, []string{`classification: "Work" is not one of`}},
			{"confirm bad class", "POST", "/api/documents/bulk/confirm", `{"document_ids":["` + id + `"],"classification":"maybe"}`, []string{`classification: "maybe" is not one of`}},
			{"reason too long", "POST", "/api/documents/" + id + "/reject", `{"reason":"` + strings.Repeat("é", 1001) + `"}`, []string{"reason: at most 1000 characters"}},
			{"reason with NUL", "POST", "/api/documents/bulk/reject", `{"document_ids":["` + id + `"],"reason":"a\u0000b"}`, []string{"reason: must not contain NUL"}},
			{"classify ids and limit", "POST", "/api/documents/classify", `{"document_ids":["` + id + `"],"limit":5}`, []string{"limit: cannot be combined with document_ids"}},
			{"classify limit zero", "POST", "/api/documents/classify", `{"limit":0}`, []string{"limit: must be from 1 to 1000, got 0"}},
			{"classify limit too big", "POST", "/api/documents/classify", `{"limit":1001}`, []string{"limit: must be from 1 to 1000"}},
			{"classify limit fraction", "POST", "/api/documents/classify", `{"limit":2.5}`, []string{"limit: must be an integer, not number 2.5"}},
			{"classify limit string", "POST", "/api/documents/classify", `{"limit":"5"}`, []string{"limit: must be an integer, not a string"}},
			{"classify limit huge", "POST", "/api/documents/classify", `{"limit":99999999999999999999}`, []string{"limit: number 99999999999999999999 is out of range"}},
			{"classify threshold", "POST", "/api/documents/classify", `{"auto_confirm_threshold":1.5}`, []string{"auto_confirm_threshold: must be from 0 to 1"}},
			{"classify one threshold", "POST", "/api/documents/" + id + "/classify", `{"auto_confirm_threshold":-0.1}`, []string{"auto_confirm_threshold: must be from 0 to 1"}},
		}
		for _, tc := range cases {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := e.call(t, tc.method, tc.path, e.admin.Secret, body)
			if r.Status != http.StatusBadRequest || r.Body["code"] != engram.EInvalid {
				t.Errorf("%s: status %d: %s", tc.name, r.Status, r.Raw)
				continue
			}
			msg, _ := r.Body["error"].(string)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: error %q does not contain %q", tc.name, msg, w)
				}
			}
		}
		// None of them changed anything.
		if after := e.get(t, e.admin.Secret, id); !sameDocument(before, after) {
			t.Fatalf("a bad request changed the document:\nbefore %+v\nafter  %+v", before, after)
		}
		if n := listTotal(t, e, e.admin.Secret, ""); n != 1 {
			t.Fatalf("documents after bad requests = %d, want 1", n)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		// A well-formed start, so that only the size can be at fault.
		var b bytes.Buffer
		b.WriteString(`{"documents":[{"title":"big","content":"`)
		b.Write(bytes.Repeat([]byte("a"), enghttp.DefaultMaxBodyBytes))
		b.WriteString(`"}]}`)
		e.call(t, "POST", "/api/documents", e.admin.Secret, b.Bytes()).
			want(t, http.StatusRequestEntityTooLarge, engram.ETooLarge, "body: larger than the limit of 10485760 bytes")
		// Under the body limit but over the content limit: the domain's
		// own too_large.
		b.Reset()
		b.WriteString(`{"documents":[{"title":"big","content":"`)
		b.Write(bytes.Repeat([]byte("a"), engram.MaxContentBytes+1))
		b.WriteString(`"}]}`)
		e.call(t, "POST", "/api/documents", e.admin.Secret, b.Bytes()).
			want(t, http.StatusRequestEntityTooLarge, engram.ETooLarge, "documents[0].content")
		if n := listTotal(t, e, e.admin.Secret, ""); n != 0 {
			t.Fatalf("documents after oversized requests = %d, want 0", n)
		}
	})
}

// TestBodyLimitConfigurable checks that Config.MaxBodyBytes bounds the
// body of every endpoint, not only document creation.
func TestBodyLimitConfigurable(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, func(c *enghttp.Config) { c.MaxBodyBytes = 100 })
		id := e.create(t, e.admin.Secret, "x")[0]
		long := `{"reason":"` + strings.Repeat("r", 100) + `"}`
		e.call(t, "POST", "/api/documents/"+id+"/reject", e.admin.Secret, long).
			want(t, http.StatusRequestEntityTooLarge, engram.ETooLarge, "limit of 100 bytes")
		if d := e.get(t, e.admin.Secret, id); d.Status != engram.StatusPending {
			t.Fatalf("document after an oversized reject: %+v", d)
		}
		e.call(t, "POST", "/api/documents/"+id+"/reject", e.admin.Secret, `{"reason":"short"}`).want(t, http.StatusOK, "")
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
