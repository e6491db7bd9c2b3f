// Package bench measures engram against two yardsticks in the same run:
// the naive baseline (the predecessor's one-SELECT-one-write-one-commit per
// document) and the raw-SQL floor (the single hand-written statement, sent
// straight through the driver). engram itself is measured end to end,
// through its HTTP API.
//
// The package is handed what it measures: cmd/engram wires engram (the
// store, River's workers, the HTTP server) and the engine's yardsticks
// (bench/pgref, bench/sqliteref) and passes them in a Config. It names
// no engine and starts nothing of engram's itself.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// Reference is an engine's pair of yardsticks (pgref.Reference,
// sqliteref.Reference) on the database Config.Store uses.
type Reference interface {
	NaiveConfirm(ctx context.Context, tenantID string, ids []string) error
	FloorConfirm(ctx context.Context, tenantID string, ids []string) error
	NaiveHardDelete(ctx context.Context, tenantID string, ids []string) error
	FloorHardDelete(ctx context.Context, tenantID string, ids []string) error
	NaiveStats(ctx context.Context, tenantID string) error
	FloorStats(ctx context.Context, tenantID string) error
	NaiveClassify(ctx context.Context, tenantID string, ids []string, class string) error
	FloorClassify(ctx context.Context, tenantID string, ids []string, class string) error
	NaiveListPage(ctx context.Context, tenantID string, offset, limit int) error
	FloorListPage(ctx context.Context, tenantID string, createdAt time.Time, id string, limit int) error
	RowAt(ctx context.Context, tenantID string, offset int) (time.Time, string, error)
	NaiveGapStats(ctx context.Context, tenantID string) error
	FloorGapStats(ctx context.Context, tenantID string) error
	NaiveSync(ctx context.Context, tenantID, connectorID string, docs []engram.PreparedDocument) error
	FloorSync(ctx context.Context, tenantID, connectorID string, docs []engram.PreparedDocument) error
	NaiveDeleteAll(ctx context.Context, tenantID string) error
	FloorDeleteAll(ctx context.Context, tenantID string) error
	SeedDocuments(ctx context.Context, tenantID, connectorID string, n int, content string) error
	SeedGaps(ctx context.Context, tenantID string, n int) error
}

