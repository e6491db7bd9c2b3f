-- Mirrors postgres/migrations/00015_job_heartbeat.sql. A running sync's
-- worker bumps heartbeat_at with every batch and on a ticker while it
-- reads its source: a heartbeat long past means the worker is gone, so a
-- cancel ends the job at once and a new sync of its connector replaces it
-- instead of waiting for the job engine's rescuer.
-- +goose Up
ALTER TABLE jobs ADD COLUMN heartbeat_at text;

-- +goose Down
ALTER TABLE jobs DROP COLUMN heartbeat_at;
