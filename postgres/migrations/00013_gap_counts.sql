-- The gap panel's counts, kept as gaps and answers change, the way
-- 00012 keeps the document panel's: statement-level triggers append delta
-- rows, the scheduler's pass folds them (compacted), and GapStats reads a
-- few dozen rows per tenant however many gaps it has.
--
-- One table holds two kinds of rows: a gap bucket (status, category) with
-- its gap count and feedback sums, and, with status and category '', the
-- answer counts. Backfilled under the triggers' lock, as in 00012.

-- +goose Up
CREATE TABLE gap_counts (
    tenant_id        uuid    NOT NULL,
    status           text    NOT NULL,
    category         text    NOT NULL,
    gaps             bigint  NOT NULL DEFAULT 0,
    useful           bigint  NOT NULL DEFAULT 0,
    not_useful       bigint  NOT NULL DEFAULT 0,
    answers          bigint  NOT NULL DEFAULT 0,
    verified_answers bigint  NOT NULL DEFAULT 0,
    compacted        boolean NOT NULL DEFAULT false
);
CREATE INDEX gap_counts_tenant ON gap_counts (tenant_id);
CREATE INDEX gap_counts_pending ON gap_counts (tenant_id) WHERE NOT compacted;

-- +goose StatementBegin
CREATE FUNCTION gap_counts_gaps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
        SELECT tenant_id, status, category, count(*), sum(feedback_useful), sum(feedback_not_useful)
          FROM new_rows GROUP BY 1, 2, 3;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
        SELECT tenant_id, status, category, -count(*), -sum(feedback_useful), -sum(feedback_not_useful)
          FROM old_rows GROUP BY 1, 2, 3;
    ELSE
        INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful)
        SELECT tenant_id, status, category, sum(n), sum(u), sum(nu)
          FROM (SELECT tenant_id, status, category, 1 AS n, feedback_useful AS u, feedback_not_useful AS nu FROM new_rows
                UNION ALL
                SELECT tenant_id, status, category, -1, -feedback_useful, -feedback_not_useful FROM old_rows) d
         GROUP BY 1, 2, 3
        HAVING sum(n) <> 0 OR sum(u) <> 0 OR sum(nu) <> 0;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION gap_counts_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
        SELECT tenant_id, '', '', count(*), count(*) FILTER (WHERE is_verified) FROM new_rows GROUP BY 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
        SELECT tenant_id, '', '', -count(*), -count(*) FILTER (WHERE is_verified) FROM old_rows GROUP BY 1;
    ELSE
        INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers)
        SELECT tenant_id, '', '', 0, sum(v)
          FROM (SELECT tenant_id, is_verified::int AS v FROM new_rows
                UNION ALL
                SELECT tenant_id, -is_verified::int FROM old_rows) d
         GROUP BY 1
        HAVING sum(v) <> 0;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER gaps_count_insert AFTER INSERT ON knowledge_gaps
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_gaps();
CREATE TRIGGER gaps_count_delete AFTER DELETE ON knowledge_gaps
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_gaps();
CREATE TRIGGER gaps_count_update AFTER UPDATE ON knowledge_gaps
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_gaps();
CREATE TRIGGER answers_count_insert AFTER INSERT ON gap_answers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_answers();
CREATE TRIGGER answers_count_delete AFTER DELETE ON gap_answers
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_answers();
CREATE TRIGGER answers_count_update AFTER UPDATE ON gap_answers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gap_counts_answers();

INSERT INTO gap_counts (tenant_id, status, category, gaps, useful, not_useful, compacted)
SELECT tenant_id, status, category, count(*), sum(feedback_useful), sum(feedback_not_useful), true
  FROM knowledge_gaps GROUP BY 1, 2, 3;
INSERT INTO gap_counts (tenant_id, status, category, answers, verified_answers, compacted)
SELECT tenant_id, '', '', count(*), count(*) FILTER (WHERE is_verified), true
  FROM gap_answers GROUP BY 1;

-- +goose Down
DROP TRIGGER answers_count_update ON gap_answers;
DROP TRIGGER answers_count_delete ON gap_answers;
DROP TRIGGER answers_count_insert ON gap_answers;
DROP TRIGGER gaps_count_update ON knowledge_gaps;
DROP TRIGGER gaps_count_delete ON knowledge_gaps;
DROP TRIGGER gaps_count_insert ON knowledge_gaps;
DROP FUNCTION gap_counts_answers();
DROP FUNCTION gap_counts_gaps();
DROP TABLE gap_counts;
