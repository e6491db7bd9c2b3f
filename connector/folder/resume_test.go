package folder

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/engram-kb/engram"
)

// TestItemsFromEveryCursor: resumed after any item, ItemsFrom yields and
// reports exactly what the whole run yields and reports after it.
func TestItemsFromEveryCursor(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for name, body := range map[string]string{
		"a/b.md": "# B", "a.md": "# A", "a/c/d.md": "# D", "bin.md": "x\x00y", "z.md": "# Z", "m.txt": "text",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	settings, err := ParseSettings([]byte(`{"path":` + quote(root) + `}`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(settings)
	events := func(cursor string) (out, cursors []string) {
		err := s.ItemsFrom(context.Background(), cursor, func(it engram.SourceItem) error {
			out, cursors = append(out, "item "+it.ExternalID), append(cursors, it.Cursor)
			return nil
		}, func(f engram.SourceFailure) {
			out, cursors = append(out, "fail "+f.Ref), append(cursors, "")
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, cursors
	}
	all, cursors := events("")
	if want := []string{"item a/b.md", "item a/c/d.md", "item a.md", "fail bin.md", "item m.txt", "item z.md"}; !slices.Equal(all, want) {
		t.Fatalf("whole run = %v, want %v", all, want)
	}
	for i, c := range cursors {
		if c == "" {
			continue
		}
		if got, _ := events(c); !slices.Equal(got, all[i+1:]) {
			t.Errorf("from %q: %v, want %v", c, got, all[i+1:])
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
