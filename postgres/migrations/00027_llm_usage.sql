-- Tokens each tenant's calls to a language model used, per UTC day, for
-- the daily budget (issue 13). A table rather than process memory, so
-- that every process of a deployment shares the budget.

-- +goose Up
CREATE TABLE llm_usage (
    tenant_id uuid   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day       date   NOT NULL,
    tokens    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);

-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE llm_usage ENABLE ROW LEVEL SECURITY;
    ALTER TABLE llm_usage FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON llm_usage TO engram_app
        USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
        WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid);
    CREATE POLICY all_tenants ON llm_usage TO engram_maintenance USING (true) WITH CHECK (true);
    GRANT SELECT, INSERT, UPDATE, DELETE ON llm_usage TO engram_app, engram_maintenance;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE llm_usage;
