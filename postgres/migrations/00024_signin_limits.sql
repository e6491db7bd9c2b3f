-- Sign-in attempts, counted per bucket (an email's hash, a client
-- address) in fixed windows. A table rather than process memory, so that
-- every process of a deployment shares the limit and a restart does not
-- reset it. A bucket names no tenant: it is counted before any is known,
-- and holds no tenant data.

-- +goose Up
CREATE TABLE signin_limits (
    bucket        text    PRIMARY KEY,
    -- The window's end in Unix milliseconds: plain integers, so that both
    -- engines do the same arithmetic on it.
    window_end_ms bigint  NOT NULL,
    attempts      integer NOT NULL,
    -- The attempts a window admits for this bucket.
    max_attempts  integer NOT NULL,
    -- strikes counts the windows in a row that went over the limit; each
    -- doubles the next window (backing off).
    strikes       integer NOT NULL DEFAULT 0
);
GRANT SELECT, INSERT, UPDATE, DELETE ON signin_limits TO engram_app, engram_maintenance;

-- +goose Down
DROP TABLE signin_limits;
