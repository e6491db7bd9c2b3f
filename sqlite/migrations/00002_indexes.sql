-- Mirrors postgres/migrations/00002_indexes.sql. SQLite sorts NULL first
-- ascending and last descending, the order engram uses on both engines.

-- +goose Up
CREATE INDEX IF NOT EXISTS documents_tenant_created ON documents (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS documents_tenant_status ON documents (tenant_id, status, created_at, id);
CREATE INDEX IF NOT EXISTS documents_tenant_class ON documents (tenant_id, classification, created_at, id);
CREATE INDEX IF NOT EXISTS documents_tenant_title ON documents (tenant_id, title, id);
CREATE INDEX IF NOT EXISTS documents_tenant_sender_email ON documents (tenant_id, sender_email);
CREATE INDEX IF NOT EXISTS documents_tenant_source_created ON documents (tenant_id, source_created_at, id);
CREATE INDEX IF NOT EXISTS documents_tenant_confidence ON documents (tenant_id, classification_confidence, id);
CREATE INDEX IF NOT EXISTS documents_tenant_review ON documents (tenant_id, classification_confidence, id)
    WHERE status = 'classified' AND user_confirmed = 0 AND is_deleted = 0;
CREATE INDEX IF NOT EXISTS audit_log_tenant_at ON audit_log (tenant_id, at, id);

-- +goose Down
DROP INDEX IF EXISTS audit_log_tenant_at;
DROP INDEX IF EXISTS documents_tenant_review;
DROP INDEX IF EXISTS documents_tenant_confidence;
DROP INDEX IF EXISTS documents_tenant_source_created;
DROP INDEX IF EXISTS documents_tenant_sender_email;
DROP INDEX IF EXISTS documents_tenant_title;
DROP INDEX IF EXISTS documents_tenant_class;
DROP INDEX IF EXISTS documents_tenant_status;
DROP INDEX IF EXISTS documents_tenant_created;
