-- Mirrors postgres/migrations/00010_sync_schedule.sql. SQLite cannot add a
-- table constraint to an existing table, so the pairing of the two columns
-- is checked on next_sync_at's column instead.

-- +goose Up
ALTER TABLE connectors ADD COLUMN sync_interval INTEGER CHECK (sync_interval BETWEEN 60 AND 2592000);
ALTER TABLE connectors ADD COLUMN next_sync_at TEXT CHECK ((sync_interval IS NULL) = (next_sync_at IS NULL));

-- +goose Down
ALTER TABLE connectors DROP COLUMN next_sync_at;
ALTER TABLE connectors DROP COLUMN sync_interval;
