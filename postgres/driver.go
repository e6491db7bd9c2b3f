package postgres

import (
	"context"
	"encoding/json"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ engram.Driver = (*Store)(nil)

// executor runs driver statements in a transaction, or, without one, each
// on a connection taken from the pool for that statement.
type executor struct {
	s  *Store
	tx pgx.Tx
}

// Reader runs reads on pooled connections.
func (s *Store) Reader() engram.Executor { return &executor{s: s} }

// Writer runs one autocommitted write on a pooled connection.
func (s *Store) Writer() engram.Executor { return &executor{s: s} }

// run calls fn with the transaction, or with a pooled connection held for
// the call.
func (e *executor) run(ctx context.Context, fn func(q querier) error) error {
	if e.tx != nil {
		return fn(e.tx)
	}
	return e.s.read(ctx, func(c *pgxConn) error { return fn(c) })
}

// Begin takes a connection (waiting at most the acquire timeout) and opens
// a transaction on it. A tenant's transaction (tenantID not "") runs as
// the role engram_app with engram.tenant_id set to the tenant, so the
// row-level security policies of migration 00016 admit only that
// tenant's rows whatever a statement's WHERE says. Cross-tenant work
// (tenantID "") runs as the login role, which a deployment makes a member
// of engram_maintenance (see the README's Security section).
//
// Both settings ride in BEGIN's own round trip (one simple-protocol
// message of three statements) and, like BEGIN and COMMIT, are not
// counted as statements: they are the engine's plumbing, not a statement
// of the use case.
func (s *Store) Begin(ctx context.Context, tenantID string) (engram.Tx, error) {
	c, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginQuery(tenantID)})
	if err != nil {
		c.Release()
		return nil, translate(err)
	}
	return &txExecutor{executor: executor{s: s, tx: tx}, conn: c}, nil
}

// beginQuery is the BEGIN of a transaction of tenantID. The simple
// protocol takes no parameters, so the tenant is written into the text,
// and only in the one form a tenant id has: anything else sets no tenant,
// and the policies then admit no row.
func beginQuery(tenantID string) string {
	if tenantID == "" {
		return "begin"
	}
	if !isUUID(tenantID) {
		tenantID = ""
	}
	return "begin; select set_config('engram.tenant_id', '" + tenantID + "', true); set local role engram_app"
}

// isUUID reports whether s is a UUID in its canonical text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F':
		default:
			return false
		}
	}
	return true
}

// txExecutor is a transaction on a connection it gives back at its end.
type txExecutor struct {
	executor
	conn *pgxpool.Conn
}

func (t *txExecutor) Commit(ctx context.Context) error {
	err := t.tx.Commit(ctx)
	t.release(ctx)
	return translate(err)
}

func (t *txExecutor) Rollback(ctx context.Context) { t.release(ctx) }

// release rolls back (a no-op after Commit) and returns the connection.
func (t *txExecutor) release(ctx context.Context) {
	if t.conn == nil {
		return
	}
	_ = t.tx.Rollback(context.WithoutCancel(ctx))
	t.conn.Release()
	t.conn = nil
}

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
	return e.run(ctx, func(q querier) error {
		_, err := exec(ctx, q, "audit.insert",
			`INSERT INTO audit_log (tenant_id, id, at, actor_key_id, actor_user_id, action, target_type, target_count, details)
			 SELECT $1::uuid, $2::uuid, $3::timestamptz, CASE WHEN u.id IS NULL THEN nullif($4::text, '')::uuid END, u.id,
			        $5::text, $6::text, $7::integer, $8::jsonb
			   FROM (SELECT 1) one LEFT JOIN users u ON u.tenant_id = $1::uuid AND u.id = nullif($4::text, '')::uuid`,
			a.TenantID, engram.NewID(), ts(a.At), a.Actor, a.Action, a.TargetType, a.Count, string(a.Details))
		return err
	})
}

// idSet reads a one-column result of ids into a set.
func idSet(rs pgx.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	return collectIDs(rs)
}

// jsonParam marshals v for a JSON parameter.
func jsonParam(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Capabilities: row and advisory locks, writable CTEs, kept counts as
// deltas (migrations 00012 and 00013) and planner statistics engram
// refreshes.
func (s *Store) Capabilities() engram.Capabilities {
	return engram.Capabilities{RowLocks: true, WritableCTE: true, CountDeltas: true, Statistics: true}
}

// collectIDs reads a one-column result of ids into a set.
func collectIDs(rs pgx.Rows) (map[string]bool, error) {
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
