-- Questions asked of the documents (issue 13): conversations, owned by
-- the user or API key that started them, and their messages. owner is
-- that user's or key's id; nobody else sees a conversation unless its
-- owner shares it.

-- +goose Up
CREATE TABLE conversations (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid        NOT NULL,
    owner           text        NOT NULL,
    title           text        NOT NULL DEFAULT '',
    shared          boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    last_message_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- The owner's list, newest first, by keyset.
CREATE INDEX conversations_tenant_owner_recent ON conversations (tenant_id, owner, last_message_at DESC, id DESC);

-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
    ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON conversations TO engram_app
        USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid);
    CREATE POLICY all_tenants ON conversations TO engram_maintenance USING (true) WITH CHECK (true);
    GRANT SELECT, INSERT, UPDATE, DELETE ON conversations TO engram_app, engram_maintenance;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE conversations;
