package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/sqlite"
	"github.com/engram-kb/engram/storetest"
)

// newStore opens a migrated store on a fresh temporary file.
func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engram.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) (engram.Store, storetest.Inspector) {
			s := testdb.OpenSQLite(t).(*sqlite.Store)
			return s, sqlite.NewInspector(s)
		},
		AttachJobs: testdb.AttachJobs,
	})
}

func TestMigrateDownUp(t *testing.T) {
	t.Parallel()
	storetest.MigrateDownUp(t, newStore(t))
}
