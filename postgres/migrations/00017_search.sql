-- The lexical search index. Each chunk keeps a tsvector of its document's
-- title (weight A) and its text (weight D), written by the statements that
-- write chunks and titles from text engram has already split into words
-- and folded (package internal/textsearch, the same words as SQLite's
-- unicode61 sees), and parsed by the 'simple' configuration: lower case,
-- no stemming and no stop words, as SQLite's index (stemming lost on the
-- evaluation, docs/SEARCH.md). search_len is the chunk's number of words, title
-- included, and search_title_len the title's.
--
-- BM25 needs, per tenant, how many chunks hold each word and how long
-- chunks are on average; search_terms keeps them as 00012 keeps document
-- counts: statement-level triggers on document_chunks append delta rows in
-- the writing transaction (term '' carries the tenant's chunk count in df
-- and its total words in len), and the scheduler's count compaction folds
-- them. Every write path (create, sync, hard delete, delete-all, a
-- connector's delete, a tenant's delete) therefore keeps them exact.
-- Soft-deleted documents keep their chunks and so their statistics; a
-- search joins documents and leaves them out.
--
-- Existing chunks are indexed here from their raw text (PostgreSQL's own
-- word splitting); `engram reindex` rewrites them from engram's.

-- +goose Up
ALTER TABLE document_chunks
    ADD COLUMN search tsvector,
    ADD COLUMN search_len integer NOT NULL DEFAULT 0,
    ADD COLUMN search_title_len integer NOT NULL DEFAULT 0;

CREATE TABLE search_terms (
    tenant_id uuid    NOT NULL,
    term      text    NOT NULL,
    df        bigint  NOT NULL,
    len       bigint  NOT NULL,
    compacted boolean NOT NULL DEFAULT false
);
CREATE INDEX search_terms_tenant_term ON search_terms (tenant_id, term);
CREATE INDEX search_terms_pending ON search_terms (tenant_id) WHERE NOT compacted;

ALTER TABLE search_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON search_terms TO engram_app
    USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid);
CREATE POLICY all_tenants ON search_terms TO engram_maintenance USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON search_terms TO engram_app, engram_maintenance;

-- +goose StatementBegin
CREATE FUNCTION search_terms_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_terms (tenant_id, term, df, len)
    SELECT r.tenant_id, u.lexeme, count(*), 0 FROM new_rows r, unnest(r.search) u
     WHERE r.search IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT tenant_id, '', count(*), sum(search_len) FROM new_rows WHERE search IS NOT NULL GROUP BY 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION search_terms_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_terms (tenant_id, term, df, len)
    SELECT r.tenant_id, u.lexeme, -count(*), 0 FROM old_rows r, unnest(r.search) u
     WHERE r.search IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT tenant_id, '', -count(*), -sum(search_len) FROM old_rows WHERE search IS NOT NULL GROUP BY 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION search_terms_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT n.tenant_id, n.search AS new_search, n.search_len AS new_len, o.search AS old_search, o.search_len AS old_len
          FROM new_rows n JOIN old_rows o USING (tenant_id, document_id, chunk_index)
         WHERE n.search IS DISTINCT FROM o.search OR n.search_len <> o.search_len),
    d AS (
        SELECT c.tenant_id, u.lexeme AS term, 1 AS df, 0 AS len FROM changed c, unnest(c.new_search) u
        UNION ALL
        SELECT c.tenant_id, u.lexeme, -1, 0 FROM changed c, unnest(c.old_search) u
        UNION ALL
        SELECT tenant_id, '', (new_search IS NOT NULL)::int - (old_search IS NOT NULL)::int,
               CASE WHEN new_search IS NULL THEN 0 ELSE new_len END - CASE WHEN old_search IS NULL THEN 0 ELSE old_len END
          FROM changed)
    INSERT INTO search_terms (tenant_id, term, df, len)
    SELECT tenant_id, term, sum(df), sum(len) FROM d GROUP BY 1, 2 HAVING sum(df) <> 0 OR sum(len) <> 0;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER chunks_search_insert AFTER INSERT ON document_chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_terms_insert();
CREATE TRIGGER chunks_search_delete AFTER DELETE ON document_chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_terms_delete();
CREATE TRIGGER chunks_search_update AFTER UPDATE ON document_chunks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_terms_update();

SET LOCAL ROLE engram_maintenance;
UPDATE document_chunks c
   SET search = setweight(to_tsvector('simple', d.title), 'A') || to_tsvector('simple', c.content),
       search_title_len = coalesce((SELECT sum(cardinality(positions)) FROM unnest(to_tsvector('simple', d.title))), 0),
       search_len = coalesce((SELECT sum(cardinality(positions)) FROM unnest(to_tsvector('simple', d.title))), 0)
                  + coalesce((SELECT sum(cardinality(positions)) FROM unnest(to_tsvector('simple', c.content))), 0)
  FROM documents d
 WHERE d.tenant_id = c.tenant_id AND d.id = c.document_id;
RESET ROLE;

-- +goose Down
DROP TRIGGER chunks_search_update ON document_chunks;
DROP TRIGGER chunks_search_delete ON document_chunks;
DROP TRIGGER chunks_search_insert ON document_chunks;
DROP FUNCTION search_terms_update();
DROP FUNCTION search_terms_delete();
DROP FUNCTION search_terms_insert();
DROP TABLE search_terms;
ALTER TABLE document_chunks DROP COLUMN search_title_len, DROP COLUMN search_len, DROP COLUMN search;
