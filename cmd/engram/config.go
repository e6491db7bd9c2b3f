package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/engram-kb/engram/postgres"
)

// defaultDB is the embedded default: a SQLite file in the working directory.
const defaultDB = "sqlite:engram.db"

// dbFlags are the database flags every command shares.
type dbFlags struct {
	url                string
	pg                 postgres.Options
	maxConns, minConns int
	sqliteReaders      int
	allowSharedDB      bool
}

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(env(name, "")); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(name, "")); err == nil {
		return v
	}
	return def
}

// newFlagSet returns a flag set that prints its usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: engram %s\n\nFlags (each also read from the environment variable shown):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// register adds the database flags to fs.
func (d *dbFlags) register(fs *flag.FlagSet, withPool bool) {
	fs.StringVar(&d.url, "db", env("DATABASE_URL", defaultDB), "database URL: postgres://…, sqlite:PATH or a file path (DATABASE_URL)")
	def := postgres.DefaultOptions()
	d.pg = def
	d.maxConns, d.minConns = 2, 0 // admin commands need few connections
	fs.BoolVar(&d.allowSharedDB, "allow-shared-db-file", env("ENGRAM_ALLOW_SHARED_DB_FILE", "") == "1", "SQLite: open a database file other users can read; refused by default (ENGRAM_ALLOW_SHARED_DB_FILE=1)")
	if !withPool {
		return
	}
	fs.IntVar(&d.maxConns, "pg-max-conns", envInt("ENGRAM_PG_MAX_CONNS", int(def.MaxConns)), "PostgreSQL pool: most connections, 10 steady + 5 burst (ENGRAM_PG_MAX_CONNS)")
	fs.IntVar(&d.minConns, "pg-min-conns", envInt("ENGRAM_PG_MIN_CONNS", int(def.MinConns)), "PostgreSQL pool: connections kept open (ENGRAM_PG_MIN_CONNS)")
	fs.DurationVar(&d.pg.AcquireTimeout, "pg-acquire-timeout", envDuration("ENGRAM_PG_ACQUIRE_TIMEOUT", def.AcquireTimeout), "PostgreSQL pool: wait for a connection at most this long, then answer 503 (ENGRAM_PG_ACQUIRE_TIMEOUT)")
	fs.DurationVar(&d.pg.MaxConnLifetime, "pg-max-conn-lifetime", envDuration("ENGRAM_PG_MAX_CONN_LIFETIME", def.MaxConnLifetime), "PostgreSQL pool: close connections older than this (ENGRAM_PG_MAX_CONN_LIFETIME)")
	fs.DurationVar(&d.pg.MaxConnIdleTime, "pg-max-conn-idle", envDuration("ENGRAM_PG_MAX_CONN_IDLE", def.MaxConnIdleTime), "PostgreSQL pool: close burst connections idle this long (ENGRAM_PG_MAX_CONN_IDLE)")
	fs.DurationVar(&d.pg.HealthCheckPeriod, "pg-health-check-period", envDuration("ENGRAM_PG_HEALTH_CHECK_PERIOD", def.HealthCheckPeriod), "PostgreSQL pool: check idle connections this often (ENGRAM_PG_HEALTH_CHECK_PERIOD)")
	fs.DurationVar(&d.pg.ConnectTimeout, "pg-connect-timeout", envDuration("ENGRAM_PG_CONNECT_TIMEOUT", def.ConnectTimeout), "PostgreSQL: give up connecting after this long (ENGRAM_PG_CONNECT_TIMEOUT)")
	fs.DurationVar(&d.pg.StatementTimeout, "pg-statement-timeout", envDuration("ENGRAM_PG_STATEMENT_TIMEOUT", def.StatementTimeout), "PostgreSQL: statement_timeout of every connection (ENGRAM_PG_STATEMENT_TIMEOUT)")
	fs.BoolVar(&d.pg.Pooler, "pg-pooler", env("ENGRAM_PG_POOLER", "") == "1", "PostgreSQL: --db is a connection pooler in transaction mode (PgBouncer): settings travel with each transaction, no prepared statements, River polls for jobs (ENGRAM_PG_POOLER=1)")
	fs.StringVar(&d.pg.ReadURL, "db-read-url", env("ENGRAM_DB_READ_URL", ""), "PostgreSQL: a streaming replica that read-only requests use while it keeps up; a client reads its own writes (ENGRAM_DB_READ_URL)")
	fs.DurationVar(&d.pg.ReadMaxLag, "db-read-max-lag", envDuration("ENGRAM_DB_READ_MAX_LAG", def.ReadMaxLag), "PostgreSQL: read from the replica only while it is at most this far behind (ENGRAM_DB_READ_MAX_LAG)")
	fs.IntVar(&d.sqliteReaders, "sqlite-readers", envInt("ENGRAM_SQLITE_READERS", 0), "SQLite: read connections; 0 means max(4, CPUs) (ENGRAM_SQLITE_READERS)")
}

// parse parses args and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
