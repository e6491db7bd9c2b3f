-- Row-level security, as defence in depth behind the tenant_id that every
-- statement already names: a statement that forgets its tenant filter
-- still sees, and may write, only the rows of the transaction's tenant.
--
-- Two roles, both NOLOGIN; the role engram logs in as is granted both:
--   engram_app          what a tenant transaction runs as (the driver
--                       begins it with SET LOCAL ROLE engram_app and
--                       set_config('engram.tenant_id', <tenant>, true)).
--                       Its policy admits only rows of that tenant; with
--                       no tenant set it admits none.
--   engram_maintenance  what cross-tenant work runs as: the scheduler's
--                       due connectors, count compaction, statistics,
--                       job counts for metrics, and the lookups that find
--                       the tenant (an API key by its hash, a tenant by
--                       its slug). Its policy admits every row.
-- A policy names a role rather than reading a marker setting such as
-- engram.all_tenants, because any session can set a setting but only a
-- member of engram_maintenance can take its role.
--
-- FORCE makes the tables' owner (the role that runs these migrations)
-- subject to the policies too; no policy names it, so it sees no rows of
-- these tables. engram must therefore not run as the owner, and a data
-- migration that needs rows takes engram_maintenance with SET LOCAL ROLE.
-- Superusers and roles with BYPASSRLS bypass every policy.
--
-- The role running this migration is made a member of both roles unless
-- it already is one, so that a deployment whose login role also owns the
-- tables keeps working: its tenant transactions drop to engram_app, and
-- its cross-tenant work and pooled reads see every row through its
-- membership of engram_maintenance (policies apply to a role's members).
-- A hardened deployment keeps owner and login apart (README, Security).
--
-- Roles belong to the cluster, not the database: they are made here only
-- when missing (a DBA may make and grant them beforehand, and then this
-- migration needs no CREATEROLE) and Down leaves them and their
-- memberships in place.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    -- Roles are the cluster's: migrations of two databases running at once
    -- (tests, two deployments on one server) may both find a role missing,
    -- so losing the race to create or grant it is not an error.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'engram_app') THEN
        BEGIN
            CREATE ROLE engram_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'engram_maintenance') THEN
        BEGIN
            CREATE ROLE engram_maintenance NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'engram_app', 'MEMBER') THEN
        BEGIN
            GRANT engram_app TO CURRENT_USER;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'engram_maintenance', 'MEMBER') THEN
        BEGIN
            GRANT engram_maintenance TO CURRENT_USER;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO engram_app, engram_maintenance', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO engram_app, engram_maintenance', current_schema());
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO engram_app, engram_maintenance', current_schema());
    -- The job engine's tables may be made after this migration.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO engram_app, engram_maintenance', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO engram_app, engram_maintenance', current_schema());
    FOREACH t IN ARRAY ARRAY['api_keys', 'connectors', 'documents', 'document_chunks', 'deleted_documents',
        'audit_log', 'knowledge_gaps', 'gap_questions', 'gap_answers', 'gap_documents', 'gap_feedback',
        'jobs', 'sync_seen', 'document_counts', 'gap_counts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO engram_app
            USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)$p$, t);
        EXECUTE format('CREATE POLICY all_tenants ON %I TO engram_maintenance USING (true) WITH CHECK (true)', t);
    END LOOP;
    -- ANALYZE needs the owner before PostgreSQL 17, and the MAINTAIN
    -- privilege from it.
    IF current_setting('server_version_num')::int >= 170000 THEN
        EXECUTE format('GRANT MAINTAIN ON ALL TABLES IN SCHEMA %I TO engram_maintenance', current_schema());
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'connectors', 'documents', 'document_chunks', 'deleted_documents',
        'audit_log', 'knowledge_gaps', 'gap_questions', 'gap_answers', 'gap_documents', 'gap_feedback',
        'jobs', 'sync_seen', 'document_counts', 'gap_counts'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format('DROP POLICY IF EXISTS all_tenants ON %I', t);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM engram_app, engram_maintenance', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM engram_app, engram_maintenance', current_schema());
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM engram_app, engram_maintenance', current_schema());
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM engram_app, engram_maintenance', current_schema());
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM engram_app, engram_maintenance', current_schema());
END
$$;
-- +goose StatementEnd
