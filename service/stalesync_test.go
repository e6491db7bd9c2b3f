package service_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/internal/testdb"
)

// TestSyncWhoseWorkerIsGone: a running sync whose worker stopped beating
// for engram.JobStaleAfter is cancelled at once when asked, and a new sync
// of its connector replaces it; one that beats recently is neither.
func TestSyncWhoseWorkerIsGone(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		testdb.AttachJobs(t, s)
		c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		st := withClock(s, c)
		tn, key, err := st.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := st.CreateConnector(ctx, tn.ID, key.ID, "push", "feed", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		counted := func(what string, want int, fn func(ctx context.Context) error) error {
			t.Helper()
			cctx, stats := engram.WithQueryStats(ctx)
			err := fn(cctx)
			if stats.Count() != want {
				t.Errorf("%s sent %d statements, want %d", what, stats.Count(), want)
			}
			return err
		}
		sync := func(what string, want int) (engram.Job, error) {
			var j engram.Job
			err := counted(what, want, func(ctx context.Context) (err error) {
				j, err = st.EnqueueJob(ctx, tn.ID, key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn.ID})
				return err
			})
			return j, err
		}
		cancel := func(id string) engram.Job {
			var j engram.Job
			if err := counted("cancel", 1, func(ctx context.Context) (err error) {
				j, err = st.CancelJob(ctx, tn.ID, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return j
		}

		first, err := sync("first sync", 3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.StartJob(ctx, tn.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		// Alive: refused (lock, insert, the stale check, the sync's name),
		// and a cancel only asks.
		c.add(20 * time.Second)
		if _, err := sync("sync while one runs", 4); engram.ErrorCode(err) != engram.EConflict {
			t.Fatalf("sync while one runs: %v", err)
		}
		if j := cancel(first.ID); j.Status != engram.JobRunning || j.CancelRequestedAt == nil {
			t.Fatalf("cancel of a live sync = %+v", j)
		}
		if err := counted("heartbeat", 1, func(ctx context.Context) error { return st.HeartbeatJob(ctx, tn.ID, first.ID) }); err != nil {
			t.Fatal(err)
		}
		c.add(engram.JobStaleAfter)
		if j := cancel(first.ID); j.Status != engram.JobRunning {
			t.Fatalf("cancel of a sync that beat %v ago = %+v", engram.JobStaleAfter, j)
		}
		// Gone: the cancel ends it at once.
		c.add(time.Second)
		if j := cancel(first.ID); j.Status != engram.JobCancelled || j.FinishedAt == nil {
			t.Fatalf("cancel of a sync whose worker is gone = %+v", j)
		}

		// A new sync replaces a running one whose worker is gone: lock,
		// insert, the stale sync failed, insert again, audit.
		second, err := sync("second sync", 3)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.StartJob(ctx, tn.ID, second.ID); err != nil {
			t.Fatal(err)
		}
		c.add(engram.JobStaleAfter + time.Second)
		third, err := sync("sync replacing one whose worker is gone", 5)
		if err != nil || third.Status != engram.JobQueued {
			t.Fatalf("sync replacing a stale one = %+v, %v", third, err)
		}
		old, err := st.GetJob(ctx, tn.ID, second.ID)
		if err != nil || old.Status != engram.JobFailed || old.Error == nil || old.FinishedAt == nil {
			t.Fatalf("replaced sync = %+v, %v", old, err)
		}
		// A queued sync is never stale, however old.
		c.add(time.Hour)
		if _, err := sync("sync while one is queued", 4); engram.ErrorCode(err) != engram.EConflict {
			t.Fatalf("sync while one is queued: %v", err)
		}
	})
}
