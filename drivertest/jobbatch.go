package drivertest

import (
	"context"
	"slices"
	"testing"

	"github.com/engram-kb/engram"
)

// testJobBatches covers the JobExecutor statements of a delete-all's
// batches and of a sync job's connector.
func testJobBatches(t *testing.T, h Harness) {
	t.Run("HardDeleteBatch", func(t *testing.T) { t.Parallel(); testHardDeleteBatch(t, newFixture(t, h)) })
	t.Run("SoftDeleteBatch", func(t *testing.T) { t.Parallel(); testSoftDeleteBatch(t, newFixture(t, h)) })
	t.Run("DeleteBatchHoldsOffSyncs", func(t *testing.T) { t.Parallel(); testDeleteBatchLock(t, newFixture(t, h)) })
	t.Run("TenantCounts", func(t *testing.T) { t.Parallel(); testTenantCounts(t, newFixture(t, h)) })
	t.Run("ConnectorForSync", func(t *testing.T) { t.Parallel(); testConnectorForSync(t, newFixture(t, h)) })
}

// deleteBatch runs one delete-all batch as RunJobBatch does (the
// connectors' lock first for a hard one) and asserts the statements of
// both.
func (f fixture) deleteBatch(t *testing.T, b engram.DeleteBatch) engram.BatchOutcome {
	t.Helper()
	var o engram.BatchOutcome
	locked := 0
	n := statements(t, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			if b.Hard {
				if err := tx.ConnectorsLockForDeleteBatch(ctx, f.tenant); err != nil {
					return err
				}
			}
			locked = statementsSoFar(ctx)
			o, err = tx.DocumentsDeleteBatch(ctx, f.tenant, b, clock(9))
			return err
		})
	})
	want := 1
	if b.Hard {
		wantStatements(t, "ConnectorsLockForDeleteBatch", locked, ifLocks(f.caps))
		if !f.caps.WritableCTE {
			want = 2
		}
	}
	wantStatements(t, "DocumentsDeleteBatch", n-locked, want)
	return o
}

// gone fails the test unless exactly the documents of gone among ids are
// hard-deleted.
func (f fixture) gone(t *testing.T, ids []string, gone []string) {
	t.Helper()
	for _, id := range ids {
		_, err := f.s.GetDocument(context.Background(), f.tenant, id, true)
		if was := slices.Contains(gone, id); was != (engram.ErrorCode(err) == engram.ENotFound) {
			t.Errorf("document %s: %v, want deleted %v", id, err, was)
		}
	}
}

