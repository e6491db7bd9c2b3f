-- Mirrors postgres/migrations/00026_messages.sql: messages, feedback on
-- answers, and the questions that are evidence of knowledge gaps.
-- +goose Up
CREATE TABLE messages (
    tenant_id       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    id              TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    citations       TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_tenant_conversation ON messages (tenant_id, conversation_id, created_at, id);

CREATE TABLE ask_feedback (
    tenant_id  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    rater      TEXT NOT NULL,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, message_id, rater),
    FOREIGN KEY (tenant_id, message_id) REFERENCES messages (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE ask_evidence (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL,
    reason          TEXT NOT NULL CHECK (reason IN ('not_covered', 'rated_down')),
    conversation_id TEXT NOT NULL,
    question        TEXT NOT NULL,
    asker           TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    gap_id          TEXT,
    PRIMARY KEY (tenant_id, message_id, reason)
);
CREATE INDEX ask_evidence_tenant_pending ON ask_evidence (tenant_id, created_at, message_id) WHERE gap_id IS NULL;
CREATE INDEX ask_evidence_tenant_gap ON ask_evidence (tenant_id, gap_id) WHERE gap_id IS NOT NULL;

-- +goose Down
DROP TABLE ask_evidence;
DROP TABLE ask_feedback;
DROP TABLE messages;
