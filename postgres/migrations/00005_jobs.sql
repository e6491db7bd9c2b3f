-- Background jobs as the API reports them. River (river_job, created by
-- River's own migrations, run after these by `engram migrate`) executes
-- them; this row is what a tenant sees: status, progress, result, error.
-- river_job_id is no foreign key: River deletes finished jobs after a
-- retention period, while this row stays as the tenant's history.
-- resume_after is where the next batch starts (the last document id done), and
-- params holds the snapshot of the target set (see JobParams).

-- +goose Up
CREATE TABLE jobs (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid        NOT NULL,
    kind                text        NOT NULL CHECK (kind IN ('delete_all', 'classify_pending')),
    status              text        NOT NULL DEFAULT 'queued'
                                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    params              jsonb       NOT NULL DEFAULT '{}',
    resume_after        text,
    progress_done       integer     NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total      integer     NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    result              jsonb,
    error               text,
    river_job_id        bigint,
    requested_by        uuid,
    cancel_requested_at timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    CHECK ((finished_at IS NOT NULL) = (status IN ('succeeded', 'failed', 'cancelled')))
);

-- One delete-all per tenant at a time. The index is the lock: of two
-- concurrent requests one inserts and the other finds the conflict, with
-- no check-then-insert race. It lives with the table (not in 00006) so
-- that no schema version has the table without it; on a new, empty table
-- building it takes no time.
CREATE UNIQUE INDEX jobs_one_delete_all ON jobs (tenant_id)
    WHERE kind = 'delete_all' AND status IN ('queued', 'running');

-- +goose Down
DROP TABLE jobs;
