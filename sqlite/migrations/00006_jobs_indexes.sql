-- Mirrors postgres/migrations/00006_jobs_indexes.sql.

-- +goose Up
CREATE INDEX IF NOT EXISTS jobs_tenant_created ON jobs (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_tenant_kind_created ON jobs (tenant_id, kind, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_tenant_status_created ON jobs (tenant_id, status, created_at, id);

-- +goose Down
DROP INDEX IF EXISTS jobs_tenant_status_created;
DROP INDEX IF EXISTS jobs_tenant_kind_created;
DROP INDEX IF EXISTS jobs_tenant_created;
