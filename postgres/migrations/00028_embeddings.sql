-- The index through which the embedding jobs find the chunks a model has
-- not embedded yet (embedding_model NULL, or another model's name) and a
-- vector search reads the chunks one model embedded. The vectors are
-- document_chunks.embedding (bytea: float32s, little-endian, scaled to
-- length 1) beside embedding_model, as since migration 00001; no table
-- is added, so row-level security (00016) already covers them.

-- +goose Up
CREATE INDEX document_chunks_embedding ON document_chunks (tenant_id, embedding_model);

-- +goose Down
DROP INDEX document_chunks_embedding;
