package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/engram-kb/engram"
)

// testSyncJobs covers the jobs that name a connector: a delete scoped to
// one connector, and the sync job's row (one per connector at a time, its
// progress, and its outcome written on the connector).
func testSyncJobs(t *testing.T, h Harness) {
	t.Run("ConnectorDelete", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		aIDs, fromA := connectorDocs(t, f, f.tenant.ID, 12) // 4 from connector A, 8 manual
		_, fromB := connectorDocs(t, f, f.tenant.ID, 9)     // 3 from connector B, 6 manual
		// The connector of aIDs[0] (every third document comes from it).
		d, err := f.s.GetDocument(ctx, f.tenant.ID, aIDs[0], false)
		if err != nil || d.ConnectorID == nil {
			t.Fatalf("document = %+v, %v", d, err)
		}
		a := *d.ConnectorID
		before := f.in.DocumentRows(t, f.tenant.ID)
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: a, BatchSize: 2})
		if err != nil || j.Progress.Total != fromA {
			t.Fatalf("enqueue = %+v, %v", j, err)
		}
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, ConnectorID: a}); engram.ErrorCode(err) != engram.EInvalid {
			t.Fatalf("soft connector delete: %v, want invalid_argument", err)
		}
		j, _ = runBatches(t, f, j.ID, nil)
		var res engram.DeleteAllResult
		if j.Status != engram.JobSucceeded || json.Unmarshal(j.Result, &res) != nil || res.Deleted != fromA || res.Tombstoned != fromA {
			t.Fatalf("job = %+v %s", j, j.Result)
		}
		if n := f.in.DocumentRows(t, f.tenant.ID); n != before-fromA {
			t.Fatalf("documents = %d, want %d (B's %d and the manual ones stay)", n, before-fromA, fromB)
		}
		if n := f.in.TombstoneRows(t, f.tenant.ID); n != fromA {
			t.Fatalf("tombstones = %d, want %d", n, fromA)
		}
	})
	t.Run("Sync", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		conn := f.in.InsertConnector(t, f.tenant.ID)
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync}); engram.ErrorCode(err) != engram.EInvalid {
			t.Fatalf("sync without connector: %v", err)
		}
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: engram.NewID()}); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("sync of a missing connector: %v", err)
		}
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn, Full: true})
		if err != nil || j.Kind != engram.JobSync || j.ConnectorID == nil || *j.ConnectorID != conn || !j.Params.Full {
			t.Fatalf("enqueue = %+v, %v", j, err)
		}
		_, err = f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn})
		var e *engram.Error
		if !asError(err, &e) || e.Code != engram.EConflict || e.Details["job_id"] != j.ID {
			t.Fatalf("second sync: %v", err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		p, err := f.s.RecordJobProgress(ctx, f.tenant.ID, j.ID, engram.JobProgress{Done: 3}, json.RawMessage(`{"created":3}`))
		if err != nil || p.Progress.Done != 3 || p.Status != engram.JobRunning {
			t.Fatalf("progress = %+v, %v", p, err)
		}
		msg := "the folder is gone"
		fin, err := f.s.FinishJob(ctx, f.tenant.ID, j.ID, engram.JobFailed, nil, &msg)
		if err != nil || fin.Status != engram.JobFailed || fin.FinishedAt == nil || string(fin.Result) == "" {
			t.Fatalf("finish = %+v, %v", fin, err)
		}
		c, err := f.s.GetConnector(ctx, f.tenant.ID, conn)
		if err != nil || c.LastSyncAt == nil || c.LastSyncStatus == nil || *c.LastSyncStatus != "failed" || c.LastSyncError == nil || *c.LastSyncError != msg {
			t.Fatalf("connector = %+v, %v", c, err)
		}
		latest, err := f.s.LatestConnectorJob(ctx, f.tenant.ID, conn, engram.JobSync)
		if err != nil || latest == nil || latest.ID != j.ID {
			t.Fatalf("latest = %+v, %v", latest, err)
		}
		// Finished, the connector takes a new sync; another tenant sees none.
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn}); err != nil {
			t.Fatal(err)
		}
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		if l, err := f.s.LatestConnectorJob(ctx, other.ID, conn, engram.JobSync); err != nil || l != nil {
			t.Fatalf("other tenant's latest = %+v, %v", l, err)
		}
		if _, err := f.s.EnqueueJob(ctx, other.ID, "", engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn}); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("other tenant's sync: %v", err)
		}
	})
	t.Run("SyncProgressCommitsWithBatch", func(t *testing.T) {
		// A sync job's progress is written in its batch's transaction: one
		// more statement, and a batch that fails records none.
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		conn := f.in.InsertConnector(t, f.tenant.ID)
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobSync, ConnectorID: conn})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		done := 0
		job := &engram.SyncJobProgress{JobID: j.ID, Record: func(c engram.SyncCounts) (engram.JobProgress, json.RawMessage) {
			n := done + c.Created + c.Updated + c.Unchanged + c.SkippedDeleted + c.SkippedTombstoned
			return engram.JobProgress{Done: n}, json.RawMessage(fmt.Sprintf(`{"created":%d}`, c.Created))
		}}
		cctx, st := counted()
		got, err := f.s.SyncBatch(cctx, f.tenant.ID, conn, syncItems(t, conn, "p", 4, "1"), engram.SyncOptions{Job: job})
		if err != nil || got.Created != 4 {
			t.Fatalf("sync = %+v, %v", got, err)
		}
		// Lock, read, the new documents, their chunks, the connector's
		// total, the job's progress.
		if st.Count() != 6 {
			t.Fatalf("a new-only batch with its job's progress sent %d statements, want 6", st.Count())
		}
		after, err := f.s.GetJob(ctx, f.tenant.ID, j.ID)
		var res engram.SyncCounts
		if err != nil || after.Progress.Done != 4 || json.Unmarshal(after.Result, &res) != nil || res.Created != 4 {
			t.Fatalf("job after the batch = %+v %s, %v", after, after.Result, err)
		}
		// Disconnected, the batch fails and the progress stays as it was.
		done = 4
		st2 := engram.ConnectorDisconnected
		if _, err := f.s.UpdateConnector(ctx, f.tenant.ID, f.key.ID, conn, engram.ConnectorPatch{Status: &st2}); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.SyncBatch(ctx, f.tenant.ID, conn, syncItems(t, conn, "q", 3, "1"), engram.SyncOptions{Job: job})
		wantCode(t, err, engram.EConflict)
		if again, err := f.s.GetJob(ctx, f.tenant.ID, j.ID); err != nil || again.Progress.Done != 4 {
			t.Fatalf("job after a failed batch = %+v, %v; want its progress unchanged", again, err)
		}
	})
	t.Run("ConnectorDeleteIsOneTransaction", func(t *testing.T) {
		// A connector's delete disconnects it in the job's transaction:
		// refused while a delete-all runs, it leaves the connector active.
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		conn := f.in.InsertConnector(t, f.tenant.ID)
		all, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll})
		if err != nil {
			t.Fatal(err)
		}
		req := engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: conn}
		_, err = f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, req)
		wantCode(t, err, engram.EConflict)
		if c, err := f.s.GetConnector(ctx, f.tenant.ID, conn); err != nil || c.Status != engram.ConnectorActive {
			t.Fatalf("connector after the refused delete = %+v, %v; want it still active", c, err)
		}
		if n, _ := f.in.AuditRows(t, f.tenant.ID, "connectors.disconnect"); n != 0 {
			t.Fatalf("%d disconnect audit rows for a refused delete", n)
		}
		if _, err := f.s.CancelJob(ctx, f.tenant.ID, all.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: engram.NewID()})
		wantCode(t, err, engram.ENotFound)
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, req); err != nil {
			t.Fatal(err)
		}
		if c, err := f.s.GetConnector(ctx, f.tenant.ID, conn); err != nil || c.Status != engram.ConnectorDisconnected {
			t.Fatalf("connector after its delete = %+v, %v", c, err)
		}
		if n, _ := f.in.AuditRows(t, f.tenant.ID, "connectors.disconnect"); n != 1 {
			t.Fatalf("%d disconnect audit rows, want 1", n)
		}
	})
	t.Run("OneAnalysis", func(t *testing.T) {
		// A tenant runs one gap analysis at a time: of requests racing,
		// one wins and the others get its id; another tenant is not held up.
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		req := engram.JobRequest{Kind: engram.JobAnalyzeGaps}
		const n = 8
		var wg sync.WaitGroup
		jobs := make([]engram.Job, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				jobs[i], errs[i] = f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, req)
			}()
		}
		wg.Wait()
		var winner string
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("two analyses queued at once: %s and %s", winner, jobs[i].ID)
				}
				winner = jobs[i].ID
			}
		}
		if winner == "" {
			t.Fatalf("no analysis was queued: %v", errs)
		}
		for _, err := range errs {
			var e *engram.Error
			if err != nil && (!asError(err, &e) || e.Code != engram.EConflict || e.Details["job_id"] != winner) {
				t.Fatalf("losing request: %v, want conflict naming %s", err, winner)
			}
		}
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.EnqueueJob(ctx, other.ID, "", req); err != nil {
			t.Fatalf("another tenant's analysis: %v", err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, winner); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.FinishJob(ctx, f.tenant.ID, winner, engram.JobSucceeded, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, req); err != nil {
			t.Fatalf("an analysis after the first finished: %v", err)
		}
	})
}
