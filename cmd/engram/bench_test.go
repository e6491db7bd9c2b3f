package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBench runs `engram bench` small on each engine: every operation
// runs its three ways without error and the report lists them all.
func TestBench(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			stdout, stderr, err := runEngram(t, "bench", "--db", db, "--background", "50", "--runs", "1", "--sizes", "10",
				"--baseline-max", "10", "--large", "2000", "--gaps", "200", "--delete-all", "100", "--classifier", "300", "--out", out)
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr)
			}
			for _, op := range []string{"| bulk confirm | 10 |", "| bulk hard delete | 10 |", "| bulk classify | 10 |", "| document stats |",
				"| create 1000 documents |", "| gap stats | 200 |", "| list page of 50 after 1800 rows | 2000 |",
				"| sync dedupe of 10000 items | 2000 |", "| delete all (job) | 100 |",
				"| train classifier | 300 |", "| classify with the model | 300 |",
				"| search, words in every document | 50 |", "| search, a word in one document | 50 |"} {
				if !strings.Contains(stdout, op) {
					t.Errorf("report lacks %q:\n%s", op, stdout)
				}
			}
			for _, f := range []string{".json", ".md", "-confirm.svg", "-hard-delete.svg", "-classify.svg"} {
				if _, err := os.Stat(filepath.Join(out, "bench-"+engine+f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestBenchLatency runs `engram bench --db-latency` small: on PostgreSQL
// each latency is a run of its own through the delaying proxy, named in
// the report and its files; SQLite, which has no network, refuses it.
func TestBenchLatency(t *testing.T) {
	t.Parallel()
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			stdout, stderr, err := runEngram(t, "bench", "--db", db, "--background", "20", "--runs", "1", "--sizes", "10",
				"--baseline-max", "10", "--gaps", "0", "--delete-all", "0", "--db-latency", "0,3ms", "--out", out)
			if engine == "sqlite" {
				if err == nil || !strings.Contains(stderr, "--db-latency needs --db postgres://") {
					t.Fatalf("sqlite with --db-latency: %v\n%s", err, stderr)
				}
				return
			}
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr)
			}
			if !strings.Contains(stdout, "database on loopback") || !strings.Contains(stdout, "database round trip +3ms by a delaying proxy") {
				t.Errorf("the reports do not name both runs:\n%s", stdout)
			}
			for _, f := range []string{"bench-postgres.md", "bench-postgres-latency-3ms.md", "bench-postgres-latency-3ms.json"} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
