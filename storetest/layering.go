package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// testLayering covers the read → classify → guarded write pattern: a
// classifier runs with no write transaction open and no document locked,
// so a person can decide on a document it is working on, and the
// person's decision stands over the classifier's verdict. It holds for a
// classify request (ClassifyDocuments) and for a classify job's batch,
// whose advance also discards the batch's verdicts when another execution
// of the job moved on meanwhile.
func testLayering(t *testing.T, h Harness) {
	// Each way a person decides leaves the same document behind: class
	// personal, confirmed by a person.
	decisions := []struct {
		name   string
		decide func(f fixture, id string) error
	}{
		{"Confirm", func(f fixture, id string) error {
			c := engram.ClassPersonal
			_, err := f.s.ConfirmDocuments(context.Background(), f.tenant.ID, f.key.ID, []string{id}, &c)
			return err
		}},
		{"SetClassification", func(f fixture, id string) error {
			_, err := f.s.SetClassification(context.Background(), f.tenant.ID, f.key.ID, []string{id}, engram.ClassPersonal)
			return err
		}},
	}
	for _, d := range decisions {
		t.Run("ClassifyDocuments"+d.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, h)
			ids := createDocs(t, f.s, f.tenant.ID, 3, "slow", "text")
			target := ids[1]
			var finish func()
			slow := func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
				finish = meanwhile(t, "the person's decision", func() error { return d.decide(f, target) })
				return verdicts(engram.ClassSpam)(ctx, docs)
			}
			out, err := f.s.ClassifyDocuments(context.Background(), f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: ids}, slow)
			if finish != nil {
				finish()
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Total != 2 || out.ByClass[engram.ClassSpam] != 2 || !slices.Equal(out.Skipped, []string{target}) {
				t.Fatalf("outcome = %+v; want 2 classified and %s skipped", out, target)
			}
			if _, ok := out.Results[target]; ok {
				t.Fatalf("outcome reports a verdict for %s, which the person decided", target)
			}
			checkDecided(t, f, ids, target)
		})

		t.Run("ClassifyJob"+d.name, func(t *testing.T) {
			t.Parallel()
			f := jobFixture(t, h)
			ids := createDocs(t, f.s, f.tenant.ID, 3, "slow", "text")
			target := ids[1]
			j := startClassifyJob(t, f)
			var finish func()
			slow := classifierFunc(func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
				finish = meanwhile(t, "the person's decision", func() error { return d.decide(f, target) })
				return verdicts(engram.ClassSpam)(ctx, docs)
			})
			ctx, st := counted()
			done, err := f.s.RunJobBatch(ctx, f.tenant.ID, j.ID, slow)
			if finish != nil {
				finish()
			}
			if err != nil {
				t.Fatal(err)
			}
			// The job, its batch read, the verdicts, the advance.
			if st.Count() != 4 {
				t.Fatalf("the batch took %d statements, want 4", st.Count())
			}
			res := classifyResult(t, done)
			if done.Status != engram.JobSucceeded || done.Progress.Done != 3 || res.Classified != 2 ||
				res.ByClass[engram.ClassSpam] != 2 || res.ByClass[engram.ClassPersonal] != 0 {
				t.Fatalf("job = %s, %+v, result %s; want succeeded, 3 handled, 2 classified spam", done.Status, done.Progress, done.Result)
			}
			checkDecided(t, f, ids, target)
		})
	}

	// Two executions of one job (a rescued job whose first worker still
	// lives): the second runs the batch to the end while the first one's
	// classifier works; the first one's verdicts are then discarded.
	t.Run("ClassifyJobMovedOn", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ids := createDocs(t, f.s, f.tenant.ID, 3, "slow", "text")
		j := startClassifyJob(t, f)
		var finish func()
		slow := classifierFunc(func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			finish = meanwhile(t, "a second execution of the job", func() error {
				_, err := f.s.RunJobBatch(context.Background(), f.tenant.ID, j.ID, classifierFunc(verdicts(engram.ClassWork)))
				return err
			})
			return verdicts(engram.ClassSpam)(ctx, docs)
		})
		done, err := f.s.RunJobBatch(context.Background(), f.tenant.ID, j.ID, slow)
		if finish != nil {
			finish()
		}
		if err != nil {
			t.Fatal(err)
		}
		res := classifyResult(t, done)
		if done.Status != engram.JobSucceeded || done.Progress.Done != 3 || res.Classified != 3 ||
			res.ByClass[engram.ClassWork] != 3 || res.ByClass[engram.ClassSpam] != 0 {
			t.Fatalf("job = %s, %+v, result %s; want the second execution's batch only: succeeded, 3 handled, 3 classified work",
				done.Status, done.Progress, done.Result)
		}
		for _, id := range ids {
			if d := get(t, f, id); d.Classification != engram.ClassWork || d.Status != engram.StatusClassified {
				t.Fatalf("document %s = %s/%s, want the second execution's verdict work/classified", id, d.Classification, d.Status)
			}
		}
	})
}

