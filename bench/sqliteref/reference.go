// Package sqliteref holds the two yardsticks `engram bench` measures
// engram against on SQLite. They are the bench's own SQL, never used to
// serve requests; cmd/engram hands them the engine's connection pools.
//
// Naive* do the work the way engram's predecessor did: per document, one
// SELECT and one write, and a commit per document. Floor* send the single
// hand-written statement that does the same work, straight through the
// driver: the least the database can be asked to do.
package sqliteref

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/bench/internal/refjson"
)

// Reference is the naive baseline and the raw-SQL floor on one SQLite
// database (it implements bench.Reference).
type Reference struct {
	// read is the engine's read-only pool: the yardsticks read beside
	// engram as its own reads do.
	read *sql.DB
	// write is the engine's one writer connection, so the yardsticks'
	// writes queue behind engram's instead of failing with SQLITE_BUSY.
	write *sql.DB
}

// New returns the yardsticks over the engine's read pool and its writer
// connection (sqlite.Store's ReadDB and WriteDB).
func New(read, write *sql.DB) *Reference { return &Reference{read: read, write: write} }

func (r *Reference) perDocument(ctx context.Context, ids []string, fn func(tx *sql.Tx, id string) error) error {
	for _, id := range ids {
		if err := r.inTx(ctx, func(tx *sql.Tx) error { return fn(tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// perLiveDocument is perDocument that first reads each document, as the
// predecessor did, and skips the ones that are gone or deleted.
func (r *Reference) perLiveDocument(ctx context.Context, tenantID string, ids []string, write func(tx *sql.Tx, id string) error) error {
	return r.perDocument(ctx, ids, func(tx *sql.Tx, id string) error {
		var found string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM documents WHERE tenant_id = ? AND id = ? AND is_deleted = 0`, tenantID, id).Scan(&found); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		}
		return write(tx, id)
	})
}

// NaiveConfirm confirms documents one at a time.
func (r *Reference) NaiveConfirm(ctx context.Context, tenantID string, ids []string) error {
	now := nowText()
	return r.perLiveDocument(ctx, tenantID, ids, func(tx *sql.Tx, id string) error {
		_, err := tx.ExecContext(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
		                                WHERE tenant_id = ? AND id = ?`, now, now, tenantID, id)
		return err
	})
}

// FloorConfirm confirms documents in one statement.
func (r *Reference) FloorConfirm(ctx context.Context, tenantID string, ids []string) error {
	now := nowText()
	_, err := r.write.ExecContext(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
	                                      WHERE tenant_id = ? AND is_deleted = 0 AND id IN (SELECT value FROM json_each(?))`,
		now, now, tenantID, refjson.IDs(ids))
	return err
}

// NaiveHardDelete deletes documents one at a time: read, delete the
// chunks, delete the row, write the tombstone, commit.
func (r *Reference) NaiveHardDelete(ctx context.Context, tenantID string, ids []string) error {
	now := nowText()
	return r.perDocument(ctx, ids, func(tx *sql.Tx, id string) error {
		var conn, ext sql.NullString
		var title string
		if err := tx.QueryRowContext(ctx, `SELECT connector_id, external_id, title FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&conn, &ext, &title); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
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
	return r.inTx(ctx, func(tx *sql.Tx) error {
		j := refjson.IDs(ids)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
		                                   SELECT tenant_id, id, connector_id, external_id, source_type, title, ? FROM documents
		                                    WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?))
		                                      AND +connector_id IS NOT NULL AND +external_id IS NOT NULL
		                                   ON CONFLICT DO NOTHING`, nowText(), tenantID, j); err != nil {
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
		if err := r.read.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE tenant_id = ? AND `+where, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorStats counts the stats panel in one statement (statsQuery)
// straight through the driver.
func (r *Reference) FloorStats(ctx context.Context, tenantID string) error {
	rs, err := r.read.QueryContext(ctx, statsQuery, tenantID)
	if err != nil {
		return err
	}
	return rs.Close()
}

// NaiveClassify sets the class of documents one at a time, as a person's
// bulk classify did in the predecessor.
func (r *Reference) NaiveClassify(ctx context.Context, tenantID string, ids []string, class string) error {
	now := nowText()
	return r.perLiveDocument(ctx, tenantID, ids, func(tx *sql.Tx, id string) error {
		_, err := tx.ExecContext(ctx, `UPDATE documents SET classification = ?, classification_confidence = 1.0, classification_reason = 'set by user',
		                                      status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
		                                WHERE tenant_id = ? AND id = ?`, class, now, now, tenantID, id)
		return err
	})
}

// FloorClassify sets the class of documents in one statement.
func (r *Reference) FloorClassify(ctx context.Context, tenantID string, ids []string, class string) error {
	now := nowText()
	_, err := r.write.ExecContext(ctx, `UPDATE documents SET classification = ?, classification_confidence = 1.0, classification_reason = 'set by user',
	                                            status = 'confirmed', user_confirmed = 1, user_confirmed_at = ?, updated_at = ?
	                                      WHERE tenant_id = ? AND is_deleted = 0 AND id IN (SELECT value FROM json_each(?))`,
		class, now, now, tenantID, refjson.IDs(ids))
	return err
}

// NaiveListPage reads the page after offset rows, newest first, with
// OFFSET as the predecessor paginated: the database reads and drops every
// row before the page.
func (r *Reference) NaiveListPage(ctx context.Context, tenantID string, offset, limit int) error {
	return r.drain(ctx, `SELECT `+listColumns+` FROM documents WHERE tenant_id = ? AND is_deleted = 0
	                      ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
}

// FloorListPage reads the page after the row (createdAt, id), newest
// first: the hand-written keyset SELECT.
func (r *Reference) FloorListPage(ctx context.Context, tenantID string, createdAt time.Time, id string, limit int) error {
	return r.drain(ctx, `SELECT `+listColumns+` FROM documents WHERE tenant_id = ? AND is_deleted = 0
	                        AND (created_at, id) < (?, ?)
	                      ORDER BY created_at DESC, id DESC LIMIT ?`, tenantID, fmtTime(createdAt), id, limit)
}

// RowAt returns the sort key (created_at, id) of the row at offset in the
// tenant's newest-first list, to make a cursor from.
func (r *Reference) RowAt(ctx context.Context, tenantID string, offset int) (time.Time, string, error) {
	var at, id string
	err := r.read.QueryRowContext(ctx, `SELECT created_at, id FROM documents WHERE tenant_id = ? AND is_deleted = 0
	                                       ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`, tenantID, offset).Scan(&at, &id)
	return parseTime(at), id, err
}

// drain runs a query and reads every row it returns.
func (r *Reference) drain(ctx context.Context, q string, args ...any) error {
	rs, err := r.read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	for i := range vals {
		vals[i] = new(any)
	}
	for rs.Next() {
		if err := rs.Scan(vals...); err != nil {
			return err
		}
	}
	return rs.Err()
}

// NaiveGapStats counts the gap panel the predecessor's way: one COUNT per
// status and per category, then the answers and the feedback.
func (r *Reference) NaiveGapStats(ctx context.Context, tenantID string) error {
	var n int
	for _, st := range engram.GapStatuses {
		if err := r.read.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_gaps WHERE tenant_id = ? AND status = ?`, tenantID, string(st)).Scan(&n); err != nil {
			return err
		}
	}
	for _, c := range engram.GapCategories {
		if err := r.read.QueryRowContext(ctx, `SELECT count(*) FROM knowledge_gaps WHERE tenant_id = ? AND category = ?`, tenantID, string(c)).Scan(&n); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`SELECT count(*) FROM gap_answers WHERE tenant_id = ?`,
		`SELECT count(*) FROM gap_answers WHERE tenant_id = ? AND is_verified = 1`,
		`SELECT coalesce(sum(feedback_useful + feedback_not_useful), 0) FROM knowledge_gaps WHERE tenant_id = ?`,
	} {
		if err := r.read.QueryRowContext(ctx, q, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorGapStats counts the tenant's gaps in one grouped statement (the
// answers, which engram's statement also counts, are left out).
func (r *Reference) FloorGapStats(ctx context.Context, tenantID string) error {
	return r.drain(ctx, `SELECT status, category, count(*), sum(feedback_useful), sum(feedback_not_useful)
	                       FROM knowledge_gaps WHERE tenant_id = ? GROUP BY status, category`, tenantID)
}

// NaiveSync takes a connector's items as the predecessor did: it loads
// every known external id (with its content hash) of the connector into
// memory, then inserts each new item with its chunks in a transaction of
// its own. Known items are skipped.
func (r *Reference) NaiveSync(ctx context.Context, tenantID, connectorID string, docs []engram.PreparedDocument) error {
	rs, err := r.read.QueryContext(ctx, `SELECT external_id, content_hash FROM documents WHERE tenant_id = ? AND connector_id = ?`, tenantID, connectorID)
	if err != nil {
		return err
	}
	known := map[string]string{}
	for rs.Next() {
		var ext, hash string
		if err := rs.Scan(&ext, &hash); err != nil {
			rs.Close()
			return err
		}
		known[ext] = hash
	}
	if err := rs.Err(); err != nil {
		return err
	}
	rs.Close()
	now := nowText()
	for _, d := range docs {
		if _, ok := known[*d.ExternalID]; ok {
			continue
		}
		err := r.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash,
			                                                          chunk_count, created_at, updated_at)
			                                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tenantID, d.ID, connectorID, *d.ExternalID, d.SourceType, d.Title, d.Content, d.ContentHash, len(d.Chunks), now, now); err != nil {
				return err
			}
			for _, c := range d.Chunks {
				if _, err := tx.ExecContext(ctx, `INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count) VALUES (?, ?, ?, ?, ?)`,
					tenantID, d.ID, c.Index, c.Content, c.TokenCount); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// FloorSync inserts the items the connector does not have yet in one
// anti-join statement. It writes the document rows only: no chunks, no
// tombstone check, no comparison of known items.
func (r *Reference) FloorSync(ctx context.Context, tenantID, connectorID string, docs []engram.PreparedDocument) error {
	now := nowText()
	_, err := r.write.ExecContext(ctx, `INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash, created_at, updated_at)
	                                      SELECT ?, i.value->>'id', ?, i.value->>'external_id', i.value->>'source_type', i.value->>'title',
	                                             i.value->>'content', i.value->>'content_hash', ?, ?
	                                        FROM json_each(?) AS i
	                                       WHERE NOT EXISTS (SELECT 1 FROM documents d
	                                                          WHERE d.tenant_id = ? AND d.connector_id = ? AND d.external_id = i.value->>'external_id')`,
		tenantID, connectorID, now, now, refjson.Items(docs), tenantID, connectorID)
	return err
}

// NaiveDeleteAll hard-deletes every document of the tenant the
// predecessor's way: read all ids, then delete one document per
// transaction.
func (r *Reference) NaiveDeleteAll(ctx context.Context, tenantID string) error {
	rs, err := r.read.QueryContext(ctx, `SELECT id FROM documents WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return err
	}
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rs.Err(); err != nil {
		return err
	}
	rs.Close()
	return r.NaiveHardDelete(ctx, tenantID, ids)
}

// FloorDeleteAll writes the tombstones of the tenant's connector
// documents and deletes all its documents: two statements, since SQLite
// has no data-modifying CTE (chunks go by cascade).
func (r *Reference) FloorDeleteAll(ctx context.Context, tenantID string) error {
	return r.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
		                                   SELECT tenant_id, id, connector_id, external_id, source_type, title, ? FROM documents
		                                    WHERE tenant_id = ? AND connector_id IS NOT NULL AND external_id IS NOT NULL
		                                   ON CONFLICT DO NOTHING`, nowText(), tenantID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM documents WHERE tenant_id = ?`, tenantID)
		return err
	})
}
