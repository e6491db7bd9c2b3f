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
// on a connection taken from the pool for that statement (reads from the
// read replica's pool when there is one and the context allows it).
type executor struct {
	s     *Store
	tx    pgx.Tx
	write bool // Writer(): never on the replica
}

// Reader runs reads on pooled connections.
func (s *Store) Reader() engram.Executor { return &executor{s: s} }

// Writer runs one autocommitted write on a pooled connection.
func (s *Store) Writer() engram.Executor { return &executor{s: s, write: true} }

// run calls fn with the transaction, or with a pooled connection held for
// the call. On a pooled connection, the statements of a tenant (tenantID
// not "") run as that tenant under row-level security, each in its own
// pipeline (see scopedConn); cross-tenant work (tenantID "") runs as the
// login role, as in Begin. A read goes to the read replica when the
// context allows it and the replica is usable; when no replica connection
// can be had, to the primary.
func (e *executor) run(ctx context.Context, tenantID string, fn func(q querier) error) error {
	if e.tx != nil {
		return fn(e.tx)
	}
	on := func(c *pgxConn) error { return fn(e.s.scoped(c, tenantID)) }
	if r := e.s.replica; r != nil && !e.write {
		if min, ok := engram.ReplicaReads(ctx); ok && r.usable(min) {
			c, err := r.acquire(ctx)
			if err == nil {
				defer c.Release()
				return on(c)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.failed()
		}
	}
	return e.s.read(ctx, on)
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
	tx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginQuery(tenantID, s.scopes.begin)})
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
func beginQuery(tenantID, settings string) string {
	if tenantID == "" {
		return "begin" + settings
	}
	return "begin; select set_config('engram.tenant_id', '" + scopedTenant(tenantID) + "', true); set local role engram_app" + settings
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
	// committed: commitAt committed on the connection itself, so the pgx
	// transaction does not know it has ended.
	committed bool
}

func (t *txExecutor) Commit(ctx context.Context) error {
	if t.s.replica != nil {
		return t.commitAt(ctx)
	}
	err := t.tx.Commit(ctx)
	t.release(ctx)
	return translate(err)
}

// commitAt commits and reads the primary's WAL position after the commit
// in the same round trip, and records it (engram.RecordCommit): a replica
// that has replayed that far shows this transaction, so the client that
// carries the position back reads its own write. Only with a read replica.
func (t *txExecutor) commitAt(ctx context.Context) error {
	defer t.release(ctx)
	results, err := t.conn.Conn().PgConn().Exec(ctx, "commit; select pg_current_wal_lsn()::text").ReadAll()
	if err != nil {
		return translate(err)
	}
	// COMMIT of a failed transaction answers ROLLBACK, as pgx's Commit
	// reports.
	if len(results) != 2 || results[0].CommandTag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	t.committed = true
	if rows := results[1].Rows; len(rows) == 1 && len(rows[0]) == 1 {
		if pos, err := engram.ParseWALPosition(string(rows[0][0])); err == nil {
			engram.RecordCommit(ctx, pos)
		}
	}
	return nil
}

func (t *txExecutor) Rollback(ctx context.Context) { t.release(ctx) }

// release rolls back (a no-op after Commit) and returns the connection.
func (t *txExecutor) release(ctx context.Context) {
	if t.conn == nil {
		return
	}
	if !t.committed {
		_ = t.tx.Rollback(context.WithoutCancel(ctx))
	}
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
	return e.run(ctx, a.TenantID, func(q querier) error {
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
	return engram.Capabilities{RowLocks: true, WritableCTE: true, CountDeltas: true, Statistics: true, SearchAllWords: true}
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
