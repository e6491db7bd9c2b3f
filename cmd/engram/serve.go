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
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/engram-kb/engram"
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
	keyFile := fs.String("admin-key-file", env("ENGRAM_ADMIN_KEY_FILE", ""), "first run, when stderr is not a terminal: write the new admin key to this file (0600); default: beside the SQLite file, or ./engram-admin-key (ENGRAM_ADMIN_KEY_FILE)")
	shutdown := fs.Duration("shutdown-timeout", envDuration("ENGRAM_SHUTDOWN_TIMEOUT", 30*time.Second), "on SIGTERM, wait this long for requests in flight and job batches (ENGRAM_SHUTDOWN_TIMEOUT)")
	var obs observeFlags
	obs.register(fs, true)
	roots := fs.String("connector-roots", env("ENGRAM_CONNECTOR_ROOTS", ""), "comma-separated directories that folder and mail connectors may read; none: push connectors only (ENGRAM_CONNECTOR_ROOTS)")
	var jf jobFlags
	jf.register(fs, 2)
	signup := fs.String("signup", env("ENGRAM_SIGNUP", enghttp.SignupClosed), "who may join through the API: open (anyone signs up, creating an organisation), invite (by an admin's invitation), closed (accounts come from `engram user create`) (ENGRAM_SIGNUP)")
	corsOrigins := fs.String("cors-origins", env("ENGRAM_CORS_ORIGINS", ""), "comma-separated origins (https://app.example.com) whose pages may call the API with credentials; none by default (ENGRAM_CORS_ORIGINS)")
	var llm llmFlags
	llm.register(fs)
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		fs.SetOutput(stdout)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *signup != enghttp.SignupOpen && *signup != enghttp.SignupInvite && *signup != enghttp.SignupClosed {
		return fmt.Errorf("--signup %q: use open, invite or closed", *signup)
	}
	origins := splitList(*corsOrigins)
	for _, o := range origins {
		if o == "*" || !validOrigin(o) {
			return fmt.Errorf("--cors-origins %q: list each origin as scheme://host[:port]; \"*\" is refused, since the API answers with credentials", o)
		}
	}
	logger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	chat, err := llm.chat()
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
	w := wiring{logger: logger, connectors: connector.Registry{Roots: splitList(*roots)}, jobs: jf, finished: m.JobFinished,
		observeRequest: m.ObserveRequest, slowRequest: obs.slowRequest, signup: *signup, corsOrigins: origins,
		chat: chat, chatDailyTokens: llm.dailyTokens,
		ready: func(ctx context.Context) error { return migrationsCurrent(ctx, mig) }}
	runner, err := w.runner(s)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + displayAddr(ln.Addr().String())
	if *keyFile == "" {
		*keyFile = "engram-admin-key"
		if s.file != "" {
			*keyFile = s.file + ".admin-key"
		}
	}
	if err := firstRun(ctx, s, stderr, logger, *keyFile, baseURL); err != nil {
		ln.Close()
		return err
	}

	stopSide, err := obs.serveSide(logger, m)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopSide()
	srv := w.httpServer(w.api(s))
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

// validOrigin reports whether o is an origin: scheme and host, nothing
// more.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.User == nil && u.Fragment == ""
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
	// embed is the embedding model the workers embed chunks with, and
	// searches embed queries with.
	embed embedFlags
}

func (j *jobFlags) register(fs *flag.FlagSet, defWorkers int) {
	fs.IntVar(&j.workers, "workers", envInt("ENGRAM_WORKERS", defWorkers), "background jobs this process runs at once; 0 runs none (ENGRAM_WORKERS)")
	fs.IntVar(&j.batchSize, "job-batch-size", envInt("ENGRAM_JOB_BATCH_SIZE", engram.DefaultJobBatchSize), "documents per batch of a delete-all or classify job (ENGRAM_JOB_BATCH_SIZE)")
	fs.DurationVar(&j.rescueAfter, "job-rescue-after", envDuration("ENGRAM_JOB_RESCUE_AFTER", time.Minute), "resume a job whose process died after this long (ENGRAM_JOB_RESCUE_AFTER)")
	j.embed.register(fs)
}

// firstRun creates tenant "default" on a database with no tenant and hands
// out its admin key once, so a newcomer can make an authenticated request
// with nothing but the README. On a terminal the key is printed; otherwise
// stderr is a log that others may read, so the key goes to keyFile (created
// 0600, never overwritten) and only the file's path is logged.
func firstRun(ctx context.Context, s engram.Store, stderr io.Writer, logger *slog.Logger, keyFile, baseURL string) error {
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
	if isTerminal(stderr) {
		fmt.Fprintf(stderr, `
engram: first run — created tenant "default" and its admin API key.
This key is shown only once; keep it somewhere safe:

    ENGRAM_KEY=%s

Try it:

    curl -H "Authorization: Bearer %s" %s/api/documents

People sign in with accounts: make the first one with

    engram user create --tenant default --email you@example.com --role admin

`, key.Secret, key.Secret, baseURL)
		return nil
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("first run: write the admin key of tenant \"default\" to %s: %w (make a new key with `engram apikey create --tenant default`)", keyFile, err)
	}
	if _, err := fmt.Fprintf(f, "ENGRAM_KEY=%s\n", key.Secret); err != nil {
		f.Close()
		return fmt.Errorf("first run: write %s: %w", keyFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("first run: write %s: %w", keyFile, err)
	}
	logger.Warn(`first run: created tenant "default"; its admin API key is in key_file, readable only by this user: keep the key safe and delete the file`,
		"key_file", keyFile, "try", fmt.Sprintf(`. %s && curl -H "Authorization: Bearer $ENGRAM_KEY" %s/api/documents`, keyFile, baseURL),
		"first_user", "engram user create --tenant default --email you@example.com --role admin")
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
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
