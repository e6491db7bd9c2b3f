package postgres_test

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/drivertest"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/postgres"
	"github.com/engram-kb/engram/service"
	"github.com/engram-kb/engram/storetest"
)

// newStore opens a migrated store on a fresh database, or skips the test
// when no PostgreSQL is configured (fails with ENGRAM_REQUIRE_POSTGRES=1).
func newStore(t *testing.T) testdb.Store {
	t.Helper()
	base, ok := testdb.PostgresURL(t)
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	return testdb.OpenPostgres(t, base, postgres.Options{MaxConns: 4, MinConns: 0})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	newStore(t) // skip early when PostgreSQL is absent
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) (engram.Store, storetest.Inspector) {
			s := newStore(t)
			return s, postgres.NewInspector(testdb.Postgres(s))
		},
		AttachJobs: testdb.AttachJobs,
	})
}

func TestMigrateDownUp(t *testing.T) {
	t.Parallel()
	url := testdb.NewDatabase(t)
	d, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 2, MinConns: 0})
	if err != nil {
		t.Fatal(err)
	}
	s := service.New(d, service.Options{})
	defer s.Close()
	if _, err := s.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.MigrateDownUp(t, s)
}

func BenchmarkStore(b *testing.B) {
	base, ok := testdb.PostgresURL(b)
	if !ok {
		b.Skip("TEST_DATABASE_URL is not set")
	}
	storetest.RunBenchmarks(b, func(b *testing.B) engram.Store {
		return testdb.OpenPostgres(b, base, postgres.Options{MaxConns: 4, MinConns: 0})
	})
}

func TestDriver(t *testing.T) {
	t.Parallel()
	newStore(t) // skip early when PostgreSQL is absent
	drivertest.Run(t, drivertest.Harness{New: func(t *testing.T) (engram.Store, engram.Driver) {
		s := newStore(t)
		return s, testdb.Driver(s)
	}, Damage: damage})
}
