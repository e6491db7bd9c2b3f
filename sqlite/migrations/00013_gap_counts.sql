-- Mirrors postgres/migrations/00013_gap_counts.sql with row triggers that
-- upsert one row per bucket, as sqlite/migrations/00012 does.

-- +goose Up
CREATE TABLE gap_counts (
    tenant_id        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    gaps             INTEGER NOT NULL DEFAULT 0,
    useful           INTEGER NOT NULL DEFAULT 0,
    not_useful       INTEGER NOT NULL DEFAULT 0,
    answers          INTEGER NOT NULL DEFAULT 0,
    verified_answers INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, status, category)
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER gaps_count_insert AFTER INSERT ON knowledge_gaps BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
    VALUES (NEW.tenant_id, NEW.status, NEW.category, 1, NEW.feedback_useful, NEW.feedback_not_useful)
    ON CONFLICT DO UPDATE SET gaps = gaps + 1, useful = useful + excluded.useful, not_useful = not_useful + excluded.not_useful;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER gaps_count_delete AFTER DELETE ON knowledge_gaps BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
    VALUES (OLD.tenant_id, OLD.status, OLD.category, -1, -OLD.feedback_useful, -OLD.feedback_not_useful)
    ON CONFLICT DO UPDATE SET gaps = gaps - 1, useful = useful + excluded.useful, not_useful = not_useful + excluded.not_useful;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER gaps_count_update AFTER UPDATE OF status, category, feedback_useful, feedback_not_useful ON knowledge_gaps
WHEN OLD.status IS NOT NEW.status OR OLD.category IS NOT NEW.category
  OR OLD.feedback_useful IS NOT NEW.feedback_useful OR OLD.feedback_not_useful IS NOT NEW.feedback_not_useful
BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
    VALUES (OLD.tenant_id, OLD.status, OLD.category, -1, -OLD.feedback_useful, -OLD.feedback_not_useful)
    ON CONFLICT DO UPDATE SET gaps = gaps - 1, useful = useful + excluded.useful, not_useful = not_useful + excluded.not_useful;
    INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
    VALUES (NEW.tenant_id, NEW.status, NEW.category, 1, NEW.feedback_useful, NEW.feedback_not_useful)
    ON CONFLICT DO UPDATE SET gaps = gaps + 1, useful = useful + excluded.useful, not_useful = not_useful + excluded.not_useful;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER answers_count_insert AFTER INSERT ON gap_answers BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
    VALUES (NEW.tenant_id, '', '', 1, NEW.is_verified)
    ON CONFLICT DO UPDATE SET answers = answers + 1, verified_answers = verified_answers + excluded.verified_answers;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER answers_count_delete AFTER DELETE ON gap_answers BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
    VALUES (OLD.tenant_id, '', '', -1, -OLD.is_verified)
    ON CONFLICT DO UPDATE SET answers = answers - 1, verified_answers = verified_answers + excluded.verified_answers;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER answers_count_update AFTER UPDATE OF is_verified ON gap_answers
WHEN OLD.is_verified IS NOT NEW.is_verified
BEGIN
    INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
    VALUES (NEW.tenant_id, '', '', 0, NEW.is_verified - OLD.is_verified)
    ON CONFLICT DO UPDATE SET verified_answers = verified_answers + excluded.verified_answers;
END;
-- +goose StatementEnd

INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
SELECT tenant_id, status, category, count(*), sum(feedback_useful), sum(feedback_not_useful)
  FROM knowledge_gaps WHERE true GROUP BY 1, 2, 3;
INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
SELECT tenant_id, '', '', count(*), sum(is_verified)
  FROM gap_answers WHERE true GROUP BY 1;

-- +goose Down
DROP TRIGGER answers_count_update;
DROP TRIGGER answers_count_delete;
DROP TRIGGER answers_count_insert;
DROP TRIGGER gaps_count_update;
DROP TRIGGER gaps_count_delete;
DROP TRIGGER gaps_count_insert;
DROP TABLE gap_counts;
