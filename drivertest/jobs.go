package drivertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// testJobs covers the JobExecutor statements of a job's row: recording
// it, reading it and moving it through its statuses.
func testJobs(t *testing.T, h Harness) {
	t.Run("Insert", func(t *testing.T) { t.Parallel(); testJobInsert(t, newFixture(t, h)) })
	t.Run("ActiveID", func(t *testing.T) { t.Parallel(); testJobActiveID(t, newFixture(t, h)) })
	t.Run("Snapshot", func(t *testing.T) { t.Parallel(); testJobSnapshot(t, newFixture(t, h)) })
	t.Run("ReadAndList", func(t *testing.T) { t.Parallel(); testJobRead(t, newFixture(t, h)) })
	t.Run("LatestForConnector", func(t *testing.T) { t.Parallel(); testJobLatest(t, newFixture(t, h)) })
	t.Run("CancelAndStart", func(t *testing.T) { t.Parallel(); testJobCancelStart(t, newFixture(t, h)) })
	t.Run("Heartbeat", func(t *testing.T) { t.Parallel(); testJobHeartbeat(t, newFixture(t, h)) })
	t.Run("ProgressAndFinish", func(t *testing.T) { t.Parallel(); testJobFinish(t, newFixture(t, h)) })
	t.Run("Advance", func(t *testing.T) { t.Parallel(); testJobAdvance(t, newFixture(t, h)) })
	t.Run("LockTakesTurns", func(t *testing.T) { t.Parallel(); testJobLock(t, newFixture(t, h)) })
	t.Run("AnalysesTakeTurns", func(t *testing.T) { t.Parallel(); testJobsLockAnalyses(t, newFixture(t, h)) })
}

// insert records j at at in one statement and reports whether the
// driver recorded it.
func (f fixture) insert(t *testing.T, j engram.NewJobRow, at time.Time) (engram.JobRecord, bool) {
	t.Helper()
	var out engram.JobRecord
	var ok bool
	count(t, "JobInsert "+string(j.Kind), 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) (err error) {
			out, ok, err = tx.JobInsert(ctx, f.tenant, j, at)
			return err
		})
	})
	return out, ok
}

