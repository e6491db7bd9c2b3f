package http_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
)

// Typed views of the review responses.
type (
	classifyResp struct {
		Results struct {
			Total         int `json:"total"`
			Work          int `json:"work"`
			Personal      int `json:"personal"`
			Spam          int `json:"spam"`
			Unknown       int `json:"unknown"`
			AutoConfirmed int `json:"auto_confirmed"`
			NeedsReview   int `json:"needs_review"`
		} `json:"results"`
		NotFound []string `json:"not_found"`
		Skipped  []string `json:"skipped"`
	}
	bulkResp struct {
		Updated        int      `json:"updated"`
		Confirmed      int      `json:"confirmed"`
		Rejected       int      `json:"rejected"`
		Restored       int      `json:"restored"`
		Deleted        int      `json:"deleted"`
		Tombstoned     int      `json:"tombstoned"`
		Hard           bool     `json:"hard"`
		Classification string   `json:"classification"`
		NotFound       []string `json:"not_found"`
	}
)

// idsBody is a bulk body with the given ids and extra fields (",\"hard\":true").
func idsBody(extra string, ids ...string) string {
	b, _ := json.Marshal(ids) // a []string always encodes
	return `{"document_ids":` + string(b) + extra + `}`
}

// TestReviewSession walks a reviewer's session through the API and checks
// every number it is shown against the documents themselves.
func TestReviewSession(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		cl := &titleClassifier{}
		e := newEnv(t, s, withClassifier(cl))
		key := e.member.Secret
		ids := e.create(t, key, "work one", "work two", "spam one", "spam two", "maybe one", "maybe two", "personal one")
		work, spam, maybe, personal := ids[0:2], ids[2:4], ids[4:6], ids[6]
		missing := engram.NewID()

		// Classify all but the personal one, by id, with one unknown id;
		// 0.9 confirms the work ones (0.92) and nothing else.
		sel := append(append([]string{}, ids[:6]...), missing)
		r := e.call(t, "POST", "/api/documents/classify", key, idsBody(`,"auto_confirm_threshold":0.9`, sel...)).want(t, http.StatusOK, "")
		c := into[classifyResp](t, r)
		if c.Results.Total != 6 || c.Results.Work != 2 || c.Results.Spam != 2 || c.Results.Unknown != 2 || c.Results.Personal != 0 ||
			c.Results.AutoConfirmed != 2 || c.Results.NeedsReview != 4 || !slices.Equal(c.NotFound, []string{missing}) || len(c.Skipped) != 0 {
			t.Fatalf("classify = %s", r.Raw)
		}
		// The classifier saw the tenant's settings.
		if len(cl.settings) != 1 || cl.settings[0] != "{}" {
			t.Fatalf("classifier settings = %q", cl.settings)
		}
		if d := e.get(t, key, work[0]); d.Status != engram.StatusConfirmed || d.UserConfirmed || d.Classification != engram.ClassWork || *d.ClassificationConfidence != 0.92 {
			t.Fatalf("auto-confirmed = %+v", d)
		}
		// The pending selection takes what is left: the personal one.
		r = e.call(t, "POST", "/api/documents/classify", key, `{"limit":5}`).want(t, http.StatusOK, "")
		if c := into[classifyResp](t, r); c.Results.Total != 1 || c.Results.Personal != 1 || c.Results.NeedsReview != 1 || len(c.NotFound) != 0 {
			t.Fatalf("pending classify = %s", r.Raw)
		}

		// The review queue: least confident first, in keyset pages.
		review := func() []string {
			t.Helper()
			var out []string
			total := -1
			path := "/api/documents/review?limit=3&include_total=true"
			for {
				l := into[listResp](t, e.call(t, "GET", path, e.viewer.Secret, nil).want(t, http.StatusOK, ""))
				for _, d := range l.Documents {
					if d.Status != engram.StatusClassified || d.UserConfirmed || d.Content != nil {
						t.Fatalf("review item %+v", d)
					}
					out = append(out, d.ID)
				}
				if l.Pagination.Limit != 3 || l.Pagination.Total == nil || total >= 0 && *l.Pagination.Total != total {
					t.Fatalf("review pagination %+v", l.Pagination)
				}
				total = *l.Pagination.Total
				if !l.Pagination.HasMore {
					if total != len(out) {
						t.Fatalf("review total %d, listed %d", total, len(out))
					}
					return out
				}
				path = "/api/documents/review?limit=3&include_total=true&cursor=" + *l.Pagination.NextCursor
			}
		}
		if got, want := review(), []string{maybe[0], maybe[1], spam[0], spam[1], personal}; !slices.Equal(got, want) {
			t.Fatalf("review queue = %q, want %q", got, want)
		}

		// Bulk confirm the spam (with a duplicate and an unknown id).
		r = e.call(t, "POST", "/api/documents/bulk/confirm", key, idsBody("", spam[0], spam[1], spam[0], missing)).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Confirmed != 2 || !slices.Equal(b.NotFound, []string{missing}) {
			t.Fatalf("bulk confirm = %s", r.Raw)
		}
		if d := e.get(t, key, spam[1]); d.Status != engram.StatusConfirmed || !d.UserConfirmed || d.UserConfirmedAt == nil || d.Classification != engram.ClassSpam {
			t.Fatalf("confirmed = %+v", d)
		}
		// Reclassify the personal one as work and reject one unknown.
		r = e.call(t, "POST", "/api/documents/bulk/classify", key, idsBody(`,"classification":"work"`, personal)).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Updated != 1 || b.Classification != "work" || len(b.NotFound) != 0 || r.Body["not_found"] == nil {
			t.Fatalf("bulk classify = %s", r.Raw)
		}
		r = e.call(t, "POST", "/api/documents/bulk/reject", key, idsBody(`,"reason":"newsletter"`, maybe[0])).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Rejected != 1 {
			t.Fatalf("bulk reject = %s", r.Raw)
		}
		if d := e.get(t, key, maybe[0]); d.Status != engram.StatusRejected || d.RejectionReason != "newsletter" {
			t.Fatalf("rejected = %+v", d)
		}
		if got := review(); !slices.Equal(got, []string{maybe[1]}) {
			t.Fatalf("review queue after decisions = %q", got)
		}

		// Soft-delete two, restore one of them plus a live one.
		r = e.call(t, "POST", "/api/documents/bulk/delete", key, idsBody("", maybe[1], personal)).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Deleted != 2 || b.Hard || b.Tombstoned != 0 {
			t.Fatalf("bulk soft delete = %s", r.Raw)
		}
		r = e.call(t, "POST", "/api/documents/bulk/restore", key, idsBody("", personal, work[0])).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Restored != 1 || !slices.Equal(b.NotFound, []string{work[0]}) {
			t.Fatalf("bulk restore = %s", r.Raw)
		}

		// Stats: 7 live but maybe[1] soft-deleted. Confirmed: work×2 (auto),
		// spam×2, personal (set as work); rejected: maybe[0].
		wantStats := func(total, deleted, confirmed, rejected, needsReview, workN, spamN, unknownN int) {
			t.Helper()
			r := e.call(t, "GET", "/api/documents/stats", e.viewer.Secret, nil).want(t, http.StatusOK, "")
			st := into[statsResp](t, r).Stats
			if st.Total != total || st.Deleted != deleted || st.ByStatus[engram.StatusConfirmed] != confirmed ||
				st.ByStatus[engram.StatusRejected] != rejected || st.NeedsReview != needsReview ||
				st.ByStatus[engram.StatusPending] != 0 || st.ByClassification[engram.ClassWork] != workN ||
				st.ByClassification[engram.ClassSpam] != spamN || st.ByClassification[engram.ClassUnknown] != unknownN ||
				st.ByClassification[engram.ClassPersonal] != 0 || st.AverageConfidence == nil {
				t.Fatalf("stats = %s", r.Raw)
			}
		}
		wantStats(6, 1, 5, 1, 0, 3, 2, 1)

		// Hard-delete the work documents and the soft-deleted one.
		r = e.call(t, "POST", "/api/documents/bulk/delete", key, idsBody(`,"hard":true`, work[0], work[1], maybe[1], missing)).want(t, http.StatusOK, "")
		if b := into[bulkResp](t, r); b.Deleted != 3 || !b.Hard || b.Tombstoned != 0 || !slices.Equal(b.NotFound, []string{missing}) {
			t.Fatalf("bulk hard delete = %s", r.Raw)
		}
		for _, id := range []string{work[0], maybe[1]} {
			e.call(t, "GET", "/api/documents/"+id+"?include_deleted=true", key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		}
		wantStats(4, 0, 3, 1, 0, 1, 2, 1)
	})
}

