-- Mirrors postgres/migrations/00017_search.sql: the lexical search index.
-- SQLite's is an FTS5 table over the chunks, the document's title its own
-- column so that a search can weight it, and the tenant a column of its
-- own holding one word (t and the tenant id's hex digits) that every
-- search requires, so that FTS5 finds and ranks only the tenant's chunks
-- (weighted 0, it adds nothing to a score); words split and folded by
-- unicode61 (diacritics removed), not stemmed (porter lost on the
-- evaluation, docs/SEARCH.md). It is contentless
-- (the chunks keep the text; snippets are cut from them) with
-- contentless_delete, and its rowid is the chunk's: document_chunks is
-- rebuilt here with an INTEGER PRIMARY KEY, because VACUUM may renumber
-- the implicit rowid of a table without one.
--
-- Triggers keep the index in the writing transaction on every path: a
-- chunk inserted or deleted (by a sync, a hard delete, a delete-all, a
-- connector delete, or the cascade of a document's delete), and a
-- document's title changed. Soft-deleted documents keep their entries; a
-- search joins documents and leaves them out. BM25's statistics (how many
-- chunks hold a word) are the whole file's: FTS5 keeps one index, not one
-- per tenant.

-- +goose Up
CREATE TABLE document_chunks_new (
    id              INTEGER PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    document_id     TEXT    NOT NULL,
    chunk_index     INTEGER NOT NULL,
    content         TEXT    NOT NULL,
    token_count     INTEGER NOT NULL,
    embedding       BLOB,
    embedding_model TEXT,
    UNIQUE (tenant_id, document_id, chunk_index),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO document_chunks_new (tenant_id, document_id, chunk_index, content, token_count, embedding, embedding_model)
SELECT tenant_id, document_id, chunk_index, content, token_count, embedding, embedding_model FROM document_chunks;
DROP TABLE document_chunks;
ALTER TABLE document_chunks_new RENAME TO document_chunks;

CREATE VIRTUAL TABLE chunk_search USING fts5(tenant, title, body, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO chunk_search (rowid, tenant, title, body)
SELECT c.id, 't' || replace(c.tenant_id, '-', ''), d.title, c.content FROM document_chunks c JOIN documents d ON d.tenant_id = c.tenant_id AND d.id = c.document_id;

-- +goose StatementBegin
CREATE TRIGGER chunk_search_insert AFTER INSERT ON document_chunks BEGIN
    INSERT INTO chunk_search (rowid, tenant, title, body)
    VALUES (NEW.id, 't' || replace(NEW.tenant_id, '-', ''), (SELECT title FROM documents WHERE tenant_id = NEW.tenant_id AND id = NEW.document_id), NEW.content);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chunk_search_delete AFTER DELETE ON document_chunks BEGIN
    DELETE FROM chunk_search WHERE rowid = OLD.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chunk_search_content AFTER UPDATE OF content ON document_chunks BEGIN
    DELETE FROM chunk_search WHERE rowid = OLD.id;
    INSERT INTO chunk_search (rowid, tenant, title, body)
    VALUES (NEW.id, 't' || replace(NEW.tenant_id, '-', ''), (SELECT title FROM documents WHERE tenant_id = NEW.tenant_id AND id = NEW.document_id), NEW.content);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER chunk_search_title AFTER UPDATE OF title ON documents WHEN NEW.title IS NOT OLD.title BEGIN
    DELETE FROM chunk_search WHERE rowid IN
        (SELECT id FROM document_chunks WHERE tenant_id = NEW.tenant_id AND document_id = NEW.id);
    INSERT INTO chunk_search (rowid, tenant, title, body)
    SELECT id, 't' || replace(NEW.tenant_id, '-', ''), NEW.title, content FROM document_chunks WHERE tenant_id = NEW.tenant_id AND document_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER chunk_search_title;
DROP TRIGGER chunk_search_content;
DROP TRIGGER chunk_search_delete;
DROP TRIGGER chunk_search_insert;
DROP TABLE chunk_search;
CREATE TABLE document_chunks_old (
    tenant_id       TEXT    NOT NULL,
    document_id     TEXT    NOT NULL,
    chunk_index     INTEGER NOT NULL,
    content         TEXT    NOT NULL,
    token_count     INTEGER NOT NULL,
    embedding       BLOB,
    embedding_model TEXT,
    PRIMARY KEY (tenant_id, document_id, chunk_index),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO document_chunks_old (tenant_id, document_id, chunk_index, content, token_count, embedding, embedding_model)
SELECT tenant_id, document_id, chunk_index, content, token_count, embedding, embedding_model FROM document_chunks;
DROP TABLE document_chunks;
ALTER TABLE document_chunks_old RENAME TO document_chunks;