func testHardDeleteBatch(t *testing.T, f fixture) {
	ctx := context.Background()
	conn, other := f.connector(t, f.tenant, "feed", 0), f.connector(t, f.tenant, "other", 0)
	hand := f.docs(t, 2, "by hand", "text")
	fed := f.connectorDocs(t, conn, 3)
	foreign := f.connectorDocs(t, other, 1)
	all := slices.Concat(hand, fed, foreign) // in id order: made in turn
	before, err := f.d.Reader().TenantCounts(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}

	// The first batch of a connector's delete: its documents only, up to
	// the limit, each leaving a tombstone.
	o := f.deleteBatch(t, engram.DeleteBatch{After: engram.NilID, Bound: slices.Max(all), Limit: 2, Hard: true, ConnectorID: conn})
	if o.Handled != 2 || o.Last != fed[1] || o.Tombstoned != 2 {
		t.Errorf("connector batch = %+v, want 2 handled up to %s, 2 tombstones", o, fed[1])
	}
	f.gone(t, all, fed[:2])
	// A tenant's delete-all: after the cursor, up to the bound.
	o = f.deleteBatch(t, engram.DeleteBatch{After: hand[0], Bound: fed[2], Limit: 10, Hard: true})
	if o.Handled != 2 || o.Last != fed[2] || o.Tombstoned != 1 {
		t.Errorf("batch after %s up to %s = %+v, want 2 handled up to %s, 1 tombstone", hand[0], fed[2], o, fed[2])
	}
	f.gone(t, all, slices.Concat(hand[1:], fed))
	// Nothing left in range.
	if o = f.deleteBatch(t, engram.DeleteBatch{After: fed[2], Bound: fed[2], Limit: 10, Hard: true}); o != (engram.BatchOutcome{}) {
		t.Errorf("empty batch = %+v", o)
	}
	after, err := f.d.Reader().TenantCounts(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	if after.Documents != 2 || after.Tombstones != 3 || after.OrphanChunks != 0 || after.Chunks != before.Chunks*2/len(all) {
		t.Errorf("counts after the batches = %+v (before %+v), want 2 documents with their chunks and 3 tombstones", after, before)
	}
}

func testSoftDeleteBatch(t *testing.T, f fixture) {
	ctx := context.Background()
	ids := f.docs(t, 5, "soft", "text")
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[1:2], false); err != nil {
		t.Fatal(err)
	}
	// An already deleted document is no target.
	o := f.deleteBatch(t, engram.DeleteBatch{After: engram.NilID, Bound: ids[3], Limit: 2})
	if o.Handled != 2 || o.Last != ids[2] || o.Tombstoned != 0 {
		t.Errorf("soft batch = %+v, want 2 handled up to %s", o, ids[2])
	}
	o = f.deleteBatch(t, engram.DeleteBatch{After: o.Last, Bound: ids[3], Limit: 2})
	if o.Handled != 1 || o.Last != ids[3] {
		t.Errorf("second soft batch = %+v, want 1 handled up to %s", o, ids[3])
	}
	for i, id := range ids {
		d, err := f.s.GetDocument(ctx, f.tenant, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if d.IsDeleted != (i < 4) {
			t.Errorf("document %d deleted: %v, want %v", i, d.IsDeleted, i < 4)
		}
		if i != 1 && i < 4 && !sameTime(d.DeletedAt, clock(9)) {
			t.Errorf("document %d deleted at %v, want %v", i, d.DeletedAt, clock(9))
		}
	}
}

func testDeleteBatchLock(t *testing.T, f fixture) {
	conn := f.connector(t, f.tenant, "feed", 0)
	// A hard batch holds off a write to the connector (as a sync batch's
	// lock, or a disconnect) until it commits.
	f.secondWaits(t,
		func(ctx context.Context, tx engram.Tx) error { return tx.ConnectorsLockForDeleteBatch(ctx, f.tenant) },
		func(ctx context.Context, tx engram.Tx) error {
			_, err := tx.ConnectorDisconnect(ctx, f.tenant, conn, clock(1))
			return err
		},
		func(ctx context.Context, tx engram.Tx) error {
			status, _, err := tx.ConnectorLockForSync(ctx, f.tenant, conn)
			if err == nil && status != engram.ConnectorActive {
				t.Errorf("the connector was %s while the batch held it: the disconnect did not wait", status)
			}
			return err
		})
	c, err := f.s.GetConnector(context.Background(), f.tenant, conn)
	if err != nil || c.Status != engram.ConnectorDisconnected {
		t.Errorf("connector after the batch = %+v, %v; want disconnected", c, err)
	}
}

func testTenantCounts(t *testing.T, f fixture) {
	ctx := context.Background()
	conn := f.connector(t, f.tenant, "feed", 0)
	ids := append(f.docs(t, 3, "counted", "text"), f.connectorDocs(t, conn, 2)...)
	var c engram.TenantCounts
	count(t, "TenantCounts", 1, func(ctx context.Context) (err error) {
		c, err = f.d.Reader().TenantCounts(ctx, f.tenant)
		return err
	})
	if c.Documents != 5 || c.Chunks < 5 || c.SoftDeleted != 0 || c.Tombstones != 0 || c.OrphanChunks != 0 {
		t.Fatalf("counts = %+v, want 5 documents with their chunks", c)
	}
	perDoc := c.Chunks / 5
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[:1], false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, ids[3:], true); err != nil {
		t.Fatal(err)
	}
	want := engram.TenantCounts{Documents: 3, SoftDeleted: 1, Chunks: 3 * perDoc, Tombstones: 2}
	if c, err := f.d.Reader().TenantCounts(ctx, f.tenant); err != nil || c != want {
		t.Errorf("counts = %+v, %v; want %+v", c, err, want)
	}
	other, _, err := f.s.CreateTenant(ctx, "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.d.Reader().TenantCounts(ctx, other.ID); err != nil || c != (engram.TenantCounts{}) {
		t.Errorf("another tenant's counts = %+v, %v", c, err)
	}
}

func testConnectorForSync(t *testing.T, f fixture) {
	ctx := context.Background()
	conn := f.connector(t, f.tenant, "feed", 0)
	lock := func(id string) (engram.ConnectorStatus, bool) {
		var status engram.ConnectorStatus
		var ok bool
		count(t, "ConnectorLockForSync", 1, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				status, ok, err = tx.ConnectorLockForSync(ctx, f.tenant, id)
				return err
			})
		})
		return status, ok
	}
	if s, ok := lock(conn); !ok || s != engram.ConnectorActive {
		t.Errorf("ConnectorLockForSync = %s, %v; want active", s, ok)
	}
	if _, ok := lock(engram.NewID()); ok {
		t.Error("ConnectorLockForSync found a missing connector")
	}
	msg := "source unreachable"
	count(t, "ConnectorRecordSync", 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) error {
			return tx.ConnectorRecordSync(ctx, f.tenant, conn, engram.JobFailed, &msg, clock(1))
		})
	})
	c, err := f.s.GetConnector(ctx, f.tenant, conn)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTime(c.LastSyncAt, clock(1)) || c.LastSyncStatus == nil || *c.LastSyncStatus != string(engram.JobFailed) ||
		c.LastSyncError == nil || *c.LastSyncError != msg {
		t.Errorf("connector after a failed sync = %+v", c)
	}
	if err := f.d.Writer().ConnectorRecordSync(ctx, f.tenant, conn, engram.JobSucceeded, nil, clock(2)); err != nil {
		t.Fatal(err)
	}
	if c, err = f.s.GetConnector(ctx, f.tenant, conn); err != nil || c.LastSyncError != nil || *c.LastSyncStatus != string(engram.JobSucceeded) {
		t.Errorf("connector after a sync = %+v, %v; want succeeded with no error", c, err)
	}
	if _, err := f.d.Writer().ConnectorDisconnect(ctx, f.tenant, conn, clock(3)); err != nil {
		t.Fatal(err)
	}
	if s, ok := lock(conn); !ok || s != engram.ConnectorDisconnected {
		t.Errorf("ConnectorLockForSync of a disconnected connector = %s, %v", s, ok)
	}
}
