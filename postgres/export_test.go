package postgres

import (
	"context"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// RawTx returns the pgx transaction under a driver transaction, so that a
// test can send a statement no driver method would (rls_test.go).
func RawTx(tx engram.Tx) pgx.Tx { return tx.(*txExecutor).tx }

// BeginQuery is beginQuery, for the test of what it writes.
func BeginQuery(tenantID string) string { return beginQuery(tenantID, "") }

// PooledScoped runs scoped as tenantID on a pooled connection, as Reader()
// and Writer() run a tenant's statements, then plain on the same
// connection without a scope; it returns the first column of each, as
// text.
func PooledScoped(ctx context.Context, d engram.Driver, tenantID, scoped, plain string) (in, after []string, err error) {
	s := d.(*Store)
	err = s.read(ctx, func(c *pgxConn) error {
		if in, err = firstColumn(ctx, s.scoped(c, tenantID), scoped); err != nil {
			return err
		}
		after, err = firstColumn(ctx, c, plain)
		return err
	})
	return in, after, err
}

func firstColumn(ctx context.Context, q querier, sql string) ([]string, error) {
	rs, err := q.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var v *string
		if err := rs.Scan(&v); err != nil {
			return nil, err
		}
		if v == nil {
			out = append(out, "<null>")
		} else {
			out = append(out, *v)
		}
	}
	return out, rs.Err()
}
