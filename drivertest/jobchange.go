package drivertest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// The cases of the statements that move a job through its statuses, and
// of the locks that make two executions or two requests take turns.

// change runs one of the job-changing statements in a transaction,
// asserts it sent one statement, and returns what it returned.
func (f fixture) change(t *testing.T, what string, fn func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error)) (engram.JobRecord, bool) {
	t.Helper()
	var j engram.JobRecord
	var ok bool
	count(t, what, 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			j, ok, err = fn(ctx, tx)
			return err
		})
	})
	return j, ok
}

func testJobCancelStart(t *testing.T, f fixture) {
	missing := engram.NewID()
	cancel := func(id string, at time.Time) (engram.JobRecord, bool) {
		return f.change(t, "JobCancel", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobCancel(ctx, f.tenant, id, at, clock(0))
		})
	}
	start := func(id string, at time.Time) (engram.JobRecord, bool) {
		return f.change(t, "JobStart", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobStart(ctx, f.tenant, id, at)
		})
	}
	cancelled := func(id string, at time.Time) (engram.JobRecord, bool) {
		return f.change(t, "JobCancelled", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobCancelled(ctx, f.tenant, id, at)
		})
	}

	// A queued job is cancelled at once.
	q := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	if j, ok := cancel(q.ID, clock(1)); !ok || j.Status != engram.JobCancelled || !sameTime(j.FinishedAt, clock(1)) || !sameTime(j.CancelRequestedAt, clock(1)) {
		t.Errorf("cancel of a queued job = %+v, %v; want cancelled at %v", j, ok, clock(1))
	}
	if got := f.getJob(t, q.ID); got.Status != engram.JobCancelled {
		t.Errorf("cancelled job reads back as %s", got.Status)
	}
	for what, ok := range map[string]bool{"cancel": second(cancel(q.ID, clock(2))), "start": second(start(q.ID, clock(2))),
		"cancel of a missing job": second(cancel(missing, clock(2))), "start of a missing job": second(start(missing, clock(2))),
		"cancelled of a missing job": second(cancelled(missing, clock(2)))} {
		if ok {
			t.Errorf("%s of a final or missing job matched a row", what)
		}
	}

	// A running job keeps its first start, and a cancel only notes the
	// request; JobCancelled ends it.
	r := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	if j, ok := start(r.ID, clock(1)); !ok || j.Status != engram.JobRunning || !sameTime(j.StartedAt, clock(1)) {
		t.Errorf("start = %+v, %v; want running from %v", j, ok, clock(1))
	}
	if j, ok := start(r.ID, clock(2)); !ok || !sameTime(j.StartedAt, clock(1)) {
		t.Errorf("second start = %+v, %v; want the start kept at %v", j, ok, clock(1))
	}
	if j, ok := cancel(r.ID, clock(3)); !ok || j.Status != engram.JobRunning || j.FinishedAt != nil || !sameTime(j.CancelRequestedAt, clock(3)) {
		t.Errorf("cancel of a running job = %+v, %v; want running with a request at %v", j, ok, clock(3))
	}
	if j, ok := cancel(r.ID, clock(4)); !ok || !sameTime(j.CancelRequestedAt, clock(3)) {
		t.Errorf("second cancel = %+v, %v; want the first request kept", j, ok)
	}
	if j, ok := cancelled(r.ID, clock(5)); !ok || j.Status != engram.JobCancelled || !sameTime(j.FinishedAt, clock(5)) {
		t.Errorf("cancelled = %+v, %v; want cancelled at %v", j, ok, clock(5))
	}
	if got := f.getJob(t, r.ID); got.Status != engram.JobCancelled || !sameTime(got.StartedAt, clock(1)) || !sameTime(got.FinishedAt, clock(5)) {
		t.Errorf("job reads back as %+v", got)
	}
}

// second returns its second argument.
func second[A, B any](_ A, b B) B { return b }

