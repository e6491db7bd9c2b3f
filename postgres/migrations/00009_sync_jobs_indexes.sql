-- One queued or running sync per connector: the index is the lock that
-- EnqueueJob's ON CONFLICT relies on. Built CONCURRENTLY outside a
-- transaction like every index on an existing table.

-- +goose NO TRANSACTION
-- +goose Up
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS jobs_one_sync ON jobs (tenant_id, connector_id)
    WHERE kind = 'sync' AND status IN ('queued', 'running');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS jobs_one_sync;
