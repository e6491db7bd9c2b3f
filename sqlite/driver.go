package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/engram-kb/engram"
)

var _ engram.Driver = (*Store)(nil)

// executor runs driver statements on one querier: the write transaction,
// the read pool, or the writer connection outside a transaction.
type executor struct {
	s *Store
	q querier
}

// Reader runs reads on the read pool.
func (s *Store) Reader() engram.Executor { return &executor{s: s, q: s.read} }

// Writer runs one autocommitted write on the writer connection.
func (s *Store) Writer() engram.Executor { return &executor{s: s, q: s.write} }

// Begin opens a write transaction (BEGIN IMMEDIATE on the one writer).
// SQLite has no row-level security: the tenant is not used, and the
// tenant_id in every statement is the only guard.
func (s *Store) Begin(ctx context.Context, _ string) (engram.Tx, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	return &txExecutor{executor: executor{s: s, q: tx}, tx: tx}, nil
}

// txExecutor is a write transaction.
type txExecutor struct {
	executor
	tx *sql.Tx
}

func (t *txExecutor) Commit(context.Context) error { return translate(t.tx.Commit()) }

func (t *txExecutor) Rollback(context.Context) { _ = t.tx.Rollback() }

// InsertJobs hands jobs to River in this transaction.
func (t *txExecutor) InsertJobs(ctx context.Context, jobs []engram.TenantJob) ([]int64, error) {
	if t.s.enqueue == nil {
		return nil, engram.Errorf(engram.EUnavailable, "background jobs are not running on this server")
	}
	return t.s.enqueue(ctx, t.tx, jobs)
}

// AuditInsert writes one audit_log row, its actor recorded as a user
// when it is one of the tenant's users, else as a key.
func (e *executor) AuditInsert(ctx context.Context, a engram.AuditEntry) error {
	_, err := exec(ctx, e.q, "audit.insert",
		`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, actor_user_id, action, target_type, target_count, details)
		 VALUES (?1, ?2, ?3,
		         CASE WHEN EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND id = ?4) THEN NULL ELSE nullif(?4, '') END,
		         (SELECT id FROM users WHERE tenant_id = ?1 AND id = ?4), ?5, ?6, ?7, ?8)`,
		a.TenantID, engram.NewID(), fmtTime(a.At), a.Actor, a.Action, a.TargetType, a.Count, string(a.Details))
	return err
}

// collectIDs reads a one-column result of ids into a set.
func collectIDs(rs *countedRows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	found := map[string]bool{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		found[id] = true
	}
	return found, translate(rs.Err())
}

// jsonParam marshals v for a JSON parameter.
func jsonParam(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Capabilities: none. One writer serialises transactions, there are no
// writable CTEs, triggers keep the counts one row per bucket, and the
// planner is given no statistics (see StatisticsStale).
func (s *Store) Capabilities() engram.Capabilities { return engram.Capabilities{} }
