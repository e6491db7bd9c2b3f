-- Knowledge gaps: what the knowledge base does not answer, the questions
-- to answer, the answers, the documents a gap came from, and feedback.
-- Questions are rows, not a JSON array, so an answer can reference its
-- question with a foreign key. Like every tenant table, each key and each
-- foreign key carries tenant_id.

-- +goose Up
CREATE TABLE knowledge_gaps (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid        NOT NULL,
    title               text        NOT NULL CHECK (title <> ''),
    description         text        NOT NULL DEFAULT '',
    category            text        NOT NULL
                                    CHECK (category IN ('decision', 'technical', 'process', 'context',
                                                        'relationship', 'timeline', 'outcome', 'rationale')),
    priority            smallint    NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    status              text        NOT NULL DEFAULT 'open'
                                    CHECK (status IN ('open', 'in_progress', 'answered', 'verified', 'closed')),
    context             jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    -- Set by analysis (a hash of category and subject) so that a second run
    -- finds its gaps again; NULL for gaps a person made.
    fingerprint         text,
    feedback_useful     integer     NOT NULL DEFAULT 0 CHECK (feedback_useful >= 0),
    feedback_not_useful integer     NOT NULL DEFAULT 0 CHECK (feedback_not_useful >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- The upsert of analysis proposals is ON CONFLICT on this key, so it
    -- must exist from the start, not in the index migration.
    UNIQUE (tenant_id, fingerprint),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

CREATE TABLE gap_questions (
    tenant_id uuid    NOT NULL,
    gap_id    uuid    NOT NULL,
    position  integer NOT NULL CHECK (position >= 0),
    text      text    NOT NULL CHECK (text <> ''),
    PRIMARY KEY (tenant_id, gap_id, position),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE gap_answers (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL,
    gap_id            uuid        NOT NULL,
    question_position integer     NOT NULL,
    answer_text       text        NOT NULL CHECK (answer_text <> ''),
    -- API key ids. Keys are revoked, never deleted, and the audit log
    -- keeps actors the same way, without a foreign key.
    created_by        uuid,
    is_verified       boolean     NOT NULL DEFAULT false,
    verified_by       uuid,
    verified_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, gap_id, question_position)
        REFERENCES gap_questions (tenant_id, gap_id, position) ON DELETE CASCADE,
    CHECK (is_verified = (verified_at IS NOT NULL))
);

CREATE TABLE gap_documents (
    tenant_id   uuid NOT NULL,
    gap_id      uuid NOT NULL,
    document_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, gap_id, document_id),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE,
    -- A hard-deleted document drops out of every gap.
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE gap_feedback (
    tenant_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    gap_id     uuid        NOT NULL,
    useful     boolean     NOT NULL,
    comment    text        NOT NULL DEFAULT '',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, gap_id) REFERENCES knowledge_gaps (tenant_id, id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE gap_feedback;
DROP TABLE gap_documents;
DROP TABLE gap_answers;
DROP TABLE gap_questions;
DROP TABLE knowledge_gaps;
