package http_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/engram-kb/engram/classify"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

func TestReadyz(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ready := true
		srv := newTestServer(t, enghttp.Config{Store: s, Classifier: classify.New(), Ready: func(context.Context) error {
			if !ready {
				return errors.New("migrations are pending")
			}
			return nil
		}})
		e := &env{store: s, srv: srv}
		if r := e.call(t, "GET", "/readyz", "", nil).want(t, 200, ""); r.Body["status"] != "ready" {
			t.Fatalf("readyz = %s", r.Raw)
		}
		ready = false
		r := e.call(t, "GET", "/readyz", "", nil).want(t, 503, "unavailable", "not ready")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		// Internal error text stays in the log.
		if strings.Contains(string(r.Raw), "migrations are pending") {
			t.Fatalf("readyz leaks the check's error: %s", r.Raw)
		}
		s.Close()
		e.call(t, "GET", "/readyz", "", nil).want(t, 503, "unavailable")
	})
}
