package jobs_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/postgres"
	"github.com/engram-kb/engram/sqlite"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// TestReapDiscarded gives up on a running sync in River (as River does
// after a last attempt whose worker died; here an operator's cancel in
// River): the scheduler's next pass marks the engram job failed, records it
// on the connector, and the connector takes a new sync again. Later passes
// change nothing.
func TestReapDiscarded(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		switch st := testdb.Driver(s).(type) {
		case *postgres.Store:
			testReap(t, s, riverpgxv5.New(st.Pool()))
		case *sqlite.Store:
			testReap(t, s, riversqlite.New(st.WriteDB()))
		default:
			t.Fatalf("no River driver for %T", s)
		}
	})
}

func testReap[TTx any](t *testing.T, s testdb.Store, driver riverdriver.Driver[TTx]) {
	ctx := context.Background()
	testdb.AttachJobs(t, s) // insert-only: attaches River to the store
	tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConnector(ctx, tn.ID, key.ID, "folder", "notes", json.RawMessage(`{}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.EnqueueJob(ctx, tn.ID, key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartJob(ctx, tn.ID, j.ID); err != nil { // a worker took it
		t.Fatal(err)
	}
	rc, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := rc.JobList(ctx, river.NewJobListParams().Kinds("engram.sync"))
	if err != nil || len(list.Jobs) != 1 {
		t.Fatalf("River's sync jobs = %+v, %v", list, err)
	}
	if _, err := rc.JobCancel(ctx, list.Jobs[0].ID); err != nil {
		t.Fatal(err)
	}

	var finished atomic.Int32
	testdb.RunJobs(t, s, jobs.Config{Workers: 1, Classifier: classify.New(), PollInterval: 50 * time.Millisecond,
		ScheduleEvery: 200 * time.Millisecond, Finished: func(k engram.JobKind, st engram.JobStatus) {
			if k == engram.JobSync && st == engram.JobFailed {
				finished.Add(1)
			}
		}})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got, err := s.GetJob(ctx, tn.ID, j.ID); err != nil || got.Status.Final() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, err := s.GetJob(ctx, tn.ID, j.ID)
	if err != nil || got.Status != engram.JobFailed || got.Error == nil || !strings.Contains(*got.Error, "gave up") {
		t.Fatalf("reaped job = %+v, %v", got, err)
	}
	conn, err := s.GetConnector(ctx, tn.ID, c.ID)
	if err != nil || conn.LastSyncStatus == nil || *conn.LastSyncStatus != "failed" {
		t.Fatalf("connector = %+v, %v", conn, err)
	}
	time.Sleep(time.Second) // more passes
	if n := finished.Load(); n != 1 {
		t.Fatalf("the failed sync was counted %d times, want 1", n)
	}
	if got, err := s.GetJob(ctx, tn.ID, j.ID); err != nil || got.Status != engram.JobFailed {
		t.Fatalf("job after more passes = %+v, %v", got, err)
	}
	// The connector is no longer blocked by a sync that will never end.
	if _, err := s.EnqueueJob(ctx, tn.ID, key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: c.ID}); err != nil {
		t.Fatalf("a new sync after the reaped one: %v", err)
	}
}
