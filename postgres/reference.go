package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Reference holds the two yardsticks `engram bench` measures engram
// against, on PostgreSQL. They are never used to serve requests.
//
// Naive* do the work the way engram's predecessor did: per document, one
// SELECT and one write, and a commit per document. Floor* send the single
// hand-written statement that does the same work, straight through the
// driver: the least the database can be asked to do.
type Reference struct{ s *Store }

// Reference returns the store's benchmark yardsticks.
func (s *Store) Reference() *Reference { return &Reference{s} }

// perDocument runs fn in its own transaction for each id.
func (r *Reference) perDocument(ctx context.Context, ids []string, fn func(tx pgx.Tx, id string) error) error {
	for _, id := range ids {
		if err := r.s.inTx(ctx, func(tx pgx.Tx) error { return fn(tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// NaiveConfirm confirms documents one at a time.
func (r *Reference) NaiveConfirm(ctx context.Context, tenantID string, ids []string) error {
	return r.perDocument(ctx, ids, func(tx pgx.Tx, id string) error {
		var found string
		if err := tx.QueryRow(ctx, `SELECT id::text FROM documents WHERE tenant_id = $1 AND id = $2 AND NOT is_deleted`, tenantID, id).Scan(&found); err != nil {
			if isNoRows(err) {
				return nil
			}
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
		                         WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
}

// FloorConfirm confirms documents in one statement.
func (r *Reference) FloorConfirm(ctx context.Context, tenantID string, ids []string) error {
	_, err := r.s.pool.Exec(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
	                               WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND NOT is_deleted`, tenantID, ids)
	return err
}

// NaiveHardDelete deletes documents one at a time: read, delete the
// chunks, delete the row, write the tombstone, commit.
func (r *Reference) NaiveHardDelete(ctx context.Context, tenantID string, ids []string) error {
	return r.perDocument(ctx, ids, func(tx pgx.Tx, id string) error {
		var conn, ext *string
		var title string
		if err := tx.QueryRow(ctx, `SELECT connector_id::text, external_id, title FROM documents WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&conn, &ext, &title); err != nil {
			if isNoRows(err) {
				return nil
			}
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM document_chunks WHERE tenant_id = $1 AND document_id = $2`, tenantID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM documents WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		if conn != nil && ext != nil {
			_, err := tx.Exec(ctx, `INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title)
			                         VALUES ($1, $2, $3, $4, 'bench', $5) ON CONFLICT DO NOTHING`, tenantID, id, *conn, *ext, title)
			return err
		}
		return nil
	})
}

// FloorHardDelete deletes documents and writes their tombstones in one
// statement (chunks go by cascade).
func (r *Reference) FloorHardDelete(ctx context.Context, tenantID string, ids []string) error {
	_, err := r.s.pool.Exec(ctx, `WITH d AS (DELETE FROM documents WHERE tenant_id = $1 AND id = ANY($2::uuid[])
	                                  RETURNING tenant_id, id, connector_id, external_id, source_type, title)
	                               INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title)
	                               SELECT tenant_id, id, connector_id, external_id, source_type, title FROM d
	                                WHERE connector_id IS NOT NULL AND external_id IS NOT NULL
	                               ON CONFLICT DO NOTHING`, tenantID, ids)
	return err
}

// NaiveStats counts the stats panel the predecessor's way: one COUNT per
// figure.
func (r *Reference) NaiveStats(ctx context.Context, tenantID string) error {
	for _, where := range []string{
		`NOT is_deleted`, `NOT is_deleted AND status = 'pending'`, `NOT is_deleted AND status = 'classified'`,
		`NOT is_deleted AND status = 'confirmed'`, `NOT is_deleted AND status = 'rejected'`,
		`NOT is_deleted AND classification = 'work'`, `NOT is_deleted AND classification = 'personal'`,
		`NOT is_deleted AND classification = 'spam'`,
	} {
		var n int
		if err := r.s.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE tenant_id = $1 AND `+where, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorStats runs engram's one stats statement straight through the driver.
func (r *Reference) FloorStats(ctx context.Context, tenantID string) error {
	_, err := r.s.pool.Exec(ctx, statsQuery, tenantID)
	return err
}