func testJobFinish(t *testing.T, f fixture) {
	missing := engram.NewID()
	progress := func(id string, p engram.JobProgress, result string) (engram.JobRecord, bool) {
		return f.change(t, "JobRecordProgress", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobRecordProgress(ctx, f.tenant, id, p, json.RawMessage(result), "", clock(1))
		})
	}
	finish := func(id string, s engram.JobStatus, result string, msg *string) (engram.JobRecord, bool) {
		return f.change(t, "JobFinish", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobFinish(ctx, f.tenant, id, s, json.RawMessage(result), msg, clock(2))
		})
	}
	j := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	if got, ok := progress(j.ID, engram.JobProgress{Done: 2, Total: 5}, `{"seen":2}`); !ok ||
		got.Progress != (engram.JobProgress{Done: 2, Total: 5}) || !sameJSON(got.Result, []byte(`{"seen":2}`)) {
		t.Errorf("progress = %+v, %v", got, ok)
	}
	// An empty result keeps the one recorded.
	if got, ok := progress(j.ID, engram.JobProgress{Done: 3, Total: 5}, ""); !ok ||
		got.Progress.Done != 3 || !sameJSON(got.Result, []byte(`{"seen":2}`)) {
		t.Errorf("progress without a result = %+v, %v", got, ok)
	}
	if _, ok := progress(missing, engram.JobProgress{}, ""); ok {
		t.Error("progress of a missing job matched a row")
	}

	msg := "source unreachable"
	if got, ok := finish(j.ID, engram.JobFailed, "", &msg); !ok || got.Status != engram.JobFailed ||
		got.Error == nil || *got.Error != msg || !sameTime(got.FinishedAt, clock(2)) || !sameJSON(got.Result, []byte(`{"seen":2}`)) {
		t.Errorf("finish = %+v, %v; want failed with %q and the result kept", got, ok, msg)
	}
	if _, ok := finish(j.ID, engram.JobSucceeded, `{}`, nil); ok {
		t.Error("finish of a final job matched a row")
	}
	if got := f.getJob(t, j.ID); got.Status != engram.JobFailed {
		t.Errorf("finished job reads back as %s", got.Status)
	}
	if _, ok := finish(missing, engram.JobSucceeded, "", nil); ok {
		t.Error("finish of a missing job matched a row")
	}
	k := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: f.connector(t, f.tenant, "feed", 0)}, clock(0))
	if got, ok := finish(k.ID, engram.JobSucceeded, `{"created":4}`, nil); !ok || got.Status != engram.JobSucceeded ||
		got.Error != nil || !sameJSON(got.Result, []byte(`{"created":4}`)) {
		t.Errorf("finish with a result = %+v, %v", got, ok)
	}

	// JobFail ends an unfinished job and leaves a final one as it is.
	fail := func(id string) {
		count(t, "JobFail", 1, func(ctx context.Context) error {
			return f.d.Writer().JobFail(ctx, f.tenant, id, "worker lost", clock(3))
		})
	}
	r := f.started(t, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	fail(r.ID)
	if got := f.getJob(t, r.ID); got.Status != engram.JobFailed || got.Error == nil || *got.Error != "worker lost" || !sameTime(got.FinishedAt, clock(3)) {
		t.Errorf("failed job = %+v", got)
	}
	fail(k.ID)
	fail(missing)
	if got := f.getJob(t, k.ID); got.Status != engram.JobSucceeded || got.Error != nil {
		t.Errorf("JobFail changed a final job: %+v", got)
	}
}

