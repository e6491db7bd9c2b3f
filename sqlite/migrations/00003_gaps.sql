-- Mirrors postgres/migrations/00003_gaps.sql, which is canonical, in the
-- SQLite forms of 00001: UUID text, fixed-width UTC text timestamps, JSON
-- text checked by json_valid, booleans 0/1.

-- +goose Up
CREATE TABLE knowledge_gaps (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT    NOT NULL,
    title               TEXT    NOT NULL CHECK (title <> ''),
    description         TEXT    NOT NULL DEFAULT '',
    category            TEXT    NOT NULL
                                CHECK (category IN ('decision', 'technical', 'process', 'context',
                                                    'relationship', 'timeline', 'outcome', 'rationale')),
    priority            INTEGER NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    status              TEXT    NOT NULL DEFAULT 'open'
                                CHECK (status IN ('open', 'in_progress', 'answered', 'verified', 'closed')),
    context             TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(context) AND json_type(context) = 'object'),
    fingerprint         TEXT,
    feedback_useful     INTEGER NOT NULL DEFAULT 0 CHECK (feedback_useful >= 0),
    feedback_not_useful INTEGER NOT NULL DEFAULT 0 CHECK (feedback_not_useful >= 0),
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    closed_at           TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, fingerprint),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
) STRICT;

CREATE TABLE gap_questions (
    tenant_id TEXT    NOT NULL,
    gap_id    TEXT    NOT NULL,
    position  INTEGER NOT NULL CHECK (position >= 0),
    text      TEXT    NOT NULL CHECK (text <> ''),
    PRIMARY KEY (tenant_id, gap_id, position),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE gap_answers (
    tenant_id         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    gap_id            TEXT    NOT NULL,
    question_position INTEGER NOT NULL,
    answer_text       TEXT    NOT NULL CHECK (answer_text <> ''),
    created_by        TEXT,
    is_verified       INTEGER NOT NULL DEFAULT 0 CHECK (is_verified IN (0, 1)),
    verified_by       TEXT,
    verified_at       TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, gap_id, question_position)
        REFERENCES gap_questions (tenant_id, gap_id, position) ON DELETE CASCADE,
    CHECK (is_verified = (verified_at IS NOT NULL))
) STRICT;

CREATE TABLE gap_documents (
    tenant_id   TEXT NOT NULL,
    gap_id      TEXT NOT NULL,
    document_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, gap_id, document_id),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE gap_feedback (
    tenant_id  TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    gap_id     TEXT    NOT NULL,
    useful     INTEGER NOT NULL CHECK (useful IN (0, 1)),
    comment    TEXT    NOT NULL DEFAULT '',
    created_by TEXT,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- +goose Down
DROP TABLE gap_feedback;
DROP TABLE gap_documents;
DROP TABLE gap_answers;
DROP TABLE gap_questions;
DROP TABLE knowledge_gaps;
