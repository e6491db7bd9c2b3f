package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testReview(t *testing.T, h Harness) {
	t.Run("LockAndReview", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		work := engram.ClassWork
		cases := []struct {
			ch    engram.ReviewChange
			check func(d engram.Document) error
		}{
			{engram.ReviewChange{Action: engram.ReviewSetClassification, Classification: &work}, func(d engram.Document) error {
				return expect(d.Classification == work && d.Status == engram.StatusConfirmed && d.UserConfirmed, d)
			}},
			{engram.ReviewChange{Action: engram.ReviewConfirm}, func(d engram.Document) error {
				return expect(d.Status == engram.StatusConfirmed && d.UserConfirmed, d)
			}},
			{engram.ReviewChange{Action: engram.ReviewReject, Reason: "noise"}, func(d engram.Document) error {
				return expect(d.Status == engram.StatusRejected && d.RejectionReason == "noise", d)
			}},
			{engram.ReviewChange{Action: engram.ReviewSoftDelete}, func(d engram.Document) error {
				return expect(d.IsDeleted, d)
			}},
			{engram.ReviewChange{Action: engram.ReviewRestore}, func(d engram.Document) error {
				return expect(!d.IsDeleted, d)
			}},
		}
		ids := f.docs(t, 3, "review", "text")
		missing := engram.NewID()
		for _, c := range cases {
			var changed map[string]bool
			locked := -1
			n := statements(t, func(ctx context.Context) error {
				return f.inTx(t, ctx, func(tx engram.Tx) error {
					docs, err := tx.DocumentsLock(ctx, f.tenant, append(slices.Clone(ids), missing))
					if err != nil {
						return err
					}
					locked = statementsSoFar(ctx)
					changed, err = tx.DocumentsReview(ctx, f.tenant, docs, c.ch, time.Now())
					return err
				})
			})
			wantStatements(t, "DocumentsLock", locked, ifLocks(f.caps))
			wantStatements(t, "DocumentsReview "+string(c.ch.Action), n-locked, 1)
			if len(changed) != len(ids) || changed[missing] {
				t.Errorf("%s changed %v, want the %d documents", c.ch.Action, changed, len(ids))
			}
			for _, id := range ids {
				d, err := f.s.GetDocument(context.Background(), f.tenant, id, true)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.check(d); err != nil {
					t.Errorf("after %s: %v", c.ch.Action, err)
				}
			}
		}
		// Restore only touches soft-deleted documents; the others are live.
		var changed map[string]bool
		_ = f.inTx(t, context.Background(), func(tx engram.Tx) error {
			docs, err := tx.DocumentsLock(context.Background(), f.tenant, ids)
			if err == nil {
				changed, err = tx.DocumentsReview(context.Background(), f.tenant, docs, engram.ReviewChange{Action: engram.ReviewRestore}, time.Now())
			}
			if err != nil {
				t.Fatal(err)
			}
			return nil
		})
		if len(changed) != 0 {
			t.Errorf("restore of live documents changed %v", changed)
		}
	})

	t.Run("LockOrdersWriters", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		id := f.docs(t, 1, "contended", "text")[0]
		ctx := context.Background()
		first, err := f.d.Begin(ctx, f.tenant)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Rollback(ctx)
		docs, err := first.DocumentsLock(ctx, f.tenant, []string{id})
		if err != nil {
			t.Fatal(err)
		}
		// A second writer locks the same document: it must wait for the
		// first to end, and then see what the first wrote.
		var wg sync.WaitGroup
		var seen engram.ClassifyCandidate
		var secondErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			secondErr = f.inTx(t, ctx, func(tx engram.Tx) error {
				if _, err := tx.DocumentsLock(ctx, f.tenant, []string{id}); err != nil {
					return err
				}
				c, err := tx.ClassifyRead(ctx, f.tenant, engram.ClassifyQuery{IDs: []string{id}})
				if err == nil && len(c) == 1 {
					seen = c[0]
				}
				return err
			})
		}()
		time.Sleep(100 * time.Millisecond) // give the second writer the chance to overtake
		if _, err := first.DocumentsReview(ctx, f.tenant, docs, engram.ReviewChange{Action: engram.ReviewConfirm}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := first.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if secondErr != nil {
			t.Fatal(secondErr)
		}
		if !seen.UserConfirmed {
			t.Fatal("the second writer did not wait for the first's lock: it read the document before the first committed")
		}
	})

	t.Run("HardDelete", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		conn, err := f.s.CreateConnector(ctx, f.tenant, f.actor, "push", "feed", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]engram.NewDocument, 4)
		for i := range in {
			in[i] = engram.NewDocument{Title: fmt.Sprint("doc ", i), Content: "text"}
		}
		p, err := engram.PrepareDocuments(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p[:3] { // three from the connector, one pushed by hand
			ext := fmt.Sprint("ext-", i)
			p[i].ConnectorID, p[i].ExternalID = &conn.ID, &ext
		}
		if err := f.s.CreateDocuments(ctx, f.tenant, p); err != nil {
			t.Fatal(err)
		}
		ids := []string{p[0].ID, p[1].ID, p[2].ID, p[3].ID, engram.NewID()}
		var deleted map[string]bool
		var tombstoned, lockConn, lockDocs int
		n := statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error {
				if err := tx.ConnectorsLockForDocuments(ctx, f.tenant, ids); err != nil {
					return err
				}
				lockConn = statementsSoFar(ctx)
				docs, err := tx.DocumentsLock(ctx, f.tenant, ids)
				if err != nil {
					return err
				}
				lockDocs = statementsSoFar(ctx) - lockConn
				deleted, tombstoned, err = tx.DocumentsHardDelete(ctx, f.tenant, docs, f.actor, time.Now())
				return err
			})
		})
		wantStatements(t, "ConnectorsLockForDocuments", lockConn, ifLocks(f.caps))
		wantStatements(t, "DocumentsLock", lockDocs, ifLocks(f.caps))
		hardDelete := 2
		if f.caps.WritableCTE {
			hardDelete = 1
		}
		wantStatements(t, "DocumentsHardDelete", n-lockConn-lockDocs, hardDelete)
		if len(deleted) != 4 || tombstoned != 3 {
			t.Fatalf("deleted %v with %d tombstones, want 4 and 3", deleted, tombstoned)
		}
		for _, id := range ids {
			if _, err := f.s.GetDocument(ctx, f.tenant, id, true); engram.ErrorCode(err) != engram.ENotFound {
				t.Errorf("document %s after a hard delete: %v, want not_found", id, err)
			}
		}
	})

	t.Run("StatsAndAudit", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		f.docs(t, 5, "counted", "text")
		var kept, counted engram.DocumentStats
		wantStatements(t, "DocumentStats", statements(t, func(ctx context.Context) (err error) {
			kept, err = f.d.Reader().DocumentStats(ctx, f.tenant)
			return err
		}), 1)
		wantStatements(t, "DocumentRecount", statements(t, func(ctx context.Context) (err error) {
			counted, err = f.d.Reader().DocumentRecount(ctx, f.tenant)
			return err
		}), 1)
		if kept.Total != 5 || counted.Total != 5 || kept.ByStatus[engram.StatusPending] != 5 {
			t.Errorf("stats = %+v, recount = %+v, want 5 pending", kept, counted)
		}
		wantStatements(t, "AuditInsert", statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error {
				return tx.AuditInsert(ctx, engram.AuditEntry{TenantID: f.tenant, Actor: f.actor, Action: "documents.test",
					TargetType: "document", Count: 5, Details: []byte(`{"ids":[]}`), At: time.Now()})
			})
		}), 1)
	})
}

