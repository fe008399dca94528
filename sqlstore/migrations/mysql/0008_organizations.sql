-- 0008_organizations: organizations, memberships and invitations, and the
-- active organization of each session. Every user's organization_id and
-- role become a membership; every session starts in its user's
-- organization. As in 0002, a rerun after an interruption takes error 1060
-- (duplicate column name) from the ALTER TABLE as "already added"; the
-- tables are created IF NOT EXISTS and the rows copied with INSERT IGNORE.

CREATE TABLE IF NOT EXISTS {{prefix}}organizations (
    id         VARCHAR(64)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    created_at BIGINT       NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}memberships (
    organization_id VARCHAR(64) NOT NULL,
    user_id         VARCHAR(64) NOT NULL,
    role            VARCHAR(64) NOT NULL,
    created_at      BIGINT      NOT NULL,
    PRIMARY KEY (organization_id, user_id),
    KEY {{prefix}}memberships_user_id_idx (user_id),
    CONSTRAINT {{prefix}}memberships_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES {{prefix}}organizations (id) ON DELETE CASCADE,
    CONSTRAINT {{prefix}}memberships_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}invitations (
    id              VARCHAR(64)  NOT NULL,
    organization_id VARCHAR(64)  NOT NULL,
    email           VARCHAR(254) NOT NULL,
    role            VARCHAR(64)  NOT NULL,
    token_hash      CHAR(64)     NOT NULL,
    invited_by      VARCHAR(64)  NOT NULL,
    created_at      BIGINT       NOT NULL,
    expires_at      BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY {{prefix}}invitations_token_hash_key (token_hash),
    KEY {{prefix}}invitations_organization_id_idx (organization_id),
    CONSTRAINT {{prefix}}invitations_organization_id_fk FOREIGN KEY (organization_id)
        REFERENCES {{prefix}}organizations (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO {{prefix}}organizations (id, name, created_at)
    SELECT organization_id, MIN(name), MIN(created_at) FROM {{prefix}}users
    WHERE organization_id <> '' GROUP BY organization_id;

INSERT IGNORE INTO {{prefix}}memberships (organization_id, user_id, role, created_at)
    SELECT organization_id, id, role, created_at FROM {{prefix}}users WHERE organization_id <> '';

ALTER TABLE {{prefix}}sessions ADD COLUMN organization_id VARCHAR(64) NOT NULL DEFAULT '';

UPDATE {{prefix}}sessions s JOIN {{prefix}}users u ON u.id = s.user_id SET s.organization_id = u.organization_id;
