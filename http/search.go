package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/engram-kb/engram"
)

// searchParams are the fields of a search, in the query string of GET
// /api/search or the JSON body of POST /api/search.
var searchParams = []string{"q", "mode", "group", "limit", "cursor", "classification", "status", "source_type",
	"connector_id", "sender_email", "created_after", "created_before"}

// search handles GET /api/search.
func (s *Server) search(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, searchParams...)
	if err != nil {
		return err
	}
	return s.runSearch(w, r, p, q)
}

// searchPost handles POST /api/search: the same fields as JSON, for
// queries too long for a URL.
func (s *Server) searchPost(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body map[string]json.RawMessage
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	q := params{}
	allowed := map[string]bool{}
	for _, n := range searchParams {
		allowed[n] = true
	}
	for name, raw := range body {
		if !allowed[name] {
			return engram.Errorf(engram.EInvalid, "%s: unknown field; allowed: q, mode, group, limit, cursor, classification, status, source_type, connector_id, sender_email, created_after, created_before", name)
		}
		var str string
		if err := json.Unmarshal(raw, &str); err == nil {
			q[name] = []string{str}
			continue
		}
		var n json.Number
		if err := json.Unmarshal(raw, &n); err == nil && name == "limit" {
			q[name] = []string{n.String()}
			continue
		}
		if string(raw) == "null" {
			continue
		}
		return engram.Errorf(engram.EInvalid, "%s: must be a string", name)
	}
	return s.runSearch(w, r, p, q)
}

// runSearch reads a search's fields, runs it and writes its page.
func (s *Server) runSearch(w http.ResponseWriter, r *http.Request, p engram.Principal, q params) error {
	start := time.Now()
	in, err := searchInput(q)
	if err != nil {
		return err
	}
	page, err := s.store.Search(r.Context(), p.TenantID, in)
	if err != nil {
		return err
	}
	var next *string
	if page.HasMore {
		next = &page.NextCursor
	}
	type pagination struct {
		Limit      int     `json:"limit"`
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success    bool                  `json:"success"`
		Mode       engram.SearchMode     `json:"mode"`
		Results    []engram.SearchResult `json:"results"`
		Pagination pagination            `json:"pagination"`
		TookMS     json.Number           `json:"took_ms"`
	}{true, page.Mode, page.Results, pagination{in.Limit, page.HasMore, next},
		json.Number(strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64))})
}

// searchInput reads a search's fields.
func searchInput(q params) (engram.SearchInput, error) {
	var in engram.SearchInput
	var err error
	in.Query, _ = q.get("q")
	if v, ok := q.get("mode"); ok {
		if in.Mode, err = parseEnum("mode", v, engram.SearchModes); err != nil {
			return in, err
		}
	}
	if v, ok := q.get("group"); ok {
		g, err := parseEnum("group", v, []string{"documents", "chunks"})
		if err != nil {
			return in, err
		}
		in.Chunks = g == "chunks"
	}
	if in.Limit, err = q.intRange("limit", engram.DefaultSearchLimit, 1, engram.MaxSearchLimit); err != nil {
		return in, err
	}
	in.Cursor, _ = q.get("cursor")
	f := &in.Filter
	if v, ok := q.get("classification"); ok {
		c, err := parseEnum("classification", v, engram.Classifications)
		if err != nil {
			return in, err
		}
		f.Classification = &c
	}
	if v, ok := q.get("status"); ok {
		st, err := parseEnum("status", v, engram.DocumentStatuses)
		if err != nil {
			return in, err
		}
		f.Status = &st
	}
	if v, ok := q.get("source_type"); ok {
		if v == "" || len(v) > 50 {
			return in, engram.Errorf(engram.EInvalid, "source_type: must be 1 to 50 characters")
		}
		f.SourceType = &v
	}
	if v, ok := q.get("sender_email"); ok {
		if v == "" || len(v) > 320 {
			return in, engram.Errorf(engram.EInvalid, "sender_email: must be 1 to 320 characters")
		}
		f.SenderEmail = &v
	}
	if f.ConnectorID, err = q.id("connector_id"); err != nil {
		return in, err
	}
	if f.CreatedAfter, err = q.timestamp("created_after"); err != nil {
		return in, err
	}
	if f.CreatedBefore, err = q.timestamp("created_before"); err != nil {
		return in, err
	}
	return in, nil
}
