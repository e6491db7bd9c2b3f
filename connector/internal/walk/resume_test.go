package walk

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestAfter: the order is the walk's, by name at every level, not the
// paths' string order.
func TestAfter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rel, from string
		want      bool
	}{
		{"a", "", true}, {"a.txt", "a/b", true}, {"a/b", "a.txt", false}, {"a/b", "a", true},
		{"a", "a/b", false}, {"a/c", "a/b", true}, {"a/b", "a/b", false}, {"b", "a/z/z", true},
	} {
		if got := After(c.rel, c.from); got != c.want {
			t.Errorf("After(%q, %q) = %v, want %v", c.rel, c.from, got, c.want)
		}
	}
}

// TestFilesFrom: a walk resumed after any file visits exactly the files
// the whole walk visits after it, through directories and a linked tree.
func TestFilesFrom(t *testing.T) {
	t.Parallel()
	root, other := t.TempDir(), t.TempDir()
	for _, p := range []string{"a/b/1.md", "a/c.md", "a.txt", "b/x/y.md", "b.md", "z.md"} {
		write(t, filepath.Join(root, p))
	}
	for _, p := range []string{"l1.md", "sub/l2.md"} {
		write(t, filepath.Join(other, p))
	}
	if err := os.Symlink(other, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	list := func(from string) []string {
		var out []string
		err := Files(context.Background(), root, Options{From: from}, func(f File) error {
			out = append(out, f.Rel)
			return nil
		}, func(rel string, err error) { t.Errorf("%s: %v", rel, err) })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := list("")
	want := []string{"a/b/1.md", "a/c.md", "a.txt", "b/x/y.md", "b.md", "link/l1.md", "link/sub/l2.md", "z.md"}
	if !slices.Equal(all, want) {
		t.Fatalf("walk = %v, want %v", all, want)
	}
	for i, from := range all {
		if got := list(from); !slices.Equal(got, all[i+1:]) {
			t.Errorf("walk from %q = %v, want %v", from, got, all[i+1:])
		}
		for _, f := range all[:i+1] {
			if After(f, from) {
				t.Errorf("After(%q, %q) but it is walked first", f, from)
			}
		}
	}
}

func write(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}
