-- 0004_limiter: the counters of auth.Limiter, so that several instances
-- sharing the database throttle together. A row per key, named by the
-- SHA-256 of the key; expires_at is when the row stops mattering, for
-- DeleteExpired. IF NOT EXISTS: MySQL DDL is not transactional, so a
-- migration cut short is applied again.

CREATE TABLE IF NOT EXISTS {{prefix}}limiter_keys (
    key_hash     CHAR(64) NOT NULL,
    window_start BIGINT   NOT NULL,
    hits         BIGINT   NOT NULL,
    wait_until   BIGINT   NOT NULL,
    expires_at   BIGINT   NOT NULL,
    PRIMARY KEY (key_hash),
    INDEX {{prefix}}limiter_keys_expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
