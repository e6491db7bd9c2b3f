package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/analyze"
	"github.com/engram-kb/engram/bench"
	"github.com/engram-kb/engram/bench/pgref"
	"github.com/engram-kb/engram/bench/sqliteref"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/connector"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/postgres"
	"github.com/engram-kb/engram/service"
	"github.com/engram-kb/engram/sqlite"
	"github.com/engram-kb/engram/web"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// This file is where engram is put together, for every command: the
// engine the URL names with the use cases over it and River on the same
// database (open), the job workers (wiring.runner), the HTTP API
// (wiring.api) and the server around it (wiring.httpServer). serve,
// worker and bench all build engram here, so the engram the bench
// measures is the one serve runs.

// store is engram on one database: the use cases over the engine the URL
// names, River on the same database, and the bench's yardsticks there.
type store struct {
	*service.Store
	river jobs.Backend
	// ref is the naive baseline and the raw-SQL floor `engram bench`
	// measures engram against; nothing that serves requests uses it.
	ref bench.Reference
	// file is the SQLite database file, "" on PostgreSQL.
	file string
}

// open opens the engine the URL names, and wires the use cases and River
// to it.
func (d *dbFlags) open(ctx context.Context) (*store, error) {
	u := strings.TrimSpace(d.url)
	d.pg.MaxConns, d.pg.MinConns = int32(d.maxConns), int32(d.minConns)
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		e, err := postgres.Open(ctx, u, d.pg)
		if err != nil {
			return nil, err
		}
		river := jobs.NewBackend(riverpgxv5.New(e.Pool()), e.SetJobEnqueuer)
		river.PollOnly = e.Pooler()
		return &store{Store: service.New(e, service.Options{}), river: river, ref: pgref.New(e.Pool())}, nil
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("--db %q: the sqlite URL names no file", u)
		}
		return d.openSQLite(ctx, path)
	case strings.Contains(u, "://"):
		return nil, fmt.Errorf("--db %q: unknown scheme; use postgres://…, sqlite:PATH or a file path", u)
	case u == "":
		return nil, fmt.Errorf("--db is empty")
	default:
		return d.openSQLite(ctx, u)
	}
}

// openSQLite opens the SQLite file at path. River shares the engine's one
// writer connection.
func (d *dbFlags) openSQLite(ctx context.Context, path string) (*store, error) {
	e, err := sqlite.Open(ctx, path, sqlite.Options{Readers: d.sqliteReaders, AllowSharedFile: d.allowSharedDB})
	if err != nil {
		return nil, err
	}
	return &store{Store: service.New(e, service.Options{}), river: jobs.NewBackend(riversqlite.New(e.WriteDB()), e.SetJobEnqueuer),
		ref: sqliteref.New(e.ReadDB(), e.WriteDB()), file: path}, nil
}

// wiring is what the commands set differently when they build engram's
// parts over a store; the rest is the same for all of them.
type wiring struct {
	logger     *slog.Logger
	connectors connector.Registry
	jobs       jobFlags
	// poll is how often idle workers look for new jobs where the engine
	// has no notifications (0: the jobs package's default).
	poll time.Duration
	// finished is told of every job the workers finish (for /metrics).
	finished func(engram.JobKind, engram.JobStatus)
	// observeRequest, slowRequest and ready go to the HTTP API (see
	// enghttp.Config).
	observeRequest func(route, method string, status int, d time.Duration)
	slowRequest    time.Duration
	ready          func(context.Context) error
	// signup and corsOrigins are serve's --signup and --cors-origins.
	signup      string
	corsOrigins []string
	// chat and chatDailyTokens are serve's --llm-* flags (llm.go).
	chat            engram.Chat
	chatDailyTokens int
}

// runner attaches River to s: new jobs are inserted with River, and
// Start runs w.jobs.workers of them at once. With an embedding model
// configured, s searches with it and the workers embed chunks.
func (w wiring) runner(s *store) (*jobs.Runner, error) {
	j := w.jobs
	if j.workers < 0 || j.batchSize < 1 || j.batchSize > engram.MaxBulkIDs || j.rescueAfter < time.Second {
		return nil, fmt.Errorf("--workers must be >= 0, --job-batch-size from 1 to %d, --job-rescue-after at least 1s", engram.MaxBulkIDs)
	}
	emb, err := j.embed.embedder()
	if err != nil {
		return nil, err
	}
	if emb != nil {
		s.SetEmbedder(emb)
	}
	return jobs.New(s, s.river, jobs.Config{Workers: j.workers, RescueAfter: j.rescueAfter, PollInterval: w.poll, Classifier: classify.New(), Learner: classify.Learner{},
		Logger: w.logger, Connectors: w.connectors, Analyzer: analyze.New(), AnalyzerName: analyze.Name, Finished: w.finished,
		Embedder: emb, EmbedBatch: j.embed.batch, EmbedEvery: j.embed.every})
}

// api returns engram's HTTP API over s, with the web app at every path
// outside /api.
func (w wiring) api(s *store) http.Handler {
	api := enghttp.NewServer(enghttp.Config{
		Store: s, Classifier: classify.New(), Learner: classify.Learner{}, Analyzer: analyze.New(), AnalyzerName: analyze.Name, Logger: w.logger, Version: version,
		ObserveRequest: w.observeRequest, SlowRequest: w.slowRequest, Ready: w.ready,
		Connectors: w.connectors, JobBatchSize: w.jobs.batchSize, Signup: w.signup, CORSOrigins: w.corsOrigins,
		Chat: w.chat, ChatDailyTokens: w.chatDailyTokens,
	})
	web.Mount(api, s, w.logger)
	return api
}

// httpServer serves h with the timeouts that keep a slow or stuck client
// from holding a connection for ever.
func (w wiring) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(w.logger.Handler(), slog.LevelWarn),
	}
}
