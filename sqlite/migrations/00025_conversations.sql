-- Mirrors postgres/migrations/00025_conversations.sql: conversations,
-- owned by the user or API key that started them.
-- +goose Up
CREATE TABLE conversations (
    tenant_id       TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    owner           TEXT    NOT NULL,
    title           TEXT    NOT NULL DEFAULT '',
    shared          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    last_message_at TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX conversations_tenant_owner_recent ON conversations (tenant_id, owner, last_message_at DESC, id DESC);

-- +goose Down
DROP TABLE conversations;
