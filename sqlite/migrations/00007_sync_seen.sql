-- Mirrors postgres/migrations/00007_sync_seen.sql.

-- +goose Up
CREATE TABLE sync_seen (
    tenant_id    TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, run_id, external_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE sync_seen;
