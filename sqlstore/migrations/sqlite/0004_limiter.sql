-- 0004_limiter: the counters of auth.Limiter, so that several instances
-- sharing the database throttle together. A row per key, named by the
-- SHA-256 of the key; expires_at is when the row stops mattering, for
-- DeleteExpired.

CREATE TABLE {{prefix}}limiter_keys (
    key_hash     CHAR(64) NOT NULL PRIMARY KEY,
    window_start BIGINT   NOT NULL,
    hits         BIGINT   NOT NULL,
    wait_until   BIGINT   NOT NULL,
    expires_at   BIGINT   NOT NULL
) WITHOUT ROWID;

CREATE INDEX {{prefix}}limiter_keys_expires_at_idx ON {{prefix}}limiter_keys (expires_at);
