-- 0005_second_factor: TOTP factors, recovery codes, and the assurance a
-- session was opened with. The factor's secret is sealed by the
-- Authenticator (AES-256-GCM); recovery codes are kept as keyed hashes.
-- DDL is transactional, so the migration applies whole or not at all.

ALTER TABLE {{prefix}}sessions
    ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT '',
    ADD COLUMN aal SMALLINT    NOT NULL DEFAULT 0;

CREATE TABLE {{prefix}}second_factors (
    id          VARCHAR(64) NOT NULL PRIMARY KEY,
    user_id     VARCHAR(64) NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    secret      BYTEA       NOT NULL,
    created_at  BIGINT      NOT NULL,
    verified_at BIGINT,
    last_step   BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT {{prefix}}second_factors_user_id_key UNIQUE (user_id)
);

CREATE TABLE {{prefix}}recovery_codes (
    user_id   VARCHAR(64) NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    code_hash CHAR(64)    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
