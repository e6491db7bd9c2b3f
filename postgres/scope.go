package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tenantConn is a pooled connection on which every statement runs for one
// tenant under row-level security, outside any explicit transaction: the
// reads of Reader() and the single writes of Writer().
//
// Each statement goes to the server in one pipeline behind scopeSQL, which
// sets the tenant and the role engram_app for the implicit transaction
// the pipeline runs in (the extended protocol commits at the pipeline's
// Sync, so both settings end with the statement and nothing is left on the
// connection for its next user). That is one round trip, as before; like
// the settings in BEGIN's round trip (beginQuery), scopeSQL is the
// engine's plumbing and is not counted as a statement.
type tenantConn struct {
	c      *pgxpool.Conn
	tenant string
}

// scopeSQL sets the tenant and the role for the rest of the implicit
// transaction. set_config('role', …) is SET LOCAL ROLE in function form,
// which the extended protocol accepts outside a transaction block.
const scopeSQL = `SELECT set_config('engram.tenant_id', $1, true), set_config('role', 'engram_app', true)`

// scopedTenant is the tenant scopeSQL sets: only a canonical tenant id,
// anything else sets none, and the policies then admit no row.
func scopedTenant(tenantID string) string {
	if !isUUID(tenantID) {
		return ""
	}
	return tenantID
}

// send queues the scope and the statement, sends them, and reads the
// scope's result.
func (t tenantConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(scopeSQL, scopedTenant(t.tenant))
	b.Queue(sql, args...)
	br := t.c.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (t tenantConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
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

func (t tenantConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
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

func (t tenantConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
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
