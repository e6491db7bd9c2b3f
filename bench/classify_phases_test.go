package bench

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestClassifyPhases times the phases of classifying 10,000 documents with a
// model through the store (read, classifier, guarded write), on the engine
// ENGRAM_CLASSIFY_PHASES names (sqlite, postgres or all); ENGRAM_CPU_PROFILE
// writes a CPU profile. It asserts nothing: a measuring aid, not a test.
func TestClassifyPhases(t *testing.T) {
	if os.Getenv("ENGRAM_CLASSIFY_PHASES") == "" {
		t.Skip()
	}
	for _, e := range testdb.Engines(t) {
		if os.Getenv("ENGRAM_CLASSIFY_PHASES") != "all" && os.Getenv("ENGRAM_CLASSIFY_PHASES") != e.Name {
			continue
		}
		s := e.Open(t)
		ctx := context.Background()
		tn, key, err := s.CreateTenant(ctx, "b", "b-"+e.Name)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		n := 10000
		create := func(docs []engram.NewDocument) []string {
			var ids []string
			for from := 0; from < len(docs); from += engram.MaxDocumentsPerCreate {
				p, err := engram.PrepareDocuments(docs[from:min(len(docs), from+engram.MaxDocumentsPerCreate)])
				if err != nil {
					t.Fatal(err)
				}
				if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
					t.Fatal(err)
				}
				for _, d := range p {
					ids = append(ids, d.ID)
				}
			}
			return ids
		}
		docs, classes := classifierDocs(n, rng)
		ids := create(docs)
		byClass := map[engram.Classification][]string{}
		for i, id := range ids {
			byClass[classes[i]] = append(byClass[classes[i]], id)
		}
		for cl, ids := range byClass {
			for from := 0; from < len(ids); from += engram.MaxBulkIDs {
				if _, err := s.SetClassification(ctx, tn.ID, key.ID, ids[from:min(len(ids), from+engram.MaxBulkIDs)], cl); err != nil {
					t.Fatal(err)
				}
			}
		}
		settings, _ := json.Marshal(tn.Settings)
		start := time.Now()
		if _, err := s.TrainClassifier(ctx, tn.ID, key.ID, settings, classify.Learner{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s train %v", e.Name, time.Since(start))
		pending, _ := classifierDocs(n, rng)
		pids := create(pending)
		var read, cls, load, write time.Duration
		var bstart, fend time.Time
		fn := func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			st := time.Now()
			read += st.Sub(bstart)
			defer func() { fend = time.Now() }()
			c, err := s.TenantClassifier(ctx, tn.ID, classify.Learner{}, classify.New())
			if err != nil {
				return nil, err
			}
			load += time.Since(st)
			r, err := c.Classify(ctx, settings, docs)
			cls += time.Since(st)
			return r, err
		}
		if p := os.Getenv("ENGRAM_CPU_PROFILE"); p != "" {
			f, _ := os.Create(p + "." + e.Name)
			pprof.StartCPUProfile(f)
		}
		start = time.Now()
		for from := 0; from < len(pids); from += engram.MaxClassifyLimit {
			bstart = time.Now()
			if _, err := s.ClassifyDocuments(ctx, tn.ID, key.ID, engram.ClassifySelection{IDs: pids[from:min(len(pids), from+engram.MaxClassifyLimit)]}, fn); err != nil {
				t.Fatal(err)
			}
			write += time.Since(fend)
		}
		total := time.Since(start)
		if os.Getenv("ENGRAM_CPU_PROFILE") != "" {
			pprof.StopCPUProfile()
		}
		_ = read
		t.Logf("%s classify %d: total %v, classifier %v (model lookup %v), read %v, write %v", e.Name, n, total, cls, load, read, write)
	}
}