// meanwhileLimit bounds how long meanwhile waits. It only catches a
// deadlock (fn waiting for the caller of the classifier that waits for
// fn); the calls it waits for take milliseconds.
const meanwhileLimit = 30 * time.Second

// meanwhile runs fn, as a person or another worker would while a
// classifier works, and waits until fn has returned. When fn cannot finish
// while the classifier works (its caller holds a write transaction or
// locks fn needs), meanwhile reports it and gives up after meanwhileLimit
// so that the caller can go on; finish, called once the classifier's
// caller has returned, then waits for fn.
func meanwhile(t *testing.T, what string, fn func() error) (finish func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	wait := func() {
		if err := <-done; err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return func() {}
	case <-time.After(meanwhileLimit):
		t.Errorf("%s could not finish while the classifier worked: the classifier runs inside a write transaction or holds locks", what)
		return wait
	}
}

// startClassifyJob enqueues a classify job of the tenant's pending
// documents in one batch, and starts it.
func startClassifyJob(t *testing.T, f fixture) engram.Job {
	t.Helper()
	ctx := context.Background()
	j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobClassifyPending, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = f.s.StartJob(ctx, f.tenant.ID, j.ID); err != nil || j.Status != engram.JobRunning {
		t.Fatalf("start = %+v, %v", j, err)
	}
	return j
}

// checkDecided checks that target holds the person's decision and the
// other documents among ids the classifier's verdict.
func checkDecided(t *testing.T, f fixture, ids []string, target string) {
	t.Helper()
	for _, id := range ids {
		d := get(t, f, id)
		if id == target {
			if d.Classification != engram.ClassPersonal || d.Status != engram.StatusConfirmed || !d.UserConfirmed {
				t.Fatalf("decided document = %s/%s, confirmed by a person %v; want personal/confirmed by a person",
					d.Classification, d.Status, d.UserConfirmed)
			}
			continue
		}
		if d.Classification != engram.ClassSpam || d.Status != engram.StatusClassified || d.UserConfirmed {
			t.Fatalf("document %s = %s/%s, want the classifier's spam/classified", id, d.Classification, d.Status)
		}
	}
}

// classifyResult decodes a classify job's result.
func classifyResult(t *testing.T, j engram.Job) engram.ClassifyJobResult {
	t.Helper()
	var r engram.ClassifyJobResult
	if err := json.Unmarshal(j.Result, &r); err != nil {
		t.Fatalf("job result %s: %v", j.Result, err)
	}
	return r
}

// verdicts returns a classifier that gives every document class c.
func verdicts(c engram.Classification) engram.ClassifyFunc {
	return func(_ context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		out := make([]engram.ClassifyResult, len(docs))
		for i := range out {
			out[i] = engram.ClassifyResult{Classification: c, Confidence: 0.7, Reason: "fixed"}
		}
		return out, nil
	}
}

// classifierFunc is an engram.Classifier that ignores the settings.
type classifierFunc engram.ClassifyFunc

func (f classifierFunc) Classify(ctx context.Context, _ json.RawMessage, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	return f(ctx, docs)
}
