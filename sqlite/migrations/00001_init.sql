-- Mirrors postgres/migrations/00001_init.sql, which is canonical. Ids are
-- UUID text, timestamps are UTC text in the fixed-width form
-- 2006-01-02T15:04:05.000000Z (so text order is time order), JSON is text
-- checked by json_valid, booleans are 0/1.

-- +goose Up
CREATE TABLE tenants (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL UNIQUE,
    settings    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;

CREATE TABLE api_keys (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    key_hash     TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (key_hash)
) STRICT;

CREATE TABLE connectors (
    tenant_id          TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 TEXT    NOT NULL,
    type               TEXT    NOT NULL CHECK (type GLOB '[a-z]*' AND type NOT GLOB '*[^a-z0-9_]*'),
    name               TEXT    NOT NULL,
    status             TEXT    NOT NULL DEFAULT 'active'
                               CHECK (status IN ('active', 'paused', 'disconnected', 'error')),
    settings           TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    last_sync_at       TEXT,
    last_sync_status   TEXT    CHECK (last_sync_status IN ('running', 'succeeded', 'failed', 'cancelled')),
    last_sync_error    TEXT,
    sync_cursor        TEXT,
    total_items_synced INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE documents (
    tenant_id                 TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                        TEXT    NOT NULL,
    connector_id              TEXT,
    external_id               TEXT,
    source_type               TEXT    NOT NULL DEFAULT 'api',
    source_url                TEXT    NOT NULL DEFAULT '',
    title                     TEXT    NOT NULL,
    content                   TEXT    NOT NULL DEFAULT '',
    content_hash              TEXT    NOT NULL,
    metadata                  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    sender                    TEXT    NOT NULL DEFAULT '',
    sender_email              TEXT    NOT NULL DEFAULT '',
    recipients                TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(recipients)),
    source_created_at         TEXT,
    source_updated_at         TEXT,
    status                    TEXT    NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'processing', 'classified', 'confirmed', 'rejected', 'archived')),
    classification            TEXT    NOT NULL DEFAULT 'unknown'
                              CHECK (classification IN ('work', 'personal', 'spam', 'unknown')),
    classification_confidence REAL    CHECK (classification_confidence BETWEEN 0 AND 1),
    classification_reason     TEXT    NOT NULL DEFAULT '',
    rejection_reason          TEXT    NOT NULL DEFAULT '',
    user_confirmed            INTEGER NOT NULL DEFAULT 0 CHECK (user_confirmed IN (0, 1)),
    user_confirmed_at         TEXT,
    chunk_count               INTEGER NOT NULL DEFAULT 0,
    created_at                TEXT    NOT NULL,
    updated_at                TEXT    NOT NULL,
    is_deleted                INTEGER NOT NULL DEFAULT 0 CHECK (is_deleted IN (0, 1)),
    deleted_at                TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id),
    UNIQUE (tenant_id, connector_id, external_id)
) STRICT;

CREATE TABLE document_chunks (
    tenant_id       TEXT    NOT NULL,
    document_id     TEXT    NOT NULL,
    chunk_index     INTEGER NOT NULL,
    content         TEXT    NOT NULL,
    token_count     INTEGER NOT NULL,
    embedding       BLOB,
    embedding_model TEXT,
    PRIMARY KEY (tenant_id, document_id, chunk_index),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE deleted_documents (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    connector_id   TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    source_type    TEXT NOT NULL,
    original_title TEXT NOT NULL DEFAULT '',
    deleted_at     TEXT NOT NULL,
    deleted_by     TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE,
    UNIQUE (tenant_id, connector_id, external_id)
) STRICT;

CREATE TABLE audit_log (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    actor_key_id TEXT,
    action       TEXT    NOT NULL,
    target_type  TEXT    NOT NULL,
    target_count INTEGER NOT NULL DEFAULT 0,
    details      TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    PRIMARY KEY (tenant_id, id)
) STRICT;

-- +goose Down
DROP TABLE audit_log;
DROP TABLE deleted_documents;
DROP TABLE document_chunks;
DROP TABLE documents;
DROP TABLE connectors;
DROP TABLE api_keys;
DROP TABLE tenants;
