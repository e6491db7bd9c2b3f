// Package pgref holds the two yardsticks `engram bench` measures engram
// against on PostgreSQL. They are the bench's own SQL, never used to
// serve requests; cmd/engram hands them the engine's connection pool.
//
// Naive* do the work the way engram's predecessor did: per document, one
// SELECT and one write, and a commit per document. Floor* send the single
// hand-written statement that does the same work, straight through the
// driver: the least the database can be asked to do.
package pgref

import (
	"context"
	"errors"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/bench/internal/refjson"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reference is the naive baseline and the raw-SQL floor on one
// PostgreSQL database (it implements bench.Reference).
type Reference struct {
	// pool is the engine's pool, so the yardsticks wait for connections
	// and run under the statement_timeout engram's statements do.
	pool *pgxpool.Pool
}

// New returns the yardsticks over the engine's pool (postgres.Store's
// Pool).
func New(pool *pgxpool.Pool) *Reference { return &Reference{pool: pool} }

// perDocument runs fn in its own transaction for each id.
func (r *Reference) perDocument(ctx context.Context, ids []string, fn func(tx pgx.Tx, id string) error) error {
	for _, id := range ids {
		if err := r.inTx(ctx, func(tx pgx.Tx) error { return fn(tx, id) }); err != nil {
			return err
		}
	}
	return nil
}

// perLiveDocument is perDocument that first reads each document, as the
// predecessor did, and skips the ones that are gone or deleted.
func (r *Reference) perLiveDocument(ctx context.Context, tenantID string, ids []string, write func(tx pgx.Tx, id string) error) error {
	return r.perDocument(ctx, ids, func(tx pgx.Tx, id string) error {
		var found string
		if err := tx.QueryRow(ctx, `SELECT id::text FROM documents WHERE tenant_id = $1 AND id = $2 AND NOT is_deleted`, tenantID, id).Scan(&found); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		}
		return write(tx, id)
	})
}

