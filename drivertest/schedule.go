package drivertest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// keptCountTables are the tables of kept counts (document_counts,
// gap_counts and search_terms) that CountsCompact folds one statement
// each.
const keptCountTables = 3

// testSchedule covers the ScheduleExecutor statements: the only ones that
// read across tenants, so each case runs on a database of its own and
// counts every row in it.
func testSchedule(t *testing.T, h Harness) {
	t.Run("ConnectorsDue", func(t *testing.T) { t.Parallel(); testConnectorsDue(t, newFixture(t, h)) })
	t.Run("InsertScheduledAndReschedule", func(t *testing.T) { t.Parallel(); testInsertScheduled(t, newFixture(t, h)) })
	t.Run("ActiveCounts", func(t *testing.T) { t.Parallel(); testActiveCounts(t, newFixture(t, h)) })
	t.Run("UnfinishedAndFail", func(t *testing.T) { t.Parallel(); testUnfinished(t, newFixture(t, h)) })
	t.Run("SyncNotes", func(t *testing.T) { t.Parallel(); testSyncNotes(t, newFixture(t, h)) })
	t.Run("Compaction", func(t *testing.T) { t.Parallel(); testCompaction(t, newFixture(t, h)) })
	t.Run("Statistics", func(t *testing.T) { t.Parallel(); testStatistics(t, newFixture(t, h)) })
}

// otherTenant creates a second tenant and returns its id.
func (f fixture) otherTenant(t *testing.T) string {
	t.Helper()
	tn, _, err := f.s.CreateTenant(context.Background(), "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// due runs ConnectorsDue in a transaction, as the scheduler does.
func (f fixture) due(t *testing.T, now time.Time, limit int) []engram.DueConnector {
	t.Helper()
	var due []engram.DueConnector
	count(t, "ConnectorsDue", 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			due, err = tx.ConnectorsDue(ctx, now, limit)
			return err
		})
	})
	return due
}

func testConnectorsDue(t *testing.T, f fixture) {
	ctx := context.Background()
	other := f.otherTenant(t)
	// Made in turn, so each is due a little after the one before.
	first := f.connector(t, f.tenant, "first", time.Hour)
	busy := f.connector(t, f.tenant, "busy", 15*time.Minute)
	theirs := f.connector(t, other, "theirs", time.Hour)
	off := f.connector(t, f.tenant, "disconnected", time.Hour)
	f.connector(t, f.tenant, "on request", 0)
	if _, err := f.d.Writer().ConnectorDisconnect(ctx, f.tenant, off, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: busy}, clock(0))
	now := time.Now().Add(time.Minute)
	want := []engram.DueConnector{
		{TenantID: f.tenant, ID: first, Interval: time.Hour},
		{TenantID: f.tenant, ID: busy, Interval: 15 * time.Minute, Busy: true},
		{TenantID: other, ID: theirs, Interval: time.Hour},
	}
	if got := f.due(t, now, 10); !slices.Equal(got, want) {
		t.Errorf("due = %+v, want %+v", got, want)
	}
	if got := f.due(t, now, 1); !slices.Equal(got, want[:1]) {
		t.Errorf("due, limit 1 = %+v, want the most overdue", got)
	}
	if got := f.due(t, time.Now().Add(-time.Hour), 10); len(got) != 0 {
		t.Errorf("due an hour ago = %+v, want none", got)
	}
	if !f.caps.RowLocks {
		return // the one writer keeps any other write out of the pass
	}
	// A connector another transaction holds is skipped, not waited for.
	tx, err := f.d.Begin(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, _, err := tx.ConnectorLockForSync(ctx, f.tenant, first); err != nil {
		t.Fatal(err)
	}
	if got := f.due(t, now, 10); !slices.Equal(got, want[1:]) {
		t.Errorf("due while one is held = %+v, want %+v", got, want[1:])
	}
}

