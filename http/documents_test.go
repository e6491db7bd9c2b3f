package http_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.member.Secret
		body := `{"documents":[
			{"title":"Quarterly plan","content":"Ship the roadmap.\n\nThen rest.","source_type":"mail",
			 "source_url":"https://mail.example/1","sender":"Ann","sender_email":" Ann@Example.COM ",
			 "recipients":["bob@example.com","cy@example.com"],
			 "source_created_at":"2024-05-01T11:30:00+02:00","source_updated_at":"2024-05-02T09:00:00.123456Z",
			 "metadata":{"thread":"t-1","labels":["a","b"]}},
			{"title":"Bare"}]}`
		r := e.call(t, "POST", "/api/documents", key, body).want(t, http.StatusCreated, "")
		c := into[createResp](t, r)
		if c.Created != 2 || len(c.IDs) != 2 {
			t.Fatalf("create = %s", r.Raw)
		}
		for _, id := range c.IDs {
			if _, ok := engram.ParseID(id); !ok {
				t.Fatalf("created id %q is not an id", id)
			}
		}

		d := e.get(t, key, c.IDs[0])
		created := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
		updated := time.Date(2024, 5, 2, 9, 0, 0, 123456000, time.UTC)
		if d.ID != c.IDs[0] || d.Title != "Quarterly plan" || d.Content == nil || *d.Content != "Ship the roadmap.\n\nThen rest." ||
			d.SourceType != "mail" || d.SourceURL != "https://mail.example/1" || d.Sender != "Ann" ||
			d.SenderEmail != "ann@example.com" || !slices.Equal(d.Recipients, []string{"bob@example.com", "cy@example.com"}) ||
			d.SourceCreatedAt == nil || !d.SourceCreatedAt.Equal(created) || d.SourceUpdatedAt == nil || !d.SourceUpdatedAt.Equal(updated) ||
			d.Status != engram.StatusPending || d.Classification != engram.ClassUnknown || d.ChunkCount != 1 ||
			d.IsDeleted || d.ConnectorID != nil || d.ContentHash == "" {
			t.Fatalf("document = %+v", d)
		}
		var meta map[string]any
		if err := json.Unmarshal(d.Metadata, &meta); err != nil || meta["thread"] != "t-1" {
			t.Fatalf("metadata = %s (%v)", d.Metadata, err)
		}
		bare := e.get(t, key, c.IDs[1])
		if bare.SourceType != "api" || bare.Content == nil || *bare.Content != "" || bare.ChunkCount != 0 ||
			bare.SourceCreatedAt != nil || len(bare.Recipients) != 0 {
			t.Fatalf("bare document = %+v", bare)
		}

		// List items carry no content, not even an empty one.
		r = e.call(t, "GET", "/api/documents", key, nil).want(t, http.StatusOK, "")
		var raw struct {
			Documents []map[string]any `json:"documents"`
		}
		if err := json.Unmarshal(r.Raw, &raw); err != nil || len(raw.Documents) != 2 {
			t.Fatalf("list = %s", r.Raw)
		}
		for _, item := range raw.Documents {
			if _, has := item["content"]; has {
				t.Fatalf("list item has content: %v", item)
			}
		}

		// PATCH changes title and metadata and returns the new document.
		r = e.call(t, "PATCH", "/api/documents/"+c.IDs[0], key, `{"title":"Quarterly plan v2","metadata":{"thread":"t-2"}}`).want(t, http.StatusOK, "")
		p := into[documentResp](t, r).Document
		if p.Title != "Quarterly plan v2" || string(p.Metadata) != `{"thread":"t-2"}` {
			t.Fatalf("patched = %+v", p)
		}
		if g := e.get(t, key, c.IDs[0]); g.Title != "Quarterly plan v2" || string(g.Metadata) != `{"thread":"t-2"}` || *g.Content != *d.Content {
			t.Fatalf("after patch = %+v", g)
		}
		// Title alone leaves the metadata.
		e.call(t, "PATCH", "/api/documents/"+c.IDs[0], key, `{"title":"v3"}`).want(t, http.StatusOK, "")
		if g := e.get(t, key, c.IDs[0]); g.Title != "v3" || string(g.Metadata) != `{"thread":"t-2"}` {
			t.Fatalf("after title patch = %+v", g)
		}
		missing := engram.NewID()
		e.call(t, "PATCH", "/api/documents/"+missing, key, `{"title":"x"}`).want(t, http.StatusNotFound, engram.ENotFound, missing)
		e.call(t, "GET", "/api/documents/"+missing, key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		// Upper-case ids are the same ids.
		e.call(t, "GET", "/api/documents/"+upper(c.IDs[1]), key, nil).want(t, http.StatusOK, "")
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestListDocuments(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		// Five documents in three requests (so three creation times), titles
		// out of creation order, two sources.
		var ids []string
		for _, body := range []string{
			`{"documents":[{"title":"work c","source_type":"slack","source_created_at":"2024-01-03T00:00:00Z"},
			               {"title":"spam a","source_type":"mail","source_created_at":"2024-01-01T00:00:00Z"}]}`,
			`{"documents":[{"title":"work e","source_type":"slack"}]}`,
			`{"documents":[{"title":"other b","source_type":"mail","source_created_at":"2024-01-02T00:00:00Z"},
			               {"title":"personal d","source_type":"mail"}]}`,
		} {
			ids = append(ids, into[createResp](t, e.call(t, "POST", "/api/documents", key, body).want(t, http.StatusCreated, "")).IDs...)
		}
		// Classify: work c/e 0.92, spam a 0.7, other b 0.4, personal d 0.8.
		e.call(t, "POST", "/api/documents/classify", key, nil).want(t, http.StatusOK, "")
		e.call(t, "POST", "/api/documents/"+ids[0]+"/confirm", key, nil).want(t, http.StatusOK, "")

		titles := func(query string) []string {
			t.Helper()
			l := into[listResp](t, e.call(t, "GET", "/api/documents"+query, key, nil).want(t, http.StatusOK, ""))
			out := []string{}
			for _, d := range l.Documents {
				out = append(out, d.Title)
			}
			return out
		}
		createdAfter := url.QueryEscape(e.get(t, key, ids[2]).CreatedAt.Format(time.RFC3339Nano))
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{"personal d", "other b", "work e", "spam a", "work c"}},
			{"?order=asc", []string{"work c", "spam a", "work e", "other b", "personal d"}},
			{"?sort=title", []string{"other b", "personal d", "spam a", "work c", "work e"}},
			{"?sort=title&order=desc", []string{"work e", "work c", "spam a", "personal d", "other b"}},
			{"?sort=classification_confidence", []string{"other b", "spam a", "personal d", "work c", "work e"}},
			// NULLs sort lowest: last when newest first.
			{"?sort=source_created_at", []string{"work c", "other b", "spam a", "personal d", "work e"}},
			{"?status=confirmed", []string{"work c"}},
			{"?classification=work&sort=title", []string{"work c", "work e"}},
			{"?needs_review=true&sort=title", []string{"other b", "personal d", "spam a", "work e"}},
			{"?needs_review=false&sort=title", []string{"other b", "personal d", "spam a", "work c", "work e"}},
			{"?source_type=slack&sort=title", []string{"work c", "work e"}},
			{"?source_type=drive", []string{}},
			{"?connector_id=" + engram.NewID(), []string{}},
			{"?created_after=" + createdAfter + "&order=asc", []string{"work e", "other b", "personal d"}},
			{"?created_before=" + createdAfter + "&order=asc", []string{"work c", "spam a"}},
			{"?created_after=2999-01-01T00:00:00Z", []string{}},
			{"?sort=title&offset=3", []string{"work c", "work e"}},
			{"?sort=title&limit=2&offset=1", []string{"personal d", "spam a"}},
		} {
			if got := titles(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("GET /api/documents%s = %q, want %q", tc.query, got, tc.want)
			}
		}

		// Keyset pages: every document once, in order, then has_more false.
		for _, q := range []string{"sort=title", "sort=created_at", "sort=source_created_at&order=asc", "sort=classification_confidence&order=desc"} {
			var seen []string
			cursor := ""
			for page := 0; ; page++ {
				path := "/api/documents?limit=2&include_total=true&" + q
				if cursor != "" {
					path += "&cursor=" + url.QueryEscape(cursor)
				}
				l := into[listResp](t, e.call(t, "GET", path, key, nil).want(t, http.StatusOK, ""))
				if l.Pagination.Limit != 2 || l.Pagination.Total == nil || *l.Pagination.Total != 5 {
					t.Fatalf("%s page %d pagination = %+v", q, page, l.Pagination)
				}
				for _, d := range l.Documents {
					seen = append(seen, d.Title)
				}
				if !l.Pagination.HasMore {
					if l.Pagination.NextCursor != nil {
						t.Fatalf("%s: last page has a cursor", q)
					}
					break
				}
				cursor = *l.Pagination.NextCursor
			}
			if want := titles("?" + q); !slices.Equal(seen, want) {
				t.Errorf("%s: pages %q, want %q", q, seen, want)
			}
		}
		// Without include_total there is no total at all.
		r := e.call(t, "GET", "/api/documents?limit=1", key, nil).want(t, http.StatusOK, "")
		if p := r.Body["pagination"].(map[string]any); p["total"] != nil || p["has_more"] != true || p["limit"] != 1.0 {
			t.Fatalf("pagination = %v", p)
		}
		// A soft-deleted document leaves the list but not ?include_deleted.
		e.call(t, "DELETE", "/api/documents/"+ids[1], key, nil).want(t, http.StatusOK, "")
		if got := titles("?sort=title"); slices.Contains(got, "spam a") {
			t.Fatalf("soft-deleted document listed: %q", got)
		}
		e.call(t, "GET", "/api/documents/"+ids[1], key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		if d := e.get(t, key, ids[1]); !d.IsDeleted || d.DeletedAt == nil {
			t.Fatalf("include_deleted = %+v", d)
		}
	})
}