func testJobInsert(t *testing.T, f fixture) {
	ctx := context.Background()
	p := engram.JobParams{Hard: true, BatchSize: 25, Bound: engram.NewID()}
	row := engram.NewJobRow{ID: engram.NewID(), Kind: engram.JobDeleteAll, Total: 3, Params: p, RiverJobID: 42, RequestedBy: f.actor}
	j, ok := f.insert(t, row, clock(0))
	if !ok {
		t.Fatal("the first delete-all was refused")
	}
	for _, got := range []engram.JobRecord{j, f.getJob(t, row.ID)} {
		if got.ID != row.ID || got.Kind != engram.JobDeleteAll || got.Status != engram.JobQueued ||
			got.Progress != (engram.JobProgress{Total: 3}) || !got.CreatedAt.Equal(clock(0)) || got.CreatedAt.Location() != time.UTC ||
			got.StartedAt != nil || got.FinishedAt != nil || got.CancelRequestedAt != nil || got.Error != nil ||
			got.ConnectorID != nil || got.Cursor != "" ||
			!got.Params.Hard || got.Params.BatchSize != 25 || got.Params.Bound != p.Bound {
			t.Errorf("recorded job = %+v, want a queued hard delete-all of 3 created at %v", got, clock(0))
		}
	}

	// jobs_one_delete_all refuses a second queued or running delete-all.
	second := row
	second.ID = engram.NewID()
	if _, ok := f.insert(t, second, clock(1)); ok {
		t.Error("a second delete-all was recorded while the first is queued")
	}
	if _, err := f.d.Reader().JobGet(ctx, f.tenant, second.ID); engram.ErrorCode(err) != engram.ENotFound {
		t.Errorf("the refused delete-all: %v, want not_found", err)
	}
	// Other kinds are not refused, and a finished delete-all frees the index.
	classify := engram.NewJobRow{ID: engram.NewID(), Kind: engram.JobClassifyPending, Params: engram.JobParams{BatchSize: 5, Bound: engram.NilID}}
	if _, ok := f.insert(t, classify, clock(1)); !ok {
		t.Error("a classify job was refused beside a delete-all")
	}
	f.finish(t, f.tenant, row.ID, clock(2))
	if _, ok := f.insert(t, second, clock(3)); !ok {
		t.Error("a delete-all was refused after the first finished")
	}

	// jobs_one_sync refuses a second queued or running sync of a connector.
	c1, c2 := f.connector(t, f.tenant, "one", 0), f.connector(t, f.tenant, "two", 0)
	sync := func(conn string) engram.NewJobRow {
		return engram.NewJobRow{ID: engram.NewID(), Kind: engram.JobSync, Params: engram.JobParams{ConnectorID: conn, Full: true}, RiverJobID: 7}
	}
	s1 := sync(c1)
	j, ok = f.insert(t, s1, clock(4))
	if !ok || j.Kind != engram.JobSync || j.ConnectorID == nil || *j.ConnectorID != c1 || !j.Params.Full || j.Status != engram.JobQueued {
		t.Errorf("sync job = %+v (recorded %v), want a queued full sync of %s", j, ok, c1)
	}
	if _, ok := f.insert(t, sync(c1), clock(5)); ok {
		t.Error("a second sync of a connector was recorded while the first is queued")
	}
	if _, ok := f.insert(t, sync(c2), clock(5)); !ok {
		t.Error("a sync of another connector was refused")
	}
	f.finish(t, f.tenant, s1.ID, clock(6))
	if _, ok := f.insert(t, sync(c1), clock(7)); !ok {
		t.Error("a sync was refused after the connector's first finished")
	}
}

func testJobActiveID(t *testing.T, f fixture) {
	ctx := context.Background()
	active := func(kind engram.JobKind, conn string) string {
		t.Helper()
		var id string
		count(t, "JobActiveID "+string(kind), 1, func(ctx context.Context) (err error) {
			id, err = f.d.Reader().JobActiveID(ctx, f.tenant, kind, conn)
			return err
		})
		return id
	}
	conn := f.connector(t, f.tenant, "feed", 0)
	if id := active(engram.JobDeleteAll, ""); id != "" {
		t.Errorf("active delete-all of an empty tenant = %q", id)
	}
	del := f.job(t, f.tenant, engram.JobDeleteAll, engram.JobParams{}, clock(0))
	analysis := f.job(t, f.tenant, engram.JobAnalyzeGaps, engram.JobParams{}, clock(0))
	sync := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(0))
	if id := active(engram.JobDeleteAll, ""); id != del.ID {
		t.Errorf("active delete-all = %q, want %s", id, del.ID)
	}
	if id := active(engram.JobAnalyzeGaps, ""); id != analysis.ID {
		t.Errorf("active analysis = %q, want %s", id, analysis.ID)
	}
	if id := active(engram.JobSync, conn); id != sync.ID {
		t.Errorf("active sync = %q, want %s", id, sync.ID)
	}
	if id := active(engram.JobSync, engram.NewID()); id != "" {
		t.Errorf("active sync of a missing connector = %q", id)
	}
	// Running counts as active; finished does not.
	if _, _, err := f.d.Writer().JobStart(ctx, f.tenant, del.ID, clock(1)); err != nil {
		t.Fatal(err)
	}
	if id := active(engram.JobDeleteAll, ""); id != del.ID {
		t.Errorf("active delete-all once running = %q, want %s", id, del.ID)
	}
	f.finish(t, f.tenant, sync.ID, clock(2))
	if id := active(engram.JobSync, conn); id != "" {
		t.Errorf("active sync after it finished = %q", id)
	}
	other, _, err := f.s.CreateTenant(ctx, "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := f.d.Reader().JobActiveID(ctx, other.ID, engram.JobDeleteAll, ""); id != "" || err != nil {
		t.Errorf("another tenant's active delete-all = %q, %v", id, err)
	}
	_, err = f.d.Reader().JobActiveID(ctx, f.tenant, engram.JobClassifyPending, "")
	wantCode(t, "JobActiveID of a classify job", err, engram.EInternal)
}

