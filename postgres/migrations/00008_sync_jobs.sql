-- Connector syncs (and, next, gap analyses) become jobs. A sync job names
-- its connector in a real column with a tenant-scoped foreign key, so that
-- a partial unique index (00009) can make "one sync per connector at a
-- time" race-free, as jobs_one_delete_all does for delete-all.

-- +goose Up
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check,
    ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('delete_all', 'classify_pending', 'sync', 'analyze_gaps')),
    ADD COLUMN connector_id uuid,
    ADD CONSTRAINT jobs_connector_fk FOREIGN KEY (tenant_id, connector_id)
        REFERENCES connectors (tenant_id, id) ON DELETE CASCADE;

-- +goose Down
DELETE FROM jobs WHERE kind IN ('sync', 'analyze_gaps');
ALTER TABLE jobs DROP CONSTRAINT jobs_connector_fk,
    DROP COLUMN connector_id,
    DROP CONSTRAINT jobs_kind_check,
    ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('delete_all', 'classify_pending'));
