package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify/eval"
	"github.com/engram-kb/engram/jobs"
)

// evalCmd runs `engram eval classify` or `engram eval search`.
func evalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "search" {
		return evalSearchCmd(ctx, args, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "classify" {
		return evalClassifyCmd(ctx, args, stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "-help") {
		fmt.Fprintln(stdout, "Usage: engram eval classify|search --dataset DIR … (engram eval classify --help, engram eval search --help)")
		return nil
	}
	fmt.Fprintln(stderr, "Usage: engram eval classify|search --dataset DIR …")
	return fmt.Errorf("eval needs classify or search")
}

// evalClassifyCmd runs `engram eval classify`: classification measured on
// a labelled dataset by the production path (see package classify/eval).
func evalClassifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "eval classify --dataset DIR [--train-fraction 0.5] [--seed N] [--json] [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	db.url = ""
	dataset := fs.String("dataset", "", "a folder with one folder per true class: ham/, spam/, work/, personal/ (required)")
	fraction := fs.Float64("train-fraction", 0.5, "share of each class a simulated person decides before training")
	seed := fs.Uint64("seed", 1, "seed of the split")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	conn := fs.String("connector", "mail", "connector type reading the folders: mail or folder")
	limit := fs.Int("limit", 0, "at most this many documents of each class (0: all)")
	if len(args) == 0 || args[0] != "classify" {
		return subcommandHelp(fs, args, stdout, "eval needs classify")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *dataset == "" {
		fs.Usage()
		return fmt.Errorf("--dataset is required")
	}
	if db.url == "" {
		// A fresh SQLite file, gone after the run.
		dir, err := os.MkdirTemp("", "engram-eval-db-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db.url = "sqlite:" + filepath.Join(dir, "eval.db")
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := jobs.NewMigrator(st, st.river)
	if err != nil {
		return err
	}
	if _, err := m.MigrateUp(ctx); err != nil {
		return err
	}
	rep, err := eval.Run(ctx, st, eval.Options{Dataset: *dataset, TrainFraction: *fraction, Seed: *seed,
		Connector: *conn, HamClass: engram.ClassPersonal, Limit: *limit})
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	_, err = io.WriteString(stdout, rep.Text())
	return err
}
