package sqlite

import (
	"context"
	"database/sql"

	"github.com/engram-kb/engram/internal/rows"
)

// Reference holds the two yardsticks `engram bench` measures engram
// against, on SQLite. They are never used to serve requests.
//
// Naive* do the work the way engram's predecessor did: per document, one
// SELECT and one write, and a commit per document. Floor* send the single
// hand-written statement that does the same work, straight through the
// driver: the least the database can be asked to do.
type Reference struct{ s *Store }

// Reference returns the store's benchmark yardsticks.
func (s *Store) Reference() *Reference { return &Reference{s} }

func (r *Reference) perDocument(ctx context.Context, ids []string, fn func(tx *sql.Tx, id string) error) error {
	for _, id := range ids {
		if err := r.s.inTx(ctx, func(tx *sql.Tx) error { return fn(tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// NaiveConfirm confirms documents one at a time.
func (r *Reference) NaiveConfirm(ctx context.Context, tenantID string, ids []string) error {
	now := r.s.nowText()
	return r.perDocument(ctx, ids, func(tx *sql.Tx, id string) error {
		var found string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM documents WHERE tenant_id = ? AND id = ? AND is_deleted = 0`, tenantID, id).Scan(&found); err != nil {
			if isNoRows(err) {
				return nil
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
		                                WHERE tenant_id = ? AND id = ?`, now, now, tenantID, id)
		return err
	})
}

// FloorConfirm confirms documents in one statement.
func (r *Reference) FloorConfirm(ctx context.Context, tenantID string, ids []string) error {
	now := r.s.nowText()
	_, err := r.s.write.ExecContext(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
	                                      WHERE tenant_id = ? AND is_deleted = 0 AND id IN (SELECT value FROM json_each(?))`,
		now, now, tenantID, rows.IDsJSON(ids))
	return err
}

// NaiveHardDelete deletes documents one at a time: read, delete the
// chunks, delete the row, write the tombstone, commit.
func (r *Reference) NaiveHardDelete(ctx context.Context, tenantID string, ids []string) error {
	now := r.s.nowText()
	return r.perDocument(ctx, ids, func(tx *sql.Tx, id string) error {
		var conn, ext sql.NullString
		var title string
		if err := tx.QueryRowContext(ctx, `SELECT connector_id, external_id, title FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&conn, &ext, &title); err != nil {
			if isNoRows(err) {
				return nil
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM document_chunks WHERE tenant_id = ? AND document_id = ?`, tenantID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return err
		}
		if conn.Valid && ext.Valid {
			_, err := tx.ExecContext(ctx, `INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
			                                VALUES (?, ?, ?, ?, 'bench', ?, ?) ON CONFLICT DO NOTHING`, tenantID, id, conn.String, ext.String, title, now)
			return err
		}
		return nil
	})
}

// FloorHardDelete writes the tombstones and deletes the documents: two
// statements, since SQLite has no data-modifying CTE (chunks go by cascade).
func (r *Reference) FloorHardDelete(ctx context.Context, tenantID string, ids []string) error {
	return r.s.inTx(ctx, func(tx *sql.Tx) error {
		j := rows.IDsJSON(ids)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
		                                   SELECT tenant_id, id, connector_id, external_id, source_type, title, ? FROM documents
		                                    WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))
		                                      AND +connector_id IS NOT NULL AND +external_id IS NOT NULL
		                                   ON CONFLICT DO NOTHING`, r.s.nowText(), tenantID, j); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM documents WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))`, tenantID, j)
		return err
	})
}

// NaiveStats counts the stats panel the predecessor's way: one COUNT per
// figure.
func (r *Reference) NaiveStats(ctx context.Context, tenantID string) error {
	for _, where := range []string{
		`is_deleted = 0`, `is_deleted = 0 AND status = 'pending'`, `is_deleted = 0 AND status = 'classified'`,
		`is_deleted = 0 AND status = 'confirmed'`, `is_deleted = 0 AND status = 'rejected'`,
		`is_deleted = 0 AND classification = 'work'`, `is_deleted = 0 AND classification = 'personal'`,
		`is_deleted = 0 AND classification = 'spam'`,
	} {
		var n int
		if err := r.s.read.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE tenant_id = ? AND `+where, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorStats runs engram's one stats statement straight through the driver.
func (r *Reference) FloorStats(ctx context.Context, tenantID string) error {
	rs, err := r.s.read.QueryContext(ctx, statsQuery, tenantID)
	if err != nil {
		return err
	}
	return rs.Close()
}
