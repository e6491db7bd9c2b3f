package http_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/internal/testdb"
)

type connectorResp struct {
	Integration engram.Connector `json:"integration"`
}

type pushResp struct {
	Report engram.SyncCounts `json:"report"`
}

func pushBody(prefix string, n int, version string) map[string]any {
	docs := make([]map[string]any, n)
	for i := range docs {
		docs[i] = map[string]any{"external_id": fmt.Sprintf("%s-%d", prefix, i), "title": fmt.Sprint("ticket ", i),
			"content": fmt.Sprintf("Ticket %d text, version %s.", i, version), "source_updated_at": "2025-06-01T10:00:00Z"}
	}
	return map[string]any{"documents": docs}
}

func TestConnectorsAndPush(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		// Only admins create connectors: folder and mail ones read server files.
		e.call(t, "POST", "/api/integrations", e.member.Secret, map[string]any{"type": "push", "name": "x"}).want(t, 403, "forbidden")
		e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "ftp", "name": "x"}).want(t, 400, "invalid_argument", "type", "push")
		e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "push"}).want(t, 400, "invalid_argument", "name")
		e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "push", "name": "x", "settings": map[string]any{"token": "s3cret"}}).
			want(t, 400, "invalid_argument", "settings.token")
		c := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "push", "name": "Helpdesk"}).want(t, 201, "")).Integration
		if c.Type != "push" || c.Status != engram.ConnectorActive {
			t.Fatalf("created connector = %+v", c)
		}
		list := e.call(t, "GET", "/api/integrations", e.viewer.Secret, nil).want(t, 200, "")
		if items, _ := list.Body["integrations"].([]any); len(items) != 1 {
			t.Fatalf("list = %s", list.Raw)
		}

		path := "/api/integrations/" + c.ID + "/documents"
		e.call(t, "POST", path, e.viewer.Secret, pushBody("t", 1, "1")).want(t, 403, "forbidden")
		bad := pushBody("t", 2, "1")
		bad["documents"].([]map[string]any)[1]["external_id"] = "t-0"
		e.call(t, "POST", path, e.member.Secret, bad).want(t, 400, "invalid_argument", "documents[1].external_id", "repeats")
		e.call(t, "POST", path, e.member.Secret, map[string]any{"documents": []any{}}).want(t, 400, "invalid_argument", "documents")

		r1 := e.call(t, "POST", path, e.member.Secret, pushBody("t", 30, "1")).want(t, 200, "")
		if got := into[pushResp](t, r1).Report; got != (engram.SyncCounts{Created: 30}) {
			t.Fatalf("first push = %+v", got)
		}
		r2 := e.call(t, "POST", path, e.member.Secret, pushBody("t", 30, "1")).want(t, 200, "")
		if got := into[pushResp](t, r2).Report; got != (engram.SyncCounts{Unchanged: 30}) {
			t.Fatalf("second push = %+v", got)
		}
		// Hard-delete five through the API; pushing them again keeps them gone.
		docs := into[listResp](t, e.call(t, "GET", "/api/documents?connector_id="+c.ID+"&limit=5", e.member.Secret, nil))
		ids := []string{}
		for _, d := range docs.Documents {
			ids = append(ids, d.ID)
		}
		del := e.call(t, "POST", "/api/documents/bulk/delete", e.member.Secret, map[string]any{"document_ids": ids, "hard": true}).want(t, 200, "")
		if del.Body["tombstoned"] != float64(5) {
			t.Fatalf("hard delete = %s", del.Raw)
		}
		r3 := e.call(t, "POST", path, e.member.Secret, pushBody("t", 30, "2")).want(t, 200, "")
		if got := into[pushResp](t, r3).Report; got != (engram.SyncCounts{Updated: 25, SkippedTombstoned: 5}) {
			t.Fatalf("third push = %+v", got)
		}
		// One push of 1 item and one of 300 cost the same statements.
		small := e.call(t, "POST", path, e.member.Secret, pushBody("s", 1, "1"))
		large := e.call(t, "POST", path, e.member.Secret, pushBody("l", 300, "1"))
		if small.Statements != large.Statements {
			t.Fatalf("push of 1 took %d statements, of 300 took %d", small.Statements, large.Statements)
		}

		// Disconnect; a push then conflicts.
		e.call(t, "DELETE", "/api/integrations/"+c.ID, e.member.Secret, nil).want(t, 403, "forbidden")
		gone := into[connectorResp](t, e.call(t, "DELETE", "/api/integrations/"+c.ID, e.admin.Secret, nil).want(t, 200, "")).Integration
		if gone.Status != engram.ConnectorDisconnected {
			t.Fatalf("after delete = %+v", gone)
		}
		e.call(t, "POST", path, e.member.Secret, pushBody("t", 1, "3")).want(t, 409, "conflict", "disconnected")
		again := into[connectorResp](t, e.call(t, "PATCH", "/api/integrations/"+c.ID, e.admin.Secret,
			map[string]any{"status": "active", "name": "Helpdesk 2"}).want(t, 200, "")).Integration
		if again.Status != engram.ConnectorActive || again.Name != "Helpdesk 2" {
			t.Fatalf("after reconnect = %+v", again)
		}
		e.call(t, "PATCH", "/api/integrations/"+c.ID, e.admin.Secret, map[string]any{"status": "error"}).want(t, 400, "invalid_argument", "status")
	})
}

