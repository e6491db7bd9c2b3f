-- The GIN index that finds the chunks matching a search's tsquery. Built
-- CONCURRENTLY, outside a transaction, like 00002. It cannot lead with
-- tenant_id without the btree_gin extension; a search's statement filters
-- the tenant on the rows the index finds (and row security does too).

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS document_chunks_search ON document_chunks USING gin (search);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS document_chunks_search;
