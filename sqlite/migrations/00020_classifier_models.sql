-- Mirrors postgres/migrations/00020_classifier_models.sql: each tenant's
-- learned classifier models, a new version per training; the newest is
-- the one in use.
-- +goose Up
CREATE TABLE classifier_models (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version > 0),
    created_at    TEXT    NOT NULL,
    created_by    TEXT,
    training_size INTEGER NOT NULL CHECK (training_size >= 0),
    classes       TEXT    NOT NULL,
    figures       TEXT    NOT NULL,
    model         BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- +goose Down
DROP TABLE classifier_models;
