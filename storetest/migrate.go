package storetest

import (
	"context"
	"testing"

	"github.com/engram-kb/engram"
)

// MigratingStore is a store that can also run its migrations.
type MigratingStore interface {
	engram.Store
	engram.Migrator
}

// MigrateDownUp rolls every migration back one step at a time, checks
// that status agrees, applies them again, and checks the store works.
func MigrateDownUp(t *testing.T, s MigratingStore) {
	ctx := context.Background()
	if _, _, err := s.CreateTenant(ctx, "Before", "before"); err != nil {
		t.Fatal(err)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil || len(st) < 2 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	for i := len(st) - 1; i >= 0; i-- {
		name, err := s.MigrateDown(ctx)
		if err != nil {
			t.Fatalf("down: %v", err)
		}
		if name != st[i].Name {
			t.Fatalf("rolled back %s, want %s", name, st[i].Name)
		}
	}
	if _, err := s.MigrateDown(ctx); engram.ErrorCode(err) != engram.ENotFound {
		t.Fatalf("down with nothing applied: %v, want not_found", err)
	}
	after, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range after {
		if m.Applied {
			t.Fatalf("%s still applied after rolling everything back", m.Name)
		}
	}
	applied, err := s.MigrateUp(ctx)
	if err != nil || len(applied) != len(st) {
		t.Fatalf("up applied %v, %v; want %d migrations", applied, err, len(st))
	}
	_, key, err := s.CreateTenant(ctx, "After", "after")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, key.Secret); err != nil {
		t.Fatal(err)
	}
}
