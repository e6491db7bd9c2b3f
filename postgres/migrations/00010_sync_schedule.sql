-- A connector's sync schedule: sync_interval in seconds (NULL: it syncs
-- only on request) and next_sync_at, when the scheduler (package jobs, a
-- River periodic job) next starts a sync. Both are NULL or neither is.
-- Adding nullable columns without a default rewrites nothing; the CHECKs
-- read the connectors table once, which holds a few rows per tenant.

-- +goose Up
ALTER TABLE connectors
    ADD COLUMN sync_interval integer CHECK (sync_interval BETWEEN 60 AND 2592000),
    ADD COLUMN next_sync_at  timestamptz,
    ADD CONSTRAINT connectors_schedule_check CHECK ((sync_interval IS NULL) = (next_sync_at IS NULL));

-- +goose Down
ALTER TABLE connectors DROP CONSTRAINT connectors_schedule_check,
    DROP COLUMN next_sync_at,
    DROP COLUMN sync_interval;