// Config says what to measure.
type Config struct {
	// Store seeds the tenants the operations are measured in (not timed).
	Store engram.Store
	// URL is the base URL of engram's HTTP API over Store's database
	// ("http://127.0.0.1:PORT"). When DeleteAll > 0, job workers must
	// run there: the delete-all job is polled until it ends.
	URL string
	// Ref is the naive baseline and the raw-SQL floor on Store's database.
	Ref Reference
	// Background is how many documents the tenant holds besides each
	// operation's targets.
	Background int
	// Runs is how many times each measurement is repeated (median shown).
	Runs int
	// Sizes are the numbers of ids the bulk operations are measured at.
	Sizes []int
	// BaselineMax caps the naive baseline's size: past it, a per-document
	// loop takes minutes and says nothing new.
	BaselineMax int
	// Latency is the round trip a proxy adds between engram and the
	// database, reported with the figures (the caller sets up the proxy).
	Latency time.Duration
	// Large is the size of the tenant the deep list page and the sync
	// dedupe are measured in (0 skips them).
	Large int
	// Gaps is how many gaps the gap stats are measured over (0 skips them).
	Gaps int
	// DeleteAll is how many documents the delete-all job is measured at (0
	// skips it).
	DeleteAll int
	// Classifier is how many decided documents the classifier's training
	// is measured on, and how many documents classifying with its model
	// (0 skips both).
	Classifier int
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// Sample is the spread of one measurement over its runs, in milliseconds.
type Sample struct {
	Median float64 `json:"median_ms"`
	Min    float64 `json:"min_ms"`
	Max    float64 `json:"max_ms"`
}

// Result is one operation at one size.
type Result struct {
	Op       string  `json:"op"`
	N        int     `json:"n"`
	Engram   Sample  `json:"engram"`
	Baseline *Sample `json:"baseline,omitempty"`
	Floor    *Sample `json:"floor,omitempty"`
}

// Report is a whole run.
type Report struct {
	Engine     string    `json:"engine"`
	Background int       `json:"background_documents"`
	Runs       int       `json:"runs"`
	At         time.Time `json:"at"`
	// Latency is the round trip a proxy added between engram and the
	// database (engram bench --db-latency); 0: none, loopback.
	Latency time.Duration `json:"db_latency_ns,omitempty"`
	// RoundTrip is the median of 51 pings of the database through the
	// store before the runs: what a round trip took (loopback, or through
	// the proxy, whose delay is a lower bound on a busy machine).
	RoundTrip time.Duration `json:"db_round_trip_ns"`
	Results   []Result      `json:"results"`
}

// runner holds what one bench run shares.
type runner struct {
	cfg    Config
	tenant string
	key    string
	conn   string
	base   string
	client *http.Client
}

// Run seeds a fresh tenant and measures every operation.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	rep := Report{Engine: cfg.Store.Engine(), Background: cfg.Background, Runs: cfg.Runs, At: time.Now().UTC(), Latency: cfg.Latency}
	pings := make([]time.Duration, 51)
	for i := range pings {
		start := time.Now()
		if err := cfg.Store.Ping(ctx); err != nil {
			return rep, err
		}
		pings[i] = time.Since(start)
	}
	slices.Sort(pings)
	rep.RoundTrip = pings[len(pings)/2]
	slug := "bench-" + engram.NewID()[24:]
	tn, key, err := cfg.Store.CreateTenant(ctx, "Bench", slug)
	if err != nil {
		return rep, err
	}
	conn, err := cfg.Store.CreateConnector(ctx, tn.ID, key.ID, "push", "bench", json.RawMessage(`{}`), 0)
	if err != nil {
		return rep, err
	}
	r := &runner{cfg: cfg, tenant: tn.ID, key: key.Secret, conn: conn.ID, base: strings.TrimSuffix(cfg.URL, "/"), client: &http.Client{}}

	cfg.Logf("seeding %d background documents", cfg.Background)
	if _, err := r.seed(ctx, cfg.Background); err != nil {
		return rep, err
	}
	for _, op := range []struct {
		name            string
		engram          func(ids []string) error
		baseline, floor func(ctx context.Context, tenantID string, ids []string) error
	}{
		{"bulk confirm", func(ids []string) error {
			return r.post("/api/documents/bulk/confirm", map[string]any{"document_ids": ids})
		}, cfg.Ref.NaiveConfirm, cfg.Ref.FloorConfirm},
		{"bulk hard delete", func(ids []string) error {
			return r.post("/api/documents/bulk/delete", map[string]any{"document_ids": ids, "hard": true})
		}, cfg.Ref.NaiveHardDelete, cfg.Ref.FloorHardDelete},
		{"bulk classify", func(ids []string) error {
			return r.post("/api/documents/bulk/classify", map[string]any{"document_ids": ids, "classification": "work"})
		}, func(ctx context.Context, tenantID string, ids []string) error {
			return cfg.Ref.NaiveClassify(ctx, tenantID, ids, "work")
		}, func(ctx context.Context, tenantID string, ids []string) error {
			return cfg.Ref.FloorClassify(ctx, tenantID, ids, "work")
		}},
	} {
		for _, n := range cfg.Sizes {
			res := Result{Op: op.name, N: n}
			if res.Engram, err = r.measure(ctx, n, op.engram); err != nil {
				return rep, fmt.Errorf("%s engram: %w", op.name, err)
			}
			if n <= cfg.BaselineMax {
				s, err := r.measure(ctx, n, func(ids []string) error { return op.baseline(ctx, r.tenant, ids) })
				if err != nil {
					return rep, fmt.Errorf("%s baseline: %w", op.name, err)
				}
				res.Baseline = &s
			}
			s, err := r.measure(ctx, n, func(ids []string) error { return op.floor(ctx, r.tenant, ids) })
			if err != nil {
				return rep, fmt.Errorf("%s floor: %w", op.name, err)
			}
			res.Floor = &s
			cfg.Logf("%s n=%d: engram %.2f ms", op.name, n, res.Engram.Median)
			rep.Results = append(rep.Results, res)
		}
	}
	// Stats: no targets; the tenant's whole set is counted.
	stats := Result{Op: "document stats", N: cfg.Background}
	if stats.Engram, err = r.repeat(func() error { return r.get("/api/documents/stats") }); err != nil {
		return rep, err
	}
	b, err := r.repeat(func() error { return cfg.Ref.NaiveStats(ctx, r.tenant) })
	if err != nil {
		return rep, err
	}
	f, err := r.repeat(func() error { return cfg.Ref.FloorStats(ctx, r.tenant) })
	if err != nil {
		return rep, err
	}
	stats.Baseline, stats.Floor = &b, &f
	rep.Results = append(rep.Results, stats)
	// Creating 1,000 documents with their chunks through the API.
	create := Result{Op: "create 1000 documents", N: 1000}
	if create.Engram, err = r.repeat(func() error { return r.post("/api/documents", createBody(1000)) }); err != nil {
		return rep, err
	}
	rep.Results = append(rep.Results, create)
	// Lexical search through the API over the tenant as it now is: words
	// every background document holds, and a word one document holds.
	if err := r.post("/api/documents", map[string]any{"documents": []map[string]string{
		{"title": "Zanzibar trip", "content": "The zanzibar itinerary, for the search benchmark."}}}); err != nil {
		return rep, err
	}
	for _, q := range []struct{ name, query string }{
		{"search, words in every document", "quarterly+roadmap+review"},
		{"search, a word in one document", "zanzibar"},
	} {
		res := Result{Op: q.name, N: cfg.Background}
		if res.Engram, err = r.repeat(func() error { return r.get("/api/search?limit=20&q=" + q.query) }); err != nil {
			return rep, err
		}
		cfg.Logf("%s: engram %.2f ms", q.name, res.Engram.Median)
		rep.Results = append(rep.Results, res)
	}
	for _, op := range []func(context.Context) ([]Result, error){r.gapStats, r.large, r.deleteAll, r.classifier} {
		res, err := op(ctx)
		if err != nil {
			return rep, err
		}
		rep.Results = append(rep.Results, res...)
	}
	return rep, nil
}

