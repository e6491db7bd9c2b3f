package drivertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testSync(t *testing.T, h Harness) {
	t.Run("LockForBatch", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		conn := f.connector(t, f.tenant, "source", 0)
		ctx := context.Background()
		var status engram.ConnectorStatus
		var ok bool
		n := statements(t, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error {
				var err error
				status, ok, err = tx.ConnectorLockForBatch(ctx, f.tenant, conn)
				return err
			})
		})
		wantStatements(t, "ConnectorLockForBatch", n, 1)
		if !ok || status != engram.ConnectorActive {
			t.Errorf("lock = %v, %v; want active", status, ok)
		}
		for _, c := range []struct{ tenant, id string }{{f.tenant, engram.NewID()}, {f.otherTenant(t), conn}} {
			err := f.inTx(t, ctx, func(tx engram.Tx) error {
				_, ok, err := tx.ConnectorLockForBatch(ctx, c.tenant, c.id)
				if ok {
					t.Errorf("locked a connector tenant %s has not", c.tenant)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}

		// A second batch of the connector waits for the first to end, and
		// then sees what it wrote.
		first, err := f.d.Begin(ctx, f.tenant)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Rollback(ctx)
		if _, _, err := first.ConnectorLockForBatch(ctx, f.tenant, conn); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var seen int64
		var secondErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			secondErr = f.inTx(t, ctx, func(tx engram.Tx) error {
				if _, _, err := tx.ConnectorLockForBatch(ctx, f.tenant, conn); err != nil {
					return err
				}
				c, _, err := tx.ConnectorGet(ctx, f.tenant, conn)
				seen = c.TotalItemsSynced
				return err
			})
		}()
		time.Sleep(100 * time.Millisecond)
		if err := first.ConnectorAddSynced(ctx, f.tenant, conn, 7, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := first.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if secondErr != nil || seen != 7 {
			t.Errorf("second batch saw a total of %d, %v; want the first's 7", seen, secondErr)
		}
	})

	t.Run("ExistingRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		a, b := f.connector(t, f.tenant, "source", 0), f.connector(t, f.tenant, "source", 0)
		ids := f.syncDocs(t, a, "e1", "e2", "e3")
		f.syncDocs(t, b, "e1", "e4")
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, []string{ids["e2"]}, false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, []string{ids["e3"]}, true); err != nil {
			t.Fatal(err)
		}
		var got []engram.SyncExisting
		n := statements(t, func(ctx context.Context) error {
			var err error
			got, err = f.d.Reader().SyncExistingRead(ctx, f.tenant, a, []string{"e1", "e2", "e3", "e4", "e5"})
			return err
		})
		wantStatements(t, "SyncExistingRead", n, 1)
		byExt := map[string]engram.SyncExisting{}
		for _, x := range got {
			byExt[x.ExternalID] = x
		}
		d1, err := f.s.GetDocument(ctx, f.tenant, ids["e1"], false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Errorf("read %+v, want e1, e2 and e3 only (e4 is another connector's, e5 no one's)", got)
		}
		if x := byExt["e1"]; x.DocumentID != d1.ID || x.ContentHash != d1.ContentHash || x.Title != d1.Title || x.IsDeleted || x.Tombstoned || x.SourceUpdatedAt != nil {
			t.Errorf("e1 = %+v, want its live document", x)
		}
		if x := byExt["e2"]; x.DocumentID != ids["e2"] || !x.IsDeleted || x.Tombstoned {
			t.Errorf("e2 = %+v, want its soft-deleted document", x)
		}
		if x := byExt["e3"]; x.DocumentID != "" || !x.Tombstoned {
			t.Errorf("e3 = %+v, want a tombstone and no document", x)
		}
		if got, err := f.d.Reader().SyncExistingRead(ctx, f.otherTenant(t), a, []string{"e1"}); err != nil || len(got) != 0 {
			t.Errorf("another tenant reads %+v, %v", got, err)
		}
	})

	t.Run("SeenArchiveDrop", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		a, b := f.connector(t, f.tenant, "source", 0), f.connector(t, f.tenant, "source", 0)
		ids := f.syncDocs(t, a, "f0", "f1", "f2", "f3", "f4")
		other := f.syncDocs(t, b, "f9")
		run := engram.NewID()
		for _, keys := range [][]string{{"f0", "f1"}, {"f1", "f2"}} {
			n := statements(t, func(ctx context.Context) error {
				return f.d.Writer().SyncSeenInsert(ctx, f.tenant, a, run, keys)
			})
			wantStatements(t, "SyncSeenInsert", n, 1)
		}
		var archived int
		n := statements(t, func(ctx context.Context) error {
			var err error
			archived, err = f.d.Writer().DocumentsArchiveUnseen(ctx, f.tenant, a, run, time.Now())
			return err
		})
		wantStatements(t, "DocumentsArchiveUnseen", n, 1)
		if archived != 2 {
			t.Errorf("archived %d, want f3 and f4", archived)
		}
		for ext, id := range ids {
			want := engram.StatusPending
			if ext == "f3" || ext == "f4" {
				want = engram.StatusArchived
			}
			f.wantStatus(t, id, want)
		}
		f.wantStatus(t, other["f9"], engram.StatusPending)

		n = statements(t, func(ctx context.Context) error {
			return f.d.Writer().SyncSeenDrop(ctx, f.tenant, a, run)
		})
		wantStatements(t, "SyncSeenDrop", n, 1)
		// Its notes gone, the run has seen nothing: the rest is archived.
		if archived, err := f.d.Writer().DocumentsArchiveUnseen(ctx, f.tenant, a, run, time.Now()); err != nil || archived != 3 {
			t.Errorf("archived %d after the drop, %v; want f0, f1 and f2", archived, err)
		}
	})

	t.Run("ChunksDeleteAndSyncUpdate", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		conn := f.connector(t, f.tenant, "source", 0)
		ids := f.syncDocs(t, conn, "u0", "u1", "u2", "u3")
		work := func(_ context.Context, in []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
			out := make([]engram.ClassifyResult, len(in))
			for i := range out {
				out[i] = engram.ClassifyResult{Classification: engram.ClassWork, Confidence: 0.5}
			}
			return out, nil
		}
		if _, err := f.s.ClassifyDocuments(ctx, f.tenant, f.actor, engram.ClassifySelection{IDs: []string{ids["u0"]}}, work); err != nil {
			t.Fatal(err)
		}
		f.wantStatus(t, ids["u0"], engram.StatusClassified)
		if _, err := f.s.ConfirmDocuments(ctx, f.tenant, f.actor, []string{ids["u1"]}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, []string{ids["u2"]}, false); err != nil {
			t.Fatal(err)
		}
		before := f.counts(t)
		n := statements(t, func(ctx context.Context) error {
			return f.d.Writer().ChunksDelete(ctx, f.tenant, []string{ids["u0"], ids["u1"], engram.NewID()})
		})
		wantStatements(t, "ChunksDelete", n, 1)
		if after := f.counts(t); after.Chunks != before.Chunks-2 || after.Documents != before.Documents {
			t.Errorf("counts %+v -> %+v, want two chunks fewer", before, after)
		}

		v2 := f.prepare(t, conn, "version 2", "u0", "u1", "u2")
		for i := range v2 {
			v2[i].ID = ids[*v2[i].ExternalID]
		}
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		var updated int
		n = statements(t, func(ctx context.Context) error {
			var err error
			updated, err = f.d.Writer().DocumentsSyncUpdate(ctx, f.tenant, v2, at)
			return err
		})
		wantStatements(t, "DocumentsSyncUpdate", n, 1)
		if updated != 2 {
			t.Errorf("rewrote %d documents, want u0 and u1 (u2 is deleted)", updated)
		}
		for ext, want := range map[string]engram.DocumentStatus{"u0": engram.StatusPending, "u1": engram.StatusConfirmed} {
			d, err := f.s.GetDocument(ctx, f.tenant, ids[ext], false)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != want || d.Content == nil || *d.Content != "Body of "+ext+", version 2." || !d.UpdatedAt.Equal(at) {
				t.Errorf("%s after the rewrite = %+v", ext, d)
			}
		}
		if d, err := f.s.GetDocument(ctx, f.tenant, ids["u2"], true); err != nil || *d.Content != "Body of u2, version 1." {
			t.Errorf("a soft-deleted document was rewritten: %+v, %v", d, err)
		}
		if n, err := f.d.Writer().DocumentsSyncUpdate(ctx, f.otherTenant(t), v2, at); err != nil || n != 0 {
			t.Errorf("another tenant rewrote %d, %v", n, err)
		}
	})

	t.Run("AddSynced", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		conn := f.connector(t, f.tenant, "source", 0)
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		for i := range 2 {
			n := statements(t, func(ctx context.Context) error {
				return f.d.Writer().ConnectorAddSynced(ctx, f.tenant, conn, 5, at.Add(time.Duration(i)*time.Minute))
			})
			wantStatements(t, "ConnectorAddSynced", n, 1)
		}
		c, ok, err := f.d.Reader().ConnectorGet(context.Background(), f.tenant, conn)
		if err != nil || !ok || c.TotalItemsSynced != 10 || c.LastSyncAt == nil || !c.LastSyncAt.Equal(at.Add(time.Minute)) {
			t.Errorf("connector = %+v, %v, %v; want 10 synced, last at %v", c, ok, err, at.Add(time.Minute))
		}
	})
}

