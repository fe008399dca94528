-- 0007_external_identities: accounts at external identity providers
-- (OpenID Connect issuers, GitHub) linked to users. An identity is its
-- (issuer, subject), unique; the email is for display only.

CREATE TABLE {{prefix}}external_identities (
    id         VARCHAR(64)  NOT NULL PRIMARY KEY,
    user_id    VARCHAR(64)  NOT NULL REFERENCES {{prefix}}users (id) ON DELETE CASCADE,
    issuer     VARCHAR(255) NOT NULL,
    subject    VARCHAR(255) NOT NULL,
    email      VARCHAR(320) NOT NULL DEFAULT '',
    created_at BIGINT       NOT NULL,
    CONSTRAINT {{prefix}}external_identities_issuer_subject_key UNIQUE (issuer, subject)
);

CREATE INDEX {{prefix}}external_identities_user_id_idx ON {{prefix}}external_identities (user_id);
