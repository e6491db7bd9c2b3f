// Package postgres is engram's PostgreSQL driver (engram.Driver), through
// pgx and pgxpool: SQL, row mapping and the engine's capabilities, with
// every rule above it in package service. Lists of ids are one array
// parameter, unnested and joined to the primary key one fenced lookup per
// id (see DocumentsLock; review.go says why not "id = ANY($n)"); batches
// of rows are one JSON parameter expanded by json_to_recordset, or, for
// the scheduler's few columns, parallel array parameters unnested
// together. A request of any size is a fixed number of statements.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/capture"
	"github.com/engram-kb/engram/internal/migrate"
	"github.com/engram-kb/engram/internal/rows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure the pool. Zero values take the defaults, which suit a
// server with a few cores next to a PostgreSQL with max_connections 100.
type Options struct {
	MaxConns          int32         // default 15: 10 steady + 5 burst
	MinConns          int32         // default 2
	AcquireTimeout    time.Duration // default 30s; past it a request gets 503
	MaxConnLifetime   time.Duration // default 1h
	MaxConnIdleTime   time.Duration // default 5m: burst connections go away
	HealthCheckPeriod time.Duration // default 1m (the pre-ping equivalent)
	ConnectTimeout    time.Duration // default 10s
	StatementTimeout  time.Duration // default 30s, set per connection
	// SearchPath, when set, is the connection's search_path (tests use a
	// schema of their own).
	SearchPath string
	// Pooler says the URL points at a connection pooler in transaction
	// mode, such as PgBouncer's pool_mode = transaction, which hands each
	// transaction to whichever server connection is free: nothing may
	// live on a connection between transactions. engram then sends no
	// startup settings the pooler would refuse (statement_timeout, jit,
	// plan_cache_mode and search_path travel with each transaction and
	// each pooled statement instead), prepares no named statements (pgx's
	// exec mode), and River polls for jobs instead of listening (see
	// Store.Pooler).
	Pooler bool
	// ReadURL, when set, is a streaming replica of the database: reads
	// that may (engram.WithReplicaReads) go there while it is usable (see
	// replica). ReadMaxLag is how far behind the primary it may be
	// (default 5s).
	ReadURL    string
	ReadMaxLag time.Duration
}

func (o *Options) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 15
	}
	if o.MinConns < 0 || o.MinConns > o.MaxConns {
		o.MinConns = min(2, o.MaxConns)
	}
	set(&o.AcquireTimeout, 30*time.Second)
	set(&o.MaxConnLifetime, time.Hour)
	set(&o.MaxConnIdleTime, 5*time.Minute)
	set(&o.HealthCheckPeriod, time.Minute)
	set(&o.ConnectTimeout, 10*time.Second)
	set(&o.StatementTimeout, 30*time.Second)
	set(&o.ReadMaxLag, 5*time.Second)
}

// DefaultOptions returns the defaults, for flags to show.
func DefaultOptions() Options {
	o := Options{MinConns: -1}
	o.defaults()
	return o
}

// Store is engram's store on PostgreSQL.
type Store struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
	mig            *migrate.Runner
	sqlDB          *sql.DB
	// waiting and timeouts count acquires in progress and acquires that
	// gave up; pgxpool does not report either.
	waiting  atomic.Int64
	timeouts atomic.Int64
	enqueue  engram.JobEnqueuer[pgx.Tx]
	// pooler and scopes: see Options.Pooler and scopes.
	pooler bool
	scopes scopes
	// replica is the read replica (Options.ReadURL), or nil.
	replica *replica
}

var _ engram.Migrator = (*Store)(nil)

// Open connects to the database at url.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt.defaults()
	cfg, settings, err := poolConfig(url, opt)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	pool, err := connect(ctx, cfg, opt)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(pool)
	sub, _ := fs.Sub(migrations, "migrations")
	mig, err := migrate.New(goose.DialectPostgres, db, sub)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, acquireTimeout: opt.AcquireTimeout, mig: mig, sqlDB: db,
		pooler: opt.Pooler, scopes: newScopes(settings)}
	if opt.ReadURL != "" {
		rcfg, _, err := poolConfig(opt.ReadURL, opt)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres read url: %w", err)
		}
		// A replica that is down at start is not an error: reads go to
		// the primary until it answers.
		rpool, err := pgxpool.NewWithConfig(ctx, rcfg)
		if err != nil {
			pool.Close()
			return nil, err
		}
		s.replica = &replica{pool: rpool, maxLag: opt.ReadMaxLag, stop: make(chan struct{}), done: make(chan struct{})}
		go s.replica.poll(pool)
	}
	return s, nil
}

