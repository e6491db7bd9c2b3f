package pgref

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
	"github.com/jackc/pgx/v5"
)

// seedBatch is how many rows one seeding statement inserts.
const seedBatch = 25000

// firstSeedBatch is the size of the first statement, which is followed
// by an ANALYZE. Each chunk's foreign-key check looks its document up
// with a plan made for the tenant's id; while the statistics say the
// tenant is empty, PostgreSQL answers it from documents_tenant_sender_email
// (Index Cond on tenant_id, Filter on id), reading every row the tenant
// has so far: quadratic, 18 s for 25,000 rows and minutes for the next
// batch (auto_explain of the check in `engram bench`).
const firstSeedBatch = 2000

// seed runs one seeding statement without the statement_timeout engram
// sets on every connection of its pool: on a loaded machine, with a
// million rows in the table and a checkpoint running, a batch (and the
// foreign-key check of each of its chunks) has taken longer than 30 s.
func (r *Reference) seed(ctx context.Context, sql string, args ...any) error {
	return r.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// timeIDExpr makes a version-7 UUID for seeded document i from its
// creation millisecond ($5 - i ms), so that ids sort by creation time as
// engram's own do (engram.NewID), not at random over the table.
const timeIDExpr = `(lpad(to_hex((extract(epoch FROM $5::timestamptz) * 1000)::bigint - i), 12, '0') || '7' ||
	substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid`

// SeedDocuments inserts n documents with one chunk each into the tenant
// (generate_series): 2,000 rows and an ANALYZE, then a statement per
// 25,000 rows, then ANALYZE again so that the planner knows the tenant's
// size. Document i (from 0) is titled "seeded i", holds content, was
// created i milliseconds before now (so i = 0 is the newest) and, when
// connectorID is not empty, belongs to that connector with external id
// "seeded-i". It is never used to serve requests: it makes large tenants
// for `engram bench` quickly.
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
	now := ts(time.Now())
	for start, end := 0, min(firstSeedBatch, n); start < n; start, end = end, min(end+seedBatch, n) {
		if err := r.seed(ctx, `WITH d AS (
		        INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash,
		                               chunk_count, created_at, updated_at)
		        SELECT $1, `+timeIDExpr+`, $2::uuid, CASE WHEN $2::uuid IS NOT NULL THEN 'seeded-' || i END, 'bench',
		               'seeded ' || i, $3, $4, 1, $5::timestamptz - i * interval '1 millisecond', $5
		          FROM generate_series($6::int, $7::int - 1) AS i
		        RETURNING tenant_id, id)
		    INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count)
		    SELECT tenant_id, id, 0, $8, $9 FROM d`,
			tenantID, conn, content, p[0].ContentHash, now, start, end, chunk.Content, chunk.TokenCount); err != nil {
			return err
		}
		if start == 0 {
			// Statistics that know the tenant before the big batches; see
			// firstSeedBatch.
			if err := r.seed(ctx, `ANALYZE documents`); err != nil {
				return err
			}
		}
	}
	return r.seed(ctx, `ANALYZE documents, document_chunks`)
}

// SeedGaps inserts n gaps into the tenant in one statement, spread evenly
// over the statuses and categories, then ANALYZEs the table. It is never
// used to serve requests.
func (r *Reference) SeedGaps(ctx context.Context, tenantID string, n int) error {
	statuses := make([]string, len(engram.GapStatuses))
	for i, s := range engram.GapStatuses {
		statuses[i] = string(s)
	}
	categories := make([]string, len(engram.GapCategories))
	for i, c := range engram.GapCategories {
		categories[i] = string(c)
	}
	if err := r.seed(ctx, `INSERT INTO knowledge_gaps (tenant_id, id, title, category, priority, status, closed_at, created_at, updated_at)
	        SELECT $1, gen_random_uuid(), 'seeded gap ' || i, ($3::text[])[1 + i % cardinality($3::text[])], 1 + i % 5,
	               s.status, CASE WHEN s.status = 'closed' THEN $4::timestamptz END, $4, $4
	          FROM generate_series(0, $2::int - 1) AS i,
	               LATERAL (SELECT ($5::text[])[1 + i % cardinality($5::text[])] AS status) s`,
		tenantID, n, categories, ts(time.Now()), statuses); err != nil {
		return err
	}
	return r.seed(ctx, `ANALYZE knowledge_gaps`)
}
