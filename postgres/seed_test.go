package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// seed writes n documents for a tenant straight in SQL (the plan test needs
// volume, not realism): half of them from the connector, one chunk each,
// n/4 tombstones, and n/4 knowledge gaps with a question each.
func seed(t *testing.T, pool *pgxpool.Pool, tenantID, connectorID string, n int) {
	t.Helper()
	unbounded(t, pool, func(tx pgx.Tx) error {
		return seedIn(tx, tenantID, connectorID, n)
	})
}

// unbounded runs fn in a transaction without the store's statement
// timeout: seeding and ANALYZE of a few hundred thousand rows on a busy
// 2-core CI machine can take longer than a request may.
func unbounded(t *testing.T, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func seedIn(tx pgx.Tx, tenantID, connectorID string, n int) error {
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO documents (tenant_id, id, connector_id, external_id, source_type, title, content, content_hash,
		        sender_email, source_created_at, status, classification, classification_confidence, user_confirmed,
		        chunk_count, created_at, updated_at, is_deleted)
		 SELECT $1, gen_random_uuid(),
		        CASE WHEN g % 2 = 0 THEN $2::uuid END, CASE WHEN g % 2 = 0 THEN 'ext-' || g END,
		        (ARRAY['mail', 'folder', 'api'])[1 + g % 3], 'doc ' || g, 'content of document ' || g, md5(g::text),
		        'user' || (g % 500) || '@example.com',
		        CASE WHEN g % 4 <> 0 THEN now() - make_interval(hours => g % 5000) END,
		        (ARRAY['pending', 'classified', 'confirmed', 'rejected', 'processing', 'archived'])[1 + g % 6],
		        (ARRAY['work', 'personal', 'spam', 'unknown'])[1 + g % 4],
		        CASE WHEN g % 5 <> 0 THEN (g % 100) / 100.0 END, g % 7 = 0, 1,
		        now() - make_interval(secs => g), now(), g % 50 = 0
		   FROM generate_series(1, $3::int) AS g`,
		`INSERT INTO document_chunks (tenant_id, document_id, chunk_index, content, token_count)
		 SELECT tenant_id, id, 0, content, 4 FROM documents WHERE tenant_id = $1 AND $2::uuid IS NOT NULL AND $3::int > 0`,
		`INSERT INTO deleted_documents (tenant_id, id, connector_id, external_id, source_type, original_title, deleted_at)
		 SELECT $1, gen_random_uuid(), $2, 'gone-' || g, 'mail', 'gone', now() FROM generate_series(1, $3::int / 4) AS g`,
		`INSERT INTO knowledge_gaps (tenant_id, id, title, category, priority, status, fingerprint, created_at, updated_at, closed_at)
		 SELECT $1, gen_random_uuid(), 'gap ' || g,
		        (ARRAY['decision', 'technical', 'process', 'context', 'relationship', 'timeline', 'outcome', 'rationale'])[1 + g % 8],
		        1 + g % 5, (ARRAY['open', 'in_progress', 'answered', 'verified', 'closed'])[1 + g % 5],
		        'seed-' || g, now() - make_interval(secs => g), now(), CASE WHEN g % 5 = 4 THEN now() END
		   FROM generate_series(1, $3::int / 4) AS g WHERE $2::uuid IS NOT NULL`,
		`INSERT INTO gap_questions (tenant_id, gap_id, position, text)
		 SELECT tenant_id, id, 0, 'why?' FROM knowledge_gaps WHERE tenant_id = $1 AND $2::uuid IS NOT NULL AND $3::int > 0`,
	} {
		if _, err := tx.Exec(ctx, q, tenantID, connectorID, n); err != nil {
			return err
		}
	}
	return nil
}
