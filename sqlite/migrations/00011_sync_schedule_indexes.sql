-- Mirrors postgres/migrations/00011_sync_schedule_indexes.sql.

-- +goose Up
CREATE INDEX IF NOT EXISTS connectors_due ON connectors (next_sync_at)
    WHERE status = 'active' AND next_sync_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (kind, status)
    WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX IF EXISTS jobs_active;
DROP INDEX IF EXISTS connectors_due;
