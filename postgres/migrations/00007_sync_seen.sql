-- What a full sync saw, so that documents no longer at the source can be
-- found with one anti-join at the end of the run instead of a load of every
-- known id. Rows live only while their run does.

-- +goose Up
CREATE TABLE sync_seen (
    tenant_id    uuid NOT NULL,
    connector_id uuid NOT NULL,
    run_id       uuid NOT NULL,
    external_id  text NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, run_id, external_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE sync_seen;
