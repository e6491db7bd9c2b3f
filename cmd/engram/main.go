// Command engram runs the engram team knowledge base: its HTTP API, its
// migrations and its tenant administration. Only wiring lives here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `engram — a self-hostable team knowledge base

Usage:
  engram serve   [--addr 127.0.0.1:8080] [--db URL] [--workers N] [--no-migrate] …
  engram worker  [--workers N] [--db URL] …
  engram migrate up|down|status [--db URL]
  engram tenant create --name NAME [--slug SLUG] [--db URL]
  engram apikey create --tenant SLUG --role admin|member|viewer [--name N] [--expires 90d] [--db URL]
  engram apikey list   --tenant SLUG [--db URL]
  engram apikey revoke KEY_ID --tenant SLUG [--db URL]
  engram user create --tenant SLUG --email E --role admin|member|viewer [--full-name N] [--invite] [--db URL]
  engram user reset-password --email E [--db URL]
  engram sync    CONNECTOR_ID --tenant SLUG [--db URL] [--connector-roots DIRS]
  engram bench   [--db URL] [--background N] [--runs N] [--out DIR]
  engram classifier train|status --tenant SLUG [--no-reclassify] [--db URL]
  engram eval classify --dataset DIR [--train-fraction 0.5] [--seed N] [--json] [--db URL]
  engram search  "QUERY" --tenant SLUG [--limit N] [--json] [--db URL]
  engram reindex --tenant SLUG [--db URL]
  engram eval search --dataset DIR [--db URL] [--mode lexical] [--json] [--run FILE]
  engram version

The database comes from --db, else DATABASE_URL, else sqlite:engram.db in
the working directory. postgres://… or postgresql://… selects PostgreSQL;
sqlite:PATH or a bare file path selects SQLite.

Run "engram COMMAND --help" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "engram:", err)
		os.Exit(1)
	}
}

// errUsage marks a command line that was wrong; the usage was printed.
var errUsage = errors.New("see --help")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "worker":
		return worker(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args[1:], stdout, stderr)
	case "tenant":
		return tenantCmd(ctx, args[1:], stdout, stderr)
	case "apikey":
		return apikeyCmd(ctx, args[1:], stdout, stderr)
	case "user":
		return userCmd(ctx, args[1:], stdout, stderr)
	case "sync":
		return syncCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "classifier":
		return classifierCmd(ctx, args[1:], stdout, stderr)
	case "search":
		return searchCmd(ctx, args[1:], stdout, stderr)
	case "reindex":
		return reindexCmd(ctx, args[1:], stdout, stderr)
	case "eval":
		return evalCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "engram", version)
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "engram: unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}
