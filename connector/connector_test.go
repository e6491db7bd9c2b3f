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
func items(t *testing.T, r Registry, typ, path string) ([]string, map[string]string, []engram.SourceItem) {
	t.Helper()
	settings, _ := json.Marshal(map[string]string{"path": path})
	src, err := r.Open(typ, settings)
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
	root, outside := t.TempDir(), t.TempDir()
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
	r := Registry{Roots: []string{root}}

	ids, fails, all := items(t, r, Folder, filepath.Join(root, "vault"))
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

	ids, fails, all = items(t, r, Mail, filepath.Join(root, "maildir"))
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
		if _, err := r.ValidateSettings(Folder, settings); engram.ErrorCode(err) != engram.EInvalid {
			t.Errorf("settings on %s: err %v, want invalid_argument", p, err)
		}
	}
}
