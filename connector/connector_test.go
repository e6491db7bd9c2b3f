package connector

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/engram-kb/engram"
)

// tree writes files under dir and makes the symbolic links (name → target).
func tree(t *testing.T, dir string, files, links map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skip("symbolic links unsupported:", err)
		}
	}
}

// items opens a source through r and reads it whole: the external ids in
// order, and each failure's reason by reference.
func items(t *testing.T, r Registry, tenant, typ, path string) ([]string, map[string]string, []engram.SourceItem) {
	t.Helper()
	settings, _ := json.Marshal(map[string]string{"path": path})
	src, err := r.Open(tenant, typ, settings)
	if err != nil {
		t.Fatalf("open %s %s: %v", typ, path, err)
	}
	var ids []string
	var all []engram.SourceItem
	fails := map[string]string{}
	err = src.Items(context.Background(), func(it engram.SourceItem) error {
		ids = append(ids, it.ExternalID)
		all = append(all, it)
		return nil
	}, func(f engram.SourceFailure) { fails[f.Ref] = f.Reason })
	if err != nil {
		t.Fatalf("items: %v", err)
	}
	return ids, fails, all
}

// TestLinksStayInsideTheRoot: a folder or mail connector reads links that
// stay inside the server's allowed root, and reports every link leading out
// of it (to a file, a directory, a Maildir message) as a failed item
// instead of importing what it points at.
func TestLinksStayInsideTheRoot(t *testing.T) {
	t.Parallel()
	servers, outside := t.TempDir(), t.TempDir()
	root := filepath.Join(servers, "acme") // the tenant's directory
	tree(t, outside, map[string]string{
		"passwd.md":         "root:x:0:0:root:/root:/bin/bash\n",
		"etc/x.md":          "# Outside\n",
		"mail/cur/1:2,S":    "From: a@example.com\nSubject: outside\n\nsecret\n",
		"mail/cur/2:2,S":    "From: b@example.com\nSubject: also outside\n\nsecret\n",
		"other/outside.eml": "From: c@example.com\nSubject: outside\n\nsecret\n",
	}, nil)
	tree(t, root, map[string]string{
		"vault/n.md":        "# Note\n",
		"shared/inside.md":  "# Inside\n",
		"maildir/cur/1:2,S": "From: d@example.com\nSubject: inside\n\nhello\n",
		"maildir/new/.keep": "",
	}, map[string]string{
		"vault/passwd.md":         filepath.Join(outside, "passwd.md"),
		"vault/etc":               filepath.Join(outside, "etc"),
		"vault/in.md":             filepath.Join(root, "shared", "inside.md"),
		"vault/sub":               filepath.Join(root, "shared"),
		"maildir/cur/2:2,S":       filepath.Join(outside, "mail", "cur", "2:2,S"),
		"maildir/cur/outside.eml": filepath.Join(outside, "other", "outside.eml"),
	})
	r := Registry{Roots: []string{servers}}

	ids, fails, all := items(t, r, "acme", Folder, filepath.Join(root, "vault"))
	if want := []string{"in.md", "n.md", "sub/inside.md"}; !slices.Equal(ids, want) {
		t.Errorf("folder items %q, want %q", ids, want)
	}
	for _, ref := range []string{"passwd.md", "etc"} {
		if !strings.Contains(fails[ref], "outside") {
			t.Errorf("folder failure for %s = %q, want a link leading outside; all failures %v", ref, fails[ref], fails)
		}
	}
	for _, it := range all {
		if strings.Contains(it.Content, "root:x") {
			t.Errorf("item %s holds the outside file's content", it.ExternalID)
		}
	}

	ids, fails, all = items(t, r, "acme", Mail, filepath.Join(root, "maildir"))
	if len(ids) != 1 || all[0].Title != "inside" {
		t.Errorf("mail items %q, want only the message inside the root", ids)
	}
	for _, ref := range []string{"cur/2:2,S", "cur/outside.eml"} {
		if !strings.Contains(fails[ref], "outside") {
			t.Errorf("mail failure for %s = %q, want a link leading outside; all failures %v", ref, fails[ref], fails)
		}
	}

	// A connector on the outside directory itself, or through a link
	// that leaves the root, is refused at validation.
	if err := os.Symlink(outside, filepath.Join(root, "door")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{outside, filepath.Join(root, "door"), filepath.Join(root, "vault", "etc")} {
		settings, _ := json.Marshal(map[string]string{"path": p})
		if _, err := r.ValidateSettings("acme", Folder, settings); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("settings on %s: err %v, want invalid_argument", p, err)
		}
	}
}

// TestRootsArePerTenant: a tenant's connectors read only the directory
// named by its slug under a root: another tenant's directory beside it is
// refused at create, update (both ValidateSettings) and every sync (Open).
// The operator may make the tenant's directory a link to where the files
// are.
func TestRootsArePerTenant(t *testing.T) {
	t.Parallel()
	servers, notes := t.TempDir(), t.TempDir()
	tree(t, servers, map[string]string{
		"acme/vault/a.md":   "# Acme\n",
		"globex/vault/g.md": "# Globex secret\n",
	}, map[string]string{"initech": notes})
	tree(t, notes, map[string]string{"n.md": "# Initech note\n"}, nil)
	r := Registry{Roots: []string{t.TempDir(), servers}}
	settings := func(p string) json.RawMessage {
		b, _ := json.Marshal(map[string]string{"path": p})
		return b
	}
	if _, err := r.ValidateSettings("acme", Folder, settings(filepath.Join(servers, "acme", "vault"))); err != nil {
		t.Fatalf("acme on its own directory: %v", err)
	}
	for _, c := range []struct{ tenant, path string }{
		{"acme", filepath.Join(servers, "globex", "vault")},
		{"acme", servers},
		{"acme", filepath.Join(servers, "acme", "..", "globex")},
		{"globex", filepath.Join(servers, "acme", "vault")},
		{"../acme", filepath.Join(servers, "acme", "vault")},
	} {
		_, err := r.ValidateSettings(c.tenant, Folder, settings(c.path))
		if engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("tenant %q on %s: err %v, want invalid_argument", c.tenant, c.path, err)
		}
		if _, err := r.Open(c.tenant, Folder, settings(c.path)); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("open for tenant %q on %s: err %v, want invalid_argument", c.tenant, c.path, err)
		}
	}
	if err := func() error {
		_, err := r.ValidateSettings("acme", Folder, settings(filepath.Join(servers, "globex", "vault")))
		return err
	}(); err == nil || !strings.Contains(err.Error(), `read only a directory named "acme"`) {
		t.Errorf("refusal %v does not say where the tenant's files go", err)
	}
	ids, _, _ := items(t, r, "initech", Folder, filepath.Join(servers, "initech"))
	if !slices.Equal(ids, []string{"n.md"}) {
		t.Errorf("initech through the operator's link: %q", ids)
	}
}
