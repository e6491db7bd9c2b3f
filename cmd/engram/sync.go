package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
	"github.com/engram-kb/engram/ingest"
)

// syncCmd runs one connector's sync in the foreground: what a scheduled
// sync does, for an operator at a terminal or a cron job.
func syncCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sync", "sync CONNECTOR_ID --tenant SLUG [--full] [--db URL] [--connector-roots DIRS]", stderr)
	var db dbFlags
	db.register(fs, false)
	tenant := fs.String("tenant", "", "the slug of the tenant that owns the connector (required)")
	roots := fs.String("connector-roots", env("ENGRAM_CONNECTOR_ROOTS", ""), "comma-separated directories folder and mail connectors may read (ENGRAM_CONNECTOR_ROOTS)")
	batch := fs.Int("batch", ingest.DefaultBatch, "items per transaction")
	full := fs.Bool("full", false, "a full sync: archive the documents the source no longer has")
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "-help" {
		return subcommandHelp(fs, args, stdout, "sync needs a connector id")
	}
	id, ok := engram.ParseID(args[0])
	if !ok {
		return fmt.Errorf("%q is not a connector id", args[0])
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	s, tn, err := openForTenant(ctx, fs, db, *tenant)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := s.GetConnector(ctx, tn.ID, id)
	if err != nil {
		return cliError(err)
	}
	src, err := connector.Registry{Roots: splitList(*roots)}.Open(tn.Slug, c.Type, c.Settings)
	if err != nil {
		return cliError(err)
	}
	if src == nil {
		return fmt.Errorf("connector %s is a %s connector: its items are posted to it, there is nothing to fetch", id, c.Type)
	}
	progress := progressPrinter(stderr)
	rep, err := ingest.Run(ctx, s, tn.ID, c.ID, src, ingest.Options{Batch: *batch, Progress: progress, Full: *full})
	progress(rep) // the final figures, and a newline on a terminal
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, rep)
}

// progressPrinter redraws one line on a terminal and prints plain lines
// otherwise (a log file should not fill with carriage returns).
func progressPrinter(w io.Writer) func(ingest.Report) {
	f, ok := w.(*os.File)
	term := ok && isTerminal(f)
	return func(r ingest.Report) {
		seen := r.Created + r.Updated + r.Unchanged + r.SkippedDeleted + r.SkippedTombstoned + r.Failed
		line := fmt.Sprintf("%d items: %d created, %d updated, %d unchanged, %d deleted or tombstoned, %d failed",
			seen, r.Created, r.Updated, r.Unchanged, r.SkippedDeleted+r.SkippedTombstoned, r.Failed)
		if term {
			fmt.Fprintf(w, "\r\033[K%s", line)
			return
		}
		fmt.Fprintln(w, line)
	}
}
