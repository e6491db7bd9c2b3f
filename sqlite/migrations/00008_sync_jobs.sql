-- Mirrors postgres/migrations/00008_sync_jobs.sql. SQLite cannot alter a
-- CHECK constraint or add a foreign key to a table, so the table is
-- rebuilt: create the new one, copy the rows, drop the old one, rename,
-- and recreate its indexes (00005's and 00006's; 00009 adds the sync one).
-- Nothing references jobs, so dropping it with foreign keys on is safe.

-- +goose Up
CREATE TABLE jobs_new (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT    NOT NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('delete_all', 'classify_pending', 'sync', 'analyze_gaps')),
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
    connector_id        TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES connectors (tenant_id, id) ON DELETE CASCADE,
    CHECK ((finished_at IS NOT NULL) = (status IN ('succeeded', 'failed', 'cancelled')))
) STRICT;

INSERT INTO jobs_new (tenant_id, id, kind, status, params, resume_after, progress_done, progress_total, result, error, river_job_id, requested_by, cancel_requested_at, created_at, started_at, finished_at, updated_at) SELECT tenant_id, id, kind, status, params, resume_after, progress_done, progress_total, result, error, river_job_id, requested_by, cancel_requested_at, created_at, started_at, finished_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE UNIQUE INDEX jobs_one_delete_all ON jobs (tenant_id)
    WHERE kind = 'delete_all' AND status IN ('queued', 'running');
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at, id);
CREATE INDEX jobs_tenant_kind_created ON jobs (tenant_id, kind, created_at, id);
CREATE INDEX jobs_tenant_status_created ON jobs (tenant_id, status, created_at, id);

-- +goose Down
CREATE TABLE jobs_new (
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

INSERT INTO jobs_new (tenant_id, id, kind, status, params, resume_after, progress_done, progress_total, result, error, river_job_id, requested_by, cancel_requested_at, created_at, started_at, finished_at, updated_at) SELECT tenant_id, id, kind, status, params, resume_after, progress_done, progress_total, result, error, river_job_id, requested_by, cancel_requested_at, created_at, started_at, finished_at, updated_at FROM jobs WHERE kind IN ('delete_all', 'classify_pending');
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE UNIQUE INDEX jobs_one_delete_all ON jobs (tenant_id)
    WHERE kind = 'delete_all' AND status IN ('queued', 'running');
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at, id);
CREATE INDEX jobs_tenant_kind_created ON jobs (tenant_id, kind, created_at, id);
CREATE INDEX jobs_tenant_status_created ON jobs (tenant_id, status, created_at, id);