func testInsertScheduled(t *testing.T, f fixture) {
	ctx := context.Background()
	other := f.otherTenant(t)
	mine, busy, theirs := f.connector(t, f.tenant, "mine", time.Hour), f.connector(t, f.tenant, "busy", time.Hour), f.connector(t, other, "theirs", time.Hour)
	running := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: busy}, clock(0))
	// The busy connector is planned too, as if its sync were requested
	// after ConnectorsDue read it: jobs_one_sync skips it.
	now := clock(5)
	jobs := engram.PlanScheduledSyncs([]engram.DueConnector{{TenantID: f.tenant, ID: mine}, {TenantID: f.tenant, ID: busy}, {TenantID: other, ID: theirs}}, now)
	var n int
	count(t, "JobsInsertScheduled", 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			n, err = tx.JobsInsertScheduled(ctx, jobs, []int64{11, 12, 13}, now)
			return err
		})
	})
	if n != 2 {
		t.Errorf("recorded %d scheduled jobs, want 2", n)
	}
	for _, j := range jobs {
		got, err := f.d.Reader().JobGet(ctx, j.TenantID, j.Job.ID)
		if j.ConnectorID == busy {
			wantCode(t, "the skipped job", err, engram.ENotFound)
			continue
		}
		if err != nil || got.Kind != engram.JobSync || got.Status != engram.JobQueued || !got.Scheduled ||
			got.ConnectorID == nil || *got.ConnectorID != j.ConnectorID || !got.CreatedAt.Equal(now) {
			t.Errorf("scheduled job = %+v, %v; want a queued scheduled sync of %s", got, err, j.ConnectorID)
		}
	}
	if id, _ := f.d.Reader().JobActiveID(ctx, f.tenant, engram.JobSync, busy); id != running.ID {
		t.Errorf("the busy connector's sync = %q, want %s", id, running.ID)
	}

	// Rescheduling names each connector with its tenant: another tenant's
	// id pair matches nothing.
	next := []engram.NextSync{{TenantID: f.tenant, ConnectorID: mine, At: clock(60)}, {TenantID: other, ConnectorID: theirs, At: clock(120)},
		{TenantID: f.tenant, ConnectorID: theirs, At: clock(180)}}
	count(t, "ConnectorsReschedule", 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) error { return tx.ConnectorsReschedule(ctx, next) })
	})
	for _, c := range []struct {
		tenant, id string
		at         time.Time
	}{{f.tenant, mine, clock(60)}, {other, theirs, clock(120)}} {
		got, err := f.s.GetConnector(ctx, c.tenant, c.id)
		if err != nil || !sameTime(got.NextSyncAt, c.at) {
			t.Errorf("connector %s next sync = %v, %v; want %v", c.id, got.NextSyncAt, err, c.at)
		}
	}
	if got, err := f.s.GetConnector(ctx, f.tenant, busy); err != nil || got.NextSyncAt == nil || got.NextSyncAt.Equal(clock(60)) {
		t.Errorf("a connector not rescheduled moved: %v, %v", got.NextSyncAt, err)
	}
}

