package drivertest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

func testConnectors(t *testing.T, h Harness) {
	t.Run("InsertAndRead", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		secs := int64(3600)
		rows := []engram.NewConnectorRow{
			{ID: engram.NewID(), Type: "push", Name: "CRM", Settings: json.RawMessage(`{}`)},
			{ID: engram.NewID(), Type: "folder", Name: "notes", Settings: json.RawMessage(`{"root":"/notes"}`),
				IntervalSeconds: &secs, NextSyncAt: &at},
		}
		var made []engram.Connector
		for _, r := range rows {
			n := statements(t, func(ctx context.Context) error {
				return f.inTx(t, ctx, func(tx engram.Tx) error {
					c, err := tx.ConnectorInsert(ctx, f.tenant, r, at)
					made = append(made, c)
					return err
				})
			})
			wantStatements(t, "ConnectorInsert", n, 1)
		}
		if c := made[0]; c.ID != rows[0].ID || c.Status != engram.ConnectorActive || c.SyncInterval != nil || c.NextSyncAt != nil || !c.CreatedAt.Equal(at) {
			t.Errorf("unscheduled connector = %+v", c)
		}
		if c := made[1]; c.SyncInterval == nil || *c.SyncInterval != "1h" || c.NextSyncAt == nil || !c.NextSyncAt.Equal(at) {
			t.Errorf("scheduled connector = %+v", c)
		}
		// Its id taken, a second insert is a conflict.
		err := f.inTx(t, context.Background(), func(tx engram.Tx) error {
			_, err := tx.ConnectorInsert(context.Background(), f.tenant, rows[0], at)
			return err
		})
		if engram.ErrorCode(err) != engram.EConflict {
			t.Errorf("insert of a taken id: %v, want conflict", err)
		}

		var list []engram.Connector
		n := statements(t, func(ctx context.Context) error {
			var err error
			list, err = f.d.Reader().ConnectorList(ctx, f.tenant)
			return err
		})
		wantStatements(t, "ConnectorList", n, 1)
		if len(list) != 2 || list[0].ID != rows[0].ID || list[1].ID != rows[1].ID {
			t.Errorf("list = %+v, want both, oldest first", list)
		}
		var got engram.Connector
		var ok bool
		n = statements(t, func(ctx context.Context) error {
			var err error
			got, ok, err = f.d.Reader().ConnectorGet(ctx, f.tenant, rows[1].ID)
			return err
		})
		wantStatements(t, "ConnectorGet", n, 1)
		if !ok || got.Name != "notes" || string(got.Settings) != `{"root":"/notes"}` {
			t.Errorf("get = %+v, %v", got, ok)
		}
		if _, ok, err := f.d.Reader().ConnectorGet(context.Background(), f.tenant, engram.NewID()); err != nil || ok {
			t.Errorf("get of a missing connector = %v, %v; want false", ok, err)
		}
		// Another tenant sees none of them.
		other := f.otherTenant(t)
		if l, err := f.d.Reader().ConnectorList(context.Background(), other); err != nil || len(l) != 0 {
			t.Errorf("another tenant lists %+v, %v", l, err)
		}
		if _, ok, err := f.d.Reader().ConnectorGet(context.Background(), other, rows[0].ID); err != nil || ok {
			t.Errorf("another tenant reads a connector: %v, %v", ok, err)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, h)
		synced := f.connector(t, f.tenant, "source", 0)
		never := f.connector(t, f.tenant, "source", 0)
		// One of them has synced before.
		if err := f.d.Writer().ConnectorAddSynced(context.Background(), f.tenant, synced, 1, time.Now()); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		later := at.Add(time.Hour)
		secs := int64(3600)
		name, paused := "renamed", engram.ConnectorPaused
		ch := engram.ConnectorChange{Name: &name, Status: &paused, Settings: json.RawMessage(`{"a":1}`),
			Schedule: true, IntervalSeconds: &secs, NextIfSynced: later}
		got := map[string]engram.Connector{}
		for _, id := range []string{synced, never} {
			n := statements(t, func(ctx context.Context) error {
				return f.inTx(t, ctx, func(tx engram.Tx) error {
					c, ok, err := tx.ConnectorUpdate(ctx, f.tenant, id, ch, at)
					if err == nil && !ok {
						t.Errorf("update of %s found nothing", id)
					}
					got[id] = c
					return err
				})
			})
			wantStatements(t, "ConnectorUpdate", n, 1)
		}
		for id, c := range got {
			if c.Name != name || c.Status != paused || string(c.Settings) != `{"a":1}` || c.SyncInterval == nil || *c.SyncInterval != "1h" || !c.UpdatedAt.Equal(at) {
				t.Errorf("updated connector %s = %+v", id, c)
			}
		}
		if c := got[synced]; c.NextSyncAt == nil || !c.NextSyncAt.Equal(later) {
			t.Errorf("a connector that synced before is next due at %v, want %v", c.NextSyncAt, later)
		}
		if c := got[never]; c.NextSyncAt == nil || !c.NextSyncAt.Equal(at) {
			t.Errorf("a connector that never synced is next due at %v, want %v", c.NextSyncAt, at)
		}
		// Nil fields stay; a schedule set to nothing goes.
		c, ok, err := f.d.Writer().ConnectorUpdate(context.Background(), f.tenant, never, engram.ConnectorChange{Schedule: true}, at)
		if err != nil || !ok || c.Name != name || c.SyncInterval != nil || c.NextSyncAt != nil {
			t.Errorf("schedule removed = %+v, %v, %v", c, ok, err)
		}
		if _, ok, err := f.d.Writer().ConnectorUpdate(context.Background(), f.tenant, engram.NewID(), ch, at); err != nil || ok {
			t.Errorf("update of a missing connector: %v, %v", ok, err)
		}
		if _, ok, err := f.d.Writer().ConnectorUpdate(context.Background(), f.otherTenant(t), never, ch, at); err != nil || ok {
			t.Errorf("another tenant updates a connector: %v, %v", ok, err)
		}
	})
}
