package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/eval"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/service"
)

// searchCmd runs one search of a tenant, as GET /api/search does.
func searchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("search", `search "QUERY" --tenant SLUG [--limit N] [--mode lexical|vector|hybrid] [--json] [--db URL] [--embed-url URL …]`, stderr)
	var db dbFlags
	db.register(fs, false)
	var ef embedFlags
	ef.register(fs)
	tenant := fs.String("tenant", "", "the tenant's slug (required)")
	limit := fs.Int("limit", engram.DefaultSearchLimit, "results, 1 to 100")
	mode := fs.String("mode", "", "lexical, vector or hybrid (default: hybrid with --embed-url, lexical without)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return subcommandHelp(fs, args, stdout, "search needs the query as its first argument")
	}
	q := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	s, t, err := openForTenant(ctx, fs, db, *tenant)
	if err != nil {
		return err
	}
	defer s.Close()
	emb, err := ef.embedder()
	if err != nil {
		return err
	}
	if emb != nil {
		s.SetEmbedder(emb)
	}
	page, err := s.Search(ctx, t.ID, engram.SearchInput{Query: q, Limit: *limit, Mode: engram.SearchMode(*mode)})
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"mode": page.Mode, "results": page.Results, "has_more": page.HasMore})
	}
	for i, r := range page.Results {
		fmt.Fprintf(stdout, "%2d. %s  (%.3f, chunk %d, %s)\n    %s\n", i+1, r.Title, r.Score, r.ChunkIndex, r.DocumentID,
			strings.Join(strings.Fields(r.Snippet), " "))
	}
	if len(page.Results) == 0 {
		fmt.Fprintln(stdout, "no results")
	}
	return nil
}

// reindexCmd rebuilds a tenant's search index from its chunks.
func reindexCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reindex", "reindex --tenant SLUG [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	tenant := fs.String("tenant", "", "the tenant's slug (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, t, err := openForTenant(ctx, fs, db, *tenant)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Reindex(ctx, t.ID)
	if err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, map[string]int{"chunks_indexed": n})
}