func testJobSnapshot(t *testing.T, f fixture) {
	ctx := context.Background()
	snapshot := func(tenantID string, tg engram.JobTargets) engram.JobSnapshot {
		t.Helper()
		var s engram.JobSnapshot
		count(t, "JobSnapshotRead", 1, func(ctx context.Context) (err error) {
			s, err = f.d.Reader().JobSnapshotRead(ctx, tenantID, tg)
			return err
		})
		return s
	}
	other, _, err := f.s.CreateTenant(ctx, "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	if s := snapshot(other.ID, engram.JobTargets{Kind: engram.JobDeleteAll, Hard: true}); s != (engram.JobSnapshot{}) {
		t.Errorf("snapshot of an empty tenant = %+v, want zero", s)
	}
	// Four documents by hand (one deleted, one confirmed) and two of a
	// connector, all made after the hand ones.
	hand := f.docs(t, 4, "snapshot", "text")
	if _, err := f.s.DeleteDocuments(ctx, f.tenant, f.actor, hand[3:], false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ConfirmDocuments(ctx, f.tenant, f.actor, hand[2:3], nil); err != nil {
		t.Fatal(err)
	}
	conn := f.connector(t, f.tenant, "feed", 0)
	fed := f.connectorDocs(t, conn, 2)
	all := append(slices.Clone(hand), fed...)
	live := append(slices.Clone(hand[:3]), fed...)
	pending := append(slices.Clone(hand[:2]), fed...)
	cases := []struct {
		name  string
		tg    engram.JobTargets
		total int
		ids   []string
	}{
		{"hard delete-all", engram.JobTargets{Kind: engram.JobDeleteAll, Hard: true}, 6, all},
		{"soft delete-all", engram.JobTargets{Kind: engram.JobDeleteAll}, 5, live},
		{"classify", engram.JobTargets{Kind: engram.JobClassifyPending}, 4, pending},
		{"connector's delete", engram.JobTargets{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: conn}, 2, fed},
		{"missing connector's delete", engram.JobTargets{Kind: engram.JobDeleteAll, Hard: true, ConnectorID: engram.NewID()}, 0, nil},
	}
	for _, c := range cases {
		want := engram.JobSnapshot{Total: c.total}
		if len(c.ids) > 0 {
			want.Bound = slices.Max(c.ids)
		}
		if got := snapshot(f.tenant, c.tg); got != want {
			t.Errorf("%s snapshot = %+v, want %+v", c.name, got, want)
		}
	}
	for _, tg := range []engram.JobTargets{{Kind: engram.JobClassifyPending, Hard: true}, {Kind: engram.JobAnalyzeGaps}} {
		_, err := f.d.Reader().JobSnapshotRead(ctx, f.tenant, tg)
		wantCode(t, "JobSnapshotRead of "+string(tg.Kind), err, engram.EInternal)
	}
}

func testJobRead(t *testing.T, f fixture) {
	ctx := context.Background()
	j := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{BatchSize: 3}, clock(0))
	count(t, "JobGet", 1, func(ctx context.Context) error {
		got, err := f.d.Reader().JobGet(ctx, f.tenant, j.ID)
		if err == nil && (got.ID != j.ID || got.Params.BatchSize != 3) {
			t.Errorf("JobGet = %+v, want %+v", got, j)
		}
		return err
	})
	count(t, "JobLock", 1, func(ctx context.Context) error {
		return f.inTx(t, ctx, func(tx engram.Tx) error {
			got, err := tx.JobLock(ctx, f.tenant, j.ID)
			if err == nil && got.ID != j.ID {
				t.Errorf("JobLock = %+v, want %+v", got, j)
			}
			return err
		})
	})
	other, _, err := f.s.CreateTenant(ctx, "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ tenant, id string }{{f.tenant, engram.NewID()}, {other.ID, j.ID}} {
		_, err := f.d.Reader().JobGet(ctx, c.tenant, c.id)
		wantCode(t, "JobGet of a missing job", err, engram.ENotFound)
		err = f.inTx(t, ctx, func(tx engram.Tx) error {
			_, err := tx.JobLock(ctx, c.tenant, c.id)
			return err
		})
		wantCode(t, "JobLock of a missing job", err, engram.ENotFound)
	}

	// Newest first; jobs created at the same time by id, largest first.
	a := f.job(t, f.tenant, engram.JobAnalyzeGaps, engram.JobParams{}, clock(1))
	b := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(2))
	c := f.job(t, f.tenant, engram.JobClassifyPending, engram.JobParams{}, clock(2))
	d := f.job(t, f.tenant, engram.JobDeleteAll, engram.JobParams{}, clock(3))
	f.job(t, other.ID, engram.JobDeleteAll, engram.JobParams{}, clock(4))
	if _, ok, err := f.d.Writer().JobStart(ctx, f.tenant, b.ID, clock(5)); !ok || err != nil {
		t.Fatalf("start: %v %v", ok, err)
	}
	classify, running := engram.JobClassifyPending, engram.JobRunning
	cases := []struct {
		name string
		f    engram.JobFilter
		want []string
	}{
		{"all", engram.JobFilter{Limit: 10}, []string{d.ID, c.ID, b.ID, a.ID, j.ID}},
		{"first page", engram.JobFilter{Limit: 2}, []string{d.ID, c.ID}},
		{"after a cursor", engram.JobFilter{Limit: 10, Cursor: &engram.JobCursor{CreatedAt: c.CreatedAt, ID: c.ID}}, []string{b.ID, a.ID, j.ID}},
		{"of a kind", engram.JobFilter{Limit: 10, Kind: &classify}, []string{c.ID, b.ID, j.ID}},
		{"of a status", engram.JobFilter{Limit: 10, Status: &running}, []string{b.ID}},
	}
	for _, tc := range cases {
		var got []engram.Job
		count(t, "JobList "+tc.name, 1, func(ctx context.Context) (err error) {
			got, err = f.d.Reader().JobList(ctx, f.tenant, tc.f)
			return err
		})
		ids := make([]string, len(got))
		for i, g := range got {
			ids[i] = g.ID
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("JobList %s = %v, want %v", tc.name, ids, tc.want)
		}
	}
}

