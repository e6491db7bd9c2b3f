-- Mirrors PostgreSQL's 00024: sign-in attempts per bucket, kept in the
-- database so that a restart does not reset the limit.

-- +goose Up
CREATE TABLE signin_limits (
    bucket        TEXT PRIMARY KEY,
    window_end_ms INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    max_attempts  INTEGER NOT NULL,
    strikes       INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE signin_limits;
