package engram

import "context"

// SearchExecutor runs the statements of lexical search and of its
// index's repair. The engines keep the index in the same transaction as
// the chunks on every write path (SQLite by triggers on document_chunks
// and on documents' titles, PostgreSQL by the statements that write
// chunks and titles, with triggers keeping its per-tenant term
// statistics), so no search needs a rebuild for correctness.
type SearchExecutor interface {
	// SearchLexical ranks the tenant's chunks of live documents that
	// match r.Query and r.Filter by BM25 (title words weighted by
	// r.TitleWeight), best first, keeps each document's best chunk unless
	// r.Chunks, and returns r.Limit hits after r.Offset. One statement.
	// r.Query must not be empty. The candidates are the chunks
	// r.Finder() matches; every word of r.Query scores them.
	SearchLexical(ctx context.Context, tenantID string, r SearchRequest) ([]SearchHit, error)
	// SearchWordChunks reads how many of the tenant's chunks hold each of
	// words, up to limit: one statement (PostgreSQL: the kept term
	// statistics; SQLite: the index, each word's count stopping at limit).
	SearchWordChunks(ctx context.Context, tenantID string, words []string, limit int) (map[string]int, error)
	// SearchReindex rewrites the index entries of the chunks of up to
	// limit of the tenant's documents (soft-deleted ones included) whose
	// id is greater than after (engram.NilID to start), in id order, from their text and titles,
	// and returns the last document id it took ("" when none) and how
	// many chunks it indexed. Two statements: read the next documents
	// (PostgreSQL: with their chunks, which engram splits into words
	// itself), write their entries. Call it in a transaction.
	SearchReindex(ctx context.Context, tenantID, after string, limit int) (string, int, error)
}
