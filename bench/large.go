package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/engram-kb/engram"
)

// seedContent is the content of every seeded document: one chunk.
const seedContent = "Meeting notes for the quarterly roadmap review."

// pageSize is the page the deep list reads.
const pageSize = 50

// syncItems is how many items the sync dedupe posts, in requests of
// engram.MaxPushItems.
const syncItems = 10000

// deleteAllBaselineMax is the largest tenant the naive delete-all runs on:
// a commit per document makes 100,000 of them minutes long.
const deleteAllBaselineMax = 10000

// tenant is a tenant the bench made, with its admin key.
type tenant struct{ id, keyID, key string }

// newTenant makes a fresh tenant, so that an operation is measured in a
// tenant of known size.
func (r *runner) newTenant(ctx context.Context, name string) (tenant, error) {
	tn, key, err := r.cfg.Store.CreateTenant(ctx, name, "bench-"+name+"-"+engram.NewID()[24:])
	if err != nil {
		return tenant{}, err
	}
	return tenant{tn.ID, key.ID, key.Secret}, nil
}

// newConnector adds a push connector to t.
func (r *runner) newConnector(ctx context.Context, t tenant) (string, error) {
	c, err := r.cfg.Store.CreateConnector(ctx, t.id, t.keyID, "push", "bench", json.RawMessage(`{}`), 0)
	return c.ID, err
}

