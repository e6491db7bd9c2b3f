package drivertest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// Fixtures of the jobs and schedule cases. Jobs are recorded through the
// driver (JobInsert), not the store: the harness attaches no job engine,
// and the job engine's id is whatever the case gives.

// clock returns the i-th of a series of distinct times, a second apart,
// that both engines store exactly.
func clock(i int) time.Time {
	return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
}

// job records a queued job of kind at at and fails the test unless the
// driver recorded it.
func (f fixture) job(t *testing.T, tenantID string, kind engram.JobKind, p engram.JobParams, at time.Time) engram.JobRecord {
	t.Helper()
	if p.BatchSize == 0 {
		p.BatchSize = 10
	}
	if p.Bound == "" {
		p.Bound = engram.NilID
	}
	var j engram.JobRecord
	var ok bool
	err := f.inTx(t, context.Background(), func(tx engram.Tx) (err error) {
		j, ok, err = tx.JobInsert(context.Background(), tenantID, engram.NewJobRow{ID: engram.NewID(), Kind: kind, Params: p, RiverJobID: 1}, at)
		return err
	})
	if err != nil || !ok {
		t.Fatalf("record a %s job: ok %v, %v", kind, ok, err)
	}
	return j
}

// started records a job of kind and marks it running.
func (f fixture) started(t *testing.T, kind engram.JobKind, p engram.JobParams, at time.Time) engram.JobRecord {
	t.Helper()
	j := f.job(t, f.tenant, kind, p, at)
	r, ok, err := f.d.Writer().JobStart(context.Background(), f.tenant, j.ID, at)
	if err != nil || !ok {
		t.Fatalf("start job %s: ok %v, %v", j.ID, ok, err)
	}
	return r
}

// finish ends a job as succeeded at at, freeing the unique index that
// keeps a tenant or connector to one active job of its kind.
func (f fixture) finish(t *testing.T, tenantID, id string, at time.Time) {
	t.Helper()
	if _, ok, err := f.d.Writer().JobFinish(context.Background(), tenantID, id, engram.JobSucceeded, nil, nil, at); err != nil || !ok {
		t.Fatalf("finish job %s: ok %v, %v", id, ok, err)
	}
}

// connector creates a push connector of the tenant, synced every interval
// (0: only on request), and returns its id.
func (f fixture) connector(t *testing.T, tenantID, name string, interval time.Duration) string {
	t.Helper()
	c, err := f.s.CreateConnector(context.Background(), tenantID, "", "push", name, json.RawMessage(`{}`), interval)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// connectorDocs creates n documents of the connector (with external ids)
// and returns their ids.
func (f fixture) connectorDocs(t *testing.T, connectorID string, n int) []string {
	t.Helper()
	in := make([]engram.NewDocument, n)
	for i := range in {
		in[i] = engram.NewDocument{Title: fmt.Sprint("item ", i), Content: "text"}
	}
	p, err := engram.PrepareDocuments(in)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range p {
		ext := fmt.Sprint("ext-", engram.NewID())
		p[i].ConnectorID, p[i].ExternalID = &connectorID, &ext
		ids[i] = p[i].ID
	}
	if err := f.s.CreateDocuments(context.Background(), f.tenant, p); err != nil {
		t.Fatal(err)
	}
	return ids
}

// getJob reads a job back through the driver.
func (f fixture) getJob(t *testing.T, id string) engram.JobRecord {
	t.Helper()
	j, err := f.d.Reader().JobGet(context.Background(), f.tenant, id)
	if err != nil {
		t.Fatalf("read job %s: %v", id, err)
	}
	return j
}

// secondWaits checks that a lock orders two transactions. The first
// transaction takes the lock; a second, in another goroutine, runs
// second, which must wait for the first to end; meanwhile the first runs
// then (which sees nothing of the second, or writes what the second must
// see) and commits. Without the lock the second would run at once.
func (f fixture) secondWaits(t *testing.T, lock, second, then func(ctx context.Context, tx engram.Tx) error) {
	t.Helper()
	ctx := context.Background()
	first, err := f.d.Begin(ctx, f.tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if err := lock(ctx, first); err != nil {
		t.Fatal(err)
	}
	begun := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		tx, err := f.d.Begin(ctx, f.tenant)
		close(begun)
		if err == nil {
			defer tx.Rollback(ctx)
			if err = second(ctx, tx); err == nil {
				err = tx.Commit(ctx)
			}
		}
		done <- err
	}()
	// Where a transaction takes a connection of its own, give the second
	// time to overtake once it has one (opening one may take longer than
	// that); where one writer serialises transactions, its Begin waits.
	select {
	case <-begun:
	case <-time.After(time.Second):
	}
	time.Sleep(100 * time.Millisecond)
	if err := then(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// count runs fn and asserts that it sent want statements.
func count(t *testing.T, what string, want int, fn func(ctx context.Context) error) {
	t.Helper()
	wantStatements(t, what, statements(t, fn), want)
}

// ifCap returns n when the engine has the capability, else 0.
func ifCap(has bool, n int) int {
	if has {
		return n
	}
	return 0
}

// sameJSON reports whether two JSON texts hold the same value (PostgreSQL
// re-spaces jsonb).
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// sameTime reports whether p points to t.
func sameTime(p *time.Time, t time.Time) bool { return p != nil && p.Equal(t) }

// wantCode fails the test unless err has code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if engram.ErrorCode(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}
