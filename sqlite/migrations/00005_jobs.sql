-- Mirrors postgres/migrations/00005_jobs.sql, which is canonical.

-- +goose Up
CREATE TABLE jobs (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('delete_all', 'classify_pending')),
    status              TEXT    NOT NULL DEFAULT 'queued'
                                CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params              TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    resume_after        TEXT,
    progress_done       INTEGER NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total      INTEGER NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    result              TEXT    CHECK (result IS NULL OR json_valid(result)),
    error               TEXT,
    river_job_id        INTEGER,
    requested_by        TEXT,
    cancel_requested_at TEXT,
    created_at          TEXT    NOT NULL,
    started_at          TEXT,
    finished_at         TEXT,
    updated_at          TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((finished_at IS NOT NULL) = (status IN ('succeeded', 'failed', 'cancelled')))
) STRICT;

CREATE UNIQUE INDEX jobs_one_delete_all ON jobs (tenant_id)
    WHERE kind = 'delete_all' AND status IN ('queued', 'running');

-- +goose Down
DROP TABLE jobs;