func testClassify(t *testing.T, h Harness) {
	t.Run("Read", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		long := strings.Repeat("x", engram.ClassifyContentPrefix+500)
		ids := f.docs(t, 6, "classify me", long)
		ctx := context.Background()
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[5:], false); err != nil {
			t.Fatal(err)
		}
		read := func(q engram.ClassifyQuery) []engram.ClassifyCandidate {
			var out []engram.ClassifyCandidate
			wantStatements(t, "ClassifyRead", statements(t, func(ctx context.Context) (err error) {
				out, err = f.d.Reader().ClassifyRead(ctx, f.tenant, q)
				return err
			}), 1)
			return out
		}
		idsOf := func(cs []engram.ClassifyCandidate) []string {
			out := make([]string, len(cs))
			for i, c := range cs {
				out[i] = c.ID
				if len(c.Content) != engram.ClassifyContentPrefix || c.ContentHash == "" || c.UserConfirmed {
					t.Errorf("candidate %s: %d characters of content, hash %q, confirmed %v", c.ID, len(c.Content), c.ContentHash, c.UserConfirmed)
				}
			}
			return out
		}
		sorted := slices.Sorted(slices.Values(ids[:5]))
		// By ids: live ones in id order; missing and deleted ones are not read.
		if got := idsOf(read(engram.ClassifyQuery{IDs: append([]string{engram.NewID(), ids[5]}, ids[:5]...)})); !slices.Equal(got, sorted) {
			t.Errorf("read by ids = %v, want %v", got, sorted)
		}
		// Pending, oldest first, up to the limit.
		if got := idsOf(read(engram.ClassifyQuery{Limit: 3})); !slices.Equal(got, ids[:3]) {
			t.Errorf("read pending = %v, want %v", got, ids[:3])
		}
		// A job's batch: after the cursor, up to the bound, in id order.
		if got := idsOf(read(engram.ClassifyQuery{After: sorted[0], Bound: sorted[3], Limit: 2})); !slices.Equal(got, sorted[1:3]) {
			t.Errorf("read batch = %v, want %v", got, sorted[1:3])
		}
		// Another tenant reads nothing of these.
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		if c, err := f.d.Reader().ClassifyRead(ctx, other.ID, engram.ClassifyQuery{IDs: ids}); err != nil || len(c) != 0 {
			t.Errorf("another tenant read %d candidates, %v", len(c), err)
		}
	})

	t.Run("GuardedWrite", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		ids := f.docs(t, 4, "verdict", "text")
		cands, err := f.d.Reader().ClassifyRead(ctx, f.tenant, engram.ClassifyQuery{IDs: ids})
		if err != nil || len(cands) != 4 {
			t.Fatalf("read %d candidates: %v", len(cands), err)
		}
		hash := map[string]string{}
		for _, c := range cands {
			hash[c.ID] = c.ContentHash
		}
		// Meanwhile a person confirms one, and another is deleted.
		if _, err := f.s.ConfirmDocuments(ctx, f.tenant, f.actor, ids[1:2], nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[2:3], false); err != nil {
			t.Fatal(err)
		}
		verdicts := make([]engram.ClassifyVerdict, 4)
		for i, id := range ids {
			verdicts[i] = engram.ClassifyVerdict{ClassifyRow: engram.ClassifyRow{ID: id, Classification: engram.ClassSpam,
				Confidence: 0.9, Reason: "test", Status: engram.StatusClassified}, ContentHash: hash[id]}
		}
		verdicts[3].ContentHash = "computed from other content"
		var written map[string]bool
		wantStatements(t, "ClassifyWrite", statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				written, err = tx.ClassifyWrite(ctx, f.tenant, verdicts, time.Now())
				return err
			})
		}), 1)
		if len(written) != 1 || !written[ids[0]] {
			t.Fatalf("written %v, want only %s", written, ids[0])
		}
		for i, id := range ids {
			d, err := f.s.GetDocument(ctx, f.tenant, id, true)
			if err != nil {
				t.Fatal(err)
			}
			spam := d.Classification == engram.ClassSpam
			if spam != (i == 0) {
				t.Errorf("document %d: classification %v, want spam only for the first", i, d.Classification)
			}
		}
	})
}

// statementsSoFar returns how many statements ctx's counter has seen.
func statementsSoFar(ctx context.Context) int {
	return engram.QueryStatsFrom(ctx).Count()
}

// expect returns an error describing d unless ok.
func expect(ok bool, d engram.Document) error {
	if ok {
		return nil
	}
	return fmt.Errorf("document is %+v", d)
}
