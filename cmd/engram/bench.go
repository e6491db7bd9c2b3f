package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/bench"
	"github.com/engram-kb/engram/jobs"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench [--db URL] [--background N] [--runs N] [--sizes 10,100,1000,10000] [--large N] [--gaps N] [--delete-all N] [--classifier N] [--out DIR]", stderr)
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
	classifierN := fs.Int("classifier", 10000, "decided documents the classifier's training is measured on, and documents classified with its model (0 skips both)")
	large := fs.Int("large", 0, "documents of the tenant the deep list page and the sync dedupe are measured in (e.g. 1000000; 0 skips them)")
	gaps := fs.Int("gaps", 100000, "gaps the gap stats are measured over (0 skips them)")
	deleteAll := fs.Int("delete-all", 100000, "documents the delete-all job is measured at (0 skips it)")
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
	if *deleteAll > 0 {
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
	rep, err := bench.Run(ctx, bench.Config{Store: s, URL: "http://" + ln.Addr().String(), Ref: s.ref, Background: *background, Runs: *runs,
		Sizes: ns, BaselineMax: *baselineMax, Large: *large, Gaps: *gaps, DeleteAll: *deleteAll, Classifier: *classifierN,
		Logf: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }})
	if err != nil {
		return err
	}
	md := rep.Markdown()
	fmt.Fprint(stdout, md)
	if *out == "" {
		return nil
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	files := map[string]string{
		"bench-" + rep.Engine + ".json":            string(js) + "\n",
		"bench-" + rep.Engine + ".md":              md,
		"bench-" + rep.Engine + "-confirm.svg":     rep.SVG("bulk confirm"),
		"bench-" + rep.Engine + "-hard-delete.svg": rep.SVG("bulk hard delete"),
		"bench-" + rep.Engine + "-classify.svg":    rep.SVG("bulk classify"),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "wrote %s/bench-%s.*\n", *out, rep.Engine)
	return nil
}
