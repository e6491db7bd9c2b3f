// Package eval measures engram's search on a retrieval set in the BEIR
// layout: it loads the corpus into a tenant through the ordinary ingest
// path (a push connector's sync batches, external_id = the corpus _id),
// runs every query through the store's Search (the code the HTTP API
// runs), and scores the ranking with nDCG@10, MRR@10 and Recall@100. It
// is handed the store; it opens nothing itself.
package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
)

// Set is a retrieval set: documents, queries and their judged documents.
type Set struct {
	Docs    []Doc
	Queries []Query
	// Qrels maps a query id to its relevant corpus ids and their grades.
	Qrels map[string]map[string]int
}

// Doc is one corpus document.
type Doc struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Query is one query.
type Query struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

// Load reads a BEIR directory: corpus.jsonl, queries.jsonl and
// qrels/test.tsv. Only queries with judgements are kept. maxQueries > 0
// keeps the first that many (in file order), and then only the documents
// they judge plus the first extraDocs others.
func Load(dir string, maxQueries, extraDocs int) (Set, error) {
	var s Set
	s.Qrels = map[string]map[string]int{}
	f, err := os.Open(filepath.Join(dir, "qrels", "test.tsv"))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || (line == 0 && cols[0] == "query-id") {
			continue
		}
		g, err := strconv.Atoi(strings.TrimSpace(cols[2]))
		if err != nil {
			f.Close()
			return s, fmt.Errorf("qrels line %d: score %q is not an integer", line+1, cols[2])
		}
		if s.Qrels[cols[0]] == nil {
			s.Qrels[cols[0]] = map[string]int{}
		}
		s.Qrels[cols[0]][cols[1]] = g
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return s, err
	}
	if err := readJSONL(filepath.Join(dir, "queries.jsonl"), func(b []byte) error {
		var q Query
		if err := json.Unmarshal(b, &q); err != nil {
			return err
		}
		if _, ok := s.Qrels[q.ID]; ok && (maxQueries <= 0 || len(s.Queries) < maxQueries) {
			s.Queries = append(s.Queries, q)
		}
		return nil
	}); err != nil {
		return s, err
	}
	keep := map[string]bool{}
	for _, q := range s.Queries {
		for id := range s.Qrels[q.ID] {
			keep[id] = true
		}
	}
	extra := 0
	err = readJSONL(filepath.Join(dir, "corpus.jsonl"), func(b []byte) error {
		var d Doc
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		if maxQueries > 0 && !keep[d.ID] {
			if extra >= extraDocs {
				return nil
			}
			extra++
		}
		s.Docs = append(s.Docs, d)
		return nil
	})
	return s, err
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			if e := fn(line); e != nil {
				return fmt.Errorf("%s line %d: %w", filepath.Base(path), n, e)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Options tune a run.
type Options struct {
	Mode engram.SearchMode
	// Batch is how many documents one sync batch takes (default 500).
	Batch int
	// Embed, when set, embeds the loaded tenant's chunks before the
	// queries run (the embedding jobs' batches, run to the end).
	Embed func(ctx context.Context, tenantID string) error
}

// Report is what a run measured.
type Report struct {
	Engine      string        `json:"engine"`
	Mode        string        `json:"mode"`
	Documents   int           `json:"documents"`
	Queries     int           `json:"queries"`
	NDCG10      float64       `json:"ndcg@10"`
	MRR10       float64       `json:"mrr@10"`
	Recall100   float64       `json:"recall@100"`
	LatencyP50  time.Duration `json:"latency_p50_ns"`
	LatencyP95  time.Duration `json:"latency_p95_ns"`
	LatencyMax  time.Duration `json:"latency_max_ns"`
	LoadSeconds float64       `json:"load_seconds"`
	// EmbedSeconds is how long embedding the corpus took (0: not
	// embedded).
	EmbedSeconds float64 `json:"embed_seconds,omitempty"`
}

// Ranked is one query's ranking: corpus ids, best first, with scores.
type Ranked struct {
	QueryID string
	IDs     []string
	Scores  []float64
}

// Store is what a run needs of engram.
type Store interface {
	CreateTenant(ctx context.Context, name, slug string) (engram.Tenant, engram.NewKey, error)
	CreateConnector(ctx context.Context, tenantID, actor, typ, name string, settings json.RawMessage, syncInterval time.Duration) (engram.Connector, error)
	SyncBatch(ctx context.Context, tenantID, connectorID string, items []engram.PreparedDocument, opt engram.SyncOptions) (engram.SyncCounts, error)
	Search(ctx context.Context, tenantID string, in engram.SearchInput) (engram.SearchPage, error)
}

// Run loads s into a fresh tenant of st and runs every query, 100
// results each (one page of 100: the API's largest).
func Run(ctx context.Context, st Store, engine string, set Set, opt Options) (Report, []Ranked, error) {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.Mode == "" {
		opt.Mode = engram.SearchLexical
	}
	rep := Report{Engine: engine, Mode: string(opt.Mode), Documents: len(set.Docs), Queries: len(set.Queries)}
	start := time.Now()
	tenantID, err := load(ctx, st, set, opt)
	if err != nil {
		return rep, nil, err
	}
	rep.LoadSeconds = time.Since(start).Seconds()
	if opt.Embed != nil {
		start = time.Now()
		if err := opt.Embed(ctx, tenantID); err != nil {
			return rep, nil, fmt.Errorf("embedding the corpus: %w", err)
		}
		rep.EmbedSeconds = time.Since(start).Seconds()
	}

	var runs []Ranked
	var lat []time.Duration
	var ndcg, mrr, recall float64
	for _, q := range set.Queries {
		t0 := time.Now()
		page, err := st.Search(ctx, tenantID, engram.SearchInput{Query: q.Text, Mode: opt.Mode, Limit: engram.MaxSearchLimit})
		lat = append(lat, time.Since(t0))
		if err != nil {
			if engram.ErrorCode(err) == engram.EInvalid {
				runs = append(runs, Ranked{QueryID: q.ID})
				continue
			}
			return rep, nil, fmt.Errorf("query %s: %w", q.ID, err)
		}
		r := Ranked{QueryID: q.ID}
		for _, res := range page.Results {
			r.IDs = append(r.IDs, res.ExternalID)
			r.Scores = append(r.Scores, res.Score)
		}
		runs = append(runs, r)
		n, m, rc := Score(r.IDs, set.Qrels[q.ID])
		ndcg, mrr, recall = ndcg+n, mrr+m, recall+rc
	}
	if k := float64(len(set.Queries)); k > 0 {
		rep.NDCG10, rep.MRR10, rep.Recall100 = ndcg/k, mrr/k, recall/k
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		rep.LatencyP50 = lat[len(lat)*50/100]
		rep.LatencyP95 = lat[min(len(lat)-1, len(lat)*95/100)]
		rep.LatencyMax = lat[len(lat)-1]
	}
	return rep, runs, nil
}

// load syncs the set's documents into a fresh tenant of st through the
// sync pipeline, opt.Batch at a time, and returns the tenant's id.
func load(ctx context.Context, st Store, set Set, opt Options) (string, error) {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	slug := "eval-" + strings.ToLower(engram.NewID()[:8]) + strings.ToLower(engram.NewID()[28:])
	t, _, err := st.CreateTenant(ctx, "search evaluation", slug)
	if err != nil {
		return "", err
	}
	c, err := st.CreateConnector(ctx, t.ID, "", connector.Push, "evaluation corpus", json.RawMessage(`{}`), 0)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(set.Docs); i += opt.Batch {
		end := min(i+opt.Batch, len(set.Docs))
		items := make([]engram.SourceItem, 0, end-i)
		for _, d := range set.Docs[i:end] {
			title := d.Title
			if strings.TrimSpace(title) == "" {
				title = d.ID
			}
			items = append(items, engram.SourceItem{ExternalID: d.ID, Title: title, Content: d.Text})
		}
		prepared, failed, err := engram.PrepareSyncItems(c.ID, items, false)
		if err != nil {
			return "", err
		}
		if len(failed) > 0 {
			return "", fmt.Errorf("corpus: %d documents refused, the first: %s", len(failed), failed[0].Reason)
		}
		if _, err := st.SyncBatch(ctx, t.ID, c.ID, prepared, engram.SyncOptions{}); err != nil {
			return "", err
		}
	}
	return t.ID, nil
}

// Score returns nDCG@10, the reciprocal rank of the first relevant
// result within 10 (0 past it) and the share of the relevant documents
// found within 100, for one ranking (graded relevance, gain = grade).
func Score(ranked []string, rel map[string]int) (ndcg, mrr, recall float64) {
	dcg := 0.0
	for i, id := range ranked {
		if i >= 10 {
			break
		}
		if g := rel[id]; g > 0 {
			dcg += float64(g) / math.Log2(float64(i+2))
			if mrr == 0 {
				mrr = 1 / float64(i+1)
			}
		}
	}
	var grades []int
	for _, g := range rel {
		if g > 0 {
			grades = append(grades, g)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(grades)))
	idcg := 0.0
	for i, g := range grades {
		if i >= 10 {
			break
		}
		idcg += float64(g) / math.Log2(float64(i+2))
	}
	if idcg > 0 {
		ndcg = dcg / idcg
	}
	found := 0
	for i, id := range ranked {
		if i >= 100 {
			break
		}
		if rel[id] > 0 {
			found++
		}
	}
	if len(grades) > 0 {
		recall = float64(found) / float64(len(grades))
	}
	return ndcg, mrr, recall
}

// WriteRun writes rankings in the TREC run format: query-id Q0 corpus-id
// rank score run-name.
func WriteRun(w io.Writer, runs []Ranked, name string) error {
	bw := bufio.NewWriter(w)
	for _, r := range runs {
		for i, id := range r.IDs {
			fmt.Fprintf(bw, "%s Q0 %s %d %.6f %s\n", r.QueryID, id, i+1, r.Scores[i], name)
		}
	}
	return bw.Flush()
}