func TestConnectorsCrossTenant(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		e := newEnv(t, s)
		c := into[connectorResp](t, e.call(t, "POST", "/api/integrations", e.admin.Secret,
			map[string]any{"type": "push", "name": "A's"}).want(t, 201, "")).Integration
		e.call(t, "POST", "/api/integrations/"+c.ID+"/documents", e.admin.Secret, pushBody("a", 3, "1")).want(t, 200, "")
		_, bKey, err := s.CreateTenant(context.Background(), "Beta", "beta")
		if err != nil {
			t.Fatal(err)
		}
		for _, call := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/integrations/" + c.ID, nil},
			{"PATCH", "/api/integrations/" + c.ID, map[string]any{"name": "stolen"}},
			{"DELETE", "/api/integrations/" + c.ID, nil},
			{"POST", "/api/integrations/" + c.ID + "/documents", pushBody("a", 3, "evil")},
		} {
			e.call(t, call.method, call.path, bKey.Secret, call.body).want(t, http.StatusNotFound, "not_found")
		}
		if l := e.call(t, "GET", "/api/integrations", bKey.Secret, nil); len(l.Body["integrations"].([]any)) != 0 {
			t.Fatalf("B lists A's connectors: %s", l.Raw)
		}
		got := into[connectorResp](t, e.call(t, "GET", "/api/integrations/"+c.ID, e.admin.Secret, nil)).Integration
		if got.Name != "A's" || got.Status != engram.ConnectorActive || got.TotalItemsSynced != 3 {
			t.Fatalf("A's connector changed: %+v", got)
		}
	})
}

func TestFileConnectorsNeedAllowedRoots(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		root, outside := t.TempDir(), t.TempDir()
		notes := filepath.Join(root, "acme", "vault")
		others := filepath.Join(root, "globex", "vault")
		for _, d := range []string{notes, others} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(outside, filepath.Join(root, "acme", "escape")); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = connector.Registry{Roots: []string{root}} })
		create := func(path string) result {
			return e.call(t, "POST", "/api/integrations", e.admin.Secret,
				map[string]any{"type": "folder", "name": "notes", "settings": map[string]any{"path": path}})
		}
		c := into[connectorResp](t, create(notes).want(t, 201, "")).Integration
		if c.Type != "folder" {
			t.Fatalf("created %+v", c)
		}
		create(outside).want(t, 400, "invalid_argument", "settings.path", "not under")
		create(filepath.Join(root, "acme", "escape")).want(t, 400, "invalid_argument", "settings.path", "not under")
		// Another tenant's directory under the same root is not acme's.
		create(others).want(t, 400, "invalid_argument", "settings.path", "not under this tenant's directory")
		e.call(t, "PATCH", "/api/integrations/"+c.ID, e.admin.Secret, map[string]any{"settings": map[string]any{"path": others}}).
			want(t, 400, "invalid_argument", "settings.path", "not under this tenant's directory")
		create("/etc").want(t, 400, "invalid_argument", "settings.path")
		e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "mail", "name": "m",
			"settings": map[string]any{"path": notes, "colour": "red"}}).want(t, 400, "invalid_argument", "settings.colour")

		// Without roots, only push connectors can be made.
		e2 := newEnv(t, testdb.OpenSQLite(t))
		e2.call(t, "POST", "/api/integrations", e2.admin.Secret, map[string]any{"type": "folder", "name": "n",
			"settings": map[string]any{"path": notes}}).want(t, 400, "invalid_argument", "--connector-roots")
	})
}

