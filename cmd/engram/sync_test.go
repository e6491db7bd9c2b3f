package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSyncCommand(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			// The tenant acme reads <root>/acme.
			roots := t.TempDir()
			root := filepath.Join(roots, "acme")
			for name, text := range map[string]string{"a.md": "# Alpha\n\ntext", "sub/b.md": "# Beta\n\ntext", "c.txt": "gamma"} {
				p := filepath.Join(root, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatalf("migrate: %v %s", err, errOut)
			}
			ctx := context.Background()
			d := dbFlags{url: db, maxConns: 2}
			s, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
			if err != nil {
				t.Fatal(err)
			}
			settings, _ := json.Marshal(map[string]string{"path": root})
			c, err := s.CreateConnector(ctx, tn.ID, key.ID, "folder", "notes", settings, 0)
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{`"created": 3`, `"unchanged": 3`} {
				out, errOut, err := runEngram(t, "sync", c.ID, "--tenant", "acme", "--db", db, "--connector-roots", roots)
				if err != nil || !strings.Contains(out, want) || !strings.Contains(errOut, "3 items") {
					t.Fatalf("sync %d: %v\nstdout: %s\nstderr: %s", i+1, err, out, errOut)
				}
			}
			if err := os.Remove(filepath.Join(root, "c.txt")); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := runEngram(t, "sync", c.ID, "--tenant", "acme", "--full", "--db", db, "--connector-roots", roots)
			if err != nil || !strings.Contains(out, `"missing_at_source": 1`) || !strings.Contains(out, `"unchanged": 2`) {
				t.Fatalf("full sync after removing a file: %v\nstdout: %s\nstderr: %s", err, out, errOut)
			}
			if _, errOut, err := runEngram(t, "sync", c.ID, "--tenant", "acme", "--db", db); err == nil || !strings.Contains(errOut, "--connector-roots") {
				t.Fatalf("sync without roots: %v %s", err, errOut)
			}
			if _, errOut, err := runEngram(t, "sync", c.ID, "--tenant", "other", "--db", db, "--connector-roots", roots); err == nil || !strings.Contains(errOut, "no tenant") {
				t.Fatalf("sync with another tenant: %v %s", err, errOut)
			}
		})
	}
}
