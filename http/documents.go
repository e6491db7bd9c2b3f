package http

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/engram-kb/engram"
)

// documentInput is one document of POST /api/documents. It is
// engram.NewDocument with the two times taken as text, so that a bad time
// is reported with its field and index rather than as encoding/json's
// context-free time.ParseError. The outer fields shadow the embedded ones;
// ConnectorID and ExternalID stay json:"-", so a client cannot set them
// (they are unknown fields).
type documentInput struct {
	engram.NewDocument
	SourceCreatedAt *string `json:"source_created_at"`
	SourceUpdatedAt *string `json:"source_updated_at"`
}

// createDocuments handles POST /api/documents.
func (s *Server) createDocuments(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		Documents []documentInput `json:"documents"`
	}
	if err := decodeBody(r, &body, bodyRequired); err != nil {
		return err
	}
	docs := make([]engram.NewDocument, len(body.Documents))
	for i, in := range body.Documents {
		d := in.NewDocument
		f := "documents[" + strconv.Itoa(i) + "]."
		var err error
		if d.SourceCreatedAt, err = optionalTime(f+"source_created_at", in.SourceCreatedAt); err != nil {
			return err
		}
		if d.SourceUpdatedAt, err = optionalTime(f+"source_updated_at", in.SourceUpdatedAt); err != nil {
			return err
		}
		docs[i] = d
	}
	prepared, err := engram.PrepareDocuments(docs)
	if err != nil {
		return err
	}
	if err := s.store.CreateDocuments(r.Context(), p.TenantID, prepared); err != nil {
		return err
	}
	ids := make([]string, len(prepared))
	for i := range prepared {
		ids[i] = prepared[i].ID
	}
	return s.respond(w, r, http.StatusCreated, struct {
		Success bool     `json:"success"`
		Created int      `json:"created"`
		IDs     []string `json:"ids"`
	}{true, len(ids), ids})
}

func optionalTime(field string, v *string) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := parseTime(field, *v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// sortOrders are the values of ?order=.
var sortOrders = []string{"asc", "desc"}

// listDocuments handles GET /api/documents.
func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "status", "classification", "needs_review", "source_type", "connector_id",
		"created_after", "created_before", "sort", "order", "limit", "cursor", "offset", "include_total")
	if err != nil {
		return err
	}
	f, err := listFilter(q)
	if err != nil {
		return err
	}
	return s.listPage(w, r, p, q, f)
}

// listFilter reads the filters and the order of a list. Sort keys are
// checked against engram's fixed list and travel as engram.DocumentSort;
// no request text reaches the store's SQL.
func listFilter(q params) (engram.DocumentFilter, error) {
	var f engram.DocumentFilter
	if v, ok := q.get("status"); ok {
		st, err := parseEnum("status", v, engram.DocumentStatuses)
		if err != nil {
			return f, err
		}
		f.Status = &st
	}
	if v, ok := q.get("classification"); ok {
		c, err := parseEnum("classification", v, engram.Classifications)
		if err != nil {
			return f, err
		}
		f.Classification = &c
	}
	// needs_review=false means "no such filter": the store has no way to
	// ask for the documents that do not need review.
	var err error
	if f.NeedsReview, err = q.boolean("needs_review", false); err != nil {
		return f, err
	}
	if v, ok := q.get("source_type"); ok {
		if v == "" || len(v) > 50 {
			return f, engram.Errorf(engram.EInvalid, "source_type: must be 1 to 50 characters")
		}
		f.SourceType = &v
	}
	if f.ConnectorID, err = q.id("connector_id"); err != nil {
		return f, err
	}
	if f.CreatedAfter, err = q.timestamp("created_after"); err != nil {
		return f, err
	}
	if f.CreatedBefore, err = q.timestamp("created_before"); err != nil {
		return f, err
	}
	f.Sort = engram.SortCreatedAt
	if v, ok := q.get("sort"); ok {
		if f.Sort, err = parseEnum("sort", v, []engram.DocumentSort{
			engram.SortCreatedAt, engram.SortSourceCreatedAt, engram.SortTitle, engram.SortConfidence,
		}); err != nil {
			return f, err
		}
	}
	// Times list newest first; titles A to Z and confidence lowest first,
	// which is what a reviewer wants to see.
	f.Desc = f.Sort == engram.SortCreatedAt || f.Sort == engram.SortSourceCreatedAt
	if v, ok := q.get("order"); ok {
		o, err := parseEnum("order", v, sortOrders)
		if err != nil {
			return f, err
		}
		f.Desc = o == "desc"
	}
	return f, nil
}