func testActiveCounts(t *testing.T, f fixture) {
	other := f.otherTenant(t)
	f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	f.job(t, other, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	f.started(t, engram.JobClassifyPending, engram.JobParams{}, clock(0))
	f.started(t, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	done := f.job(t, f.tenant, engram.JobAnalyzeGaps, engram.JobParams{}, clock(0))
	f.finish(t, f.tenant, done.ID, clock(1))
	var got []engram.JobCount
	count(t, "JobActiveCounts", 1, func(ctx context.Context) (err error) {
		got, err = f.d.Reader().JobActiveCounts(ctx)
		return err
	})
	type key struct {
		kind   engram.JobKind
		status engram.JobStatus
	}
	counts := map[key]int{}
	for _, c := range got {
		counts[key{c.Kind, c.Status}] += c.Count
	}
	want := map[key]int{{engram.JobClassifyPending, engram.JobQueued}: 2, {engram.JobClassifyPending, engram.JobRunning}: 1,
		{engram.JobDeleteAll, engram.JobRunning}: 1}
	if len(got) != len(want) || !maps.Equal(counts, want) {
		t.Errorf("active counts = %+v, want %v", got, want)
	}
}

func testUnfinished(t *testing.T, f fixture) {
	ctx := context.Background()
	other := f.otherTenant(t)
	conn := f.connector(t, f.tenant, "feed", 0)
	sync := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(0))
	theirs := f.job(t, other, engram.JobClassifyPending, engram.JobParams{}, clock(1))
	mine := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(2))
	done := f.job(t, f.tenant, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	f.finish(t, f.tenant, done.ID, clock(0))
	f.job(t, f.tenant, engram.JobAnalyzeGaps, engram.JobParams{}, clock(9)) // changed too recently
	unfinished := func(before time.Time, limit int) []engram.UnfinishedJob {
		var out []engram.UnfinishedJob
		count(t, "JobsUnfinished", 1, func(ctx context.Context) (err error) {
			out, err = f.d.Reader().JobsUnfinished(ctx, before, limit)
			return err
		})
		return out
	}
	want := []engram.UnfinishedJob{{TenantID: f.tenant, ID: sync.ID, Kind: engram.JobSync, RiverJobID: 1},
		{TenantID: other, ID: theirs.ID, Kind: engram.JobClassifyPending, RiverJobID: 1},
		{TenantID: f.tenant, ID: mine.ID, Kind: engram.JobClassifyPending, RiverJobID: 1}}
	if got := unfinished(clock(5), 10); !slices.Equal(got, want) {
		t.Errorf("unfinished = %+v, want %+v", got, want)
	}
	if got := unfinished(clock(5), 2); !slices.Equal(got, want[:2]) {
		t.Errorf("unfinished, limit 2 = %+v, want the two oldest", got)
	}

	// Failing them: the final and missing ones among them are left out,
	// and the sync's failure is written on its connector.
	fail := func(jobs []engram.UnfinishedJob, want int) []engram.UnfinishedJob {
		var out []engram.UnfinishedJob
		count(t, "JobsFail", want, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				out, err = tx.JobsFail(ctx, jobs, "worker lost", clock(7))
				return err
			})
		})
		return out
	}
	withSync := 2
	if f.caps.WritableCTE {
		withSync = 1
	}
	gone := engram.UnfinishedJob{TenantID: f.tenant, ID: engram.NewID(), Kind: engram.JobSync}
	final := engram.UnfinishedJob{TenantID: f.tenant, ID: done.ID, Kind: engram.JobDeleteAll, RiverJobID: 1}
	got := fail([]engram.UnfinishedJob{want[0], want[1], final, gone}, withSync)
	if !slices.Equal(sortedJobs(got), sortedJobs(want[:2])) {
		t.Errorf("failed = %+v, want %+v", got, want[:2])
	}
	for _, j := range want[:2] {
		r, err := f.d.Reader().JobGet(ctx, j.TenantID, j.ID)
		if err != nil || r.Status != engram.JobFailed || r.Error == nil || *r.Error != "worker lost" || !sameTime(r.FinishedAt, clock(7)) {
			t.Errorf("failed job = %+v, %v", r, err)
		}
	}
	if r := f.getJob(t, done.ID); r.Status != engram.JobSucceeded {
		t.Errorf("JobsFail changed a final job: %+v", r)
	}
	c, err := f.s.GetConnector(ctx, f.tenant, conn)
	if err != nil || c.LastSyncStatus == nil || *c.LastSyncStatus != string(engram.JobFailed) ||
		c.LastSyncError == nil || *c.LastSyncError != "worker lost" || !sameTime(c.LastSyncAt, clock(7)) {
		t.Errorf("connector of the failed sync = %+v, %v", c, err)
	}
	// Without a sync among them, one statement on every engine.
	if got := fail(want[2:], 1); !slices.Equal(got, want[2:]) {
		t.Errorf("failed = %+v, want %+v", got, want[2:])
	}
}

// sortedJobs returns jobs sorted by id.
func sortedJobs(jobs []engram.UnfinishedJob) []engram.UnfinishedJob {
	return slices.SortedFunc(slices.Values(jobs), func(a, b engram.UnfinishedJob) int { return strings.Compare(a.ID, b.ID) })
}

