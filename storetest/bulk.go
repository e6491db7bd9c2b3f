package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/engram-kb/engram"
)

// maxBulkStatements is the most statements a bulk request on gaps may
// take.
const maxBulkStatements = 4

// bulkStatements is how many statements each bulk request takes, exactly,
// whatever the number of ids: the classify read, the guarded write and the
// audit row; a person's change and its audit row, after locking the rows
// where the engine locks rows; a hard delete's connector and row locks
// (where it locks rows), the delete with its tombstones (one statement
// with a writable CTE, two without) and the audit row.
func bulkStatements(c engram.Capabilities) map[string]int {
	locks, deletes := 0, 2
	if c.RowLocks {
		locks = 1
	}
	if c.WritableCTE {
		deletes = 1
	}
	out := map[string]int{"classify": 3, "hard_delete": 2*locks + deletes + 1}
	for _, op := range []string{"set_classification", "confirm", "reject", "soft_delete", "restore"} {
		out[op] = locks + 2
	}
	return out
}

// capabilities returns the capabilities of the driver under s.
func capabilities(t testing.TB, s engram.Store) engram.Capabilities {
	t.Helper()
	d, ok := s.(interface{ Driver() engram.Driver })
	if !ok {
		t.Fatalf("%T does not say which driver it runs on", s)
	}
	return d.Driver().Capabilities()
}

// fixedClassifier says work with the given confidence for every document.
func fixedClassifier(c engram.Classification, conf float64) engram.ClassifyFunc {
	return func(_ context.Context, in []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		out := make([]engram.ClassifyResult, len(in))
		for i := range in {
			out[i] = engram.ClassifyResult{Classification: c, Confidence: conf, Reason: "fixed"}
		}
		return out, nil
	}
}

func testBulk(t *testing.T, h Harness) {
	t.Run("ConstantStatements", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		work := engram.ClassWork
		ops := []struct {
			name string
			run  func(ctx context.Context, ids []string) (int, error)
		}{
			{"classify", func(ctx context.Context, ids []string) (int, error) {
				o, err := f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: ids}, fixedClassifier(engram.ClassWork, 0.8))
				return o.Total, err
			}},
			{"set_classification", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.SetClassification(ctx, f.tenant.ID, f.key.ID, ids, engram.ClassPersonal)
				return r.Changed, err
			}},
			{"confirm", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, ids, &work)
				return r.Changed, err
			}},
			{"reject", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.RejectDocuments(ctx, f.tenant.ID, f.key.ID, ids, "noise")
				return r.Changed, err
			}},
			{"soft_delete", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, ids, false)
				return r.Changed, err
			}},
			{"restore", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.RestoreDocuments(ctx, f.tenant.ID, f.key.ID, ids)
				return r.Changed, err
			}},
			{"hard_delete", func(ctx context.Context, ids []string) (int, error) {
				r, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, ids, true)
				return r.Changed, err
			}},
		}
		want := bulkStatements(capabilities(t, f.s))
		for _, n := range []int{1, 100, 10000} {
			ids := createDocs(t, f.s, f.tenant.ID, n, "bulk", "short text")
			// Ids of documents that do not exist ride along and are reported.
			withMissing := append(append([]string{}, ids...), engram.NewID())
			for _, op := range ops {
				ctx, st := counted()
				changed, err := op.run(ctx, withMissing)
				if err != nil {
					t.Fatalf("%s of %d: %v", op.name, n, err)
				}
				if changed != n {
					t.Fatalf("%s of %d changed %d", op.name, n, changed)
				}
				if st.Count() != want[op.name] {
					t.Errorf("%s of %d took %d statements, want %d", op.name, n, st.Count(), want[op.name])
				}
				t.Logf("%s of %d: %d statements in %v", op.name, n, st.Count(), st.Duration())
			}
		}
		if got := f.in.DocumentRows(t, f.tenant.ID); got != 0 {
			t.Fatalf("document rows after hard deletes = %d, want 0", got)
		}
	})
}

