package main

import (
	"context"
	"errors"
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
	enghttp "github.com/engram-kb/engram/http"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	var db dbFlags
	db.register(fs, true)
	addr := fs.String("addr", env("ENGRAM_ADDR", "127.0.0.1:8080"), "address to listen on (ENGRAM_ADDR)")
	noMigrate := fs.Bool("no-migrate", env("ENGRAM_NO_MIGRATE", "") == "1", "do not run pending migrations at start (ENGRAM_NO_MIGRATE=1)")
	logLevel := fs.String("log-level", env("ENGRAM_LOG_LEVEL", "info"), "debug, info, warn or error (ENGRAM_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("ENGRAM_LOG_FORMAT", "auto"), "json, text, or auto: text on a terminal, else json (ENGRAM_LOG_FORMAT)")
	shutdown := fs.Duration("shutdown-timeout", envDuration("ENGRAM_SHUTDOWN_TIMEOUT", 30*time.Second), "on SIGTERM, wait this long for requests in flight (ENGRAM_SHUTDOWN_TIMEOUT)")
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
	if *noMigrate {
		if err := ensureMigrated(ctx, s); err != nil {
			return err
		}
	} else {
		applied, err := s.MigrateUp(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, name := range applied {
			logger.Info("migration applied", "name", name)
		}
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

	srv := &http.Server{
		Handler:           enghttp.NewServer(enghttp.Config{Store: s, Classifier: classify.New(), Analyzer: analyze.New(), AnalyzerName: analyze.Name, Logger: logger, Version: version}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("engram listening", "url", baseURL, "database", s.Engine(), "version", version)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", shutdown.String())
	sctx, cancel := context.WithTimeout(context.Background(), *shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
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
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(w, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json, text or auto", format)
}
