package sqlite_test

import (
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/drivertest"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/sqlite"
	"github.com/engram-kb/engram/storetest"
)

// newStore opens a migrated store on a fresh temporary file.
func newStore(t *testing.T) testdb.Store {
	return testdb.OpenSQLite(t)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) (engram.Store, storetest.Inspector) {
			s := testdb.OpenSQLite(t)
			return s, sqlite.NewInspector(testdb.SQLite(s))
		},
		AttachJobs: testdb.AttachJobs,
	})
}

func TestMigrateDownUp(t *testing.T) {
	t.Parallel()
	storetest.MigrateDownUp(t, newStore(t))
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) engram.Store { return testdb.OpenSQLite(b) })
}

func TestDriver(t *testing.T) {
	t.Parallel()
	drivertest.Run(t, drivertest.Harness{New: func(t *testing.T) (engram.Store, engram.Driver) {
		s := testdb.OpenSQLite(t)
		return s, testdb.Driver(s)
	}, Damage: damage})
}
