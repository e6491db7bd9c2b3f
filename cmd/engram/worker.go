package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/engram-kb/engram/connector"
	"github.com/engram-kb/engram/jobs"
)

// worker runs job workers without the HTTP API, so that on PostgreSQL API
// servers (`serve --workers 0`) and workers can scale apart. It does not
// migrate: `engram serve` or `engram migrate up` does.
func worker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("worker", "worker [--workers N] [--db URL] …", stderr)
	var db dbFlags
	db.register(fs, true)
	logLevel := fs.String("log-level", env("ENGRAM_LOG_LEVEL", "info"), "debug, info, warn or error (ENGRAM_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("ENGRAM_LOG_FORMAT", "auto"), "json, text, or auto: text on a terminal, else json (ENGRAM_LOG_FORMAT)")
	shutdown := fs.Duration("shutdown-timeout", envDuration("ENGRAM_SHUTDOWN_TIMEOUT", 30*time.Second), "on SIGTERM, wait this long for job batches to finish (ENGRAM_SHUTDOWN_TIMEOUT)")
	roots := fs.String("connector-roots", env("ENGRAM_CONNECTOR_ROOTS", ""), "comma-separated directories that folder and mail connectors may read, for sync jobs (ENGRAM_CONNECTOR_ROOTS)")
	var jf jobFlags
	jf.register(fs, 4)
	var obs observeFlags
	obs.register(fs, false)
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		fs.SetOutput(stdout)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if jf.workers < 1 {
		return fmt.Errorf("--workers must be at least 1 for engram worker")
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
	if err := ensureMigrated(ctx, mig); err != nil {
		return err
	}
	m := obs.install(logger, s)
	w := wiring{logger: logger, connectors: connector.Registry{Roots: splitList(*roots)}, jobs: jf, finished: m.JobFinished}
	runner, err := w.runner(s)
	if err != nil {
		return err
	}
	stopSide, err := obs.serveSide(logger, m)
	if err != nil {
		return err
	}
	defer stopSide()
	if err := runner.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	logger.Info("engram worker running", "database", s.Engine(), "workers", jf.workers, "version", version)
	<-ctx.Done()
	logger.Info("shutting down", "timeout", shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := runner.Stop(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
