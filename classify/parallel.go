package classify

import (
	"context"
	"runtime"
	"sync"
)

// minParallelDocs is the fewest documents worth a second goroutine: below
// it, starting one costs more than it saves.
const minParallelDocs = 64

// inParallel runs fn over [0, n) in contiguous ranges, one per processor
// (at most), and returns the first error. Classifying is pure CPU work
// over independent documents, so a batch of 1,000 finishes in about
// 1/GOMAXPROCS of the time.
func inParallel(ctx context.Context, n int, fn func(from, to int) error) error {
	parts := min(runtime.GOMAXPROCS(0), max(1, n/minParallelDocs))
	if parts <= 1 {
		return fn(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = fn(p*n/parts, (p+1)*n/parts)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// featurizers keeps featurizers between batches: each holds two tables
// of a quarter of a million entries that are costly to allocate and zero.
// (A sync.Pool would drop them at every garbage collection, which a batch
// of a thousand documents triggers.) At most maxIdleFeaturizers are kept.
var featurizers struct {
	mu   sync.Mutex
	idle []*featurizer
}

const maxIdleFeaturizers = 16

// getFeaturizer returns a featurizer reading the settings cfg.
func getFeaturizer(cfg *config) *featurizer {
	featurizers.mu.Lock()
	defer featurizers.mu.Unlock()
	if n := len(featurizers.idle); n > 0 {
		f := featurizers.idle[n-1]
		featurizers.idle = featurizers.idle[:n-1]
		f.rules.cfg = cfg
		return f
	}
	return newFeaturizer(cfg)
}

// putFeaturizer gives f back for another batch.
func putFeaturizer(f *featurizer) {
	f.rules.cfg = nil
	featurizers.mu.Lock()
	defer featurizers.mu.Unlock()
	if len(featurizers.idle) < maxIdleFeaturizers {
		featurizers.idle = append(featurizers.idle, f)
	}
}
