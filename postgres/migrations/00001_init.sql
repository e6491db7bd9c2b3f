-- engram's core schema. Every tenant-owned table has primary key
-- (tenant_id, id) and every foreign key between tenant-owned tables carries
-- tenant_id, so a row can never point at another tenant's row.

-- +goose Up
CREATE TABLE tenants (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    slug        text        NOT NULL UNIQUE,
    settings    jsonb       NOT NULL DEFAULT '{}',
    is_active   boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    role         text        NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    key_hash     text        NOT NULL,
    prefix       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- The key is looked up before the tenant is known: the one global key.
    UNIQUE (key_hash)
);

CREATE TABLE connectors (
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid        NOT NULL,
    type               text        NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*$'),
    name               text        NOT NULL,
    status             text        NOT NULL DEFAULT 'active'
                                   CHECK (status IN ('active', 'paused', 'disconnected', 'error')),
    settings           jsonb       NOT NULL DEFAULT '{}',
    last_sync_at       timestamptz,
    last_sync_status   text        CHECK (last_sync_status IN ('running', 'succeeded', 'failed', 'cancelled')),
    last_sync_error    text,
    sync_cursor        text,
    total_items_synced bigint      NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE documents (
    tenant_id                 uuid             NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                        uuid             NOT NULL,
    connector_id              uuid,
    external_id               text,
    source_type               text             NOT NULL DEFAULT 'api',
    source_url                text             NOT NULL DEFAULT '',
    title                     text             NOT NULL,
    content                   text             NOT NULL DEFAULT '',
    content_hash              text             NOT NULL,
    metadata                  jsonb            NOT NULL DEFAULT '{}',
    sender                    text             NOT NULL DEFAULT '',
    sender_email              text             NOT NULL DEFAULT '',
    recipients                jsonb            NOT NULL DEFAULT '[]',
    source_created_at         timestamptz,
    source_updated_at         timestamptz,
    status                    text             NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'processing', 'classified', 'confirmed', 'rejected', 'archived')),
    classification            text             NOT NULL DEFAULT 'unknown'
                              CHECK (classification IN ('work', 'personal', 'spam', 'unknown')),
    classification_confidence double precision CHECK (classification_confidence BETWEEN 0 AND 1),
    classification_reason     text             NOT NULL DEFAULT '',
    rejection_reason          text             NOT NULL DEFAULT '',
    user_confirmed            boolean          NOT NULL DEFAULT false,
    user_confirmed_at         timestamptz,
    chunk_count               integer          NOT NULL DEFAULT 0,
    created_at                timestamptz      NOT NULL DEFAULT now(),
    updated_at                timestamptz      NOT NULL DEFAULT now(),
    is_deleted                boolean          NOT NULL DEFAULT false,
    deleted_at                timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id),
    UNIQUE (tenant_id, connector_id, external_id)
);

CREATE TABLE document_chunks (
    tenant_id       uuid    NOT NULL,
    document_id     uuid    NOT NULL,
    chunk_index     integer NOT NULL,
    content         text    NOT NULL,
    token_count     integer NOT NULL,
    embedding       bytea,
    embedding_model text,
    PRIMARY KEY (tenant_id, document_id, chunk_index),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

-- Tombstones: what was deleted from a connector, so the next sync does not
-- bring it back.
CREATE TABLE deleted_documents (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid        NOT NULL,
    connector_id   uuid        NOT NULL,
    external_id    text        NOT NULL,
    source_type    text        NOT NULL,
    original_title text        NOT NULL DEFAULT '',
    deleted_at     timestamptz NOT NULL DEFAULT now(),
    deleted_by     uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE,
    UNIQUE (tenant_id, connector_id, external_id)
);

CREATE TABLE audit_log (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_key_id uuid,
    action       text        NOT NULL,
    target_type  text        NOT NULL,
    target_count integer     NOT NULL DEFAULT 0,
    details      jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE deleted_documents;
DROP TABLE document_chunks;
DROP TABLE documents;
DROP TABLE connectors;
DROP TABLE api_keys;
DROP TABLE tenants;
