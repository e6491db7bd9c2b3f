-- The messages of conversations (issue 13), with the citations of an
-- answer as a JSON array, the feedback people give answers, and the
-- questions that become evidence of knowledge gaps: asked and not covered
-- by the documents, or answered and rated down. Evidence outlives its
-- conversation (no foreign key): the gap it feeds stays explained.

-- +goose Up
CREATE TABLE messages (
    tenant_id       uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    id              uuid        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text        NOT NULL,
    citations       jsonb       NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_tenant_conversation ON messages (tenant_id, conversation_id, created_at, id);

CREATE TABLE ask_feedback (
    tenant_id  uuid        NOT NULL,
    message_id uuid        NOT NULL,
    rater      text        NOT NULL,
    rating     text        NOT NULL CHECK (rating IN ('up', 'down')),
    comment    text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, message_id, rater),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE ask_evidence (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id      uuid        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('not_covered', 'rated_down')),
    conversation_id uuid        NOT NULL,
    question        text        NOT NULL,
    asker           text        NOT NULL,
    fingerprint     text        NOT NULL,
    created_at      timestamptz NOT NULL,
    -- The gap the analysis filed it under; NULL until then.
    gap_id          uuid,
    PRIMARY KEY (tenant_id, message_id, reason)
);
CREATE INDEX ask_evidence_tenant_pending ON ask_evidence (tenant_id, created_at, message_id) WHERE gap_id IS NULL;
CREATE INDEX ask_evidence_tenant_gap ON ask_evidence (tenant_id, gap_id) WHERE gap_id IS NOT NULL;

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['messages', 'ask_feedback', 'ask_evidence'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO engram_app
            USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)$p$, t);
        EXECUTE format('CREATE POLICY all_tenants ON %I TO engram_maintenance USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO engram_app, engram_maintenance', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE ask_evidence;
DROP TABLE ask_feedback;
DROP TABLE messages;
