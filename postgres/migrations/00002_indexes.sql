-- Indexes for every query the API runs, each leading with tenant_id. Built
-- CONCURRENTLY outside a transaction so that adding or dropping one never
-- blocks writes on a large table; dropping one loses no data.
-- Nullable sort columns are indexed NULLS FIRST: engram sorts NULL as the
-- smallest value on both engines, so ascending scans read the index forward
-- and descending scans read it backward. Titles sort by code point (COLLATE
-- "C"), as SQLite sorts them, whatever the database's locale.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_created ON documents (tenant_id, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_status ON documents (tenant_id, status, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_class ON documents (tenant_id, classification, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_title ON documents (tenant_id, title COLLATE "C", id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_sender_email ON documents (tenant_id, sender_email);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_source_created ON documents (tenant_id, source_created_at NULLS FIRST, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_confidence ON documents (tenant_id, classification_confidence NULLS FIRST, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS documents_tenant_review ON documents (tenant_id, classification_confidence NULLS FIRST, id)
    WHERE status = 'classified' AND NOT user_confirmed AND NOT is_deleted;
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_tenant_at ON audit_log (tenant_id, at, id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS audit_log_tenant_at;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_review;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_confidence;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_source_created;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_sender_email;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_title;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_class;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_status;
DROP INDEX CONCURRENTLY IF EXISTS documents_tenant_created;
