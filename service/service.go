// Package service is engram's use-case layer: every rule of the store
// written once, over either engine's driver (engram.Driver). It owns the
// transactions, the statement budgets, auditing, the job rules, the gap
// status machine, the sync plan, and the read → compute → guarded-write
// pattern by which slow work (a classifier, an analyzer) runs outside any
// write transaction. The drivers below it only speak SQL.
package service

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/engram-kb/engram"
)

// Options configure a Store. Zero values take the defaults.
type Options struct {
	// Clock gives the time (default time.Now).
	Clock engram.Clock
	// Accounts configure users' passwords, sessions and sign-in limits.
	Accounts AccountOptions
	// TitleWeight is how much a title word counts in lexical ranking
	// against a word of the text (default DefaultTitleWeight).
	TitleWeight float64
	// SearchMatchBudget bounds the chunks the clauses that find a
	// search's candidates may hold (default engram.SearchMatchBudget;
	// engram.PlanSearchMatch).
	SearchMatchBudget int
}

// Store is engram.Store over a driver.
type Store struct {
	d   engram.Driver
	now engram.Clock
	acc AccountOptions
	// titleWeight is Options.TitleWeight.
	titleWeight float64
	// matchBudget is Options.SearchMatchBudget.
	matchBudget int
	// embedder embeds search queries for vector and hybrid search (nil:
	// lexical only); see SetEmbedder.
	embedder engram.Embedder
	// dummy is a hash of no one's password, made at the first sign-in and
	// checked when an email is unknown, so that a wrong email costs what
	// a wrong password does.
	dummy     sync.Once
	dummyHash string
	// models caches tenants' loaded classifier models.
	models models
}

var (
	_ engram.Store        = (*Store)(nil)
	_ engram.Migrator     = (*Store)(nil)
	_ engram.PoolReporter = (*Store)(nil)
)

// New returns the use cases over the engine driver d.
func New(d engram.Driver, opt Options) *Store {
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	opt.Accounts.defaults()
	if opt.TitleWeight <= 0 {
		opt.TitleWeight = DefaultTitleWeight
	}
	if opt.SearchMatchBudget <= 0 {
		opt.SearchMatchBudget = engram.SearchMatchBudget
	}
	return &Store{d: d, now: opt.Clock, acc: opt.Accounts, titleWeight: opt.TitleWeight, matchBudget: opt.SearchMatchBudget}
}

// Driver returns the engine driver the store runs on.
func (s *Store) Driver() engram.Driver { return s.d }

// Engine names the engine.
func (s *Store) Engine() string { return s.d.Engine() }

// Ping checks that the database answers. Returns unavailable.
func (s *Store) Ping(ctx context.Context) error { return s.d.Ping(ctx) }

// Close releases the driver's connections.
func (s *Store) Close() error { return s.d.Close() }

// PoolStats reports the engine's pools.
func (s *Store) PoolStats() []engram.PoolStats { return s.d.PoolStats() }

// MigrateUp applies the engine's pending migrations.
func (s *Store) MigrateUp(ctx context.Context) ([]string, error) { return s.d.MigrateUp(ctx) }

// MigrateDown rolls back the engine's newest migration.
func (s *Store) MigrateDown(ctx context.Context) (string, error) { return s.d.MigrateDown(ctx) }

// MigrationStatus lists the engine's migrations.
func (s *Store) MigrationStatus(ctx context.Context) ([]engram.MigrationState, error) {
	return s.d.MigrationStatus(ctx)
}

// MigrationsPending reports whether an engine migration is not applied.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	return s.d.MigrationsPending(ctx)
}

// inTx runs fn in one write transaction of the tenant tenantID ("" for
// work across tenants): committed when fn returns nil, rolled back
// otherwise. On PostgreSQL, row-level security confines a tenant's
// transaction to the tenant's rows.
func (s *Store) inTx(ctx context.Context, tenantID string, fn func(tx engram.Tx) error) error {
	tx, err := s.d.Begin(ctx, tenantID)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// audit writes the one audit_log row of a destructive or bulk request.
func (s *Store) audit(ctx context.Context, x engram.Executor, tenantID, actor, action, target string, count int, details map[string]any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	return x.AuditInsert(ctx, engram.AuditEntry{TenantID: tenantID, Actor: actor, Action: action,
		TargetType: target, Count: count, Details: b, At: s.now()})
}

// withIDs adds the ids a request named to an audit row's details.
func withIDs(m map[string]any, ids []string) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m["ids"] = ids
	return m
}

// disconnect sets a connector disconnected and audits it, in tx: two
// statements. Returns not_found.
func (s *Store) disconnect(ctx context.Context, tx engram.Tx, tenantID, actor, id string) error {
	ok, err := tx.ConnectorDisconnect(ctx, tenantID, id, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return engram.Errorf(engram.ENotFound, "integration %s not found", id)
	}
	return s.audit(ctx, tx, tenantID, actor, "connectors.disconnect", "connector", 1, map[string]any{"id": id})
}
