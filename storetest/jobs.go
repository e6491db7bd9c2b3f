package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/engram-kb/engram"
)

// maxBatchStatements is the most statements one batch of a job may take.
const maxBatchStatements = 4

// jobFixture is a fixture whose store has the job engine attached.
func jobFixture(t *testing.T, h Harness) fixture {
	t.Helper()
	f := newFixture(t, h)
	if h.AttachJobs == nil {
		t.Skip("the harness attaches no job engine")
	}
	h.AttachJobs(t, f.s)
	return f
}

// connectorDocs creates n documents of which every third comes from a
// connector (with an external id), and returns their ids and how many came
// from the connector.
func connectorDocs(t *testing.T, f fixture, tenantID string, n int) ([]string, int) {
	t.Helper()
	conn := f.in.InsertConnector(t, tenantID)
	docs := make([]engram.NewDocument, n)
	fromConnector := 0
	for i := range docs {
		docs[i] = engram.NewDocument{Title: fmt.Sprintf("doc %d", i), Content: "some text to chunk"}
		if i%3 == 0 {
			ext := fmt.Sprintf("ext-%d", i)
			docs[i].ConnectorID, docs[i].ExternalID = &conn, &ext
			fromConnector++
		}
	}
	p := mustPrepare(t, docs)
	if err := f.s.CreateDocuments(context.Background(), tenantID, p); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range p {
		ids[i] = p[i].ID
	}
	return ids, fromConnector
}

// runBatches runs a started job's batches until it is final, checking
// that every batch that handled documents took the same number of
// statements, at most maxBatchStatements, and that progress grows by the
// batch size. It returns the final job and the statements per batch.
func runBatches(t *testing.T, f fixture, id string, classifier engram.Classifier) (engram.Job, int) {
	t.Helper()
	j, err := f.s.StartJob(context.Background(), f.tenant.ID, id)
	if err != nil || j.Status != engram.JobRunning || j.StartedAt == nil {
		t.Fatalf("start job = %+v, %v", j, err)
	}
	perBatch := -1
	for i := 0; !j.Status.Final(); i++ {
		if i > 1000 {
			t.Fatal("job does not finish")
		}
		before := j.Progress.Done
		ctx, st := counted()
		j, err = f.s.RunJobBatch(ctx, f.tenant.ID, id, classifier)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if j.Progress.Done == before {
			continue // the empty last batch of a job whose size divides its total
		}
		if perBatch == -1 {
			perBatch = st.Count()
		}
		if st.Count() != perBatch || st.Count() > maxBatchStatements {
			t.Fatalf("batch %d took %d statements; earlier batches %d, most allowed %d", i, st.Count(), perBatch, maxBatchStatements)
		}
	}
	return j, perBatch
}

