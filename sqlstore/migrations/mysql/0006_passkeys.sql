-- 0006_passkeys: WebAuthn credentials (passkeys) and the server-side state
-- of the ceremonies in progress. The credential id is base64url (at most
-- 1023 bytes, so 1364 characters), in ASCII so that its key fits an index;
-- flags is the authenticator data flags octet go-webauthn rebuilds its
-- CredentialFlags from. The tables are created IF NOT EXISTS, so a rerun
-- after an interruption goes through.

CREATE TABLE IF NOT EXISTS {{prefix}}passkeys (
    id                 VARCHAR(1400) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id            VARCHAR(64)    NOT NULL,
    name               VARCHAR(255)   NOT NULL,
    public_key         VARBINARY(2048) NOT NULL,
    sign_count         BIGINT         NOT NULL,
    transports         VARCHAR(255)   NOT NULL,
    attestation_type   VARCHAR(64)    NOT NULL,
    attestation_format VARCHAR(64)    NOT NULL,
    flags              SMALLINT       NOT NULL,
    backup_eligible    SMALLINT       NOT NULL,
    backup_state       SMALLINT       NOT NULL,
    aaguid             VARBINARY(16)  NOT NULL,
    created_at         BIGINT         NOT NULL,
    last_used_at       BIGINT         NULL,
    PRIMARY KEY (id),
    KEY {{prefix}}passkeys_user_id_idx (user_id),
    CONSTRAINT {{prefix}}passkeys_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS {{prefix}}passkey_ceremonies (
    id_hash    CHAR(64)    NOT NULL,
    kind       VARCHAR(16) NOT NULL,
    user_id    VARCHAR(64) NOT NULL,
    data       BLOB        NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used       SMALLINT    NOT NULL DEFAULT 0,
    PRIMARY KEY (id_hash),
    KEY {{prefix}}passkey_ceremonies_expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
