-- Mirrors postgres/migrations/00018_search_index.sql, whose GIN index
-- SQLite's FTS5 table (00017) already is: nothing to do.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