func TestStatsAndReviewEmpty(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		r := e.call(t, "GET", "/api/documents/stats", e.viewer.Secret, nil).want(t, http.StatusOK, "")
		st := r.Body["stats"].(map[string]any)
		if st["total"] != 0.0 || st["average_confidence"] != nil || st["needs_review"] != 0.0 || st["deleted"] != 0.0 {
			t.Fatalf("empty stats = %s", r.Raw)
		}
		// Every status and class is present, at zero.
		for _, s := range engram.DocumentStatuses {
			if st["by_status"].(map[string]any)[string(s)] != 0.0 {
				t.Fatalf("by_status lacks %s: %s", s, r.Raw)
			}
		}
		for _, c := range engram.Classifications {
			if st["by_classification"].(map[string]any)[string(c)] != 0.0 {
				t.Fatalf("by_classification lacks %s: %s", c, r.Raw)
			}
		}
		r = e.call(t, "GET", "/api/documents/review", e.viewer.Secret, nil).want(t, http.StatusOK, "")
		if string(mustJSON(t, r.Body["documents"])) != "[]" || r.Body["pagination"].(map[string]any)["next_cursor"] != nil {
			t.Fatalf("empty review = %s", r.Raw)
		}
	})
}

// TestMetadataNumbersKeepTheirText: a large integer or a long decimal in
// metadata comes back as it was sent, on both engines, not rounded through
// a float64 (9007199254740993 would read back as …992).
func TestMetadataNumbersKeepTheirText(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.member.Secret
		r := e.call(t, "POST", "/api/documents", key,
			`{"documents":[{"title":"n","metadata":{"big":9007199254740993,"list":[12345678901234567890],"small":0.1000000000000000055511151231257827}}]}`).
			want(t, http.StatusCreated, "")
		id := into[createResp](t, r).IDs[0]
		got := e.call(t, "GET", "/api/documents/"+id, key, nil).want(t, http.StatusOK, "").Raw
		for _, want := range []string{"9007199254740993", "12345678901234567890", "0.1000000000000000055511151231257827"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("document %s does not hold %s", got, want)
			}
		}
		p := e.call(t, "PATCH", "/api/documents/"+id, key, `{"metadata":{"big":9007199254740995}}`).want(t, http.StatusOK, "").Raw
		if !strings.Contains(string(p), "9007199254740995") {
			t.Errorf("patched document %s lost the number's text", p)
		}
	})
}
