package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/bench"
	"github.com/engram-kb/engram/bench/netdelay"
	"github.com/engram-kb/engram/jobs"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench [--db URL] [--background N] [--runs N] [--sizes 10,100,1000,10000] [--large N] [--gaps N] [--delete-all N] [--db-latency 0.5ms,2ms] [--out DIR]", stderr)
	var db dbFlags
	db.register(fs, false)
	db.url = "" // no default database: a temporary SQLite file unless --db or DATABASE_URL names one
	if v := env("DATABASE_URL", ""); v != "" {
		db.url = v
	}
	background := fs.Int("background", 20000, "documents the bench tenant holds besides each operation's targets")
	runs := fs.Int("runs", 5, "repetitions of each measurement; the median is reported with the spread")
	sizes := fs.String("sizes", "10,100,1000,10000", "numbers of ids the bulk operations are measured at")
	baselineMax := fs.Int("baseline-max", 1000, "largest size the naive baseline runs at")
	large := fs.Int("large", 0, "documents of the tenant the deep list page and the sync dedupe are measured in (e.g. 1000000; 0 skips them)")
	gaps := fs.Int("gaps", 100000, "gaps the gap stats are measured over (0 skips them)")
	deleteAll := fs.Int("delete-all", 100000, "documents the delete-all job is measured at (0 skips it)")
	latency := fs.String("db-latency", "", "PostgreSQL: round trips a delaying proxy adds between engram and the database, comma-separated (e.g. 0.5ms,2ms); one bench run each")
	out := fs.String("out", "", "directory to write bench-ENGINE.{json,md} and the SVG charts to (default: print only)")
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
		fs.SetOutput(stdout)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if db.url == "" {
		dir, err := os.MkdirTemp("", "engram-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db.url = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("--sizes: %q is not a number from 1 to 10000", f)
		}
		ns = append(ns, n)
	}
	var latencies []time.Duration
	for _, f := range strings.Split(*latency, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 || d > time.Second {
			return fmt.Errorf("--db-latency: %q is not a duration from 0 to 1s, such as 2ms", f)
		}
		latencies = append(latencies, d)
	}
	if len(latencies) == 0 {
		latencies = []time.Duration{0}
	}
	if slices.Max(latencies) > 0 && !strings.HasPrefix(db.url, "postgres://") && !strings.HasPrefix(db.url, "postgresql://") {
		return errors.New("--db-latency needs --db postgres://HOST:PORT/…: an embedded SQLite has no network to delay")
	}
	cfg := bench.Config{Background: *background, Runs: *runs, Sizes: ns, BaselineMax: *baselineMax, Large: *large, Gaps: *gaps,
		DeleteAll: *deleteAll, Logf: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }}
	for _, d := range latencies {
		if err := benchOnce(ctx, db, cfg, d, *out, stdout, stderr); err != nil {
			return err
		}
	}
	return nil
}

// benchOnce runs the bench once, with latency added to every round trip
// between engram (and the yardsticks) and the database by a delaying
// proxy when latency > 0, and prints or writes the report.
func benchOnce(ctx context.Context, db dbFlags, cfg bench.Config, latency time.Duration, out string, stdout, stderr io.Writer) error {
	if latency > 0 {
		u, err := url.Parse(db.url)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("--db-latency needs --db postgres://HOST:PORT/…: an embedded SQLite has no network to delay")
		}
		target := u.Host
		if u.Port() == "" {
			target = net.JoinHostPort(u.Hostname(), "5432")
		}
		proxy, err := netdelay.Start(target, latency)
		if err != nil {
			return err
		}
		defer proxy.Close()
		u.Host = proxy.Addr()
		db.url = u.String()
		cfg.Logf("database round trip +%s through a delaying proxy at %s", latency, proxy.Addr())
	}
	cfg.Latency = latency
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	// River's migrations too: the delete-all job runs on River.
	mig, err := jobs.NewMigrator(s, s.river)
	if err != nil {
		return err
	}
	if _, err := mig.MigrateUp(ctx); err != nil {
		return err
	}
	// engram as serve wires it, on loopback. The delete-all job runs on a
	// worker of this process that looks for new jobs every 50 ms: on
	// SQLite, which has no notifications, River's default second of
	// polling would be timed as part of the job.
	workers := 0
	if cfg.DeleteAll > 0 {
		workers = 1
	}
	logger, err := newLogger(stderr, "warn", "text")
	if err != nil {
		return err
	}
	w := wiring{logger: logger, jobs: jobFlags{workers: workers, batchSize: engram.DefaultJobBatchSize, rescueAfter: time.Minute},
		poll: 50 * time.Millisecond}
	runner, err := w.runner(s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := w.httpServer(w.api(s))
	go srv.Serve(ln)
	defer srv.Close()
	if err := runner.Start(ctx); err != nil {
		return fmt.Errorf("start job workers: %w", err)
	}
	defer runner.Stop(context.WithoutCancel(ctx))
	cfg.Store, cfg.URL, cfg.Ref = s, "http://"+ln.Addr().String(), s.ref
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	md := rep.Markdown()
	fmt.Fprint(stdout, md)
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	name := "bench-" + rep.Engine
	if latency > 0 {
		name += "-latency-" + latency.String()
	}
	files := map[string]string{
		name + ".json":            string(js) + "\n",
		name + ".md":              md,
		name + "-confirm.svg":     rep.SVG("bulk confirm"),
		name + "-hard-delete.svg": rep.SVG("bulk hard delete"),
		name + "-classify.svg":    rep.SVG("bulk classify"),
	}
	for file, text := range files {
		if err := os.WriteFile(filepath.Join(out, file), []byte(text), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "wrote %s/%s.*\n", out, name)
	return nil
}
