-- 0005_second_factor: TOTP factors, recovery codes, and the assurance a
-- session was opened with. The factor's secret is sealed by the
-- Authenticator (AES-256-GCM); recovery codes are kept as keyed hashes.
-- As in 0002, a rerun after an interruption takes error 1060 (duplicate
-- column name) from the ALTER TABLE as "already added", and the tables are
-- created IF NOT EXISTS.

ALTER TABLE {{prefix}}sessions
    ADD COLUMN amr VARCHAR(64) NOT NULL DEFAULT '',
    ADD COLUMN aal SMALLINT    NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS {{prefix}}second_factors (
    id          VARCHAR(64)    NOT NULL,
    user_id     VARCHAR(64)    NOT NULL,
    secret      VARBINARY(255) NOT NULL,
    created_at  BIGINT         NOT NULL,
    verified_at BIGINT         NULL,
    last_step   BIGINT         NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY {{prefix}}second_factors_user_id_key (user_id),
    CONSTRAINT {{prefix}}second_factors_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}recovery_codes (
    user_id   VARCHAR(64) NOT NULL,
    code_hash CHAR(64)    NOT NULL,
    PRIMARY KEY (user_id, code_hash),
    CONSTRAINT {{prefix}}recovery_codes_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
