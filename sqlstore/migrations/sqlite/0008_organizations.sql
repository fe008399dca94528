-- 0008_organizations: organizations, memberships and invitations, and the
-- active organization of each session. Every user's organization_id and
-- role become a membership; every session starts in its user's
-- organization. DDL is transactional, so the migration applies whole or not
-- at all.

CREATE TABLE {{prefix}}organizations (
    id         VARCHAR(64)  NOT NULL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    created_at BIGINT       NOT NULL
) WITHOUT ROWID;

CREATE TABLE {{prefix}}memberships (
    organization_id VARCHAR(64) NOT NULL REFERENCES {{prefix}}organizations (id) ON DELETE CASCADE,
    user_id         VARCHAR(64) NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    role            VARCHAR(64) NOT NULL,
    created_at      BIGINT      NOT NULL,
    PRIMARY KEY (organization_id, user_id)
) WITHOUT ROWID;

CREATE INDEX {{prefix}}memberships_user_id_idx ON {{prefix}}memberships (user_id);

CREATE TABLE {{prefix}}invitations (
    id              VARCHAR(64)  NOT NULL PRIMARY KEY,
    organization_id VARCHAR(64)  NOT NULL REFERENCES {{prefix}}organizations (id) ON DELETE CASCADE,
    email           VARCHAR(254) NOT NULL COLLATE BINARY,
    role            VARCHAR(64)  NOT NULL,
    token_hash      CHAR(64)     NOT NULL,
    invited_by      VARCHAR(64)  NOT NULL,
    created_at      BIGINT       NOT NULL,
    expires_at      BIGINT       NOT NULL,
    CONSTRAINT {{prefix}}invitations_token_hash_key UNIQUE (token_hash)
) WITHOUT ROWID;

CREATE INDEX {{prefix}}invitations_organization_id_idx ON {{prefix}}invitations (organization_id);

INSERT INTO {{prefix}}organizations (id, name, created_at)
    SELECT organization_id, MIN(name), MIN(created_at) FROM {{prefix}}users
    WHERE organization_id <> '' GROUP BY organization_id;

INSERT INTO {{prefix}}memberships (organization_id, user_id, role, created_at)
    SELECT organization_id, id, role, created_at FROM {{prefix}}users WHERE organization_id <> '';

ALTER TABLE {{prefix}}sessions ADD COLUMN organization_id VARCHAR(64) NOT NULL DEFAULT '';

UPDATE {{prefix}}sessions SET organization_id = COALESCE((
    SELECT u.organization_id FROM {{prefix}}users u WHERE u.id = {{prefix}}sessions.user_id), '');