func testBulkSemantics(t *testing.T, h Harness) {
	t.Run("ReviewFlow", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		ids := createDocs(t, f.s, f.tenant.ID, 10, "review", "text")
		missing := engram.NewID()

		// Auto-confirm: 0.9 >= 0.8 and not borderline.
		th := 0.8
		o, err := f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID,
			engram.ClassifySelection{IDs: append(ids[:4:4], missing), AutoConfirmThreshold: &th}, fixedClassifier(engram.ClassWork, 0.9))
		if err != nil {
			t.Fatal(err)
		}
		if o.Total != 4 || o.ByClass[engram.ClassWork] != 4 || o.AutoConfirmed != 4 || o.NeedsReview != 0 ||
			len(o.NotFound) != 1 || o.NotFound[0] != missing {
			t.Fatalf("classify outcome = %+v", o)
		}
		d := get(t, f, ids[0])
		if d.Status != engram.StatusConfirmed || d.UserConfirmed || d.ClassificationConfidence == nil || *d.ClassificationConfidence != 0.9 {
			t.Fatalf("auto-confirmed document = %+v", d)
		}
		// Pending selection with a limit: the remaining six, oldest first,
		// borderline results stay in review.
		o, err = f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{Limit: 5, AutoConfirmThreshold: &th}, fixedClassifier(engram.ClassSpam, 0.5))
		if err != nil || o.Total != 5 || o.AutoConfirmed != 0 || o.NeedsReview != 5 || o.ByClass[engram.ClassSpam] != 5 {
			t.Fatalf("pending classify = %+v, %v", o, err)
		}
		if d := get(t, f, ids[4]); d.Status != engram.StatusClassified || d.Classification != engram.ClassSpam {
			t.Fatalf("pending document after classify = %+v", d)
		}
		if d := get(t, f, ids[9]); d.Status != engram.StatusPending {
			t.Fatalf("document beyond the limit was classified: %+v", d)
		}

		// A person's decision is never overwritten by the classifier.
		personal := engram.ClassPersonal
		r, err := f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, []string{ids[4]}, &personal)
		if err != nil || r.Changed != 1 {
			t.Fatalf("confirm = %+v, %v", r, err)
		}
		o, err = f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: []string{ids[4], ids[5]}}, fixedClassifier(engram.ClassSpam, 0.99))
		if err != nil || o.Total != 1 || len(o.Skipped) != 1 || o.Skipped[0] != ids[4] {
			t.Fatalf("classify over a confirmed document = %+v, %v", o, err)
		}
		d = get(t, f, ids[4])
		if d.Classification != engram.ClassPersonal || !d.UserConfirmed || d.UserConfirmedAt == nil || *d.ClassificationConfidence != 1 {
			t.Fatalf("confirmed document changed by classifier: %+v", d)
		}

		r, err = f.s.RejectDocuments(ctx, f.tenant.ID, f.key.ID, []string{ids[5], missing}, "newsletter")
		if err != nil || r.Changed != 1 || len(r.NotFound) != 1 {
			t.Fatalf("reject = %+v, %v", r, err)
		}
		if d := get(t, f, ids[5]); d.Status != engram.StatusRejected || d.RejectionReason != "newsletter" || !d.UserConfirmed {
			t.Fatalf("rejected document = %+v", d)
		}
		r, err = f.s.SetClassification(ctx, f.tenant.ID, f.key.ID, []string{ids[6]}, engram.ClassSpam)
		if err != nil || r.Changed != 1 {
			t.Fatalf("set classification = %+v, %v", r, err)
		}
		if d := get(t, f, ids[6]); d.Classification != engram.ClassSpam || d.ClassificationReason != "set by user" || d.Status != engram.StatusConfirmed || !d.UserConfirmed {
			t.Fatalf("set-by-user document = %+v", d)
		}

		// Soft delete hides a document from everything but restore.
		r, err = f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{ids[7]}, false)
		if err != nil || r.Changed != 1 {
			t.Fatalf("soft delete = %+v, %v", r, err)
		}
		if _, err := f.s.GetDocument(ctx, f.tenant.ID, ids[7], false); engram.ErrorCode(err) != engram.ENotFound {
			t.Fatalf("soft-deleted document is visible: %v", err)
		}
		if d, err := f.s.GetDocument(ctx, f.tenant.ID, ids[7], true); err != nil || !d.IsDeleted || d.DeletedAt == nil {
			t.Fatalf("soft-deleted document with include_deleted = %+v, %v", d, err)
		}
		r, _ = f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, []string{ids[7]}, nil)
		if r.Changed != 0 || len(r.NotFound) != 1 {
			t.Fatalf("confirm of a soft-deleted document = %+v", r)
		}

		st, err := statsOnce(t, f)
		if err != nil {
			t.Fatal(err)
		}
		// 10 created, 1 soft-deleted: 4 auto-confirmed + ids[4] confirmed +
		// ids[6] set by user = 6 confirmed; ids[5] rejected; ids[8]
		// classified (spam 0.5); ids[9] pending.
		if st.Total != 9 || st.Deleted != 1 || st.ByStatus[engram.StatusConfirmed] != 6 || st.ByStatus[engram.StatusRejected] != 1 ||
			st.ByStatus[engram.StatusClassified] != 1 || st.ByStatus[engram.StatusPending] != 1 || st.NeedsReview != 1 ||
			st.ByClassification[engram.ClassWork] != 4 || st.ByClassification[engram.ClassSpam] != 3 ||
			st.ByClassification[engram.ClassPersonal] != 1 || st.ByClassification[engram.ClassUnknown] != 1 ||
			st.ByStatus[engram.StatusArchived] != 0 || len(st.ByStatus) != len(engram.DocumentStatuses) {
			t.Fatalf("stats = %+v", st)
		}

		r, err = f.s.RestoreDocuments(ctx, f.tenant.ID, f.key.ID, []string{ids[7], ids[8]})
		if err != nil || r.Changed != 1 || len(r.NotFound) != 1 || r.NotFound[0] != ids[8] {
			t.Fatalf("restore = %+v, %v", r, err)
		}
		if d := get(t, f, ids[7]); d.IsDeleted || d.DeletedAt != nil {
			t.Fatalf("restored document = %+v", d)
		}
		if n, last := f.in.AuditRows(t, f.tenant.ID, "documents.restore"); n != 1 || last != 1 {
			t.Fatalf("restore audit rows = %d (count %d), want 1 (1)", n, last)
		}
	})

	t.Run("HardDeleteTombstones", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		conn := f.in.InsertConnector(t, f.tenant.ID)
		mk := func(ext string) string {
			e := ext
			p := mustPrepare(t, []engram.NewDocument{{Title: "mail " + ext, Content: "body of " + ext, ConnectorID: &conn, ExternalID: &e}})
			if err := f.s.CreateDocuments(ctx, f.tenant.ID, p); err != nil {
				t.Fatal(err)
			}
			return p[0].ID
		}
		a, b := mk("m-1"), mk("m-2")
		plain := createDocs(t, f.s, f.tenant.ID, 1, "api doc", "api content")[0]
		// A soft-deleted document can be purged by a hard delete.
		if _, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{b}, false); err != nil {
			t.Fatal(err)
		}
		r, err := f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{a, b, plain, engram.NewID()}, true)
		if err != nil || r.Changed != 3 || r.Tombstoned != 2 || len(r.NotFound) != 1 {
			t.Fatalf("hard delete = %+v, %v", r, err)
		}
		if f.in.TombstoneRows(t, f.tenant.ID) != 2 || f.in.DocumentRows(t, f.tenant.ID) != 0 ||
			f.in.ChunkRows(t, f.tenant.ID, a) != 0 || f.in.ChunkRows(t, f.tenant.ID, plain) != 0 {
			t.Fatalf("rows after hard delete: tombstones %d, documents %d", f.in.TombstoneRows(t, f.tenant.ID), f.in.DocumentRows(t, f.tenant.ID))
		}
		// The same external id again: its tombstone is written again, not
		// duplicated, and that is not an error.
		a2 := mk("m-1")
		r, err = f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, []string{a2}, true)
		if err != nil || r.Changed != 1 || r.Tombstoned != 1 {
			t.Fatalf("second hard delete = %+v, %v", r, err)
		}
		if got := f.in.TombstoneRows(t, f.tenant.ID); got != 2 {
			t.Fatalf("tombstones = %d, want 2", got)
		}
		if n, last := f.in.AuditRows(t, f.tenant.ID, "documents.hard_delete"); n != 2 || last != 1 {
			t.Fatalf("hard delete audit rows = %d (last count %d), want 2 (1)", n, last)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		for round := 0; round < 4; round++ {
			ids := createDocs(t, f.s, f.tenant.ID, 300, "race", "text")
			var wg sync.WaitGroup
			var conf, del engram.BulkResult
			var confErr, delErr error
			hard := round%2 == 0
			wg.Add(2)
			go func() { defer wg.Done(); conf, confErr = f.s.ConfirmDocuments(ctx, f.tenant.ID, f.key.ID, ids, nil) }()
			go func() {
				defer wg.Done()
				del, delErr = f.s.DeleteDocuments(ctx, f.tenant.ID, f.key.ID, reversed(ids), hard)
			}()
			wg.Wait()
			if confErr != nil || delErr != nil {
				t.Fatalf("round %d: confirm error %v, delete error %v", round, confErr, delErr)
			}
			if del.Changed != 300 {
				t.Fatalf("round %d: delete changed %d, want 300", round, del.Changed)
			}
			// Either the confirm ran first (all 300 confirmed) or the delete
			// did (the confirm found nothing): never a mix.
			if conf.Changed != 0 && conf.Changed != 300 {
				t.Fatalf("round %d: confirm changed %d of 300: the two requests interleaved", round, conf.Changed)
			}
			if !hard {
				d, err := f.s.GetDocument(ctx, f.tenant.ID, ids[150], true)
				if err != nil || !d.IsDeleted || d.UserConfirmed != (conf.Changed == 300) {
					t.Fatalf("round %d: final state %+v, %v does not match confirm changed %d", round, d, err, conf.Changed)
				}
			}
		}
	})
}

func reversed(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

func get(t *testing.T, f fixture, id string) engram.Document {
	t.Helper()
	d, err := f.s.GetDocument(context.Background(), f.tenant.ID, id, false)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return d
}

// statsOnce reads the stats and checks they took exactly one statement.
func statsOnce(t *testing.T, f fixture) (engram.DocumentStats, error) {
	t.Helper()
	ctx, st := counted()
	s, err := f.s.DocumentStats(ctx, f.tenant.ID)
	if st.Count() != 1 {
		t.Fatalf("stats took %d statements, want 1", st.Count())
	}
	return s, err
}
