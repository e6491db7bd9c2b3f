package drivertest

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
)

// The cases of a sync's heartbeat and cursor: the statements that note a
// worker is alive, record where a sync reads on from, and end a sync
// whose worker is gone.

func testJobHeartbeat(t *testing.T, f fixture) {
	ctx := context.Background()
	conn := f.connector(t, f.tenant, "feed", 0)
	beat := func(id string, i int) {
		count(t, "JobHeartbeat", 1, func(ctx context.Context) error {
			return f.d.Writer().JobHeartbeat(ctx, f.tenant, id, clock(i))
		})
	}
	cancel := func(id string, at, stale int) (engram.JobRecord, bool) {
		return f.change(t, "JobCancel", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobCancel(ctx, f.tenant, id, clock(at), clock(stale))
		})
	}
	endStale := func(stale, at int) bool {
		var ended bool
		count(t, "JobEndStaleSync", 1, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				ended, err = tx.JobEndStaleSync(ctx, f.tenant, conn, "worker gone", clock(stale), clock(at))
				return err
			})
		})
		return ended
	}

	// A sync started at 1 and beating at 5 is alive at a stale bound of
	// 5: a cancel only notes the request, and no new sync replaces it.
	s := f.started(t, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(1))
	beat(s.ID, 5)
	if endStale(5, 6) {
		t.Error("JobEndStaleSync ended a sync that beat at the bound")
	}
	if j, ok := cancel(s.ID, 6, 5); !ok || j.Status != engram.JobRunning || !sameTime(j.CancelRequestedAt, clock(6)) {
		t.Errorf("cancel of a live sync = %+v, %v; want running with a request", j, ok)
	}
	// Past its heartbeat, the cancel ends it at once.
	if j, ok := cancel(s.ID, 7, 6); !ok || j.Status != engram.JobCancelled || !sameTime(j.FinishedAt, clock(7)) ||
		!sameTime(j.CancelRequestedAt, clock(6)) {
		t.Errorf("cancel of a sync whose worker is gone = %+v, %v; want cancelled at %v", j, ok, clock(7))
	}
	// A heartbeat leaves a final job as it is.
	beat(s.ID, 8)
	if got := f.getJob(t, s.ID); got.Status != engram.JobCancelled || !sameTime(got.FinishedAt, clock(7)) {
		t.Errorf("heartbeat changed a cancelled job: %+v", got)
	}

	// Another kind's running job is never ended by a stale bound: only
	// syncs beat.
	c := f.started(t, engram.JobClassifyPending, engram.JobParams{}, clock(1))
	if j, ok := cancel(c.ID, 9, 8); !ok || j.Status != engram.JobRunning {
		t.Errorf("cancel of a running classify job = %+v, %v; want it running", j, ok)
	}

	// A progress write moves the cursor (kept when "") and beats.
	r := f.started(t, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(10))
	progress := func(cursor string, at int) engram.JobRecord {
		j, ok := f.change(t, "JobRecordProgress", func(ctx context.Context, tx engram.Tx) (engram.JobRecord, bool, error) {
			return tx.JobRecordProgress(ctx, f.tenant, r.ID, engram.JobProgress{Done: at}, nil, cursor, clock(at))
		})
		if !ok {
			t.Fatalf("progress of job %s matched no row", r.ID)
		}
		return j
	}
	if j := progress("0 cur/00100", 11); j.Cursor != "0 cur/00100" || j.Progress.Done != 11 {
		t.Errorf("progress with a cursor = %+v", j)
	}
	if j := progress("", 20); j.Cursor != "0 cur/00100" {
		t.Errorf("progress without a cursor moved it to %q", j.Cursor)
	}
	if got := f.getJob(t, r.ID); got.Cursor != "0 cur/00100" || got.Progress.Done != 20 {
		t.Errorf("job reads back as %+v", got)
	}
	// The progress at 20 was its heartbeat: alive at a bound of 20, gone
	// at 21, when a new sync's request fails it.
	if endStale(20, 21) {
		t.Error("JobEndStaleSync ended a sync whose progress beat at the bound")
	}
	if !endStale(21, 22) {
		t.Fatal("JobEndStaleSync did not end a sync whose worker is gone")
	}
	if got := f.getJob(t, r.ID); got.Status != engram.JobFailed || got.Error == nil || *got.Error != "worker gone" ||
		!sameTime(got.FinishedAt, clock(22)) {
		t.Errorf("stale sync reads back as %+v", got)
	}
	// The connector is free for a new sync; a queued one is never stale.
	q := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(23))
	if endStale(30, 31) {
		t.Error("JobEndStaleSync ended a queued sync")
	}
	if got, err := f.d.Reader().JobGet(ctx, f.tenant, q.ID); err != nil || got.Status != engram.JobQueued {
		t.Errorf("queued sync reads back as %+v, %v", got, err)
	}
}
