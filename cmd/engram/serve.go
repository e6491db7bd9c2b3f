package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/analyze"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/connector"
	enghttp "github.com/engram-kb/engram/http"
	"github.com/engram-kb/engram/jobs"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	var db dbFlags
	db.register(fs, true)
	addr := fs.String("addr", env("ENGRAM_ADDR", "127.0.0.1:8080"), "address to listen on (ENGRAM_ADDR)")
	noMigrate := fs.Bool("no-migrate", env("ENGRAM_NO_MIGRATE", "") == "1", "do not run pending migrations at start (ENGRAM_NO_MIGRATE=1)")
	logLevel := fs.String("log-level", env("ENGRAM_LOG_LEVEL", "info"), "debug, info, warn or error (ENGRAM_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("ENGRAM_LOG_FORMAT", "auto"), "json, text, or auto: text on a terminal, else json (ENGRAM_LOG_FORMAT)")
	shutdown := fs.Duration("shutdown-timeout", envDuration("ENGRAM_SHUTDOWN_TIMEOUT", 30*time.Second), "on SIGTERM, wait this long for requests in flight and job batches (ENGRAM_SHUTDOWN_TIMEOUT)")
	var obs observeFlags
	obs.register(fs, true)
	roots := fs.String("connector-roots", env("ENGRAM_CONNECTOR_ROOTS", ""), "comma-separated directories that folder and mail connectors may read; none: push connectors only (ENGRAM_CONNECTOR_ROOTS)")
	var jf jobFlags
	jf.register(fs, 2)
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		fs.SetOutput(stdout)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}

	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	mig, err := jobs.NewMigrator(s, s.river)
	if err != nil {
		return err
	}
	if *noMigrate {
		if err := ensureMigrated(ctx, mig); err != nil {
			return err
		}
	} else {
		applied, err := mig.MigrateUp(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, name := range applied {
			logger.Info("migration applied", "name", name)
		}
	}
	m := obs.install(logger, s)
	runner, err := jf.runner(s, logger, connector.Registry{Roots: splitList(*roots)}, m.JobFinished)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + displayAddr(ln.Addr().String())
	if err := firstRun(ctx, s, stderr, baseURL); err != nil {
		ln.Close()
		return err
	}

	api := enghttp.NewServer(enghttp.Config{
		Store: s, Classifier: classify.New(), Analyzer: analyze.New(), AnalyzerName: analyze.Name, Logger: logger, Version: version,
		ObserveRequest: m.ObserveRequest, SlowRequest: obs.slowRequest,
		Ready:      func(ctx context.Context) error { return migrationsCurrent(ctx, mig) },
		Connectors: connector.Registry{Roots: splitList(*roots)}, JobBatchSize: jf.batchSize,
	})
	stopSide, err := obs.serveSide(logger, m)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopSide()
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if err := runner.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("start job workers: %w", err)
	}
	logger.Info("engram listening", "url", baseURL, "database", s.Engine(), "version", version, "workers", jf.workers)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	// The HTTP server stops taking requests and finishes those in flight
	// while the workers finish their batches; both within the timeout.
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- runner.Stop(sctx) }()
	var httpErr error
	if serveErr == nil {
		httpErr = srv.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && httpErr == nil {
			httpErr = err
		}
	}
	jobsErr := <-jobsDone
	if err := errors.Join(serveErr, httpErr, jobsErr); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// migrationsCurrent is the readiness check: a server whose schema is
// behind its code must not take traffic.
func migrationsCurrent(ctx context.Context, s pendingChecker) error {
	pending, err := s.MigrationsPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return engram.Errorf(engram.EUnavailable, "migrations are pending")
	}
	return nil
}

// jobFlags configure the job workers of serve and worker.
type jobFlags struct {
	workers     int
	batchSize   int
	rescueAfter time.Duration
}

func (j *jobFlags) register(fs *flag.FlagSet, defWorkers int) {
	fs.IntVar(&j.workers, "workers", envInt("ENGRAM_WORKERS", defWorkers), "background jobs this process runs at once; 0 runs none (ENGRAM_WORKERS)")
	fs.IntVar(&j.batchSize, "job-batch-size", envInt("ENGRAM_JOB_BATCH_SIZE", engram.DefaultJobBatchSize), "documents per batch of a delete-all or classify job (ENGRAM_JOB_BATCH_SIZE)")
	fs.DurationVar(&j.rescueAfter, "job-rescue-after", envDuration("ENGRAM_JOB_RESCUE_AFTER", time.Minute), "resume a job whose process died after this long (ENGRAM_JOB_RESCUE_AFTER)")
}

// runner attaches River to s with these flags.
func (j *jobFlags) runner(s *store, logger *slog.Logger, reg connector.Registry, finished func(engram.JobKind, engram.JobStatus)) (*jobs.Runner, error) {
	if j.workers < 0 || j.batchSize < 1 || j.batchSize > engram.MaxBulkIDs || j.rescueAfter < time.Second {
		return nil, fmt.Errorf("--workers must be >= 0, --job-batch-size from 1 to %d, --job-rescue-after at least 1s", engram.MaxBulkIDs)
	}
	return jobs.New(s, s.river, jobs.Config{Workers: j.workers, RescueAfter: j.rescueAfter, Classifier: classify.New(), Logger: logger,
		Connectors: reg, Analyzer: analyze.New(), AnalyzerName: analyze.Name, Finished: finished})
}

// firstRun creates tenant "default" on a database with no tenant and shows
// its admin key once, so a newcomer can make an authenticated request with
// nothing but the README.
func firstRun(ctx context.Context, s engram.Store, stderr io.Writer, baseURL string) error {
	n, err := s.CountTenants(ctx)
	if err != nil || n > 0 {
		return err
	}
	_, key, err := s.CreateTenant(ctx, "Default", "default")
	if engram.ErrorCode(err) == engram.EConflict {
		return nil // another process got there first
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, `
engram: first run — created tenant "default" and its admin API key.
This key is shown only once; keep it somewhere safe:

    ENGRAM_KEY=%s

Try it:

    curl -H "Authorization: Bearer %s" %s/api/documents

`, key.Secret, key.Secret, baseURL)
	return nil
}

// displayAddr turns a listen address into one a browser or curl can use.
func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json, text or auto", format)
}
