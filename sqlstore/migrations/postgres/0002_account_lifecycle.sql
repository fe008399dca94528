-- 0002_account_lifecycle: email verification, session metadata, and the
-- single-use tokens of password resets and email verification.
-- Since PostgreSQL 11 adding a column with a constant default rewrites no
-- rows. DDL is transactional, so the migration applies whole or not at all.

ALTER TABLE {{prefix}}users ADD COLUMN email_verified_at BIGINT;

ALTER TABLE {{prefix}}sessions
    ADD COLUMN user_agent VARCHAR(512) NOT NULL DEFAULT '',
    ADD COLUMN ip_address VARCHAR(64)  NOT NULL DEFAULT '';

CREATE TABLE {{prefix}}one_time_tokens (
    id_hash    CHAR(64)    NOT NULL PRIMARY KEY,
    purpose    VARCHAR(32) NOT NULL,
    user_id    VARCHAR(64) NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used_at    BIGINT
);

CREATE INDEX {{prefix}}one_time_tokens_user_id_idx ON {{prefix}}one_time_tokens (user_id);

CREATE INDEX {{prefix}}one_time_tokens_expires_at_idx ON {{prefix}}one_time_tokens (expires_at);