func testSyncNotes(t *testing.T, f fixture) {
	ctx := context.Background()
	conn := f.connector(t, f.tenant, "feed", 0)
	items, _, err := engram.PrepareSyncItems(conn, []engram.SourceItem{{ExternalID: "a", Title: "A", Content: "text"},
		{ExternalID: "b", Title: "B", Content: "text"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := f.s.SyncBatch(ctx, f.tenant, conn, items, engram.SyncOptions{RunID: engram.NewID()}); err != nil {
		t.Fatal(err)
	}
	drop := func(before time.Time) int {
		var n int
		count(t, "SyncNotesDropStale", 1, func(ctx context.Context) (err error) {
			n, err = f.d.Writer().SyncNotesDropStale(ctx, before)
			return err
		})
		return n
	}
	if n := drop(start.Add(-time.Second)); n != 0 {
		t.Errorf("dropped %d notes of a run that started after the cutoff", n)
	}
	if n := drop(time.Now().Add(time.Second)); n != 2 {
		t.Errorf("dropped %d notes of a stale run, want 2", n)
	}
	if n := drop(time.Now().Add(time.Second)); n != 0 {
		t.Errorf("dropped %d notes twice", n)
	}
}

func testCompaction(t *testing.T, f fixture) {
	ctx := context.Background()
	lock := func() bool {
		var mine bool
		count(t, "CountsLockCompaction", ifLocks(f.caps), func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				mine, err = tx.CountsLockCompaction(ctx)
				return err
			})
		})
		return mine
	}
	if !lock() {
		t.Error("CountsLockCompaction refused with no other compaction running")
	}
	if f.caps.RowLocks {
		// A second compaction does not wait for the first: it is refused.
		tx, err := f.d.Begin(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if mine, err := tx.CountsLockCompaction(ctx); err != nil || !mine {
			t.Fatalf("first lock: %v, %v", mine, err)
		}
		if lock() {
			t.Error("a second compaction took the lock the first holds")
		}
		tx.Rollback(ctx)
	}

	f.docs(t, 3, "counted", "text")
	other := f.otherTenant(t)
	if err := f.s.CreateDocuments(ctx, other, prepared(t, 2)); err != nil {
		t.Fatal(err)
	}
	compact := func(limit int) int {
		var n int
		count(t, "CountsCompact", ifCap(f.caps.CountDeltas, keptCountTables), func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
				n, err = tx.CountsCompact(ctx, limit)
				return err
			})
		})
		return n
	}
	// Two tenants have document deltas: one per pass of limit 1, then none.
	for i, want := range []int{1, 1, 0} {
		if n := compact(1); n != ifCap(f.caps.CountDeltas, want) {
			t.Errorf("compaction %d folded %d tenants, want %d", i, n, ifCap(f.caps.CountDeltas, want))
		}
	}
	for tenant, n := range map[string]int{f.tenant: 3, other: 2} {
		s, err := f.d.Reader().DocumentStats(ctx, tenant)
		if err != nil || s.Total != n || s.ByStatus[engram.StatusPending] != n {
			t.Errorf("stats after compaction = %+v, %v; want %d pending", s, err, n)
		}
	}
}

// prepared returns n prepared documents.
func prepared(t *testing.T, n int) []engram.PreparedDocument {
	t.Helper()
	in := make([]engram.NewDocument, n)
	for i := range in {
		in[i] = engram.NewDocument{Title: "counted", Content: "text"}
	}
	p, err := engram.PrepareDocuments(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testStatistics(t *testing.T, f fixture) {
	ctx := context.Background()
	f.docs(t, 3, "analyzed", "text")
	stale := func(minChanges int64) []string {
		var out []string
		count(t, "StatisticsStale", ifCap(f.caps.Statistics, 1), func(ctx context.Context) (err error) {
			out, err = f.d.Reader().StatisticsStale(ctx, minChanges)
			return err
		})
		return out
	}
	if got := stale(1 << 40); len(got) != 0 {
		t.Errorf("stale beyond any change count = %v", got)
	}
	// Every table has more than -1 changes.
	all := stale(-1)
	if f.caps.Statistics != slices.Contains(all, "documents") {
		t.Errorf("stale with no threshold = %v; want documents among them exactly when the engine keeps statistics", all)
	}
	for _, table := range all {
		count(t, "StatisticsAnalyze "+table, 2, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error { return tx.StatisticsAnalyze(ctx, table) })
		})
	}
	if !f.caps.Statistics {
		count(t, "StatisticsAnalyze without statistics", 0, func(ctx context.Context) error {
			return f.inTx(t, ctx, func(tx engram.Tx) error { return tx.StatisticsAnalyze(ctx, "documents") })
		})
		return
	}
	err := f.inTx(t, ctx, func(tx engram.Tx) error { return tx.StatisticsAnalyze(ctx, "tenants; DROP TABLE jobs") })
	wantCode(t, "StatisticsAnalyze of another table", err, engram.EInvalid)
}
