package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// syncItems makes n source items with external ids prefix-0.. and the
// given content version.
func syncItems(t testing.TB, connectorID, prefix string, n int, version string) []engram.PreparedDocument {
	t.Helper()
	items := make([]engram.SourceItem, n)
	for i := range items {
		items[i] = engram.SourceItem{
			ExternalID: fmt.Sprintf("%s-%d", prefix, i),
			Title:      fmt.Sprintf("note %d", i),
			Content:    fmt.Sprintf("Body of note %d, version %s.", i, version),
		}
	}
	p, failures, err := engram.PrepareSyncItems(connectorID, items, true)
	if err != nil || len(failures) > 0 {
		t.Fatalf("prepare sync items: %v %v", err, failures)
	}
	return p
}

func testConnectors(t *testing.T, h Harness) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "CRM export", json.RawMessage(`{}`), 0)
		if err != nil || c.Type != "push" || c.Status != engram.ConnectorActive || c.Name != "CRM export" {
			t.Fatalf("create = %+v, %v", c, err)
		}
		list, err := f.s.ListConnectors(ctx, f.tenant.ID)
		if err != nil || len(list) != 1 || list[0].ID != c.ID {
			t.Fatalf("list = %+v, %v", list, err)
		}
		name, st := "CRM", engram.ConnectorDisconnected
		u, err := f.s.UpdateConnector(ctx, f.tenant.ID, f.key.ID, c.ID, engram.ConnectorPatch{Name: &name, Status: &st})
		if err != nil || u.Name != "CRM" || u.Status != st {
			t.Fatalf("update = %+v, %v", u, err)
		}
		if n, _ := f.in.AuditRows(t, f.tenant.ID, "connectors.disconnect"); n != 1 {
			t.Fatalf("disconnect audit rows = %d", n)
		}
		_, err = f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "x", 1, "1"), engram.SyncOptions{})
		wantCode(t, err, engram.EConflict)
		// Items prepared for another connector are not this one's.
		_, err = f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, engram.NewID(), "x", 1, "1"), engram.SyncOptions{})
		wantCode(t, err, engram.EInvalid)
		_, err = f.s.GetConnector(ctx, f.tenant.ID, engram.NewID())
		wantCode(t, err, engram.ENotFound)

		// Another tenant sees none of it.
		b, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.GetConnector(ctx, b.ID, c.ID); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("B reads A's connector: %v", err)
		}
		if _, err := f.s.UpdateConnector(ctx, b.ID, "", c.ID, engram.ConnectorPatch{Name: &name}); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("B updates A's connector: %v", err)
		}
		if _, err := f.s.SyncBatch(ctx, b.ID, c.ID, syncItems(t, c.ID, "x", 1, "1"), engram.SyncOptions{}); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("B syncs into A's connector: %v", err)
		}
		if l, _ := f.s.ListConnectors(ctx, b.ID); len(l) != 0 {
			t.Fatalf("B lists %d connectors", len(l))
		}
	})

	t.Run("Pipeline", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "notes", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		first, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "n", 10, "1"), engram.SyncOptions{})
		if err != nil || first != (engram.SyncCounts{Created: 10}) {
			t.Fatalf("first sync = %+v, %v", first, err)
		}
		again, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "n", 10, "1"), engram.SyncOptions{})
		if err != nil || again != (engram.SyncCounts{Unchanged: 10}) {
			t.Fatalf("second sync = %+v, %v", again, err)
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 10 {
			t.Fatalf("documents after two syncs = %d, want 10", got)
		}
		pg, _ := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{Sort: engram.SortTitle, Limit: 200})
		byTitle := map[string]engram.Document{}
		for _, d := range pg.Documents {
			byTitle[d.Title] = d
		}
		// A person confirms note 1, soft-deletes note 2, hard-deletes note 3.
		if _, err := f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, []string{byTitle["note 1"].ID}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{byTitle["note 2"].ID}, false); err != nil {
			t.Fatal(err)
		}
		if r, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{byTitle["note 3"].ID}, true); err != nil || r.Tombstoned != 1 {
			t.Fatalf("hard delete = %+v, %v", r, err)
		}
		// Version 2 of every note: 7 change, 1 soft-deleted, 1 tombstoned.
		ctx2, st := counted()
		third, err := f.s.SyncBatch(ctx2, f.tenant.ID, c.ID, syncItems(t, c.ID, "n", 10, "2"), engram.SyncOptions{})
		want := engram.SyncCounts{Updated: 8, SkippedDeleted: 1, SkippedTombstoned: 1}
		if err != nil || third != want {
			t.Fatalf("changed sync = %+v, %v; want %+v", third, err, want)
		}
		// Lock, read, the changed documents' lock (where the engine locks
		// rows), chunk delete and rewrite, chunk insert, connector total.
		if want := 6 + rowLocks(t, f.s); st.Count() != want {
			t.Fatalf("sync batch with updates sent %d statements, want %d", st.Count(), want)
		}
		d1 := get(t, f, byTitle["note 1"].ID)
		if d1.Status != engram.StatusConfirmed || *d1.Content != "Body of note 1, version 2." {
			t.Fatalf("confirmed document after change = %+v", d1)
		}
		if d0 := get(t, f, byTitle["note 0"].ID); d0.Status != engram.StatusPending || *d0.Content != "Body of note 0, version 2." {
			t.Fatalf("changed document = %+v", d0)
		}
		if got := f.in.ChunkRows(t, f.tenant.ID, byTitle["note 0"].ID); got != 1 {
			t.Fatalf("chunks of a changed document = %d, want 1", got)
		}
		if d2, err := f.s.GetDocument(ctx, f.tenant.ID, byTitle["note 2"].ID, true); err != nil || !d2.IsDeleted || *d2.Content != "Body of note 2, version 1." {
			t.Fatalf("soft-deleted document after sync = %+v, %v", d2, err)
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 9 {
			t.Fatalf("document rows = %d, want 9 (note 3 stays deleted)", got)
		}
		cn, _ := f.s.GetConnector(ctx, f.tenant.ID, c.ID)
		if cn.TotalItemsSynced != 18 || cn.LastSyncAt == nil {
			t.Fatalf("connector after syncs = %+v", cn)
		}
	})

	t.Run("ResyncTakesSourceType", func(t *testing.T) {
		// A document stored before its connector named its type (as
		// "api") takes the connector's type when it is synced again, even
		// with its content unchanged, so ?source_type=mail finds it.
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "mail export", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "m", 3, "1"), engram.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		mail := "mail"
		if pg, _ := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{SourceType: &mail, Limit: 10}); len(pg.Documents) != 0 {
			t.Fatalf("mail documents before the re-sync = %d, want 0", len(pg.Documents))
		}
		items := syncItems(t, c.ID, "m", 3, "1")
		for i := range items {
			items[i].SourceType = mail
		}
		cctx, st := counted()
		got, err := f.s.SyncBatch(cctx, f.tenant.ID, c.ID, items, engram.SyncOptions{})
		if err != nil || got != (engram.SyncCounts{Updated: 3}) {
			t.Fatalf("re-sync with the type = %+v, %v; want 3 updated", got, err)
		}
		// As any batch of changed documents: lock, read, the changed
		// rows' lock (where the engine locks rows), chunk delete and
		// rewrite, chunk insert, connector total.
		if want := 6 + rowLocks(t, f.s); st.Count() != want {
			t.Fatalf("re-sync sent %d statements, want %d", st.Count(), want)
		}
		pg, err := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{SourceType: &mail, Limit: 10})
		if err != nil || len(pg.Documents) != 3 {
			t.Fatalf("mail documents after the re-sync = %d, %v; want 3", len(pg.Documents), err)
		}
		for _, d := range pg.Documents {
			if d.SourceType != mail || *get(t, f, d.ID).Content != "Body of note "+d.Title[len("note "):]+", version 1." {
				t.Fatalf("re-synced document = %+v", d)
			}
		}
		again, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, items, engram.SyncOptions{})
		if err != nil || again != (engram.SyncCounts{Unchanged: 3}) {
			t.Fatalf("third sync = %+v, %v; want 3 unchanged", again, err)
		}
	})

	t.Run("ConstantStatements", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		counts := []int{}
		for _, n := range []int{2, 100, 1000} {
			c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", fmt.Sprint("c", n), json.RawMessage(`{}`), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "a", n/2, "1"), engram.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
			// Half known and changed, half new: every statement runs.
			items := append(syncItems(t, c.ID, "a", n/2, "2"), syncItems(t, c.ID, "b", n/2, "1")...)
			cctx, st := counted()
			got, err := f.s.SyncBatch(cctx, f.tenant.ID, c.ID, items, engram.SyncOptions{RunID: engram.NewID()})
			if err != nil || got.Created != n/2 || got.Updated != n/2 {
				t.Fatalf("sync of %d = %+v, %v", n, got, err)
			}
			counts = append(counts, st.Count())
		}
		// The connector's lock and read, the read of what it holds, the
		// run's notes, the new documents, the changed documents' lock
		// (where the engine locks rows), chunk delete and rewrite, the
		// chunks of both, the connector's total.
		want := 8 + rowLocks(t, f.s)
		for _, c := range counts {
			if c != want {
				t.Fatalf("statements per sync batch at 2/100/1000 items = %v, want %d each", counts, want)
			}
		}
	})

	t.Run("FullSyncArchivesMissing", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "full", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		run1 := engram.NewID()
		if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, "f", 10, "1"), engram.SyncOptions{RunID: run1}); err != nil {
			t.Fatal(err)
		}
		if n, err := f.s.FinishFullSync(ctx, f.tenant.ID, c.ID, run1, true); err != nil || n != 0 {
			t.Fatalf("first full sync archived %d, %v", n, err)
		}
		// The source now has only the first seven, in two batches.
		run2 := engram.NewID()
		items := syncItems(t, c.ID, "f", 7, "1")
		for _, b := range [][]engram.PreparedDocument{items[:4], items[4:]} {
			if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, b, engram.SyncOptions{RunID: run2}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.s.FinishFullSync(ctx, f.tenant.ID, c.ID, run2, true); err != nil || n != 3 {
			t.Fatalf("second full sync archived %d, %v; want 3", n, err)
		}
		archived := engram.StatusArchived
		pg, _ := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{Sort: engram.SortTitle, Limit: 50, Status: &archived})
		if len(pg.Documents) != 3 || pg.Documents[0].Title != "note 7" {
			t.Fatalf("archived documents = %+v", pg.Documents)
		}
		// Finishing a run that is not archived (it failed) archives nothing.
		run3 := engram.NewID()
		if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, items[:1], engram.SyncOptions{RunID: run3}); err != nil {
			t.Fatal(err)
		}
		if n, err := f.s.FinishFullSync(ctx, f.tenant.ID, c.ID, run3, false); err != nil || n != 0 {
			t.Fatalf("a failed run archived %d, %v", n, err)
		}
	})

	t.Run("StaleSyncNotes", func(t *testing.T) {
		// A full sync whose process died two days ago left its notes; a
		// run in progress now has its own. Dropping stale notes takes only
		// the dead run's, and the live run still archives correctly.
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "full", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		items := syncItems(t, c.ID, "s", 6, "1")
		dead := engram.IDBefore(time.Now().Add(-48 * time.Hour))
		if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, items, engram.SyncOptions{RunID: dead}); err != nil {
			t.Fatal(err)
		}
		live := engram.NewID()
		if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, items[:5], engram.SyncOptions{RunID: live}); err != nil {
			t.Fatal(err)
		}
		if n, err := f.s.DropStaleSyncNotes(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 6 {
			t.Fatalf("dropped %d notes, %v; want the dead run's 6", n, err)
		}
		if n, err := f.s.DropStaleSyncNotes(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("dropped %d notes again, %v", n, err)
		}
		if n, err := f.s.FinishFullSync(ctx, f.tenant.ID, c.ID, live, true); err != nil || n != 1 {
			t.Fatalf("the live run archived %d, %v; want 1 (the item it did not see)", n, err)
		}
	})

	t.Run("NoResurrection", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		c, err := f.s.CreateConnector(ctx, f.tenant.ID, f.key.ID, "push", "race", json.RawMessage(`{}`), 0)
		if err != nil {
			t.Fatal(err)
		}
		resurrected := 0
		for round := 0; round < 15; round++ {
			prefix := fmt.Sprint("r", round)
			if _, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, prefix, 50, "1"), engram.SyncOptions{}); err != nil {
				t.Fatal(err)
			}
			pg, err := f.s.ListDocuments(ctx, f.tenant.ID, engram.DocumentFilter{Sort: engram.SortCreatedAt, Desc: true, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, len(pg.Documents))
			for i, d := range pg.Documents {
				ids[i] = d.ID
			}
			// A changed version syncs while a person hard-deletes them all.
			var wg sync.WaitGroup
			var syncErr, delErr error
			v2 := syncItems(t, c.ID, prefix, 50, "2")
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, syncErr = f.s.SyncBatch(ctx, f.tenant.ID, c.ID, v2, engram.SyncOptions{})
			}()
			go func() {
				defer wg.Done()
				_, delErr = f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, ids, true)
			}()
			wg.Wait()
			if syncErr != nil || delErr != nil {
				t.Fatalf("round %d: sync %v, delete %v", round, syncErr, delErr)
			}
			// And the next scheduled sync runs after both.
			after, err := f.s.SyncBatch(ctx, f.tenant.ID, c.ID, syncItems(t, c.ID, prefix, 50, "3"), engram.SyncOptions{})
			if err != nil {
				t.Fatal(err)
			}
			resurrected += after.Created + after.Updated + after.Unchanged
			if after.SkippedTombstoned != 50 {
				t.Fatalf("round %d: after the delete the sync saw %+v, want 50 tombstoned", round, after)
			}
		}
		if resurrected != 0 || f.in.DocumentRows(t, f.tenant.ID) != 0 {
			t.Fatalf("%d documents came back; %d rows left", resurrected, f.in.DocumentRows(t, f.tenant.ID))
		}
		if got := f.in.TombstoneRows(t, f.tenant.ID); got != 15*50 {
			t.Fatalf("tombstones = %d, want %d", got, 15*50)
		}
	})
}

// rowLocks is 1 when the store's engine locks rows, else 0.
func rowLocks(t testing.TB, s engram.Store) int {
	if capabilities(t, s).RowLocks {
		return 1
	}
	return 0
}
