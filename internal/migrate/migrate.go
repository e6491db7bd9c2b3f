// Package migrate runs an engine's embedded goose migrations and reports
// them in engram's terms. The engines own their SQL; this package only
// drives goose.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path"

	"github.com/engram-kb/engram"
	"github.com/pressly/goose/v3"
)

// Runner applies one engine's migrations to one database.
type Runner struct {
	p *goose.Provider
}

// New returns a Runner for the migrations at the root of fsys.
func New(dialect goose.Dialect, db *sql.DB, fsys fs.FS) (*Runner, error) {
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return nil, err
	}
	return &Runner{p: p}, nil
}

// Up applies every pending migration.
func (r *Runner) Up(ctx context.Context) ([]string, error) {
	res, err := r.p.Up(ctx)
	var names []string
	for _, m := range res {
		if m.Error == nil {
			names = append(names, path.Base(m.Source.Path))
		}
	}
	return names, err
}

// Down rolls back the newest applied migration.
func (r *Runner) Down(ctx context.Context) (string, error) {
	res, err := r.p.Down(ctx)
	if errors.Is(err, goose.ErrNoNextVersion) {
		return "", engram.Errorf(engram.ENotFound, "no migration is applied")
	}
	if err != nil {
		return "", err
	}
	return path.Base(res.Source.Path), nil
}

// Status lists every migration and whether it is applied.
func (r *Runner) Status(ctx context.Context) ([]engram.MigrationState, error) {
	st, err := r.p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]engram.MigrationState, 0, len(st))
	for _, s := range st {
		m := engram.MigrationState{Version: s.Source.Version, Name: path.Base(s.Source.Path), Applied: s.State == goose.StateApplied}
		if m.Applied && !s.AppliedAt.IsZero() {
			t := s.AppliedAt.UTC()
			m.AppliedAt = &t
		}
		out = append(out, m)
	}
	return out, nil
}

// Pending reports whether any migration is not yet applied.
func (r *Runner) Pending(ctx context.Context) (bool, error) {
	return r.p.HasPending(ctx)
}
