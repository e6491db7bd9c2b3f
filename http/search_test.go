package http_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

type searchResp struct {
	Mode       string                `json:"mode"`
	Results    []engram.SearchResult `json:"results"`
	Pagination struct {
		Limit      int     `json:"limit"`
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
	} `json:"pagination"`
	TookMS *float64 `json:"took_ms"`
}

// TestSearch runs searches through the API: the result shape, one
// statement, GET and POST alike, paging, another tenant's documents never
// a hit, any query text a 200 and only an empty one a 400.
func TestSearch(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		_, other, err := s.CreateTenant(context.Background(), "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		ids := e.create(t, key, "Heron census", "Heron nesting", "Budget")
		e.create(t, other.Secret, "Heron secrets")

		auth := e.authStatements(t, key)
		r := e.call(t, "GET", "/api/search?q=heron&limit=1", key, nil).want(t, http.StatusOK, "")
		if r.Statements != auth+1 {
			t.Fatalf("a search cost %d statements, want %d (the key, then the search)", r.Statements, auth+1)
		}
		page := into[searchResp](t, r)
		if page.Mode != "lexical" || len(page.Results) != 1 || !page.Pagination.HasMore || page.Pagination.NextCursor == nil || page.TookMS == nil {
			t.Fatalf("page = %+v", page)
		}
		first := page.Results[0]
		if first.DocumentID != ids[0] && first.DocumentID != ids[1] || first.Ranks.Lexical == nil || *first.Ranks.Lexical != 1 ||
			first.Snippet == "" || len(first.Matches) == 0 || first.Status != engram.StatusPending {
			t.Fatalf("result = %+v", first)
		}
		next := into[searchResp](t, e.call(t, "GET", "/api/search?q=heron&limit=1&cursor="+url.QueryEscape(*page.Pagination.NextCursor), key, nil).want(t, http.StatusOK, ""))
		if len(next.Results) != 1 || next.Results[0].DocumentID == first.DocumentID || next.Pagination.HasMore || *next.Results[0].Ranks.Lexical != 2 {
			t.Fatalf("second page = %+v", next)
		}
		post := into[searchResp](t, e.call(t, "POST", "/api/search", key, `{"q": "heron -census", "group": "chunks", "limit": 10}`).want(t, http.StatusOK, ""))
		if len(post.Results) != 1 || post.Results[0].DocumentID != ids[1] {
			t.Fatalf("POST heron -census = %+v", post.Results)
		}
		if got := into[searchResp](t, e.call(t, "GET", "/api/search?q=secrets", key, nil).want(t, http.StatusOK, "")); len(got.Results) != 0 {
			t.Fatalf("another tenant's document is a hit: %+v", got.Results)
		}

		for _, q := range []string{`"`, `heron"`, `NEAR(heron census)`, `title:heron`, `heron*`, `'; DROP TABLE documents; --`,
			`a & b | !c <-> d`, `(((`, `-`, `OR`, "🦩 heron", `\`, strings.Repeat("heron ", 1500), "-heron"} {
			e.call(t, "POST", "/api/search", key, map[string]any{"q": q}).want(t, http.StatusOK, "")
			e.call(t, "GET", "/api/search?q="+url.QueryEscape(q[:min(len(q), 2000)]), key, nil).want(t, http.StatusOK, "")
		}
		for _, c := range []struct{ path, body, field string }{
			{"/api/search", "", "q"},
			{"/api/search?q=", "", "q"},
			{"/api/search?q=%20%20", "", "q"},
			{"/api/search?q=heron&limit=0", "", "limit"},
			{"/api/search?q=heron&limit=101", "", "limit"},
			{"/api/search?q=heron&mode=semantic", "", "mode"},
			{"/api/search?q=heron&mode=vector", "", "mode"},
			{"/api/search?q=heron&group=pages", "", "group"},
			{"/api/search?q=heron&classification=junk", "", "classification"},
			{"/api/search?q=heron&cursor=nope", "", "cursor"},
			{"/api/search?q=heron&created_after=yesterday", "", "created_after"},
			{"/api/search?q=heron&sort=title", "", "sort"},
		} {
			e.call(t, "GET", c.path, key, nil).want(t, http.StatusBadRequest, engram.EInvalid, c.field)
		}
		e.call(t, "POST", "/api/search", key, `{"q": ""}`).want(t, http.StatusBadRequest, engram.EInvalid, "q")
		e.call(t, "POST", "/api/search", key, `{"q": "heron", "page": 2}`).want(t, http.StatusBadRequest, engram.EInvalid, "page")
		e.call(t, "POST", "/api/search", key, `{"q": ["heron"]}`).want(t, http.StatusBadRequest, engram.EInvalid, "q")
		e.call(t, "GET", "/api/search?q=heron", "", nil).want(t, http.StatusUnauthorized, "")
	})
}