func testJobLatest(t *testing.T, f fixture) {
	conn, idle := f.connector(t, f.tenant, "feed", 0), f.connector(t, f.tenant, "idle", 0)
	first := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(0))
	f.finish(t, f.tenant, first.ID, clock(1))
	second := f.job(t, f.tenant, engram.JobSync, engram.JobParams{ConnectorID: conn}, clock(2))
	del := f.job(t, f.tenant, engram.JobDeleteAll, engram.JobParams{Hard: true, ConnectorID: conn}, clock(3))
	cases := []struct {
		conn string
		kind engram.JobKind
		want string
	}{
		{conn, engram.JobSync, second.ID},
		{conn, engram.JobDeleteAll, del.ID},
		{idle, engram.JobSync, ""},
	}
	for _, c := range cases {
		var got *engram.Job
		count(t, "JobLatestForConnector", 1, func(ctx context.Context) (err error) {
			got, err = f.d.Reader().JobLatestForConnector(ctx, f.tenant, c.conn, c.kind)
			return err
		})
		if id := jobID(got); id != c.want {
			t.Errorf("latest %s of %s = %q, want %q", c.kind, c.conn, id, c.want)
		}
	}
}

// jobID is j's id, "" for nil.
func jobID(j *engram.Job) string {
	if j == nil {
		return ""
	}
	return j.ID
}