func TestConnectorSyncInterval(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		root := t.TempDir()
		if err := os.Mkdir(filepath.Join(root, "acme"), 0o755); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, s, func(c *enghttp.Config) { c.Connectors = connector.Registry{Roots: []string{root}} })
		create := func(interval any) result {
			return e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "folder", "name": "notes",
				"settings": map[string]any{"path": filepath.Join(root, "acme")}, "sync_interval": interval})
		}
		create("soon").want(t, 400, "invalid_argument", "sync_interval", "not a duration")
		create("30s").want(t, 400, "invalid_argument", "sync_interval", "from 1m to 720h")
		create("1000h").want(t, 400, "invalid_argument", "sync_interval")
		create("90.5s").want(t, 400, "invalid_argument", "sync_interval", "whole seconds")
		create(3600).want(t, 400, "invalid_argument", "sync_interval", "duration string")
		e.call(t, "POST", "/api/integrations", e.admin.Secret, map[string]any{"type": "push", "name": "p", "sync_interval": "1h"}).
			want(t, 400, "invalid_argument", "sync_interval", "push")

		c := into[connectorResp](t, create("60m").want(t, 201, "")).Integration
		if c.SyncInterval == nil || *c.SyncInterval != "1h" || c.NextSyncAt == nil || !c.NextSyncAt.Equal(c.CreatedAt) {
			t.Fatalf("created = %+v: want sync_interval 1h, due at once", c)
		}
		path := "/api/integrations/" + c.ID
		e.call(t, "PATCH", path, e.admin.Secret, map[string]any{"sync_interval": "never"}).want(t, 400, "invalid_argument", "sync_interval")
		e.call(t, "PATCH", path, e.member.Secret, map[string]any{"sync_interval": "2h"}).want(t, 403, "forbidden")
		got := into[connectorResp](t, e.call(t, "PATCH", path, e.admin.Secret, map[string]any{"sync_interval": "1h30m"}).want(t, 200, "")).Integration
		if got.SyncInterval == nil || *got.SyncInterval != "1h30m" || got.NextSyncAt == nil {
			t.Fatalf("patched = %+v", got)
		}
		// The schedule is in what GET returns; null removes it.
		r := e.call(t, "GET", path, e.viewer.Secret, nil).want(t, 200, "")
		if integ, _ := r.Body["integration"].(map[string]any); integ["sync_interval"] != "1h30m" {
			t.Fatalf("get = %s", r.Raw)
		}
		got = into[connectorResp](t, e.call(t, "PATCH", path, e.admin.Secret, map[string]any{"sync_interval": nil}).want(t, 200, "")).Integration
		if got.SyncInterval != nil || got.NextSyncAt != nil {
			t.Fatalf("unscheduled = %+v", got)
		}
		// A connector without a schedule answers null for both fields.
		r = e.call(t, "GET", path, e.viewer.Secret, nil).want(t, 200, "")
		if integ, _ := r.Body["integration"].(map[string]any); integ["sync_interval"] != nil || integ["next_sync_at"] != nil {
			t.Fatalf("get = %s", r.Raw)
		}
		if _, ok := r.Body["integration"].(map[string]any)["next_sync_at"]; !ok {
			t.Fatalf("next_sync_at missing from %s", r.Raw)
		}
	})
}
