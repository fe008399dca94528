-- 0007_external_identities: accounts at external identity providers
-- (OpenID Connect issuers, GitHub) linked to users. An identity is its
-- (issuer, subject), unique and compared byte for byte (utf8mb4_bin); the
-- email is for display only. Created IF NOT EXISTS, so that a rerun after
-- an interruption completes it.

CREATE TABLE IF NOT EXISTS {{prefix}}external_identities (
    id         VARCHAR(64)  NOT NULL,
    user_id    VARCHAR(64)  NOT NULL,
    issuer     VARCHAR(255) NOT NULL,
    subject    VARCHAR(255) NOT NULL,
    email      VARCHAR(320) NOT NULL DEFAULT '',
    created_at BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY {{prefix}}external_identities_issuer_subject_key (issuer, subject),
    KEY {{prefix}}external_identities_user_id_idx (user_id),
    CONSTRAINT {{prefix}}external_identities_user_id_fk FOREIGN KEY (user_id)
        REFERENCES {{prefix}}users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
