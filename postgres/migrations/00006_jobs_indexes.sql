-- The job list: a tenant's jobs newest first, optionally by kind or status.
-- Built CONCURRENTLY outside a transaction like every other index.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_tenant_created ON jobs (tenant_id, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_tenant_kind_created ON jobs (tenant_id, kind, created_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_tenant_status_created ON jobs (tenant_id, status, created_at, id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS jobs_tenant_status_created;
DROP INDEX CONCURRENTLY IF EXISTS jobs_tenant_kind_created;
DROP INDEX CONCURRENTLY IF EXISTS jobs_tenant_created;