func testJobAdvance(t *testing.T, f fixture) {
	advance := func(id, after string, a engram.JobAdvance, at time.Time) (engram.JobRecord, bool) {
		return f.change(t, "JobAdvance", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobAdvance(ctx, f.tenant, id, after, a, at)
		})
	}
	j := f.started(t, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	x, y := engram.NewID(), engram.NewID()
	got, ok := advance(j.ID, "", engram.JobAdvance{Handled: 2, Cursor: x, Result: json.RawMessage(`{"deleted":2}`)}, clock(1))
	if !ok || got.Status != engram.JobRunning || got.Progress.Done != 2 || got.Cursor != x || got.FinishedAt != nil ||
		!sameJSON(got.Result, []byte(`{"deleted":2}`)) {
		t.Errorf("first advance = %+v, %v; want running, 2 done, cursor %s", got, ok, x)
	}
	// Another execution that read the job before the first batch.
	if _, ok := advance(j.ID, "", engram.JobAdvance{Handled: 2, Cursor: y, Result: json.RawMessage(`{}`)}, clock(2)); ok {
		t.Error("an advance from a moved cursor matched the job")
	}
	// The last batch handled nothing: the cursor stays.
	got, ok = advance(j.ID, x, engram.JobAdvance{Result: json.RawMessage(`{"deleted":2}`), Finished: true}, clock(3))
	if !ok || got.Status != engram.JobSucceeded || got.Progress.Done != 2 || got.Cursor != x || !sameTime(got.FinishedAt, clock(3)) {
		t.Errorf("last advance = %+v, %v; want succeeded at %v with the cursor kept", got, ok, clock(3))
	}
	if back := f.getJob(t, j.ID); back.Status != engram.JobSucceeded || back.Cursor != x || back.Progress.Done != 2 {
		t.Errorf("advanced job reads back as %+v", back)
	}
	queued := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	for what, id := range map[string]string{"finished": j.ID, "queued": queued.ID, "missing": engram.NewID()} {
		if _, ok := advance(id, x, engram.JobAdvance{Handled: 1, Cursor: y, Result: json.RawMessage(`{}`)}, clock(4)); ok {
			t.Errorf("an advance of a %s job matched it", what)
		}
	}
}

func testJobLock(t *testing.T, f fixture) {
	j := f.started(t, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	x, y := engram.NewID(), engram.NewID()
	// Two executions of one job: the second locks it while the first holds
	// it, so it reads the cursor the first committed and advances from it.
	var seen string
	var advanced bool
	f.secondWaits(t,
		func(ctx context.Context, tx engram.Tx) error { _, err := tx.JobLock(ctx, f.tenant, j.ID); return err },
		func(ctx context.Context, tx engram.Tx) error {
			r, err := tx.JobLock(ctx, f.tenant, j.ID)
			if err != nil {
				return err
			}
			seen = r.Cursor
			_, advanced, err = tx.JobAdvance(ctx, f.tenant, j.ID, r.Cursor, engram.JobAdvance{Handled: 1, Cursor: y, Result: json.RawMessage(`{}`)}, clock(2))
			return err
		},
		func(ctx context.Context, tx engram.Tx) error {
			_, ok, err := tx.JobAdvance(ctx, f.tenant, j.ID, "", engram.JobAdvance{Handled: 1, Cursor: x, Result: json.RawMessage(`{}`)}, clock(1))
			if err == nil && !ok {
				t.Error("the first execution could not advance the job it locked")
			}
			return err
		})
	if seen != x || !advanced {
		t.Errorf("the second execution read cursor %q and advanced: %v; want %s, true (it did not wait for the lock)", seen, advanced, x)
	}
	if got := f.getJob(t, j.ID); got.Cursor != y || got.Progress.Done != 2 {
		t.Errorf("job after two executions = %+v, want cursor %s and 2 done", got, y)
	}
}

func testJobsLockAnalyses(t *testing.T, f fixture) {
	count(t, "JobsLockAnalyses", ifLocks(f.caps), func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) error { return tx.JobsLockAnalyses(ctx, f.tenant) })
	})
	// Two analysis requests: the second checks for a running analysis
	// only once the first committed its own.
	var recorded engram.JobRecord
	var seen string
	f.secondWaits(t,
		func(ctx context.Context, tx engram.Tx) error { return tx.JobsLockAnalyses(ctx, f.tenant) },
		func(ctx context.Context, tx engram.Tx) error {
			if err := tx.JobsLockAnalyses(ctx, f.tenant); err != nil {
				return err
			}
			var err error
			seen, err = tx.JobActiveID(ctx, f.tenant, engram.JobAnalyzeGaps, "")
			return err
		},
		func(ctx context.Context, tx engram.Tx) error {
			var err error
			recorded, _, err = tx.JobInsert(ctx, f.tenant, engram.NewJobRow{ID: engram.NewID(), Kind: engram.JobAnalyzeGaps,
				Params: engram.JobParams{BatchSize: 10, Bound: engram.NilID}}, clock(0))
			return err
		})
	if seen != recorded.ID {
		t.Errorf("the second request saw analysis %q, want %s: it did not wait for the lock", seen, recorded.ID)
	}
}
