-- 0002_account_lifecycle: email verification, session metadata, and the
-- single-use tokens of password resets and email verification.
-- MySQL commits each DDL statement on its own, and (unlike MariaDB) has no
-- ADD COLUMN IF NOT EXISTS. Each ALTER TABLE is atomic, so a run interrupted
-- between statements leaves whole columns behind; when Migrate runs the
-- migration again it takes MySQL error 1060 (duplicate column name) from an
-- ALTER TABLE ... ADD COLUMN as "already added" and goes on. The new table
-- uses CREATE TABLE IF NOT EXISTS with its indexes inside.

ALTER TABLE {{prefix}}users ADD COLUMN email_verified_at BIGINT NULL;

ALTER TABLE {{prefix}}sessions
    ADD COLUMN user_agent VARCHAR(512) NOT NULL DEFAULT '',
    ADD COLUMN ip_address VARCHAR(64)  NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS {{prefix}}one_time_tokens (
    id_hash    CHAR(64)    NOT NULL,
    purpose    VARCHAR(32) NOT NULL,
    user_id    VARCHAR(64) NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used_at    BIGINT      NULL,
    PRIMARY KEY (id_hash),
    INDEX {{prefix}}one_time_tokens_user_id_idx (user_id),
    INDEX {{prefix}}one_time_tokens_expires_at_idx (expires_at),
    CONSTRAINT {{prefix}}one_time_tokens_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
