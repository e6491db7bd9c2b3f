package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/engram-kb/engram/sqlite"
)

// TestDatabaseFilesArePrivate: the database and its -wal and -shm files
// are created 0600 even under umask 000, and a database file other users
// can read is refused unless the operator allows it. Not parallel: the
// umask is the process's, and parallel tests start only after this one.
func TestDatabaseFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "engram.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if m := info.Mode().Perm(); m != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", filepath.Base(p), m)
		}
	}
	s.Close()

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(ctx, path, sqlite.Options{}); err == nil || !strings.Contains(err.Error(), "chmod 600") ||
		!strings.Contains(err.Error(), "--allow-shared-db-file") {
		t.Fatalf("open of a 0644 database: err %v, want a refusal naming chmod and the flag", err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{AllowSharedFile: true})
	if err != nil {
		t.Fatalf("open allowed shared: %v", err)
	}
	s.Close()
}
