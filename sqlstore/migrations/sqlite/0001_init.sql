-- 0001_init: users, their sessions, and the refresh tokens of each session.
-- Instants are Unix milliseconds written by the application; NULL means unset.
-- Text compares with SQLite's default BINARY collation, byte for byte.
-- Foreign keys are enforced only on connections with PRAGMA foreign_keys=ON.

CREATE TABLE {{prefix}}users (
    id              VARCHAR(64)  NOT NULL PRIMARY KEY,
    email           VARCHAR(254) NOT NULL COLLATE BINARY,
    name            VARCHAR(255) NOT NULL,
    organization_id VARCHAR(64)  NOT NULL,
    role            VARCHAR(64)  NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    created_at      BIGINT       NOT NULL,
    CONSTRAINT {{prefix}}users_email_key UNIQUE (email)
) WITHOUT ROWID;

CREATE TABLE {{prefix}}sessions (
    id         VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id    VARCHAR(64) NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    revoked_at BIGINT
) WITHOUT ROWID;

CREATE INDEX {{prefix}}sessions_user_id_idx ON {{prefix}}sessions (user_id);

CREATE INDEX {{prefix}}sessions_expires_at_idx ON {{prefix}}sessions (expires_at);

CREATE TABLE {{prefix}}refresh_tokens (
    id_hash    CHAR(64)    NOT NULL PRIMARY KEY,
    session_id VARCHAR(64) NOT NULL REFERENCES {{prefix}}sessions (id) ON DELETE CASCADE,
    user_id    VARCHAR(64) NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used_at    BIGINT
) WITHOUT ROWID;

CREATE INDEX {{prefix}}refresh_tokens_session_id_idx ON {{prefix}}refresh_tokens (session_id);

CREATE INDEX {{prefix}}refresh_tokens_expires_at_idx ON {{prefix}}refresh_tokens (expires_at);
