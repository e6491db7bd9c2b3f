package http_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestCrossTenant gives tenant B's key every endpoint with tenant A's ids
// and checks that B sees none of A's documents and changes none of them:
// a single-id call is not_found exactly like a missing id, a bulk call
// reports A's ids as not found, and B's counts leave A out.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		aKey := e.admin.Secret
		_, bNewKey, err := s.CreateTenant(context.Background(), "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		bKey := bNewKey.Secret

		aIDs := e.create(t, aKey, "spam a1", "work a2", "maybe a3")
		a1, a3 := aIDs[0], aIDs[2]
		// a3 is soft-deleted, so that restore and hard delete (which also
		// purges soft-deleted documents) have something of A's to aim at.
		e.call(t, "DELETE", "/api/documents/"+a3, aKey, nil).want(t, http.StatusOK, "")
		b1 := e.create(t, bKey, "spam b1")[0]
		snapshot := map[string]engram.Document{}
		for _, id := range aIDs {
			snapshot[id] = e.get(t, aKey, id)
		}

		// B's own view holds only B's document, whatever it claims to be.
		for _, hdr := range [][]string{nil, {"X-Tenant-Id", e.tenant.ID}, {"X-Tenant", "acme"}} {
			l := into[listResp](t, e.call(t, "GET", "/api/documents?include_total=true", bKey, nil, hdr...).want(t, http.StatusOK, ""))
			if len(l.Documents) != 1 || l.Documents[0].ID != b1 || *l.Pagination.Total != 1 {
				t.Fatalf("B's list with %v = %+v", hdr, l)
			}
		}
		e.call(t, "GET", "/api/documents?tenant_id="+e.tenant.ID, bKey, nil).want(t, http.StatusBadRequest, engram.EInvalid, "tenant_id")
		if st := into[statsResp](t, e.call(t, "GET", "/api/documents/stats", bKey, nil)).Stats; st.Total != 1 || st.Deleted != 0 {
			t.Fatalf("B's stats count A's documents: %+v", st)
		}

		// Every endpoint with an id in its path.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/documents/" + a1, ""},
			{"GET", "/api/documents/" + a3 + "?include_deleted=true", ""},
			{"PATCH", "/api/documents/" + a1, `{"title":"hijacked","metadata":{"owner":"b"}}`},
			{"POST", "/api/documents/" + a1 + "/classify", `{"auto_confirm_threshold":0}`},
			{"PUT", "/api/documents/" + a1 + "/classify", `{"classification":"work"}`},
			{"POST", "/api/documents/" + a1 + "/confirm", `{"classification":"personal"}`},
			{"POST", "/api/documents/" + a1 + "/reject", `{"reason":"by B"}`},
			{"POST", "/api/documents/" + a3 + "/restore", ""},
			{"DELETE", "/api/documents/" + a1, ""},
			{"DELETE", "/api/documents/" + a1 + "?hard=true", ""},
			{"DELETE", "/api/documents/" + a3 + "?hard=true", ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := e.call(t, c.method, c.path, bKey, body)
			if r.Status != http.StatusNotFound || r.Body["code"] != engram.ENotFound {
				t.Errorf("B: %s %s = %d %s, want 404", c.method, c.path, r.Status, r.Raw)
			}
		}

		// B's pending classify takes B's pending document, not A's.
		r := e.call(t, "POST", "/api/documents/classify", bKey, nil).want(t, http.StatusOK, "")
		if c := into[classifyResp](t, r); c.Results.Total != 1 || c.Results.Spam != 1 {
			t.Fatalf("B's pending classify = %s", r.Raw)
		}

		// Every bulk endpoint with A's ids mixed into B's list.
		mixed := []string{b1, aIDs[0], aIDs[1], aIDs[2]}
		for _, c := range []struct {
			path, extra, count string
		}{
			{"/api/documents/classify", `,"auto_confirm_threshold":0`, ""},
			{"/api/documents/bulk/classify", `,"classification":"personal"`, "updated"},
			{"/api/documents/bulk/confirm", `,"classification":"work"`, "confirmed"},
			{"/api/documents/bulk/reject", `,"reason":"by B"`, "rejected"},
			{"/api/documents/bulk/delete", "", "deleted"},
			{"/api/documents/bulk/restore", "", "restored"},
			{"/api/documents/bulk/delete", `,"hard":true`, "deleted"},
		} {
			r := e.call(t, "POST", c.path, bKey, idsBody(c.extra, mixed...)).want(t, http.StatusOK, "")
			var nf []string
			for _, v := range r.Body["not_found"].([]any) {
				nf = append(nf, v.(string))
			}
			if !slices.Equal(nf, aIDs) {
				t.Errorf("B: %s not_found = %q, want A's ids %q", c.path, nf, aIDs)
			}
			if c.count != "" && r.Body[c.count] != 1.0 {
				t.Errorf("B: %s %s = %v, want 1 (B's own document)", c.path, c.count, r.Body[c.count])
			}
		}
		// B's document went through all of it and is gone; B counts nothing.
		if st := into[statsResp](t, e.call(t, "GET", "/api/documents/stats", bKey, nil)).Stats; st.Total != 0 || st.Deleted != 0 {
			t.Fatalf("B's stats after its hard delete: %+v", st)
		}
		if l := into[listResp](t, e.call(t, "GET", "/api/documents/review", bKey, nil)); len(l.Documents) != 0 {
			t.Fatalf("B's review queue: %+v", l.Documents)
		}

		// A's documents are exactly as they were, field for field.
		for _, id := range aIDs {
			if after := e.get(t, aKey, id); !sameDocument(snapshot[id], after) {
				t.Errorf("B changed A's document:\nbefore %+v\nafter  %+v", snapshot[id], after)
			}
		}
		st := into[statsResp](t, e.call(t, "GET", "/api/documents/stats", aKey, nil)).Stats
		if st.Total != 2 || st.Deleted != 1 || st.ByStatus[engram.StatusPending] != 2 {
			t.Fatalf("A's stats = %+v", st)
		}
	})
}
