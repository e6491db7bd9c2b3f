package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// scopedConn is a pooled connection on which every statement runs with
// its scope, outside any explicit transaction: the reads of Reader() and
// the single writes of Writer(). The scope of a tenant's statement sets
// the tenant and the role engram_app, so that row-level security admits
// only that tenant's rows; behind a transaction pooler (Options.Pooler)
// every scope also carries the settings a pooler cannot keep on a
// connection (statement_timeout and the rest).
//
// Each statement goes to the server in one pipeline behind its scope, a
// SELECT of set_config(…, true) calls: the settings are local to the
// implicit transaction the pipeline runs in (the extended protocol commits
// at the pipeline's Sync), so they end with the statement and nothing is
// left on the connection for its next user. That is one round trip, as
// without a scope; like the settings in BEGIN's round trip (beginQuery),
// the scope is the engine's plumbing and is not counted as a statement.
type scopedConn struct {
	c     *pgxpool.Conn
	scope string
	args  []any
}

// scopes are the scope statements of a store, built once at Open.
type scopes struct {
	tenant string // the tenant's ($1), the role, and the settings
	plain  string // the settings alone; "" when there are none
	begin  string // the settings, as statements to follow BEGIN
}

// newScopes builds the scopes for the settings that are not startup
// parameters (none, unless Options.Pooler).
func newScopes(settings [][2]string) scopes {
	var calls []string
	for _, kv := range settings {
		calls = append(calls, "set_config("+quote(kv[0])+", "+quote(kv[1])+", true)")
	}
	sc := scopes{tenant: "SELECT " + strings.Join(append([]string{
		"set_config('engram.tenant_id', $1, true)", "set_config('role', 'engram_app', true)"}, calls...), ", ")}
	if len(calls) > 0 {
		sc.plain = "SELECT " + strings.Join(calls, ", ")
		sc.begin = "; " + sc.plain
	}
	return sc
}

// quote is a SQL string literal of s.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// scoped returns c with the scope of tenantID ("" for cross-tenant work),
// or c itself when that scope sets nothing.
func (s *Store) scoped(c *pgxConn, tenantID string) querier {
	if tenantID != "" {
		return scopedConn{c: c, scope: s.scopes.tenant, args: []any{scopedTenant(tenantID)}}
	}
	if s.scopes.plain != "" {
		return scopedConn{c: c, scope: s.scopes.plain}
	}
	return c
}

// scopedTenant is the tenant a scope sets: only a canonical tenant id;
// anything else sets none, and the policies then admit no row.
func scopedTenant(tenantID string) string {
	if !isUUID(tenantID) {
		return ""
	}
	return tenantID
}

// send queues the scope and the statement, sends them, and reads the
// scope's result.
func (t scopedConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(t.scope, t.args...)
	b.Queue(sql, args...)
	br := t.c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (t scopedConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t scopedConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rs, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rs, br: br}, nil
}

func (t scopedConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rs, err := t.Query(ctx, sql, args...)
	return batchRow{rs: rs, err: err}
}

// batchRows are the rows of a pipelined statement; closing them ends the
// pipeline.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the one row of a pipelined statement, as pgx.Row: no row is
// pgx.ErrNoRows.
type batchRow struct {
	rs  pgx.Rows
	err error
}

func (r batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rs.Close()
	if !r.rs.Next() {
		r.rs.Close()
		if err := r.rs.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rs.Scan(dest...); err != nil {
		return err
	}
	r.rs.Close()
	return r.rs.Err()
}
