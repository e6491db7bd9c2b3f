package http_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// handleRe finds every authenticated endpoint the server registers, with
// the access it requires.
var handleRe = regexp.MustCompile(`s\.handle\("([A-Z]+) ([^"]+)", (canRead|canWrite|canAdmin),`)

// TestRolesOnEveryRoute reads every s.handle registration of the package
// and sends each endpoint a request from a signed-in viewer and a
// signed-in member: a viewer is refused every endpoint that writes, a
// member every admin's endpoint (users, keys, connectors, delete-all),
// both with 403 in JSON before anything is read; and an endpoint open to
// the role does not answer 403.
func TestRolesOnEveryRoute(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.go")
	type route struct{ method, path, need string }
	var routes []route
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range handleRe.FindAllStringSubmatch(string(src), -1) {
			routes = append(routes, route{m[1], m[2], m[3]})
		}
	}
	if len(routes) < 50 {
		t.Fatalf("found %d routes, want every one (50 or more)", len(routes))
	}
	// The declarations themselves: nothing that changes data is open to a
	// viewer but the caller's own session and password, and users, keys
	// and connectors are managed by admins alone (a member may still push
	// documents into a connector and start or stop its sync).
	for _, r := range routes {
		own := r.path == "/api/auth/logout" || r.path == "/api/auth/password"
		// POST /api/search is GET /api/search with the query in the body,
		// for queries too long for a URL: it reads and changes nothing.
		reads := r.method == "POST" && r.path == "/api/search"
		// Asking, rating an answer and keeping conversations change only
		// the caller's own conversations, which a viewer may have.
		own = own || r.path == "/api/ask" || strings.HasPrefix(r.path, "/api/ask/") || strings.HasPrefix(r.path, "/api/chat/")
		if r.method != "GET" && r.need == "canRead" && !own && !reads {
			t.Errorf("%s %s changes data but is open to viewers", r.method, r.path)
		}
		manages := strings.HasPrefix(r.path, "/api/users") || strings.HasPrefix(r.path, "/api/apikeys") ||
			r.path == "/api/integrations" || r.path == "/api/integrations/{id}"
		if manages && r.method != "GET" && r.need != "canAdmin" {
			t.Errorf("%s %s manages users, keys or connectors but is open to %s", r.method, r.path, r.need)
		}
	}
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		ctx := context.Background()
		session := map[engram.Role]string{}
		for _, role := range []engram.Role{engram.RoleViewer, engram.RoleMember} {
			email := string(role) + "@example.com"
			if _, _, err := s.CreateUser(ctx, "acme", email, role, ""); err != nil {
				t.Fatal(err)
			}
			_, pw, err := s.ResetPassword(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			session[role] = e.signIn(t, email, pw)
		}
		for _, r := range routes {
			path := strings.NewReplacer("{id}", engram.NewID(), "{answer_id}", engram.NewID(), "{message_id}", engram.NewID()).Replace(r.path)
			for role, token := range session {
				refused := r.need == "canAdmin" || (r.need == "canWrite" && role == engram.RoleViewer)
				if r.path == "/api/auth/logout" {
					continue // it would end the session the loop goes on with
				}
				res := e.call(t, r.method, path, token, map[string]any{})
				if refused && (res.Status != 403 || res.Body["code"] != engram.EForbidden || res.Statements > 1) {
					t.Errorf("%s %s as a %s: %d %s in %d statements, want 403 after the session look-up alone",
						r.method, r.path, role, res.Status, res.Raw, res.Statements)
				}
				if !refused && res.Status == 403 {
					t.Errorf("%s %s as a %s: 403 %s", r.method, r.path, role, res.Raw)
				}
			}
		}
	})
}
