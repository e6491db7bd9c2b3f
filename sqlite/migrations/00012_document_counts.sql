-- Mirrors postgres/migrations/00012_document_counts.sql: the stats panel's
-- counts, kept as the documents change. SQLite has one writer and no
-- statement-level triggers, so each bucket is one row, upserted by row
-- triggers in the writing transaction; there are no deltas to compact.
-- Buckets that reach zero stay (a few dozen rows per tenant at most).

-- +goose Up
CREATE TABLE document_counts (
    tenant_id      TEXT    NOT NULL,
    is_deleted     INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    classification TEXT    NOT NULL,
    needs_review   INTEGER NOT NULL,
    n              INTEGER NOT NULL,
    confidence_sum REAL    NOT NULL,
    confidence_n   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, is_deleted, status, classification, needs_review)
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER documents_count_insert AFTER INSERT ON documents BEGIN
    INSERT INTO document_counts VALUES (NEW.tenant_id, NEW.is_deleted, NEW.status, NEW.classification,
        NEW.status = 'classified' AND NOT NEW.user_confirmed, 1,
        coalesce(NEW.classification_confidence, 0), NEW.classification_confidence IS NOT NULL)
    ON CONFLICT DO UPDATE SET n = n + 1, confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_n = confidence_n + excluded.confidence_n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER documents_count_delete AFTER DELETE ON documents BEGIN
    INSERT INTO document_counts VALUES (OLD.tenant_id, OLD.is_deleted, OLD.status, OLD.classification,
        OLD.status = 'classified' AND NOT OLD.user_confirmed, -1,
        -coalesce(OLD.classification_confidence, 0), -(OLD.classification_confidence IS NOT NULL))
    ON CONFLICT DO UPDATE SET n = n - 1, confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_n = confidence_n + excluded.confidence_n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER documents_count_update
AFTER UPDATE OF is_deleted, status, classification, user_confirmed, classification_confidence ON documents
WHEN OLD.is_deleted IS NOT NEW.is_deleted OR OLD.status IS NOT NEW.status OR OLD.classification IS NOT NEW.classification
  OR OLD.user_confirmed IS NOT NEW.user_confirmed OR OLD.classification_confidence IS NOT NEW.classification_confidence
BEGIN
    INSERT INTO document_counts VALUES (OLD.tenant_id, OLD.is_deleted, OLD.status, OLD.classification,
        OLD.status = 'classified' AND NOT OLD.user_confirmed, -1,
        -coalesce(OLD.classification_confidence, 0), -(OLD.classification_confidence IS NOT NULL))
    ON CONFLICT DO UPDATE SET n = n - 1, confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_n = confidence_n + excluded.confidence_n;
    INSERT INTO document_counts VALUES (NEW.tenant_id, NEW.is_deleted, NEW.status, NEW.classification,
        NEW.status = 'classified' AND NOT NEW.user_confirmed, 1,
        coalesce(NEW.classification_confidence, 0), NEW.classification_confidence IS NOT NULL)
    ON CONFLICT DO UPDATE SET n = n + 1, confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_n = confidence_n + excluded.confidence_n;
END;
-- +goose StatementEnd

INSERT INTO document_counts
SELECT tenant_id, is_deleted, status, classification, status = 'classified' AND NOT user_confirmed,
       count(*), coalesce(sum(classification_confidence), 0), count(classification_confidence)
  FROM documents
 WHERE true
 GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP TRIGGER documents_count_update;
DROP TRIGGER documents_count_delete;
DROP TRIGGER documents_count_insert;
DROP TABLE document_counts;