// runs times the function prepare returns, cfg.Runs times; prepare (the
// seeding) is not timed.
func (r *runner) runs(prepare func() (func() error, error)) (Sample, error) {
	var times []float64
	for i := 0; i < r.cfg.Runs; i++ {
		fn, err := prepare()
		if err != nil {
			return Sample{}, err
		}
		start := time.Now()
		if err := fn(); err != nil {
			return Sample{}, err
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	return summarize(times), nil
}

// trio measures one operation three ways; a nil baseline or floor is not
// run.
func (r *runner) trio(op string, n int, prepare func() error, eng, baseline, floor func() error) (Result, error) {
	res := Result{Op: op, N: n}
	ways := []struct {
		name string
		fn   func() error
		out  **Sample
	}{{"engram", eng, nil}, {"baseline", baseline, &res.Baseline}, {"floor", floor, &res.Floor}}
	for _, w := range ways {
		if w.fn == nil {
			continue
		}
		s, err := r.runs(func() (func() error, error) { return w.fn, prepare() })
		if err != nil {
			return res, fmt.Errorf("%s %s: %w", op, w.name, err)
		}
		if w.out == nil {
			res.Engram = s
		} else {
			*w.out = &s
		}
	}
	r.cfg.Logf("%s n=%d: engram %.2f ms", op, n, res.Engram.Median)
	return res, nil
}

func nothing() error { return nil }

// gapStats measures the gap panel over cfg.Gaps gaps in a tenant of its
// own.
func (r *runner) gapStats(ctx context.Context) ([]Result, error) {
	n := r.cfg.Gaps
	if n == 0 {
		return nil, nil
	}
	t, err := r.newTenant(ctx, "gaps")
	if err != nil {
		return nil, err
	}
	r.cfg.Logf("seeding %d gaps", n)
	if err := r.cfg.Ref.SeedGaps(ctx, t.id, n); err != nil {
		return nil, err
	}
	res, err := r.trio("gap stats", n, nothing,
		func() error { return r.as(t.key).get("/api/knowledge/gaps/stats") },
		func() error { return r.cfg.Ref.NaiveGapStats(ctx, t.id) },
		func() error { return r.cfg.Ref.FloorGapStats(ctx, t.id) })
	return []Result{res}, err
}

// large seeds a tenant of cfg.Large connector documents and measures a
// list page nine tenths deep and the dedupe of a sync against it.
func (r *runner) large(ctx context.Context) ([]Result, error) {
	n := r.cfg.Large
	if n == 0 {
		return nil, nil
	}
	t, err := r.newTenant(ctx, "large")
	if err != nil {
		return nil, err
	}
	conn, err := r.newConnector(ctx, t)
	if err != nil {
		return nil, err
	}
	r.cfg.Logf("seeding %d documents", n)
	start := time.Now()
	if err := r.cfg.Ref.SeedDocuments(ctx, t.id, conn, n, seedContent); err != nil {
		return nil, err
	}
	r.cfg.Logf("seeded in %s", time.Since(start).Round(time.Second))
	list, err := r.deepPage(ctx, t)
	if err != nil {
		return nil, err
	}
	sync, err := r.syncDedupe(ctx, t, conn)
	return []Result{list, sync}, err
}

// deepPage measures the page after nine tenths of the tenant's
// documents, newest first: engram with a keyset cursor, the baseline with
// OFFSET, the floor with the raw keyset SELECT.
func (r *runner) deepPage(ctx context.Context, t tenant) (Result, error) {
	offset := r.cfg.Large * 9 / 10
	at, id, err := r.cfg.Ref.RowAt(ctx, t.id, offset-1)
	if err != nil {
		return Result{}, err
	}
	v := at.UTC().Format(time.RFC3339Nano)
	cursor := engram.Cursor{Sort: engram.SortCreatedAt, Desc: true, Value: &v, ID: id}.Encode()
	path := fmt.Sprintf("/api/documents?limit=%d&cursor=%s", pageSize, url.QueryEscape(cursor))
	return r.trio(fmt.Sprintf("list page of %d after %d rows", pageSize, offset), r.cfg.Large, nothing,
		func() error { return r.as(t.key).get(path) },
		func() error { return r.cfg.Ref.NaiveListPage(ctx, t.id, offset, pageSize) },
		func() error { return r.cfg.Ref.FloorListPage(ctx, t.id, at, id, pageSize) })
}

// syncDedupe measures taking syncItems items from the connector, half of
// them seeded documents unchanged and half new (fresh for every run).
func (r *runner) syncDedupe(ctx context.Context, t tenant, conn string) (Result, error) {
	var items []engram.SourceItem
	var docs []engram.PreparedDocument
	prepare := func() error {
		items = syncBatch(r.cfg.Large)
		var err error
		docs, _, err = engram.PrepareSyncItems(conn, items, true)
		return err
	}
	return r.trio(fmt.Sprintf("sync dedupe of %d items", syncItems), r.cfg.Large, prepare,
		func() error {
			for start := 0; start < len(items); start += engram.MaxPushItems {
				if err := r.as(t.key).post("/api/integrations/"+conn+"/documents", pushBody(items[start:min(start+engram.MaxPushItems, len(items))])); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return r.cfg.Ref.NaiveSync(ctx, t.id, conn, docs) },
		func() error { return r.cfg.Ref.FloorSync(ctx, t.id, conn, docs) })
}

// syncBatch makes syncItems items: half of them (at most n) seeded
// documents, unchanged, spread over the tenant from a random start, and
// the rest new.
func syncBatch(n int) []engram.SourceItem {
	items := make([]engram.SourceItem, 0, syncItems)
	known := min(syncItems/2, n)
	first, stride := rand.IntN(n), n/known
	for k := range known {
		i := (first + k*stride) % n
		items = append(items, engram.SourceItem{ExternalID: fmt.Sprint("seeded-", i), Title: fmt.Sprint("seeded ", i), Content: seedContent})
	}
	for len(items) < syncItems {
		items = append(items, engram.SourceItem{ExternalID: "new-" + engram.NewID(), Title: "new item", Content: "A note that was not synced before."})
	}
	// Shuffled, so that each request holds known and new items.
	rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	return items
}

func pushBody(items []engram.SourceItem) map[string]any {
	docs := make([]map[string]string, len(items))
	for i, it := range items {
		docs[i] = map[string]string{"external_id": it.ExternalID, "title": it.Title, "content": it.Content}
	}
	return map[string]any{"documents": docs}
}

// deleteAll measures deleting every document of a tenant of cfg.DeleteAll
// connector documents (hard, with tombstones), each run in a fresh
// tenant: engram as the delete-all job, started through the API and
// polled until it succeeds. The baseline runs only at up to
// deleteAllBaselineMax documents, so a second row measures all three ways
// there.
func (r *runner) deleteAll(ctx context.Context) ([]Result, error) {
	sizes := []int{r.cfg.DeleteAll}
	if r.cfg.DeleteAll > deleteAllBaselineMax {
		sizes = append(sizes, deleteAllBaselineMax)
	}
	var out []Result
	for _, n := range sizes {
		if n == 0 {
			continue
		}
		var t tenant
		prepare := func() error {
			var err error
			if t, err = r.newTenant(ctx, "delete-all"); err != nil {
				return err
			}
			conn, err := r.newConnector(ctx, t)
			if err != nil {
				return err
			}
			return r.cfg.Ref.SeedDocuments(ctx, t.id, conn, n, seedContent)
		}
		var baseline func() error
		if n <= deleteAllBaselineMax {
			baseline = func() error { return r.cfg.Ref.NaiveDeleteAll(ctx, t.id) }
		}
		res, err := r.trio("delete all (job)", n, prepare,
			func() error { return r.as(t.key).runJob("DELETE", "/api/documents/all?hard=true") },
			baseline,
			func() error { return r.cfg.Ref.FloorDeleteAll(ctx, t.id) })
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}
