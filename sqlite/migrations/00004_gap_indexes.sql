-- Mirrors postgres/migrations/00004_gap_indexes.sql.

-- +goose Up
CREATE INDEX IF NOT EXISTS knowledge_gaps_tenant_status ON knowledge_gaps (tenant_id, status);
CREATE INDEX IF NOT EXISTS knowledge_gaps_tenant_category ON knowledge_gaps (tenant_id, category);
CREATE INDEX IF NOT EXISTS knowledge_gaps_tenant_priority ON knowledge_gaps (tenant_id, priority, created_at, id);
CREATE INDEX IF NOT EXISTS gap_answers_tenant_gap ON gap_answers (tenant_id, gap_id);
CREATE INDEX IF NOT EXISTS gap_documents_tenant_document ON gap_documents (tenant_id, document_id);
CREATE INDEX IF NOT EXISTS gap_feedback_tenant_gap ON gap_feedback (tenant_id, gap_id);

-- +goose Down
DROP INDEX IF EXISTS gap_feedback_tenant_gap;
DROP INDEX IF EXISTS gap_documents_tenant_document;
DROP INDEX IF EXISTS gap_answers_tenant_gap;
DROP INDEX IF EXISTS knowledge_gaps_tenant_priority;
DROP INDEX IF EXISTS knowledge_gaps_tenant_category;
DROP INDEX IF EXISTS knowledge_gaps_tenant_status;
