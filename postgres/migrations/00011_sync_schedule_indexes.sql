-- Indexes for the work no tenant asks for, which reads across tenants
-- and so leads with no tenant_id:
--   connectors_due: the scheduler's "active connectors whose next sync is
--   due", oldest first;
--   jobs_active: the queued and running jobs counted for /metrics.
-- Both are partial, so they hold only the rows those queries want.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS connectors_due ON connectors (next_sync_at)
    WHERE status = 'active' AND next_sync_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_active ON jobs (kind, status)
    WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS jobs_active;
DROP INDEX CONCURRENTLY IF EXISTS connectors_due;
