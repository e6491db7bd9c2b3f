package jobs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// MigratingStore is a store with its own (goose) migrations.
type MigratingStore interface {
	engram.Store
	engram.Migrator
	MigrationsPending(ctx context.Context) (bool, error)
}

// Migrator runs engram's migrations and then River's as one sequence:
// up applies engram's pending migrations, then River's; down rolls back
// the newest step of that sequence, so River's migrations (newest first)
// before engram's. The two schemas do not refer to each other (the jobs
// table keeps River's job id without a foreign key), so either order
// would work; this one makes down the exact reverse of up.
type Migrator struct {
	engram MigratingStore
	river  riverMigrator
}

var _ engram.Migrator = (*Migrator)(nil)

// riverMigrator is rivermigrate.Migrator without its transaction type.
type riverMigrator interface {
	all() []rivermigrate.Migration
	existing(ctx context.Context) ([]rivermigrate.Migration, error)
	migrate(ctx context.Context, d rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
}

type typedMigrator[TTx any] struct{ m *rivermigrate.Migrator[TTx] }

func (t typedMigrator[TTx]) all() []rivermigrate.Migration { return t.m.AllVersions() }
func (t typedMigrator[TTx]) existing(ctx context.Context) ([]rivermigrate.Migration, error) {
	return t.m.ExistingVersions(ctx)
}
func (t typedMigrator[TTx]) migrate(ctx context.Context, d rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error) {
	return t.m.Migrate(ctx, d, opts)
}

func newTyped[TTx any](d riverdriver.Driver[TTx]) (riverMigrator, error) {
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return nil, err
	}
	return typedMigrator[TTx]{m}, nil
}

// NewMigrator returns the migrator of store and of River on its database.
func NewMigrator(store MigratingStore, b Backend) (*Migrator, error) {
	if b.migrator == nil {
		return nil, errors.New("jobs: no River backend")
	}
	rm, err := b.migrator()
	if err != nil {
		return nil, err
	}
	return &Migrator{engram: store, river: rm}, nil
}

func riverName(m rivermigrate.Migration) string {
	return fmt.Sprintf("river_%03d_%s", m.Version, strings.ReplaceAll(m.Name, " ", "_"))
}

// MigrateUp applies engram's pending migrations, then River's.
func (m *Migrator) MigrateUp(ctx context.Context) ([]string, error) {
	applied, err := m.engram.MigrateUp(ctx)
	if err != nil {
		return applied, err
	}
	res, err := m.river.migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return applied, fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, riverName(rivermigrate.Migration{Version: v.Version, Name: v.Name}))
	}
	return applied, nil
}

// MigrateDown rolls back River's newest migration, or engram's when no
// River migration is applied.
func (m *Migrator) MigrateDown(ctx context.Context) (string, error) {
	existing, err := m.river.existing(ctx)
	if err != nil {
		return "", err
	}
	if len(existing) == 0 {
		return m.engram.MigrateDown(ctx)
	}
	res, err := m.river.migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{MaxSteps: 1})
	if err != nil {
		return "", fmt.Errorf("river migrations: %w", err)
	}
	if len(res.Versions) != 1 {
		return "", fmt.Errorf("river migrations: rolled back %d versions, want 1", len(res.Versions))
	}
	v := res.Versions[0]
	return riverName(rivermigrate.Migration{Version: v.Version, Name: v.Name}), nil
}

// MigrationStatus lists engram's migrations, then River's.
func (m *Migrator) MigrationStatus(ctx context.Context) ([]engram.MigrationState, error) {
	out, err := m.engram.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	existing, err := m.river.existing(ctx)
	if err != nil {
		return nil, err
	}
	have := map[int]bool{}
	for _, e := range existing {
		have[e.Version] = true
	}
	for _, v := range m.river.all() {
		out = append(out, engram.MigrationState{Version: int64(v.Version), Name: riverName(v), Applied: have[v.Version]})
	}
	return out, nil
}

// MigrationsPending reports whether a migration of either sequence is
// not applied.
func (m *Migrator) MigrationsPending(ctx context.Context) (bool, error) {
	st, err := m.MigrationStatus(ctx)
	if err != nil {
		return false, err
	}
	for _, s := range st {
		if !s.Applied {
			return true, nil
		}
	}
	return false, nil
}

// PostgresRiverMigrations returns River's PostgreSQL migration files (test
// templates name themselves after them).
func PostgresRiverMigrations() fs.FS {
	return riverpgxv5.New(nil).GetMigrationFS(riverdriver.MigrationLineMain)
}
