-- Indexes for the gap queries, each leading with tenant_id, built
-- CONCURRENTLY outside a transaction like 00002. The list index ends with
-- id, the keyset's tie-breaker. gap_documents (tenant_id, document_id) and
-- gap_feedback (tenant_id, gap_id) serve the cascades: without them a hard
-- delete of 10,000 documents would scan gap_documents 10,000 times.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS knowledge_gaps_tenant_status ON knowledge_gaps (tenant_id, status);
CREATE INDEX CONCURRENTLY IF NOT EXISTS knowledge_gaps_tenant_category ON knowledge_gaps (tenant_id, category);
CREATE INDEX CONCURRENTLY IF NOT EXISTS knowledge_gaps_tenant_priority ON knowledge_gaps (tenant_id, priority, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS gap_answers_tenant_gap ON gap_answers (tenant_id, gap_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS gap_documents_tenant_document ON gap_documents (tenant_id, document_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS gap_feedback_tenant_gap ON gap_feedback (tenant_id, gap_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS gap_feedback_tenant_gap;
DROP INDEX CONCURRENTLY IF EXISTS gap_documents_tenant_document;
DROP INDEX CONCURRENTLY IF EXISTS gap_answers_tenant_gap;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_gaps_tenant_priority;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_gaps_tenant_category;
DROP INDEX CONCURRENTLY IF EXISTS knowledge_gaps_tenant_status;