// measure times fn over fresh target documents, cfg.Runs times.
func (r *runner) measure(ctx context.Context, n int, fn func(ids []string) error) (Sample, error) {
	var times []float64
	for i := 0; i < r.cfg.Runs; i++ {
		ids, err := r.seed(ctx, n)
		if err != nil {
			return Sample{}, err
		}
		start := time.Now()
		if err := fn(ids); err != nil {
			return Sample{}, err
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	return summarize(times), nil
}

func (r *runner) repeat(fn func() error) (Sample, error) {
	var times []float64
	for i := 0; i < r.cfg.Runs; i++ {
		start := time.Now()
		if err := fn(); err != nil {
			return Sample{}, err
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	return summarize(times), nil
}

func summarize(ms []float64) Sample {
	sort.Float64s(ms)
	return Sample{Median: ms[len(ms)/2], Min: ms[0], Max: ms[len(ms)-1]}
}

// seed creates n documents through the store (not timed), half of them
// from the bench's connector so that hard deletes write tombstones.
func (r *runner) seed(ctx context.Context, n int) ([]string, error) {
	var ids []string
	for start := 0; start < n; start += engram.MaxDocumentsPerCreate {
		batch := min(engram.MaxDocumentsPerCreate, n-start)
		docs := make([]engram.NewDocument, batch)
		for i := range docs {
			docs[i] = engram.NewDocument{Title: fmt.Sprint("bench document ", start+i), Content: "Meeting notes for the quarterly roadmap review.", SourceType: "bench"}
			if i%2 == 0 {
				ext := engram.NewID()
				docs[i].ConnectorID, docs[i].ExternalID = &r.conn, &ext
			}
		}
		p, err := engram.PrepareDocuments(docs)
		if err != nil {
			return nil, err
		}
		if err := r.cfg.Store.CreateDocuments(ctx, r.tenant, p); err != nil {
			return nil, err
		}
		for _, d := range p {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}

func createBody(n int) map[string]any {
	docs := make([]map[string]string, n)
	for i := range docs {
		docs[i] = map[string]string{"title": fmt.Sprint("created ", i), "content": "A short note about the release plan."}
	}
	return map[string]any{"documents": docs}
}

func (r *runner) post(path string, body any) error { return r.as(r.key).post(path, body) }

func (r *runner) get(path string) error { return r.as(r.key).get(path) }

// client sends requests with one tenant's key.
type client struct {
	base, key string
	http      *http.Client
}

// as returns a client for the tenant key is of.
func (r *runner) as(key string) client { return client{r.base, key, r.client} }

func (c client) post(path string, body any) error {
	b, _ := json.Marshal(body)
	_, err := c.do("POST", path, bytes.NewReader(b))
	return err
}

func (c client) get(path string) error {
	_, err := c.do("GET", path, nil)
	return err
}

// runJob starts a job with method and path and polls it until it ends;
// it fails unless the job succeeded.
func (c client) runJob(method, path string) error {
	out, err := c.do(method, path, nil)
	if err != nil {
		return err
	}
	var started struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(out, &started); err != nil {
		return err
	}
	for {
		out, err := c.do("GET", "/api/jobs/"+started.JobID, nil)
		if err != nil {
			return err
		}
		var j struct {
			Job engram.Job `json:"job"`
		}
		if err := json.Unmarshal(out, &j); err != nil {
			return err
		}
		if j.Job.Status.Final() {
			if j.Job.Status != engram.JobSucceeded {
				return fmt.Errorf("job %s %s: %s", j.Job.ID, j.Job.Status, out)
			}
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c client) do(method, path string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out, nil
}
