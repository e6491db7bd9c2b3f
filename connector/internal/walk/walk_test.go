package walk

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenStaysWithin: a file listed inside the allowed directory that is
// swapped for a link leading out before it is opened (or whose directory
// is) is refused at open, not read.
func TestOpenStaysWithin(t *testing.T) {
	t.Parallel()
	within, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.md")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(within, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	ok := filepath.Join(within, "dir", "ok.md")
	if err := os.WriteFile(ok, []byte("fine"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(within, ok)
	if err != nil {
		t.Fatalf("open inside: %v", err)
	}
	f.Close()

	// The file becomes a link out.
	if err := os.Remove(ok); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, ok); err != nil {
		t.Skip("symbolic links unsupported:", err)
	}
	if f, err := Open(within, ok); !errors.Is(err, errOutside) {
		if f != nil {
			f.Close()
		}
		t.Errorf("open of a file swapped for a link out: err %v, want %v", err, errOutside)
	}
	// Its directory becomes a link out.
	if err := os.RemoveAll(filepath.Join(within, "dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(within, "dir")); err != nil {
		t.Fatal(err)
	}
	if f, err := Open(within, filepath.Join(within, "dir", "secret.md")); !errors.Is(err, errOutside) {
		if f != nil {
			f.Close()
		}
		t.Errorf("open through a directory swapped for a link out: err %v, want %v", err, errOutside)
	}
	// Without a confining directory, Open is os.Open.
	f, err = Open("", secret)
	if err != nil {
		t.Fatalf("unconfined open: %v", err)
	}
	f.Close()
}