// poolConfig is the pool configuration for url, and the settings that are
// not startup parameters (none unless opt.Pooler; see newScopes).
func poolConfig(url string, opt Options) (*pgxpool.Config, [][2]string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = opt.MaxConns
	cfg.MinConns = opt.MinConns
	cfg.MaxConnLifetime = opt.MaxConnLifetime
	cfg.MaxConnLifetimeJitter = opt.MaxConnLifetime / 10
	cfg.MaxConnIdleTime = opt.MaxConnIdleTime
	cfg.HealthCheckPeriod = opt.HealthCheckPeriod
	cfg.ConnConfig.ConnectTimeout = opt.ConnectTimeout
	rp := cfg.ConnConfig.RuntimeParams
	settings := [][2]string{
		{"statement_timeout", fmt.Sprint(opt.StatementTimeout.Milliseconds())},
		{"jit", "off"},
		// Plan every statement with its actual parameters. A cached
		// generic plan sees an id list as an array of unknown length
		// (unnest estimates 10 rows), and can then drive a 10,000-id
		// update from the tenant's documents instead of from the ids: it
		// hit statement_timeout in a test. Planning costs a fraction of a
		// millisecond; a wrong plan costs seconds.
		{"plan_cache_mode", "force_custom_plan"},
	}
	if opt.SearchPath != "" {
		settings = append(settings, [2]string{"search_path", opt.SearchPath})
	}
	if opt.Pooler {
		// A transaction pooler passes on only the settings it tracks
		// (TimeZone and application_name among them), and prepared
		// statements do not survive it.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	} else {
		for _, kv := range settings {
			rp[kv[0]] = kv[1]
		}
		settings = nil
	}
	rp["timezone"] = "UTC"
	if rp["application_name"] == "" {
		rp["application_name"] = "engram"
	}
	return cfg, settings, nil
}

// connect opens the pool and checks that the database answers.
func connect(ctx context.Context, cfg *pgxpool.Config, opt Options) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, opt.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		if strings.Contains(err.Error(), "unsupported startup parameter") && !opt.Pooler {
			return nil, fmt.Errorf("connect to postgres: %w (is --db a connection pooler such as PgBouncer in transaction mode? then start engram with --pg-pooler)", err)
		}
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return pool, nil
}

// Engine returns "postgres".
func (s *Store) Engine() string { return "postgres" }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	c, err := s.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return engram.Errorf(engram.EUnavailable, "database unavailable")
	}
	defer c.Release()
	if err := c.Ping(ctx); err != nil {
		return engram.Errorf(engram.EUnavailable, "database unavailable")
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	if s.replica != nil {
		s.replica.close()
	}
	s.sqlDB.Close()
	s.pool.Close()
	return nil
}

// Pooler reports whether the store is behind a transaction pooler
// (Options.Pooler), where River must poll for jobs rather than listen.
func (s *Store) Pooler() bool { return s.pooler }

// Pool exposes the pool, for tests that hold its connections.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// PoolStats reports the pool.
func (s *Store) PoolStats() []engram.PoolStats {
	st := s.pool.Stat()
	return []engram.PoolStats{{
		Name: "postgres", Acquired: int(st.AcquiredConns()), Idle: int(st.IdleConns()), Total: int(st.TotalConns()),
		Max: int(st.MaxConns()), Waiting: int(s.waiting.Load()), AcquireCount: st.AcquireCount(),
		AcquireWait: st.AcquireDuration(), AcquireTimeouts: s.timeouts.Load(),
	}}
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

// acquire takes a connection, waiting at most the acquire timeout: a pool
// under pressure answers unavailable quickly instead of queueing requests
// until their clients give up.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, s.acquireTimeout)
	defer cancel()
	s.waiting.Add(1)
	c, err := s.pool.Acquire(actx)
	s.waiting.Add(-1)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			s.timeouts.Add(1)
			return nil, engram.Errorf(engram.EUnavailable, "all database connections are busy; retry shortly")
		}
		return nil, translate(err)
	}
	return c, nil
}

