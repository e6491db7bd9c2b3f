-- Mirrors postgres/migrations/00028_embeddings.sql: the index through
-- which the embedding jobs find the chunks a model has not embedded yet
-- and a vector search reads the chunks one model embedded. The vectors
-- themselves are document_chunks.embedding (float32s, little-endian,
-- length 1) beside embedding_model, as since migration 00001.

-- +goose Up
CREATE INDEX document_chunks_embedding ON document_chunks (tenant_id, embedding_model);

-- +goose Down
DROP INDEX document_chunks_embedding;