func testJobs(t *testing.T, h Harness) {
	t.Run("DeleteAllHard", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		ids, fromConnector := connectorDocs(t, f, f.tenant.ID, 25)
		otherIDs, _ := connectorDocs(t, f, other.ID, 7)
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, ids[1:2], false); err != nil {
			t.Fatal(err)
		}

		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != engram.JobQueued || j.Kind != engram.JobDeleteAll || j.Progress != (engram.JobProgress{Done: 0, Total: 25}) {
			t.Fatalf("enqueued job = %+v", j)
		}
		// Documents created after the request are not targets.
		later := createDocs(t, f.s, f.tenant.ID, 3, "later", "text")
		_, err = f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll})
		var e *engram.Error
		if engram.ErrorCode(err) != engram.EConflict || !asError(err, &e) || e.Details["job_id"] != j.ID {
			t.Fatalf("second delete-all = %v, want conflict naming %s", err, j.ID)
		}
		// The other tenant is not blocked by this one's job.
		if _, err := f.s.EnqueueJob(ctx, other.ID, "", engram.JobRequest{Kind: engram.JobDeleteAll, BatchSize: 1000}); err != nil {
			t.Fatalf("other tenant's delete-all: %v", err)
		}

		done, perBatch := runBatches(t, f, j.ID, nil)
		t.Logf("hard delete-all: %d statements per batch", perBatch)
		var res engram.DeleteAllResult
		if err := json.Unmarshal(done.Result, &res); err != nil {
			t.Fatal(err)
		}
		if done.Status != engram.JobSucceeded || done.Progress.Done != 25 || done.FinishedAt == nil ||
			res != (engram.DeleteAllResult{Hard: true, Deleted: 25, Tombstoned: fromConnector}) {
			t.Fatalf("finished job = %+v, result %s", done, done.Result)
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 3 {
			t.Fatalf("documents left = %d, want the 3 created later", got)
		}
		for _, id := range later {
			get(t, f, id)
		}
		if got := f.in.TombstoneRows(t, f.tenant.ID); got != fromConnector {
			t.Fatalf("tombstones = %d, want %d", got, fromConnector)
		}
		for _, id := range ids {
			if n := f.in.ChunkRows(t, f.tenant.ID, id); n != 0 {
				t.Fatalf("document %s left %d chunks", id, n)
			}
		}
		if got := f.in.DocumentRows(t, other.ID); got != len(otherIDs) {
			t.Fatalf("other tenant's documents = %d, want %d", got, len(otherIDs))
		}
		if got := f.in.TombstoneRows(t, other.ID); got != 0 {
			t.Fatalf("other tenant's tombstones = %d", got)
		}
		// The slot is free again.
		if _, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll}); err != nil {
			t.Fatalf("delete-all after the first finished: %v", err)
		}
	})

	t.Run("DeleteAllSoftAndCancel", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		ids := createDocs(t, f.s, f.tenant.ID, 20, "soft", "text")
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, BatchSize: 5})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		ctx1, st := counted()
		j, err = f.s.RunJobBatch(ctx1, f.tenant.ID, j.ID, nil)
		if err != nil || j.Status != engram.JobRunning || j.Progress.Done != 5 {
			t.Fatalf("first batch = %+v, %v", j, err)
		}
		t.Logf("soft delete-all: %d statements per batch", st.Count())
		if st.Count() > maxBatchStatements {
			t.Fatalf("soft batch took %d statements", st.Count())
		}
		if d, err := f.s.GetDocument(ctx, f.tenant.ID, ids[0], true); err != nil || !d.IsDeleted {
			t.Fatalf("first target after a soft batch = %+v, %v", d, err)
		}
		c, err := f.s.CancelJob(ctx, f.tenant.ID, j.ID)
		if err != nil || c.Status != engram.JobRunning || c.CancelRequestedAt == nil {
			t.Fatalf("cancel of a running job = %+v, %v", c, err)
		}
		j, err = f.s.RunJobBatch(ctx, f.tenant.ID, j.ID, nil)
		if err != nil || j.Status != engram.JobCancelled || j.Progress.Done != 5 || j.FinishedAt == nil {
			t.Fatalf("batch after cancel = %+v, %v", j, err)
		}
		var res engram.DeleteAllResult
		if json.Unmarshal(j.Result, &res) != nil || res.Deleted != 5 {
			t.Fatalf("cancelled job's result = %s", j.Result)
		}
		st2, err := f.s.DocumentStats(ctx, f.tenant.ID)
		if err != nil || st2.Deleted != 5 || st2.Total != 15 {
			t.Fatalf("stats after a cancelled soft delete-all = %+v, %v", st2, err)
		}
		// Cancelling a finished job changes nothing; a queued one is
		// cancelled at once and never runs.
		if again, err := f.s.CancelJob(ctx, f.tenant.ID, j.ID); err != nil || again.Status != engram.JobCancelled {
			t.Fatalf("cancel again = %+v, %v", again, err)
		}
		q, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll})
		if err != nil {
			t.Fatal(err)
		}
		if q, err = f.s.CancelJob(ctx, f.tenant.ID, q.ID); err != nil || q.Status != engram.JobCancelled {
			t.Fatalf("cancel of a queued job = %+v, %v", q, err)
		}
		if q, err = f.s.StartJob(ctx, f.tenant.ID, q.ID); err != nil || q.Status != engram.JobCancelled || q.StartedAt != nil {
			t.Fatalf("start of a cancelled job = %+v, %v", q, err)
		}
		if st2, _ := f.s.DocumentStats(ctx, f.tenant.ID); st2.Total != 15 {
			t.Fatalf("a cancelled queued job deleted documents: %+v", st2)
		}
	})

	t.Run("ConcurrentExecutions", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		_, fromConnector := connectorDocs(t, f, f.tenant.ID, 60)
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll, Hard: true, BatchSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, j.ID); err != nil {
			t.Fatal(err)
		}
		// Two executions of one job, as after River rescues a job whose
		// worker still lives: they take turns and do each batch once.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					cur, err := f.s.RunJobBatch(ctx, f.tenant.ID, j.ID, nil)
					if err != nil || cur.Status.Final() {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent executions: %v, %v", errs[0], errs[1])
		}
		done, err := f.s.GetJob(ctx, f.tenant.ID, j.ID)
		var res engram.DeleteAllResult
		if err != nil || json.Unmarshal(done.Result, &res) != nil || done.Status != engram.JobSucceeded ||
			done.Progress.Done != 60 || res.Deleted != 60 || res.Tombstoned != fromConnector {
			t.Fatalf("job after two executions = %+v (%s), %v", done, done.Result, err)
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 0 {
			t.Fatalf("documents left = %d", got)
		}
	})

	t.Run("ClassifyPending", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		ids := createDocs(t, f.s, f.tenant.ID, 12, "pending", "text")
		work := engram.ClassWork
		if _, err := f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, ids[:2], &work); err != nil {
			t.Fatal(err)
		}
		th := 0.8
		j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobClassifyPending, BatchSize: 4,
			AutoConfirmThreshold: &th, Settings: json.RawMessage(`{"domains":["acme.com"]}`)})
		if err != nil || j.Progress.Total != 10 {
			t.Fatalf("enqueue classify = %+v, %v", j, err)
		}
		c := &settingsClassifier{}
		done, perBatch := runBatches(t, f, j.ID, c)
		t.Logf("classify: %d statements per batch", perBatch)
		var res engram.ClassifyJobResult
		if err := json.Unmarshal(done.Result, &res); err != nil {
			t.Fatal(err)
		}
		if done.Status != engram.JobSucceeded || done.Progress.Done != 10 || res.Classified != 10 ||
			res.ByClass[engram.ClassSpam] != 10 || res.AutoConfirmed != 10 {
			t.Fatalf("classify job = %+v, result %s", done, done.Result)
		}
		if d := get(t, f, ids[11]); d.Classification != engram.ClassSpam || d.Status != engram.StatusConfirmed || d.UserConfirmed {
			t.Fatalf("classified document = %+v", d)
		}
		if d := get(t, f, ids[0]); d.Classification != engram.ClassWork {
			t.Fatalf("a confirmed document was reclassified: %+v", d)
		}
		if c.settings != `{"domains":["acme.com"]}` {
			t.Fatalf("classifier saw settings %q", c.settings)
		}
	})

	t.Run("ListAndIsolation", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		var made []string
		for range 5 {
			j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobClassifyPending})
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, j.ID)
		}
		del, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, engram.JobRequest{Kind: engram.JobDeleteAll})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, del.ID)
		if _, err := f.s.GetJob(ctx, other.ID, del.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("other tenant reads the job: %v", err)
		}
		if _, err := f.s.CancelJob(ctx, other.ID, del.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("other tenant cancels the job: %v", err)
		}
		if p, err := f.s.ListJobs(ctx, other.ID, engram.JobFilter{Limit: 50}); err != nil || len(p.Jobs) != 0 {
			t.Fatalf("other tenant's list = %+v, %v", p, err)
		}
		// Newest first, two at a time.
		var seen []string
		var cur *engram.JobCursor
		for {
			ctx1, st := counted()
			p, err := f.s.ListJobs(ctx1, f.tenant.ID, engram.JobFilter{Limit: 2, Cursor: cur})
			if err != nil || st.Count() != 1 {
				t.Fatalf("list: %v (%d statements)", err, st.Count())
			}
			for _, j := range p.Jobs {
				seen = append(seen, j.ID)
			}
			if !p.HasMore {
				break
			}
			if cur, err = engram.DecodeJobCursor(p.NextCursor); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != len(made) {
			t.Fatalf("listed %d jobs, made %d", len(seen), len(made))
		}
		for i := range made {
			if seen[i] != made[len(made)-1-i] {
				t.Fatalf("list order %v, want newest first of %v", seen, made)
			}
		}
		kind, status := engram.JobDeleteAll, engram.JobQueued
		p, err := f.s.ListJobs(ctx, f.tenant.ID, engram.JobFilter{Limit: 50, Kind: &kind, Status: &status})
		if err != nil || len(p.Jobs) != 1 || p.Jobs[0].ID != del.ID {
			t.Fatalf("filtered list = %+v, %v", p, err)
		}
	})
}

// settingsClassifier calls everything spam with confidence 0.9 and keeps
// the settings it saw.
type settingsClassifier struct {
	mu       sync.Mutex
	settings string
}

func (c *settingsClassifier) Classify(_ context.Context, settings json.RawMessage, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	c.mu.Lock()
	var b bytes.Buffer
	_ = json.Compact(&b, settings)
	c.settings = b.String()
	c.mu.Unlock()
	out := make([]engram.ClassifyResult, len(docs))
	for i := range docs {
		out[i] = engram.ClassifyResult{Classification: engram.ClassSpam, Confidence: 0.9, Reason: "fixed"}
	}
	return out, nil
}

func asError(err error, target **engram.Error) bool {
	e, ok := err.(*engram.Error)
	if ok {
		*target = e
	}
	return ok
}
