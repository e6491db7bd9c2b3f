-- People, not only keys: users of a tenant, their sign-in sessions and
-- the invitations that bring them in. An email is unique across the
-- server, because signing in names no tenant; a user belongs to one
-- tenant. Secrets are never stored: passwords as argon2id hashes that
-- carry their own parameters, session and invitation tokens as SHA-256.
-- The audit log now names its actor as a user or a key.

-- +goose Up
CREATE TABLE users (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid        NOT NULL,
    email          text        NOT NULL,
    full_name      text        NOT NULL DEFAULT '',
    role           text        NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    password_hash  text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    deactivated_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    -- Sign-in finds the user before the tenant: the one global key.
    UNIQUE (email)
);
CREATE INDEX users_tenant_role ON users (tenant_id, role) WHERE deactivated_at IS NULL;

CREATE TABLE sessions (
    tenant_id          uuid        NOT NULL,
    id                 uuid        NOT NULL,
    user_id            uuid        NOT NULL,
    -- Every session made by rotating a refresh token shares the family of
    -- the sign-in it descends from; reusing a spent refresh token revokes
    -- the whole family.
    family_id          uuid        NOT NULL,
    access_hash        text        NOT NULL UNIQUE,
    refresh_hash       text        NOT NULL UNIQUE,
    created_at         timestamptz NOT NULL,
    access_expires_at  timestamptz NOT NULL,
    refresh_expires_at timestamptz NOT NULL,
    rotated_at         timestamptz,
    revoked_at         timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_tenant_user ON sessions (tenant_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_tenant_family ON sessions (tenant_id, family_id);

CREATE TABLE invitations (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    email       text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash  text        NOT NULL UNIQUE,
    invited_by  uuid,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

-- A key may belong to a user; deactivating the user revokes it.
ALTER TABLE api_keys ADD COLUMN user_id uuid;
CREATE INDEX api_keys_tenant_user ON api_keys (tenant_id, user_id) WHERE user_id IS NOT NULL;
ALTER TABLE audit_log ADD COLUMN actor_user_id uuid;

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'sessions', 'invitations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO engram_app
            USING (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)
            WITH CHECK (tenant_id = nullif(current_setting('engram.tenant_id', true), '')::uuid)$p$, t);
        EXECUTE format('CREATE POLICY all_tenants ON %I TO engram_maintenance USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO engram_app, engram_maintenance', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE audit_log DROP COLUMN actor_user_id;
DROP INDEX api_keys_tenant_user;
ALTER TABLE api_keys DROP COLUMN user_id;
DROP TABLE invitations;
DROP TABLE sessions;
DROP TABLE users;