// evalSearchCmd measures search on a BEIR set in a fresh tenant.
func evalSearchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "eval search --dataset DIR [--db URL] [--mode lexical|vector|hybrid] [--embed-url URL --embed-model M --embed-dimensions N] [--json] [--run FILE] [--queries N]", stderr)
	var db dbFlags
	db.register(fs, false)
	var ef embedFlags
	ef.register(fs)
	dataset := fs.String("dataset", "", "a directory in the BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv (required)")
	mode := fs.String("mode", "lexical", "lexical, vector or hybrid")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	runFile := fs.String("run", "", "also write the ranking as a TREC run file")
	queries := fs.Int("queries", 0, "run only the first N queries, over their documents and as many others (0: all)")
	titleWeight := fs.Float64("title-weight", service.DefaultTitleWeight, "how much a title word counts against a word of the text (to measure the choice)")
	matchBudget := fs.Int("match-budget", engram.SearchMatchBudget, "how many chunks the rare words that find a query's candidates may hold (to measure the choice)")
	ask := fs.Bool("ask", false, "ask each query as a question (extractive, no model) and compare the answer's first citation with search's top hit")
	if len(args) == 0 || args[0] != "search" {
		return subcommandHelp(fs, args, stdout, "eval needs the subcommand search")
	}
	// Without --db the set goes to a temporary SQLite file.
	hasDB := false
	for _, a := range args {
		if a == "--db" || a == "-db" || strings.HasPrefix(a, "--db=") || strings.HasPrefix(a, "-db=") {
			hasDB = true
		}
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *dataset == "" {
		fs.Usage()
		return fmt.Errorf("--dataset is required")
	}
	if !hasDB && os.Getenv("DATABASE_URL") == "" {
		dir, err := os.MkdirTemp("", "engram-eval-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db.url = "sqlite:" + filepath.Join(dir, "eval.db")
	}
	set, err := eval.Load(*dataset, *queries, *queries)
	if err != nil {
		return err
	}
	s, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	m, err := jobs.NewMigrator(s, s.river)
	if err != nil {
		return err
	}
	if _, err := m.MigrateUp(ctx); err != nil {
		return err
	}
	// The store the server would run, with the title weight and the
	// match budget to measure.
	measured := service.New(s.Driver(), service.Options{TitleWeight: *titleWeight, SearchMatchBudget: *matchBudget})
	opt := eval.Options{Mode: engram.SearchMode(*mode)}
	emb, err := ef.embedder()
	if err != nil {
		return err
	}
	if emb == nil && opt.Mode != engram.SearchLexical {
		return fmt.Errorf("--mode %s needs an embedding model: --embed-url, --embed-model, --embed-dimensions", *mode)
	}
	if emb != nil {
		measured.SetEmbedder(emb)
		// The corpus is embedded by the embedding jobs' batches, run
		// here to the end before the queries.
		opt.Embed = func(ctx context.Context, tenantID string) error {
			for {
				p, err := measured.EmbedBatch(ctx, tenantID, emb, ef.batch)
				if err != nil || p.Read == 0 {
					return err
				}
			}
		}
	}
	if *ask {
		return evalAsk(ctx, measured, set, *asJSON, stdout)
	}
	rep, runs, err := eval.Run(ctx, measured, s.Engine(), set, opt)
	if err != nil {
		return cliError(err)
	}
	if *runFile != "" {
		f, err := os.Create(*runFile)
		if err != nil {
			return err
		}
		if err := eval.WriteRun(f, runs, "engram-"+rep.Engine+"-"+rep.Mode); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "engine %s, mode %s: %d documents (loaded in %.1fs), %d queries\n", rep.Engine, rep.Mode, rep.Documents, rep.LoadSeconds, rep.Queries)
	if rep.EmbedSeconds > 0 {
		fmt.Fprintf(stdout, "embedded by %s in %.1fs\n", engram.EmbeddingModel(emb), rep.EmbedSeconds)
	}
	fmt.Fprintf(stdout, "nDCG@10 %.4f  MRR@10 %.4f  Recall@100 %.4f\n", rep.NDCG10, rep.MRR10, rep.Recall100)
	fmt.Fprintf(stdout, "latency p50 %s  p95 %s  max %s\n", rep.LatencyP50.Round(10*time.Microsecond), rep.LatencyP95.Round(10*time.Microsecond), rep.LatencyMax.Round(10*time.Microsecond))
	return nil
}

// evalAsk prints engram eval search --ask.
func evalAsk(ctx context.Context, st eval.Asker, set eval.Set, asJSON bool, stdout io.Writer) error {
	rep, err := eval.RunAsk(ctx, st, set)
	if err != nil {
		return cliError(err)
	}
	if asJSON {
		return writeJSON(stdout, rep)
	}
	pct := func(n, of int) float64 { return 100 * float64(n) / float64(max(of, 1)) }
	fmt.Fprintf(stdout, "%d queries: search's top hit relevant %d (%.1f%%), the answer's first citation relevant %d (%.1f%%), not covered %d\n",
		rep.Queries, rep.SearchTop1, pct(rep.SearchTop1, rep.Queries), rep.AskTop1, pct(rep.AskTop1, rep.Queries), rep.AskNotCovered)
	fmt.Fprintf(stdout, "%d off-topic questions: answered %d (the rest \"not covered\")\n", rep.OffTopic, rep.OffTopicAnswered)
	for _, t := range rep.Sweep {
		fmt.Fprintf(stdout, "  min coverage %.1f: first citation relevant %d, not covered %d, off-topic answered %d\n", t.MinCoverage, t.AskTop1, t.AskNotCovered, t.OffTopicAnswered)
	}
	return nil
}
