package sqliteref

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// seedBatch is how many rows one seeding transaction inserts.
const seedBatch = 100000

// newIDExpr makes a random version-4 UUID in canonical lowercase text.
const newIDExpr = `lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' ||
	substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))`

// timeIDExpr makes a version-7 UUID for seeded document i from its
// creation millisecond (?7 - i), so that ids sort by creation time as
// engram's own do (engram.NewID). Random ids would scatter a walk in id
// order over the whole table: a delete-all of 100,000 seeded documents
// took 18 s with them, 3.9 s with ids like engram's.
const timeIDExpr = `lower(substr(printf('%012x', ?7 - i), 1, 8) || '-' || substr(printf('%012x', ?7 - i), 9, 4) || '-7' ||
	substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' ||
	hex(randomblob(6)))`

// SeedDocuments inserts n documents with one chunk each into the tenant,
// a transaction per 100,000 rows (a recursive CTE for the documents, one
// INSERT ... SELECT for their chunks), then ANALYZEs the database so that
// the planner knows the tenant's size. Document i (from 0) is titled
// "seeded i", holds content, was created i milliseconds before now (so
// i = 0 is the newest) and, when connectorID is not empty, belongs to that
// connector with external id "seeded-i". It is never used to serve
// requests: it makes large tenants for `engram bench` quickly.
func (r *Reference) SeedDocuments(ctx context.Context, tenantID, connectorID string, n int, content string) error {
	p, err := engram.PrepareDocuments([]engram.NewDocument{{Title: "seed", Content: content}})
	if err != nil {
		return err
	}
	var conn *string
	if connectorID != "" {
		conn = &connectorID
	}
	chunk := p[0].Chunks[0]
	now := time.Now().UTC()
	nowMs, nowText := now.UnixMilli(), fmtTime(now)
	for start := 0; start < n; start += seedBatch {
		end := min(start+seedBatch, n)
		err := r.inTx(ctx, func(tx *sql.Tx) error {
			var last int64
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM documents`).Scan(&last); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
			        INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash,
			                               chunk_count, created_at, updated_at)
			        SELECT ?3, `+timeIDExpr+`, ?4, CASE WHEN ?4 IS NOT NULL THEN 'seeded-' || i END, 'bench', 'seeded ' || i, ?5, ?6, 1,
			               strftime('%Y-%m-%dT%H:%M:%f', (?7 - i) / 1000.0, 'unixepoch') || '000Z', ?8
			          FROM s`,
				start, end, tenantID, conn, content, p[0].ContentHash, nowMs, nowText); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count)
			                                SELECT tenant_id, id, 0, ?, ? FROM documents WHERE rowid > ?`, chunk.Content, chunk.TokenCount, last)
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err = r.write.ExecContext(ctx, `ANALYZE`)
	return err
}

// SeedGaps inserts n gaps into the tenant in one statement, spread evenly
// over the statuses and categories, then ANALYZEs the database. It is
// never used to serve requests.
func (r *Reference) SeedGaps(ctx context.Context, tenantID string, n int) error {
	statuses, _ := json.Marshal(engram.GapStatuses)
	categories, _ := json.Marshal(engram.GapCategories)
	now := nowText()
	if _, err := r.write.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?),
	        g(i, status) AS (SELECT i, json_extract(?, '$[' || (i % json_array_length(?)) || ']') FROM s)
	        INSERT INTO knowledge_gaps (tenant_id, id, title, category, priority, status, closed_at, created_at, updated_at)
	        SELECT ?, `+newIDExpr+`, 'seeded gap ' || i, json_extract(?, '$[' || (i % json_array_length(?)) || ']'), 1 + i % 5,
	               status, CASE WHEN status = 'closed' THEN ? END, ?, ?
	          FROM g`,
		n, string(statuses), string(statuses), tenantID, string(categories), string(categories), now, now, now); err != nil {
		return err
	}
	_, err := r.write.ExecContext(ctx, `ANALYZE`)
	return err
}
