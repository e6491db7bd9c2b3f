package engram

import "context"

// VectorExecutor runs the statements of embedding and vector search. A
// chunk's vector and the name of the model that made it
// (embedding_model) live in its document_chunks row, so they go with the
// chunk on every write path in the same transaction: a changed chunk is
// written anew without them, a deleted one takes them along.
type VectorExecutor interface {
	// EmbedPending returns up to limit of the tenant's chunks whose
	// embedding_model is not model (never embedded, or by another
	// model), with their text. One statement.
	EmbedPending(ctx context.Context, tenantID, model string, limit int) ([]PendingChunk, error)
	// EmbedWrite stores the vectors of the chunks that still have the
	// text they were embedded from and are not embedded by model yet,
	// and returns how many it stored. One statement.
	EmbedWrite(ctx context.Context, tenantID, model string, vs []ChunkEmbedding) (int, error)
	// EmbedDue lists up to limit active tenants, across tenants, that
	// have a chunk not embedded by model. One statement.
	EmbedDue(ctx context.Context, model string, limit int) ([]string, error)
	// EmbedCounts counts the tenant's chunks and those embedded by model.
	// One statement.
	EmbedCounts(ctx context.Context, tenantID, model string) (EmbedStatus, error)
	// VectorScan calls fn with the vector of every chunk embedded by
	// model of the tenant's live documents that pass f (the defaults of
	// SearchFilter apply), in no order. One statement; fn must not run
	// statements.
	VectorScan(ctx context.Context, tenantID, model string, f SearchFilter, fn func(k ChunkKey, vector []byte)) error
	// SearchHitsRead returns the hits of the keys whose chunk exists and
	// whose document is live, in no order (Score zero). One statement.
	SearchHitsRead(ctx context.Context, tenantID string, keys []ChunkKey) ([]SearchHit, error)
}