// querier is what a connection and a transaction both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// exec and query send one statement and record it under its operation name
// in the request's statement count, with the rows it changed or returned.
func exec(ctx context.Context, q querier, op, sql string, args ...any) (pgconn.CommandTag, error) {
	capture.Record(ctx, op, sql, args)
	start := time.Now()
	tag, err := q.Exec(ctx, sql, args...)
	engram.RecordStatement(ctx, engram.Statement{Op: op, Duration: time.Since(start), Rows: tag.RowsAffected(), Err: err})
	return tag, translate(err)
}

func query(ctx context.Context, q querier, op, sql string, args ...any) (pgx.Rows, error) {
	capture.Record(ctx, op, sql, args)
	start := time.Now()
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		engram.RecordStatement(ctx, engram.Statement{Op: op, Duration: time.Since(start), Rows: 0, Err: err})
		return rows, translate(err)
	}
	return &countedRows{Rows: rows, ctx: ctx, op: op, start: start}, nil
}

// countedRows records its statement when the rows are read to the end or
// closed, whichever comes first: the duration then covers reading them,
// and the row count is known.
type countedRows struct {
	pgx.Rows
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

func (r *countedRows) Close() {
	r.Rows.Close()
	r.record()
}

func (r *countedRows) record() {
	if !r.recorded {
		r.recorded = true
		engram.RecordStatement(r.ctx, engram.Statement{Op: r.op, Duration: time.Since(r.start), Rows: r.n, Err: r.Rows.Err()})
	}
}

// oneRowStatement records a statement that returns at most one row: no
// row is not an error.
func oneRowStatement(ctx context.Context, op string, start time.Time, err error) {
	st := engram.Statement{Op: op, Duration: time.Since(start), Rows: 1, Err: err}
	if errors.Is(err, pgx.ErrNoRows) {
		st.Rows, st.Err = 0, nil
	} else if err != nil {
		st.Rows = 0
	}
	engram.RecordStatement(ctx, st)
}

// queryRow runs a one-row statement and scans it, timing both.
func queryRow(ctx context.Context, q querier, op, sql string, args []any, dest ...any) error {
	capture.Record(ctx, op, sql, args)
	start := time.Now()
	err := q.QueryRow(ctx, sql, args...).Scan(dest...)
	oneRowStatement(ctx, op, start, err)
	if errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return translate(err)
}

// oneRow runs a statement returning one row and scans it with scan, timed
// and counted.
func oneRow[T any](ctx context.Context, q querier, op, sql string, scan func(pgx.Row) (T, error), args ...any) (T, error) {
	capture.Record(ctx, op, sql, args)
	start := time.Now()
	v, err := scan(q.QueryRow(ctx, sql, args...))
	oneRowStatement(ctx, op, start, err)
	return v, err
}

// read runs fn on a pooled connection outside a transaction.
func (s *Store) read(ctx context.Context, fn func(c *pgxConn) error) error {
	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(c)
}

// translate maps driver errors to engram's codes. Context errors pass
// through so callers can tell a cancelled request.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &engram.Error{Code: engram.EConflict, Message: "a record with the same key already exists"}
		case "23503":
			return &engram.Error{Code: engram.EInvalid, Message: "connector_id: the referenced connector does not exist"}
		case "57014":
			return &engram.Error{Code: engram.EUnavailable, Message: "the database statement took too long and was cancelled"}
		case "40P01", "40001", "55P03", "53300":
			return &engram.Error{Code: engram.EUnavailable, Message: "the database is busy; retry shortly"}
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &engram.Error{Code: engram.EUnavailable, Message: "database unavailable; retry shortly"}
	}
	return err
}

// isNoRows reports whether err means a statement found no row.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// ts truncates a time to PostgreSQL's microsecond precision, in UTC.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// inUTC sets scanned times (nil pointers skipped) to UTC: pgx returns
// timestamptz in the local zone, and clients get UTC on both engines.
func inUTC(times ...*time.Time) {
	for _, t := range times {
		if t != nil {
			*t = t.UTC()
		}
	}
}

// pgxConn is a pooled connection.
type pgxConn = pgxpool.Conn

// Migrations returns the embedded migration files.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// found turns a one-row read into found or not.
func found[T any](v T, err error) (T, bool, error) { return rows.Found(v, err, isNoRows, translate) }