// NaiveConfirm confirms documents one at a time.
func (r *Reference) NaiveConfirm(ctx context.Context, tenantID string, ids []string) error {
	return r.perLiveDocument(ctx, tenantID, ids, func(tx pgx.Tx, id string) error {
		_, err := tx.Exec(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
		                         WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	})
}

// FloorConfirm confirms documents in one statement.
func (r *Reference) FloorConfirm(ctx context.Context, tenantID string, ids []string) error {
	_, err := r.pool.Exec(ctx, `UPDATE documents SET status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
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
			if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := r.pool.Exec(ctx, `WITH d AS (DELETE FROM documents WHERE tenant_id = $1 AND id = ANY($2::uuid[])
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
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM documents WHERE tenant_id = $1 AND `+where, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorStats counts the stats panel in one statement (statsQuery)
// straight through the driver.
func (r *Reference) FloorStats(ctx context.Context, tenantID string) error {
	_, err := r.pool.Exec(ctx, statsQuery, tenantID)
	return err
}

// NaiveClassify sets the class of documents one at a time, as a person's
// bulk classify did in the predecessor.
func (r *Reference) NaiveClassify(ctx context.Context, tenantID string, ids []string, class string) error {
	return r.perLiveDocument(ctx, tenantID, ids, func(tx pgx.Tx, id string) error {
		_, err := tx.Exec(ctx, `UPDATE documents SET classification = $3, classification_confidence = 1.0, classification_reason = 'set by user',
		                               status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
		                         WHERE tenant_id = $1 AND id = $2`, tenantID, id, class)
		return err
	})
}

// FloorClassify sets the class of documents in one statement.
func (r *Reference) FloorClassify(ctx context.Context, tenantID string, ids []string, class string) error {
	_, err := r.pool.Exec(ctx, `UPDATE documents SET classification = $3, classification_confidence = 1.0, classification_reason = 'set by user',
	                                     status = 'confirmed', user_confirmed = true, user_confirmed_at = now(), updated_at = now()
	                               WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND NOT is_deleted`, tenantID, ids, class)
	return err
}

// NaiveListPage reads the page after offset rows, newest first, with
// OFFSET as the predecessor paginated: the database reads and drops every
// row before the page.
func (r *Reference) NaiveListPage(ctx context.Context, tenantID string, offset, limit int) error {
	return r.drain(ctx, `SELECT `+listColumns+` FROM documents WHERE tenant_id = $1 AND NOT is_deleted
	                      ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, tenantID, limit, offset)
}

// FloorListPage reads the page after the row (createdAt, id), newest
// first: the hand-written keyset SELECT.
func (r *Reference) FloorListPage(ctx context.Context, tenantID string, createdAt time.Time, id string, limit int) error {
	return r.drain(ctx, `SELECT `+listColumns+` FROM documents WHERE tenant_id = $1 AND NOT is_deleted
	                        AND (created_at, id) < ($2, $3::uuid)
	                      ORDER BY created_at DESC, id DESC LIMIT $4`, tenantID, ts(createdAt), id, limit)
}

// RowAt returns the sort key (created_at, id) of the row at offset in the
// tenant's newest-first list, to make a cursor from.
func (r *Reference) RowAt(ctx context.Context, tenantID string, offset int) (time.Time, string, error) {
	var at time.Time
	var id string
	err := r.pool.QueryRow(ctx, `SELECT created_at, id::text FROM documents WHERE tenant_id = $1 AND NOT is_deleted
	                                ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2`, tenantID, offset).Scan(&at, &id)
	return at, id, err
}

// drain runs a query and reads every row it returns.
func (r *Reference) drain(ctx context.Context, sql string, args ...any) error {
	rs, err := r.pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if _, err := rs.Values(); err != nil {
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
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM knowledge_gaps WHERE tenant_id = $1 AND status = $2`, tenantID, string(st)).Scan(&n); err != nil {
			return err
		}
	}
	for _, c := range engram.GapCategories {
		if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM knowledge_gaps WHERE tenant_id = $1 AND category = $2`, tenantID, string(c)).Scan(&n); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`SELECT count(*) FROM gap_answers WHERE tenant_id = $1`,
		`SELECT count(*) FROM gap_answers WHERE tenant_id = $1 AND is_verified`,
		`SELECT coalesce(sum(feedback_useful + feedback_not_useful), 0) FROM knowledge_gaps WHERE tenant_id = $1`,
	} {
		if err := r.pool.QueryRow(ctx, q, tenantID).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// FloorGapStats counts the tenant's gaps in one grouped statement (the
// answers, which engram's statement also counts, are left out).
func (r *Reference) FloorGapStats(ctx context.Context, tenantID string) error {
	return r.drain(ctx, `SELECT status, category, count(*), sum(feedback_useful), sum(feedback_not_useful)
	                       FROM knowledge_gaps WHERE tenant_id = $1 GROUP BY status, category`, tenantID)
}

// NaiveSync takes a connector's items as the predecessor did: it loads
// every known external id (with its content hash) of the connector into
// memory, then inserts each new item with its chunks in a transaction of
// its own. Known items are skipped.
func (r *Reference) NaiveSync(ctx context.Context, tenantID, connectorID string, docs []engram.PreparedDocument) error {
	rs, err := r.pool.Query(ctx, `SELECT external_id, content_hash FROM documents WHERE tenant_id = $1 AND connector_id = $2`, tenantID, connectorID)
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
	for _, d := range docs {
		if _, ok := known[*d.ExternalID]; ok {
			continue
		}
		err := r.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash, chunk_count)
			                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				tenantID, d.ID, connectorID, *d.ExternalID, d.SourceType, d.Title, d.Content, d.ContentHash, len(d.Chunks)); err != nil {
				return err
			}
			for _, c := range d.Chunks {
				if _, err := tx.Exec(ctx, `INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count) VALUES ($1, $2, $3, $4, $5)`,
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
	_, err := r.pool.Exec(ctx, `INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash)
	                               SELECT $1, i.id, $2, i.external_id, i.source_type, i.title, i.content, i.content_hash
	                                 FROM json_to_recordset($3::json) AS i(id uuid, external_id text, source_type text, title text, content text, content_hash text)
	                                WHERE NOT EXISTS (SELECT 1 FROM documents d
	                                                   WHERE d.tenant_id = $1 AND d.connector_id = $2 AND d.external_id = i.external_id)`,
		tenantID, connectorID, refjson.Items(docs))
	return err
}

// NaiveDeleteAll hard-deletes every document of the tenant the
// predecessor's way: read all ids, then delete one document per
// transaction.
func (r *Reference) NaiveDeleteAll(ctx context.Context, tenantID string) error {
	rs, err := r.pool.Query(ctx, `SELECT id::text FROM documents WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		return err
	}
	return r.NaiveHardDelete(ctx, tenantID, ids)
}

// FloorDeleteAll hard-deletes every document of the tenant and writes the
// tombstones of its connector documents in one statement (chunks go by
// cascade).
func (r *Reference) FloorDeleteAll(ctx context.Context, tenantID string) error {
	_, err := r.pool.Exec(ctx, `WITH d AS (DELETE FROM documents WHERE tenant_id = $1
	                                  RETURNING tenant_id, id, connector_id, external_id, source_type, title)
	                               INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title)
	                               SELECT tenant_id, id, connector_id, external_id, source_type, title FROM d
	                                WHERE connector_id IS NOT NULL AND external_id IS NOT NULL
	                               ON CONFLICT DO NOTHING`, tenantID)
	return err
}