// listPage reads limit, cursor, offset and include_total into f (the
// caller's parseQuery decides which of them the endpoint accepts), runs the
// list and writes the page.
func (s *Server) listPage(w http.ResponseWriter, r *http.Request, p engram.Principal, q params, f engram.DocumentFilter) error {
	var err error
	if f.Limit, err = q.intRange("limit", engram.DefaultListLimit, 1, engram.MaxListLimit); err != nil {
		return err
	}
	if f.IncludeTotal, err = q.boolean("include_total", false); err != nil {
		return err
	}
	cursor, hasCursor := q.get("cursor")
	if _, hasOffset := q.get("offset"); hasOffset && hasCursor {
		return engram.Errorf(engram.EInvalid, "offset: cannot be combined with cursor; use one or the other")
	}
	if f.Offset, err = q.intRange("offset", 0, 0, math.MaxInt32); err != nil {
		return err
	}
	if hasCursor {
		if f.Cursor, err = engram.DecodeCursor(cursor, f.Sort, f.Desc); err != nil {
			return err
		}
	}
	page, err := s.store.ListDocuments(r.Context(), p.TenantID, f)
	if err != nil {
		return err
	}
	var next *string
	if page.HasMore && page.NextCursor != "" {
		next = &page.NextCursor
	}
	if page.Documents == nil {
		page.Documents = []engram.Document{}
	}
	type pagination struct {
		Limit      int     `json:"limit"`
		HasMore    bool    `json:"has_more"`
		NextCursor *string `json:"next_cursor"`
		Total      *int    `json:"total,omitempty"`
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success    bool              `json:"success"`
		Documents  []engram.Document `json:"documents"`
		Pagination pagination        `json:"pagination"`
	}{true, page.Documents, pagination{f.Limit, page.HasMore, next, page.Total}})
}

// reviewQueue handles GET /api/documents/review: classified documents no
// person has decided on, least confident first, one keyset page at a time.
func (s *Server) reviewQueue(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	q, err := parseQuery(r, "limit", "cursor", "include_total")
	if err != nil {
		return err
	}
	f := engram.DocumentFilter{NeedsReview: true, Sort: engram.SortConfidence, Desc: false}
	return s.listPage(w, r, p, q, f)
}

// getDocument handles GET /api/documents/{id}.
func (s *Server) getDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "include_deleted")
	if err != nil {
		return err
	}
	deleted, err := q.boolean("include_deleted", false)
	if err != nil {
		return err
	}
	d, err := s.store.GetDocument(r.Context(), p.TenantID, id, deleted)
	if err != nil {
		return err
	}
	return s.respondDocument(w, r, d)
}

// patchDocument handles PATCH /api/documents/{id}.
func (s *Server) patchDocument(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		Title    *string         `json:"title"`
		Metadata json.RawMessage `json:"metadata"`
	}
	id, err := pathIDAndBody(r, &body, bodyRequired)
	if err != nil {
		return err
	}
	patch := engram.DocumentPatch{Title: body.Title, Metadata: body.Metadata}
	if err := patch.Validate(); err != nil {
		return err
	}
	d, err := s.store.UpdateDocument(r.Context(), p.TenantID, id, patch)
	if err != nil {
		return err
	}
	return s.respondDocument(w, r, d)
}

// documentStats handles GET /api/documents/stats.
func (s *Server) documentStats(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	st, err := s.store.DocumentStats(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success bool                 `json:"success"`
		Stats   engram.DocumentStats `json:"stats"`
	}{true, st})
}

// respondDocument writes {"success":true,"document":d}.
func (s *Server) respondDocument(w http.ResponseWriter, r *http.Request, d engram.Document) error {
	return s.respond(w, r, http.StatusOK, struct {
		Success  bool            `json:"success"`
		Document engram.Document `json:"document"`
	}{true, d})
}
