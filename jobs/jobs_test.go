package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
	"github.com/engram-kb/engram/jobs"
	"github.com/engram-kb/engram/storetest"
)

// TestRiverRunsJobs runs a delete-all and a classify job through River's
// workers on each engine, with a cancel in between.
func TestRiverRunsJobs(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		ctx := context.Background()
		r, err := jobs.New(s, testdb.Backend(s), jobs.Config{Workers: 2, Classifier: classify.New(), RescueAfter: 3 * time.Second, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		tn, key, err := s.CreateTenant(ctx, "Acme", "acme")
		if err != nil {
			t.Fatal(err)
		}
		docs := make([]engram.NewDocument, 250)
		for i := range docs {
			docs[i] = engram.NewDocument{Title: "Meeting notes", Content: "Action items for the release."}
		}
		p, err := engram.PrepareDocuments(docs)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDocuments(ctx, tn.ID, p); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := r.Stop(sctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		}()

		c, err := s.EnqueueJob(ctx, tn.ID, key.ID, engram.JobRequest{Kind: engram.JobClassifyPending, BatchSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		c = wait(t, s, tn.ID, c.ID)
		var cr engram.ClassifyJobResult
		if c.Status != engram.JobSucceeded || c.Progress != (engram.JobProgress{Done: 250, Total: 250}) ||
			json.Unmarshal(c.Result, &cr) != nil || cr.Classified != 250 {
			t.Fatalf("classify job = %+v %s", c, c.Result)
		}

		d, err := s.EnqueueJob(ctx, tn.ID, key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		d = wait(t, s, tn.ID, d.ID)
		var dr engram.DeleteAllResult
		if d.Status != engram.JobSucceeded || d.Progress.Done != 250 || json.Unmarshal(d.Result, &dr) != nil || dr.Deleted != 250 {
			t.Fatalf("delete-all job = %+v %s", d, d.Result)
		}
		st, err := s.DocumentStats(ctx, tn.ID)
		if err != nil || st.Total != 0 {
			t.Fatalf("stats after delete-all = %+v, %v", st, err)
		}
	})
}

func wait(t *testing.T, s engram.Store, tenantID, id string) engram.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		j, err := s.GetJob(context.Background(), tenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Final() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish within 60s", id)
	return engram.Job{}
}

// combined is a store whose migrations are engram's and River's.
type combined struct {
	engram.Store
	*jobs.Migrator
}

// TestMigrateDownUp rolls back River's migrations and engram's, one step
// at a time, and applies them again.
func TestMigrateDownUp(t *testing.T) {
	t.Parallel()
	testdb.ForEachEngine(t, func(t *testing.T, s testdb.Store) {
		m, err := jobs.NewMigrator(s, testdb.Backend(s))
		if err != nil {
			t.Fatal(err)
		}
		storetest.MigrateDownUp(t, combined{s, m})
		if pending, err := m.MigrationsPending(context.Background()); err != nil || pending {
			t.Fatalf("pending after up = %v, %v", pending, err)
		}
	})
}
