-- PostgreSQL's 00016 turns on row-level security. SQLite has no roles
-- and no row security: one process owns the file, and the tenant_id in
-- every statement is the only guard. This migration keeps the two
-- engines' numbering the same.
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
