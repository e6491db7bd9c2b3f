package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/postgres"
	"github.com/engram-kb/engram/service"
	"github.com/jackc/pgx/v5"
)

// Each PostgreSQL test gets a database of its own, copied from a template
// that is migrated once (engram's migrations and River's). A database per test, rather than a schema, keeps
// CREATE INDEX CONCURRENTLY in one test from waiting on transactions of
// another: it waits only for transactions in its own database.

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

func postgresEngine(t testing.TB) (Engine, bool) {
	base, ok := PostgresURL(t)
	if !ok {
		return Engine{}, false
	}
	return Engine{Name: "postgres", Open: func(t testing.TB) Store {
		return OpenPostgres(t, base, postgres.Options{MaxConns: 4, MinConns: 0})
	}}, true
}

// OpenPostgres creates a fresh database from the migrated template and opens
// a store on it with opt. The database is dropped at the end of t.
func OpenPostgres(t testing.TB, base string, opt postgres.Options) Store {
	t.Helper()
	return openPostgres(t, base, "", opt)
}

// OpenPostgresWithReplica is OpenPostgres with the store reading from the
// streaming replica at replicaBase (a server URL like base), where the
// test's database appears once the replica has replayed its creation.
func OpenPostgresWithReplica(t testing.TB, base, replicaBase string, opt postgres.Options) Store {
	t.Helper()
	return openPostgres(t, base, replicaBase, opt)
}

func openPostgres(t testing.TB, base, replicaBase string, opt postgres.Options) Store {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, base) })
	if templateErr != nil {
		t.Fatalf("postgres template: %v", templateErr)
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)
	name := "engram_t_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	target := withDatabase(t, base, name)
	if pooler := os.Getenv("TEST_PGBOUNCER_URL"); pooler != "" {
		// The store goes through the pooler; creating and dropping the
		// databases stays direct (a pooler keeps server connections to
		// the template, which CREATE DATABASE … TEMPLATE refuses).
		target, opt.Pooler = withDatabase(t, pooler, name), true
	}
	if replicaBase != "" {
		opt.ReadURL = withDatabase(t, replicaBase, name)
	}
	d, err := postgres.Open(ctx, target, opt)
	if err != nil {
		t.Fatal(err)
	}
	s := service.New(d, service.Options{})
	t.Cleanup(func() {
		s.Close()
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	return s
}

// NewDatabase creates an empty database (not migrated) and returns its URL;
// it is dropped at the end of t.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base, ok := PostgresURL(t)
	if !ok {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := "engram_t_" + randomHex(8)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return withDatabase(t, base, name)
}

// ensureTemplate makes (once per set of migrations, shared by every test
// process) a database with every migration applied.
func ensureTemplate(ctx context.Context, base string) (string, error) {
	name := "engram_tpl_" + migrationsHash()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	// Test binaries of several packages run at once; one builds the
	// template while the others wait.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(72001)`); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, `SELECT pg_advisory_unlock(72001)`)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	build := name + "_build"
	_, _ = admin.Exec(ctx, `DROP DATABASE IF EXISTS `+build+` WITH (FORCE)`)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+build); err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + build
	d, err := postgres.Open(ctx, u.String(), postgres.Options{MaxConns: 2, MinConns: 0})
	if err != nil {
		return "", err
	}
	s := service.New(d, service.Options{})
	err = migrateAll(ctx, s)
	s.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+build+` RENAME TO `+name); err != nil {
		return "", err
	}
	return name, nil
}

// migrationsHash names the template after the migrations it holds, so a
// changed migration gets a new template.
func migrationsHash() string {
	h := sha256.New()
	for _, fsys := range []fs.FS{postgres.Migrations(), jobs.PostgresRiverMigrations()} {
		_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(fsys, p)
				h.Write([]byte(p))
				h.Write(b)
			}
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(t testing.TB, base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
