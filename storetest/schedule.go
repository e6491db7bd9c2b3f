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

// testSchedule covers connectors' sync_interval: the schedule's fields,
// which connectors a scheduler pass finds due, the jobs it starts (one
// per idle connector, none for a busy one, in a fixed number of
// statements), how it moves next_sync_at, and two passes racing.
func testSchedule(t *testing.T, h Harness) {
	t.Run("Schedule", func(t *testing.T) {
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		mk := func(tenantID, name string, every time.Duration) engram.Connector {
			t.Helper()
			c, err := f.s.CreateConnector(ctx, tenantID, "", "folder", name, json.RawMessage(`{}`), every)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		manual := mk(f.tenant.ID, "manual", 0)
		if manual.SyncInterval != nil || manual.NextSyncAt != nil {
			t.Fatalf("manual connector = %+v", manual)
		}
		hourly := mk(f.tenant.ID, "hourly", time.Hour)
		if hourly.SyncInterval == nil || *hourly.SyncInterval != "1h" || hourly.NextSyncAt == nil || !hourly.NextSyncAt.Equal(hourly.CreatedAt) {
			t.Fatalf("hourly connector = %+v: want sync_interval 1h, first sync due at creation", hourly)
		}
		paused := mk(f.tenant.ID, "paused", 15*time.Minute)
		busy := mk(f.tenant.ID, "busy", time.Hour)
		gone := mk(f.tenant.ID, "gone", time.Hour)
		for id, st := range map[string]engram.ConnectorStatus{paused.ID: engram.ConnectorPaused, gone.ID: engram.ConnectorDisconnected} {
			if _, err := f.s.UpdateConnector(ctx, f.tenant.ID, "", id, engram.ConnectorPatch{Status: &st}); err != nil {
				t.Fatal(err)
			}
		}
		manualJob, err := f.s.EnqueueJob(ctx, f.tenant.ID, "", engram.JobRequest{Kind: engram.JobSync, ConnectorID: busy.ID})
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		twoHourly := mk(other.ID, "two-hourly", 2*time.Hour)

		// Due: hourly, busy (a sync runs already) and the other tenant's.
		now := time.Now().Add(time.Second).UTC().Truncate(time.Microsecond)
		cctx, st := counted()
		got, err := f.s.ScheduleSyncs(cctx, now, 100)
		if err != nil || got != (engram.ScheduledSyncs{Due: 3, Enqueued: 2}) {
			t.Fatalf("first pass = %+v, %v; want 3 due, 2 started", got, err)
		}
		if st.Count() != 3 {
			t.Fatalf("a pass took %d statements, want 3 (due, jobs, reschedule)", st.Count())
		}
		for _, c := range []struct {
			tenant string
			conn   engram.Connector
			every  time.Duration
		}{{f.tenant.ID, hourly, time.Hour}, {other.ID, twoHourly, 2 * time.Hour}} {
			j, err := f.s.LatestConnectorJob(ctx, c.tenant, c.conn.ID, engram.JobSync)
			if err != nil || j == nil || j.Status != engram.JobQueued || !j.Scheduled || j.ConnectorID == nil || *j.ConnectorID != c.conn.ID {
				t.Fatalf("%s's scheduled job = %+v, %v", c.conn.Name, j, err)
			}
			got, err := f.s.GetConnector(ctx, c.tenant, c.conn.ID)
			if err != nil || got.NextSyncAt == nil || !got.NextSyncAt.Equal(now.Add(c.every)) {
				t.Fatalf("%s's next sync = %v, want %v (%v)", c.conn.Name, got.NextSyncAt, now.Add(c.every), err)
			}
		}
		if j, err := f.s.LatestConnectorJob(ctx, f.tenant.ID, busy.ID, engram.JobSync); err != nil || j == nil || j.ID != manualJob.ID {
			t.Fatalf("busy connector's latest job = %+v, %v; want the manual one", j, err)
		}
		if c, _ := f.s.GetConnector(ctx, f.tenant.ID, busy.ID); c.NextSyncAt == nil || !c.NextSyncAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("busy connector's next sync = %v: a running sync stands in for the scheduled one", c.NextSyncAt)
		}
		for _, c := range []engram.Connector{paused, gone} {
			if j, err := f.s.LatestConnectorJob(ctx, f.tenant.ID, c.ID, engram.JobSync); err != nil || j != nil {
				t.Fatalf("%s connector got a job: %+v, %v", c.Name, j, err)
			}
		}
		counts, err := f.s.ActiveJobCounts(ctx)
		if err != nil || len(counts) != 1 || counts[0] != (engram.JobCount{Kind: engram.JobSync, Status: engram.JobQueued, Count: 3}) {
			t.Fatalf("active job counts = %+v, %v; want 3 queued syncs", counts, err)
		}

		// Nothing is due until an interval has passed: one statement.
		cctx, st = counted()
		if got, err := f.s.ScheduleSyncs(cctx, now, 100); err != nil || got != (engram.ScheduledSyncs{}) || st.Count() != 1 {
			t.Fatalf("second pass = %+v, %v in %d statements; want nothing in 1", got, err, st.Count())
		}
		// An hour on, hourly and busy are due again, but both still have a
		// queued sync: none is started and the schedule moves on.
		later := now.Add(time.Hour + time.Second)
		cctx, st = counted()
		if got, err := f.s.ScheduleSyncs(cctx, later, 100); err != nil || got != (engram.ScheduledSyncs{Due: 2}) || st.Count() != 2 {
			t.Fatalf("pass while busy = %+v, %v in %d statements; want 2 due, none started, 2 statements", got, err, st.Count())
		}

		// A schedule set on a connector that never synced is due at once;
		// on one that has, an interval from now; 0 removes it.
		half := 30 * time.Minute
		c, err := f.s.UpdateConnector(ctx, f.tenant.ID, "", manual.ID, engram.ConnectorPatch{SyncInterval: &half})
		if err != nil || c.SyncInterval == nil || *c.SyncInterval != "30m" || c.NextSyncAt == nil || !c.NextSyncAt.Equal(c.UpdatedAt) {
			t.Fatalf("schedule a never-synced connector = %+v, %v", c, err)
		}
		if _, err := f.s.StartJob(ctx, f.tenant.ID, manualJob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.FinishJob(ctx, f.tenant.ID, manualJob.ID, engram.JobSucceeded, nil, nil); err != nil {
			t.Fatal(err)
		}
		daily := 24 * time.Hour
		c, err = f.s.UpdateConnector(ctx, f.tenant.ID, "", busy.ID, engram.ConnectorPatch{SyncInterval: &daily})
		if err != nil || c.SyncInterval == nil || *c.SyncInterval != "24h" || c.NextSyncAt == nil || !c.NextSyncAt.Equal(c.UpdatedAt.Add(daily)) {
			t.Fatalf("reschedule a synced connector = %+v, %v", c, err)
		}
		var none time.Duration
		c, err = f.s.UpdateConnector(ctx, f.tenant.ID, "", busy.ID, engram.ConnectorPatch{SyncInterval: &none})
		if err != nil || c.SyncInterval != nil || c.NextSyncAt != nil {
			t.Fatalf("unschedule = %+v, %v", c, err)
		}
		// A name change leaves the schedule alone; another tenant cannot
		// touch it.
		name := "renamed"
		if c, err := f.s.UpdateConnector(ctx, f.tenant.ID, "", hourly.ID, engram.ConnectorPatch{Name: &name}); err != nil || c.SyncInterval == nil || *c.SyncInterval != "1h" {
			t.Fatalf("rename = %+v, %v", c, err)
		}
		_, err = f.s.UpdateConnector(ctx, other.ID, "", hourly.ID, engram.ConnectorPatch{SyncInterval: &none})
		wantCode(t, err, engram.ENotFound)
	})
	t.Run("ScheduleRace", func(t *testing.T) {
		// Two passes at once (a leader change, a rescued pass) start each
		// due connector's sync exactly once between them.
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		const n = 30
		ids := make([]string, n)
		for i := range ids {
			c, err := f.s.CreateConnector(ctx, f.tenant.ID, "", "folder", fmt.Sprint("c", i), json.RawMessage(`{}`), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = c.ID
		}
		now := time.Now().Add(time.Second)
		var wg sync.WaitGroup
		results := make([]engram.ScheduledSyncs, 4)
		errs := make([]error, len(results))
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = f.s.ScheduleSyncs(ctx, now, 7)
			}()
		}
		wg.Wait()
		started := 0
		for i, r := range results {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			started += r.Enqueued
		}
		// The passes took at most 4 × 7 connectors; a last one takes the rest.
		rest, err := f.s.ScheduleSyncs(ctx, now, n)
		if err != nil {
			t.Fatal(err)
		}
		if started+rest.Enqueued != n {
			t.Fatalf("started %d + %d syncs for %d due connectors", started, rest.Enqueued, n)
		}
		for _, id := range ids {
			if j, err := f.s.LatestConnectorJob(ctx, f.tenant.ID, id, engram.JobSync); err != nil || j == nil || !j.Params.Scheduled {
				t.Fatalf("connector %s: job %+v, %v", id, j, err)
			}
		}
		if got, err := f.s.ScheduleSyncs(ctx, now, n); err != nil || got.Due != 0 {
			t.Fatalf("after every connector was scheduled: %+v, %v", got, err)
		}
	})
	t.Run("CompactWhileWriting", func(t *testing.T) {
		// Confidence changes (deltas with no count, only a confidence sum)
		// while compactions run two at a time: the kept counts must still
		// match a recount, which the fixture checks at cleanup. A stress
		// test: the interleaving that lost such deltas (two compactions,
		// the second moving only what committed between their snapshots)
		// needs a compaction held open for a while, which this API cannot
		// do, so it did not fail before the fix; the fix is argued in
		// postgres.Store.CompactCounts.
		t.Parallel()
		f := newFixture(t, h)
		ctx := context.Background()
		ids := createDocs(t, f.s, f.tenant.ID, 30, "doc", "text")
		for i := range 12 {
			var wg sync.WaitGroup
			errs := make([]error, 3)
			wg.Add(3)
			go func() {
				defer wg.Done()
				_, errs[0] = f.s.ClassifyDocuments(ctx, f.tenant.ID, f.key.ID, engram.ClassifySelection{IDs: ids},
					fixedClassifier(engram.ClassWork, 0.5+float64(i)/100))
			}()
			for k := 1; k < 3; k++ {
				go func() {
					defer wg.Done()
					_, errs[k] = f.s.CompactCounts(ctx, 100)
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	t.Run("FailJobs", func(t *testing.T) {
		// The scheduler fails the jobs River will never run, in a fixed
		// number of statements: only unfinished ones, only under their own
		// tenant, a sync's failure written on its connector too.
		t.Parallel()
		f := jobFixture(t, h)
		ctx := context.Background()
		a, b := f.in.InsertConnector(t, f.tenant.ID), f.in.InsertConnector(t, f.tenant.ID)
		enqueue := func(req engram.JobRequest) engram.UnfinishedJob {
			t.Helper()
			j, err := f.s.EnqueueJob(ctx, f.tenant.ID, f.key.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			return engram.UnfinishedJob{TenantID: f.tenant.ID, ID: j.ID, Kind: j.Kind}
		}
		syncA := enqueue(engram.JobRequest{Kind: engram.JobSync, ConnectorID: a})
		syncB := enqueue(engram.JobRequest{Kind: engram.JobSync, ConnectorID: b})
		if _, err := f.s.StartJob(ctx, f.tenant.ID, syncB.ID); err != nil {
			t.Fatal(err)
		}
		all := enqueue(engram.JobRequest{Kind: engram.JobDeleteAll})
		done := enqueue(engram.JobRequest{Kind: engram.JobAnalyzeGaps})
		if _, err := f.s.FinishJob(ctx, f.tenant.ID, done.ID, engram.JobSucceeded, nil, nil); err != nil {
			t.Fatal(err)
		}
		other, _, err := f.s.CreateTenant(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		const msg = "the job engine gave up"
		cctx, one := counted()
		got, err := f.s.FailJobs(cctx, []engram.UnfinishedJob{syncA}, msg)
		if err != nil || len(got) != 1 || got[0].ID != syncA.ID || got[0].Kind != engram.JobSync {
			t.Fatalf("fail one = %+v, %v", got, err)
		}
		wrongTenant := all
		wrongTenant.TenantID = other.ID
		cctx, many := counted()
		got, err = f.s.FailJobs(cctx, []engram.UnfinishedJob{syncB, done, syncA, wrongTenant,
			{TenantID: f.tenant.ID, ID: engram.NewID(), Kind: engram.JobSync}}, msg)
		if err != nil || len(got) != 1 || got[0].ID != syncB.ID {
			t.Fatalf("fail many = %+v, %v; want only the running sync", got, err)
		}
		if one.Count() != many.Count() {
			t.Fatalf("failing 1 job took %d statements, 5 took %d: want the same", one.Count(), many.Count())
		}
		if got, err := f.s.FailJobs(ctx, []engram.UnfinishedJob{all}, msg); err != nil || len(got) != 1 {
			t.Fatalf("fail the delete-all under its own tenant = %+v, %v", got, err)
		}
		for _, c := range []struct {
			id   string
			want engram.JobStatus
		}{{syncA.ID, engram.JobFailed}, {syncB.ID, engram.JobFailed}, {all.ID, engram.JobFailed}, {done.ID, engram.JobSucceeded}} {
			j, err := f.s.GetJob(ctx, f.tenant.ID, c.id)
			if err != nil || j.Status != c.want || (c.want == engram.JobFailed && (j.Error == nil || *j.Error != msg)) {
				t.Fatalf("job %s = %+v, %v; want %s", c.id, j, err, c.want)
			}
		}
		for _, id := range []string{a, b} {
			c, err := f.s.GetConnector(ctx, f.tenant.ID, id)
			if err != nil || c.LastSyncStatus == nil || *c.LastSyncStatus != "failed" || c.LastSyncError == nil || *c.LastSyncError != msg {
				t.Fatalf("connector %s = %+v, %v", id, c, err)
			}
		}
	})
}
