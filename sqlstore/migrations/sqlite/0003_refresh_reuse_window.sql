-- 0003_refresh_reuse_window: each spent refresh token records the hash of
-- the token that replaced it, so that a retry within the reuse window can be
-- handed the same successor. Tokens spent before this migration have none:
-- presenting them again is reuse, as it was. DDL is transactional.

ALTER TABLE {{prefix}}refresh_tokens ADD COLUMN successor_hash CHAR(64);
