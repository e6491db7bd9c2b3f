-- The stats panel's counts, kept as the documents change rather than
-- counted at each request: DocumentStats then reads a few dozen rows per
-- tenant however many documents it has.
--
-- A bucket is one combination of the columns the panel groups by. Each
-- INSERT, UPDATE or DELETE on documents adds, in the same transaction,
-- one delta row per bucket it changed (statement-level triggers over the
-- transition tables: one INSERT per statement, however many rows). Deltas
-- are appended, never updated, so concurrent writers of a tenant neither
-- wait for each other nor deadlock on a shared counter row. The scheduler
-- (engram's periodic job) folds each tenant's deltas into one row per
-- bucket (compacted), so the rows read stay few.
--
-- There is no foreign key to tenants: the triggers also run for the
-- documents a tenant delete would cascade to, after its tenant row is gone.
--
-- Backfill: the triggers exist before the existing documents are counted,
-- in one transaction whose CREATE TRIGGER blocks writes to documents until
-- it commits, so no write is counted twice or missed. On a large database
-- this blocks writers for as long as one pass over documents takes.

-- +goose Up
CREATE TABLE document_counts (
    tenant_id      uuid             NOT NULL,
    is_deleted     boolean          NOT NULL,
    status         text             NOT NULL,
    classification text             NOT NULL,
    needs_review   boolean          NOT NULL,
    n              bigint           NOT NULL,
    confidence_sum double precision NOT NULL,
    confidence_n   bigint           NOT NULL,
    compacted      boolean          NOT NULL DEFAULT false
);
CREATE INDEX document_counts_tenant ON document_counts (tenant_id);
CREATE INDEX document_counts_pending ON document_counts (tenant_id) WHERE NOT compacted;

-- +goose StatementBegin
CREATE FUNCTION document_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_counts (tenant_id, is_deleted, status, classification, needs_review, n, confidence_sum, confidence_n)
    SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed,
           count(*), coalesce(sum(classification_confidence), 0), count(classification_confidence)
      FROM new_rows
     GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION document_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_counts (tenant_id, is_deleted, status, classification, needs_review, n, confidence_sum, confidence_n)
    SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed,
           -count(*), -coalesce(sum(classification_confidence), 0), -count(classification_confidence)
      FROM old_rows
     GROUP BY 1, 2, 3, 4, 5;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION document_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_counts (tenant_id, is_deleted, status, classification, needs_review, n, confidence_sum, confidence_n)
    SELECT tenant_id, is_deleted, status, classification, needs_review, sum(n), sum(cs), sum(cn)
      FROM (SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed AS needs_review,
                   1 AS n, coalesce(classification_confidence, 0) AS cs, (classification_confidence IS NOT NULL)::int AS cn
              FROM new_rows
            UNION ALL
            SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed,
                   -1, -coalesce(classification_confidence, 0), -(classification_confidence IS NOT NULL)::int
              FROM old_rows) d
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0 OR sum(cn) <> 0 OR sum(cs) <> 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER documents_count_insert AFTER INSERT ON documents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION document_counts_insert();
CREATE TRIGGER documents_count_delete AFTER DELETE ON documents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION document_counts_delete();
CREATE TRIGGER documents_count_update AFTER UPDATE ON documents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION document_counts_update();

INSERT INTO document_counts (tenant_id, is_deleted, status, classification, needs_review, n, confidence_sum, confidence_n, compacted)
SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed,
       count(*), coalesce(sum(classification_confidence), 0), count(classification_confidence), true
  FROM documents
 GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP TRIGGER documents_count_update ON documents;
DROP TRIGGER documents_count_delete ON documents;
DROP TRIGGER documents_count_insert ON documents;
DROP FUNCTION document_counts_update();
DROP FUNCTION document_counts_delete();
DROP FUNCTION document_counts_insert();
DROP TABLE document_counts;
