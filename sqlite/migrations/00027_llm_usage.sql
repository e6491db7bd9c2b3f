-- Mirrors postgres/migrations/00027_llm_usage.sql: tokens used per
-- tenant per UTC day, for the daily budget.
-- +goose Up
CREATE TABLE llm_usage (
    tenant_id TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       TEXT    NOT NULL,
    tokens    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);

-- +goose Down
DROP TABLE llm_usage;
