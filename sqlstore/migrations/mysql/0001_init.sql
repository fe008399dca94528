-- 0001_init: users, their sessions, and the refresh tokens of each session.
-- Instants are Unix milliseconds written by the application; NULL means unset.
-- Every text column uses utf8mb4_bin, so ids and emails compare byte for byte
-- (case- and accent-sensitive). MySQL commits each DDL statement on its own,
-- so every statement here is safe to run again after an interrupted migration.

CREATE TABLE IF NOT EXISTS {{prefix}}users (
    id              VARCHAR(64)  NOT NULL,
    email           VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name            VARCHAR(255) NOT NULL,
    organization_id VARCHAR(64)  NOT NULL,
    role            VARCHAR(64)  NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    created_at      BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY {{prefix}}users_email_key (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}sessions (
    id         VARCHAR(64) NOT NULL,
    user_id    VARCHAR(64) NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    revoked_at BIGINT      NULL,
    PRIMARY KEY (id),
    INDEX {{prefix}}sessions_user_id_idx (user_id),
    INDEX {{prefix}}sessions_expires_at_idx (expires_at),
    CONSTRAINT {{prefix}}sessions_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}refresh_tokens (
    id_hash    CHAR(64)    NOT NULL,
    session_id VARCHAR(64) NOT NULL,
    user_id    VARCHAR(64) NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used_at    BIGINT      NULL,
    PRIMARY KEY (id_hash),
    INDEX {{prefix}}refresh_tokens_session_id_idx (session_id),
    INDEX {{prefix}}refresh_tokens_expires_at_idx (expires_at),
    CONSTRAINT {{prefix}}refresh_tokens_session_id_fk FOREIGN KEY (session_id)
        REFERENCES {{prefix}}sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
