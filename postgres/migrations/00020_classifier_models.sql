-- Each tenant's learned classifier models (issue 15): a new version per
-- training, kept so that GET /api/classifier can show what was trained
-- when and how well it did on decisions held out of its training. The
-- newest version is the one in use. model is the serialised model
-- (classify.Model.Encode): bounded by the feature size, a few MiB at most.
-- +goose Up
CREATE TABLE classifier_models (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version       integer     NOT NULL CHECK (version > 0),
    created_at    timestamptz NOT NULL,
    created_by    text,
    training_size integer     NOT NULL CHECK (training_size >= 0),
    classes       jsonb       NOT NULL,
    figures       jsonb       NOT NULL,
    model         bytea       NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
ALTER TABLE classifier_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE classifier_models FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON classifier_models TO engram_app
    USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid);
CREATE POLICY all_tenants ON classifier_models TO engram_maintenance USING (true) WITH CHECK (true);

-- +goose Down
DROP TABLE classifier_models;