// TestSingleDocumentReview covers the endpoints that act on one id.
func TestSingleDocumentReview(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		ids := e.create(t, key, "spam a", "maybe b")
		a, b := ids[0], ids[1]
		missing := engram.NewID()

		r := e.call(t, "POST", "/api/documents/"+a+"/classify", key, nil).want(t, http.StatusOK, "")
		res := into[struct {
			Document       engram.Document       `json:"document"`
			Classification engram.ClassifyResult `json:"classification"`
		}](t, r)
		if res.Document.ID != a || res.Document.Status != engram.StatusClassified || res.Document.Classification != engram.ClassSpam ||
			res.Classification.Classification != engram.ClassSpam || res.Classification.Confidence != 0.7 ||
			res.Classification.Reason != "title says spam" || res.Document.Content == nil {
			t.Fatalf("classify one = %s", r.Raw)
		}
		// A borderline verdict stays in review whatever the threshold.
		r = e.call(t, "POST", "/api/documents/"+b+"/classify", key, `{"auto_confirm_threshold":0.1}`).want(t, http.StatusOK, "")
		if r.Body["classification"].(map[string]any)["is_borderline"] != true || r.Body["document"].(map[string]any)["status"] != "classified" {
			t.Fatalf("classify borderline = %s", r.Raw)
		}

		r = e.call(t, "POST", "/api/documents/"+a+"/confirm", key, `{"classification":"personal"}`).want(t, http.StatusOK, "")
		if d := into[documentResp](t, r).Document; d.Status != engram.StatusConfirmed || !d.UserConfirmed || d.Classification != engram.ClassPersonal {
			t.Fatalf("confirm one = %s", r.Raw)
		}
		// The classifier does not overwrite a person.
		r = e.call(t, "POST", "/api/documents/"+a+"/classify", key, nil).want(t, http.StatusConflict, engram.EConflict, "confirmed by a person")
		if r.Body["document_id"] != a || r.Body["status"] != "confirmed" {
			t.Fatalf("conflict details = %s", r.Raw)
		}
		r = e.call(t, "PUT", "/api/documents/"+a+"/classify", key, `{"classification":"work"}`).want(t, http.StatusOK, "")
		if d := into[documentResp](t, r).Document; d.Classification != engram.ClassWork || d.ClassificationReason != "set by user" || *d.ClassificationConfidence != 1 {
			t.Fatalf("set class = %s", r.Raw)
		}
		r = e.call(t, "POST", "/api/documents/"+b+"/reject", key, `{"reason":"not ours"}`).want(t, http.StatusOK, "")
		if d := into[documentResp](t, r).Document; d.Status != engram.StatusRejected || d.RejectionReason != "not ours" {
			t.Fatalf("reject one = %s", r.Raw)
		}
		e.call(t, "POST", "/api/documents/"+b+"/classify", key, nil).want(t, http.StatusConflict, engram.EConflict, "rejected by a person")
		// A bare confirm (no body) keeps the class.
		r = e.call(t, "POST", "/api/documents/"+b+"/confirm", key, nil).want(t, http.StatusOK, "")
		if d := into[documentResp](t, r).Document; d.Status != engram.StatusConfirmed || d.Classification != engram.ClassUnknown {
			t.Fatalf("bare confirm = %s", r.Raw)
		}

		// Soft delete, restore, restore again, hard delete.
		r = e.call(t, "DELETE", "/api/documents/"+b, key, nil).want(t, http.StatusOK, "")
		if d := into[bulkResp](t, r); d.Deleted != 1 || d.Hard || r.Body["not_found"] == nil {
			t.Fatalf("soft delete = %s", r.Raw)
		}
		e.call(t, "GET", "/api/documents/"+b, key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		e.call(t, "POST", "/api/documents/"+b+"/confirm", key, nil).want(t, http.StatusNotFound, engram.ENotFound)
		r = e.call(t, "POST", "/api/documents/"+b+"/restore", key, nil).want(t, http.StatusOK, "")
		if d := into[bulkResp](t, r); d.Restored != 1 {
			t.Fatalf("restore = %s", r.Raw)
		}
		e.call(t, "POST", "/api/documents/"+b+"/restore", key, nil).want(t, http.StatusNotFound, engram.ENotFound, "deleted documents")
		if d := e.get(t, key, b); d.IsDeleted || d.Status != engram.StatusConfirmed {
			t.Fatalf("restored = %+v", d)
		}
		r = e.call(t, "DELETE", "/api/documents/"+b+"?hard=true", key, nil).want(t, http.StatusOK, "")
		if d := into[bulkResp](t, r); d.Deleted != 1 || !d.Hard {
			t.Fatalf("hard delete = %s", r.Raw)
		}
		e.call(t, "GET", "/api/documents/"+b+"?include_deleted=true", key, nil).want(t, http.StatusNotFound, engram.ENotFound)

		// Every single-id endpoint answers not_found for an unknown id.
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/classify", ""},
			{"PUT", "/classify", `{"classification":"spam"}`},
			{"POST", "/confirm", ""},
			{"POST", "/reject", ""},
			{"POST", "/restore", ""},
			{"DELETE", "", ""},
			{"DELETE", "?hard=true", ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			e.call(t, c.method, "/api/documents/"+missing+c.path, key, body).want(t, http.StatusNotFound, engram.ENotFound, missing)
		}
		if n := listTotal(t, e, key, ""); n != 1 {
			t.Fatalf("documents left = %d, want 1", n)
		}
	})
}

// TestBuiltinClassifier runs the real rules through the API once, to check
// the wiring rather than the rules.
func TestBuiltinClassifier(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s, withClassifier(classify.New()))
		body := `{"documents":[
			{"title":"WIN CASH NOW","content":"Dear friend, you won the lottery! Act now, click here.","sender_email":"x@offers.biz"},
			{"title":"Sprint planning","content":"Agenda: roadmap review, pull request backlog, release deadline.","source_type":"slack"}]}`
		ids := into[createResp](t, e.call(t, "POST", "/api/documents", e.admin.Secret, body).want(t, http.StatusCreated, "")).IDs
		r := e.call(t, "POST", "/api/documents/classify", e.admin.Secret, `{"auto_confirm_threshold":0.9}`).want(t, http.StatusOK, "")
		if c := into[classifyResp](t, r); c.Results.Total != 2 || c.Results.Spam != 1 || c.Results.Work != 1 || c.Results.AutoConfirmed != 2 {
			t.Fatalf("classify = %s", r.Raw)
		}
		if d := e.get(t, e.admin.Secret, ids[0]); d.Classification != engram.ClassSpam || d.ClassificationReason == "" {
			t.Fatalf("spam = %+v", d)
		}
	})
}
