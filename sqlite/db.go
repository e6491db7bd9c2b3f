// Package sqlite is engram's SQLite driver (engram.Driver) on an embedded
// file through modernc.org/sqlite (pure Go, no cgo): SQL, row mapping and
// the engine's capabilities, with every rule above it in package service. One connection writes and a
// pool of read-only connections read, so WAL readers never wait for the
// writer and writers never see SQLITE_BUSY from each other.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/capture"
	"github.com/engram-kb/engram/internal/migrate"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/pressly/goose/v3"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// Readers is the size of the read pool (default: max(4, GOMAXPROCS)).
	Readers int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process, such as an `engram tenant create` beside a running server
	// (default 10s).
	BusyTimeout time.Duration
	// AllowSharedFile opens a database file that other users of the
	// machine can read. Without it Open refuses such a file: it holds
	// every tenant's documents.
	AllowSharedFile bool
}

// Store is engram's store on SQLite.
type Store struct {
	write *sql.DB
	read  *sql.DB
	mig   *migrate.Runner
	// enqueue hands new jobs to River (see SetJobEnqueuer).
	enqueue engram.JobEnqueuer[*sql.Tx]
}

var _ engram.Migrator = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.Readers <= 0 {
		opt.Readers = max(4, runtime.GOMAXPROCS(0))
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 10 * time.Second
	}
	if err := privateFile(path, opt.AllowSharedFile); err != nil {
		return nil, err
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" +
		fmt.Sprintf("_pragma=busy_timeout(%d)", opt.BusyTimeout.Milliseconds()) +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-16000)"
	// The writer sets WAL first, so readers open an existing WAL database.
	// BEGIN IMMEDIATE takes the write lock at the start of a transaction,
	// so a transaction never fails half way to upgrade its lock.
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opt.Readers)
	r.SetMaxIdleConns(opt.Readers)
	sub, _ := fs.Sub(migrations, "migrations")
	mig, err := migrate.New(goose.DialectSQLite3, w, sub)
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	return &Store{write: w, read: r, mig: mig}, nil
}

// privateFile creates the database file readable by its owner only, or
// checks that an existing one (and its -wal and -shm files) is: SQLite
// creates the -wal and -shm files with the database file's mode, so a
// 0600 file keeps all three private whatever the umask.
func privateFile(path string, allowShared bool) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	if allowShared {
		return nil
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			continue // -wal and -shm exist only while the database is open
		}
		if info.Mode().Perm()&0o077 != 0 {
			return fmt.Errorf("sqlite %s: other users of this machine can access it (mode %04o) and it holds every tenant's documents; run `chmod 600 %s*`, or allow it with --allow-shared-db-file",
				p, info.Mode().Perm(), path)
		}
	}
	return nil
}

// ReadDB returns the store's pool of read-only connections, for the
// bench's yardsticks (bench/sqliteref), which read beside engram as its
// own reads do.
func (s *Store) ReadDB() *sql.DB { return s.read }

// Engine returns "sqlite".
func (s *Store) Engine() string { return "sqlite" }

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return engram.Errorf(engram.EUnavailable, "database unavailable")
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// PoolStats reports the writer's and the readers' pools.
func (s *Store) PoolStats() []engram.PoolStats {
	conv := func(name string, st sql.DBStats) engram.PoolStats {
		return engram.PoolStats{Name: name, Acquired: st.InUse, Idle: st.Idle, Total: st.OpenConnections,
			Max: st.MaxOpenConnections, AcquireCount: st.WaitCount, AcquireWait: st.WaitDuration}
	}
	return []engram.PoolStats{conv("sqlite_writer", s.write.Stats()), conv("sqlite_readers", s.read.Stats())}
}

// MigrateUp applies pending migrations.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) { return s.mig.Up(ctx) }

// MigrateDown rolls back the newest migration.
func (s *Store) MigrateDown(ctx context.Context) (string, error) { return s.mig.Down(ctx) }

// MigrationStatus lists the migrations.
func (s *Store) MigrationStatus(ctx context.Context) ([]engram.MigrationState, error) {
	return s.mig.Status(ctx)
}

// MigrationsPending reports whether a migration is not applied.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) { return s.mig.Pending(ctx) }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec, query and queryRow send one statement and record it, under its
// operation name, in the request's statement count, with the rows it
// changed or returned.
func exec(ctx context.Context, q querier, op, query string, args ...any) (sql.Result, error) {
	capture.Record(ctx, op, query, args)
	start := time.Now()
	res, err := q.ExecContext(ctx, query, args...)
	st := engram.Statement{Op: op, Duration: time.Since(start), Rows: -1, Err: err}
	if err == nil {
		if n, nerr := res.RowsAffected(); nerr == nil {
			st.Rows = n
		}
	}
	engram.RecordStatement(ctx, st)
	return res, translate(err)
}

func query(ctx context.Context, q querier, op, query string, args ...any) (*countedRows, error) {
	capture.Record(ctx, op, query, args)
	start := time.Now()
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		engram.RecordStatement(ctx, engram.Statement{Op: op, Duration: time.Since(start), Err: err})
		return nil, translate(err)
	}
	return &countedRows{Rows: rows, ctx: ctx, op: op, start: start}, nil
}

// countedRows records its statement when the rows are read to the end or
// closed, whichever comes first: the duration then covers reading them
// (SQLite computes rows as they are read), and the row count is known.
type countedRows struct {
	*sql.Rows
	ctx      context.Context
	op       string
	start    time.Time
	n        int64
	recorded bool
}

func (r *countedRows) Next() bool {
	if r.Rows.Next() {
		r.n++
		return true
	}
	r.record()
	return false
}

func (r *countedRows) Close() error {
	err := r.Rows.Close()
	r.record()
	return err
}

func (r *countedRows) record() {
	if !r.recorded {
		r.recorded = true
		engram.RecordStatement(r.ctx, engram.Statement{Op: r.op, Duration: time.Since(r.start), Rows: r.n, Err: r.Rows.Err()})
	}
}

// queryRow sends a one-row statement; the row is scanned later by the
// caller, so its count is not known here.
func queryRow(ctx context.Context, q querier, op, query string, args ...any) *sql.Row {
	capture.Record(ctx, op, query, args)
	start := time.Now()
	row := q.QueryRowContext(ctx, query, args...)
	engram.RecordStatement(ctx, engram.Statement{Op: op, Duration: time.Since(start), Rows: -1, Err: row.Err()})
	return row
}

// translate maps driver errors to engram's codes. Context errors pass
// through so callers can tell a cancelled request.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &engram.Error{Code: engram.EConflict, Message: "a record with the same key already exists"}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &engram.Error{Code: engram.EInvalid, Message: "connector_id: the referenced connector does not exist"}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT:
			return &engram.Error{Code: engram.EUnavailable, Message: "the database is busy; retry shortly"}
		}
	}
	return err
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// fmtTimePtr formats an optional time: nil is NULL.
func fmtTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

const timeFormat = "2006-01-02T15:04:05.000000Z"

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func parseTimePtr(s sql.NullString) *time.Time {
	if !s.Valid {
		return nil
	}
	t := parseTime(s.String)
	return &t
}

// isNoRows reports whether err means a statement found no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// found turns a one-row scan into found or not.
func found[T any](v T, err error) (T, bool, error) { return rows.Found(v, err, isNoRows, translate) }
