-- 0006_passkeys: WebAuthn credentials (passkeys) and the server-side state
-- of the ceremonies in progress. The credential id is base64url (at most
-- 1023 bytes, so 1364 characters); flags is the authenticator data flags
-- octet go-webauthn rebuilds its CredentialFlags from.

CREATE TABLE {{prefix}}passkeys (
    id                 VARCHAR(1400) NOT NULL PRIMARY KEY,
    user_id            VARCHAR(64)   NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    name               VARCHAR(255)  NOT NULL,
    public_key         BYTEA         NOT NULL,
    sign_count         BIGINT        NOT NULL,
    transports         VARCHAR(255)  NOT NULL,
    attestation_type   VARCHAR(64)   NOT NULL,
    attestation_format VARCHAR(64)   NOT NULL,
    flags              SMALLINT      NOT NULL,
    backup_eligible    SMALLINT      NOT NULL,
    backup_state       SMALLINT      NOT NULL,
    aaguid             BYTEA         NOT NULL,
    created_at         BIGINT        NOT NULL,
    last_used_at       BIGINT
);

CREATE INDEX {{prefix}}passkeys_user_id_idx ON {{prefix}}passkeys (user_id);

CREATE TABLE {{prefix}}passkey_ceremonies (
    id_hash    CHAR(64)    NOT NULL PRIMARY KEY,
    kind       VARCHAR(16) NOT NULL,
    user_id    VARCHAR(64) NOT NULL,
    data       BYTEA       NOT NULL,
    created_at BIGINT      NOT NULL,
    expires_at BIGINT      NOT NULL,
    used       SMALLINT    NOT NULL DEFAULT 0
);

CREATE INDEX {{prefix}}passkey_ceremonies_expires_at_idx ON {{prefix}}passkey_ceremonies (expires_at);
