// Package testdb gives tests fresh databases on every engine: a temporary
// SQLite file always, and a fresh PostgreSQL schema when TEST_DATABASE_URL
// is set. With ENGRAM_REQUIRE_POSTGRES=1 a missing PostgreSQL fails the
// test instead of skipping it.
package testdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/postgres"
	"github.com/engram-kb/engram/service"
	"github.com/engram-kb/engram/sqlite"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// Store is a store that can also run its migrations.
type Store interface {
	engram.Store
	engram.Migrator
	MigrationsPending(ctx context.Context) (bool, error)
}

// Engine opens fresh, migrated stores of one kind.
type Engine struct {
	Name string
	// Open returns a new empty migrated store, closed at the end of t.
	Open func(t testing.TB) Store
}

// Engines returns every engine available to this test run.
func Engines(t testing.TB) []Engine {
	out := []Engine{{Name: "sqlite", Open: OpenSQLite}}
	if pg, ok := postgresEngine(t); ok {
		out = append(out, pg)
	}
	return out
}

// ForEachEngine runs fn as a parallel subtest per engine with a fresh store.
func ForEachEngine(t *testing.T, fn func(t *testing.T, s Store)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, e.Open(t))
		})
	}
}

// OpenSQLite opens a migrated store on a new temporary file.
func OpenSQLite(t testing.TB) Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engram.db")
	d, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := service.New(d, service.Options{})
	t.Cleanup(func() { s.Close() })
	if err := migrateAll(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Backend returns River's backend for the engine under s (a store made
// here), as cmd/engram wires it.
func Backend(s engram.Store) jobs.Backend {
	switch d := Driver(s).(type) {
	case *postgres.Store:
		b := jobs.NewBackend(riverpgxv5.New(d.Pool()), d.SetJobEnqueuer)
		b.PollOnly = d.Pooler()
		return b
	case *sqlite.Store:
		return jobs.NewBackend(riversqlite.New(d.WriteDB()), d.SetJobEnqueuer)
	}
	panic(fmt.Sprintf("testdb: no River backend for %T", s))
}

// Driver returns the engine driver under s (a store made here).
func Driver(s engram.Store) engram.Driver { return s.(*service.Store).Driver() }

// SQLite returns the SQLite driver under s.
func SQLite(s engram.Store) *sqlite.Store { return Driver(s).(*sqlite.Store) }

// Postgres returns the PostgreSQL driver under s.
func Postgres(s engram.Store) *postgres.Store { return Driver(s).(*postgres.Store) }

// migrateAll applies engram's migrations and River's.
func migrateAll(ctx context.Context, s jobs.MigratingStore) error {
	m, err := jobs.NewMigrator(s, Backend(s))
	if err != nil {
		return err
	}
	_, err = m.MigrateUp(ctx)
	return err
}

// PostgresURL returns TEST_DATABASE_URL, failing the test when it is unset
// and ENGRAM_REQUIRE_POSTGRES=1, and reporting false otherwise.
func PostgresURL(t testing.TB) (string, bool) {
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" && os.Getenv("ENGRAM_REQUIRE_POSTGRES") == "1" {
		t.Fatal("ENGRAM_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
	}
	return u, u != ""
}

// RunJobs attaches River to s with cfg and starts its workers; they stop
// when the test ends.
func RunJobs(t *testing.T, s engram.Store, cfg jobs.Config) {
	t.Helper()
	r, err := jobs.New(s, Backend(s), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop job workers: %v", err)
		}
	})
}

// AttachJobs attaches an insert-only River client to s, so that EnqueueJob
// works in tests that run the batches themselves.
func AttachJobs(t *testing.T, s engram.Store) {
	t.Helper()
	if _, err := jobs.New(s, Backend(s), jobs.Config{}); err != nil {
		t.Fatal(err)
	}
}
