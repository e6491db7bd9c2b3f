-- Mirrors postgres/migrations/00009_sync_jobs_indexes.sql.

-- +goose Up
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_sync ON jobs (tenant_id, connector_id)
    WHERE kind = 'sync' AND status IN ('queued', 'running');

-- +goose Down
DROP INDEX IF EXISTS jobs_one_sync;
