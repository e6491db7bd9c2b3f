-- Mirrors PostgreSQL's 00023: users, sessions, invitations, the owner of
-- an API key and the user who acted in the audit log.

-- +goose Up
CREATE TABLE users (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT NOT NULL,
    email          TEXT NOT NULL,
    full_name      TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_login_at  TEXT,
    deactivated_at TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (email)
);
CREATE INDEX users_tenant_role ON users (tenant_id, role) WHERE deactivated_at IS NULL;

CREATE TABLE sessions (
    tenant_id          TEXT NOT NULL,
    id                 TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    family_id          TEXT NOT NULL,
    access_hash        TEXT NOT NULL UNIQUE,
    refresh_hash       TEXT NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    access_expires_at  TEXT NOT NULL,
    refresh_expires_at TEXT NOT NULL,
    rotated_at         TEXT,
    revoked_at         TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_tenant_user ON sessions (tenant_id, user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_tenant_family ON sessions (tenant_id, family_id);

CREATE TABLE invitations (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE api_keys ADD COLUMN user_id TEXT;
CREATE INDEX api_keys_tenant_user ON api_keys (tenant_id, user_id) WHERE user_id IS NOT NULL;
ALTER TABLE audit_log ADD COLUMN actor_user_id TEXT;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN actor_user_id;
DROP INDEX api_keys_tenant_user;
ALTER TABLE api_keys DROP COLUMN user_id;
DROP TABLE invitations;
DROP TABLE sessions;
DROP TABLE users;