// prepare makes the connector's items with the given external ids, their
// content naming the version.
func (f fixture) prepare(t *testing.T, connectorID, version string, exts ...string) []engram.PreparedDocument {
	t.Helper()
	items := make([]engram.SourceItem, len(exts))
	for i, ext := range exts {
		items[i] = engram.SourceItem{ExternalID: ext, Title: "note " + ext, Content: fmt.Sprintf("Body of %s, %s.", ext, version)}
	}
	p, _, err := engram.PrepareSyncItems(connectorID, items, true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncDocs creates the connector's documents with the given external ids
// (one chunk each) and returns their ids by external id.
func (f fixture) syncDocs(t *testing.T, connectorID string, exts ...string) map[string]string {
	t.Helper()
	p := f.prepare(t, connectorID, "version 1", exts...)
	if err := f.s.CreateDocuments(context.Background(), f.tenant, p); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range p {
		out[*d.ExternalID] = d.ID
	}
	return out
}

// wantStatus fails the test when the document's status is not want.
func (f fixture) wantStatus(t *testing.T, id string, want engram.DocumentStatus) {
	t.Helper()
	d, err := f.s.GetDocument(context.Background(), f.tenant, id, true)
	if err != nil || d.Status != want {
		t.Errorf("document %s is %q, %v; want %q", id, d.Status, err, want)
	}
}

// counts reads the tenant's raw row counts.
func (f fixture) counts(t *testing.T) engram.TenantCounts {
	t.Helper()
	c, err := f.d.Reader().TenantCounts(context.Background(), f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
