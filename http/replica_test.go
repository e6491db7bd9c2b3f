package http_test

import (
	"testing"

	"github.com/engram-kb/engram/internal/testdb"
)

// TestReadPositionHeader: a read-only request's Engram-Min-LSN must be a
// WAL position (a 400 naming the header otherwise), a valid one is
// accepted whatever the engine, and without a read replica no response
// carries Engram-Commit-LSN. (With a replica: postgres TestReadReplica.)
func TestReadPositionHeader(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		key := e.admin.Secret
		for _, bad := range []string{"nonsense", "1/", "/1", "G/0", "1/2/3", "100000000/0"} {
			e.call(t, "GET", "/api/documents", key, nil, "Engram-Min-LSN", bad).
				want(t, 400, "invalid_argument", "Engram-Min-LSN", "Engram-Commit-LSN")
		}
		e.call(t, "GET", "/api/documents", key, nil, "Engram-Min-LSN", "16/B374D848").want(t, 200, "")
		r := e.call(t, "POST", "/api/documents", key, `{"documents":[{"title":"a"}]}`)
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("create: %d %s", r.Status, r.Raw)
		}
		if v := r.Header.Get("Engram-Commit-LSN"); v != "" {
			t.Errorf("without a replica a write answers Engram-Commit-LSN %q", v)
		}
	})
}
