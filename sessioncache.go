package auth

import (
	"sync"
	"time"
)

// maxSessionCacheTTL caps Config.SessionCacheTTL: the cache trades exactly
// this much logout latency on other instances for fewer store reads.
const maxSessionCacheTTL = time.Minute

// sessionCacheSize bounds how many sessions the cache holds.
const sessionCacheSize = 100_000

// sessionCache remembers, for a short while, that a session was live, so
// that Verify need not read the TokenStore on every request. Only live
// sessions are cached; revocations made through this Authenticator evict
// their entry at once. It is safe for concurrent use.
type sessionCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedSession
}

type cachedSession struct {
	userID    string
	expiresAt time.Time // the session's own end
	until     time.Time // when this entry stops being trusted
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, m: make(map[string]cachedSession)}
}

// live reports whether the cache vouches that session id of userID is live
// at now.
func (c *sessionCache) live(id, userID string, now time.Time) bool {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	return ok && e.userID == userID && now.Before(e.until) && now.Before(e.expiresAt)
}

// put records that s was found live at now.
func (c *sessionCache) put(s *Session, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= sessionCacheSize {
		for id, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, id)
			}
		}
		// Still full of fresh entries: forget an arbitrary tenth.
		for id := range c.m {
			if len(c.m) < sessionCacheSize*9/10 {
				break
			}
			delete(c.m, id)
		}
	}
	c.m[s.ID] = cachedSession{userID: s.UserID, expiresAt: s.ExpiresAt, until: now.Add(c.ttl)}
}

// forget evicts session id.
func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// forgetUser evicts every session of userID except the one whose id is
// except.
func (c *sessionCache) forgetUser(userID, except string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.m {
		if e.userID == userID && id != except {
			delete(c.m, id)
		}
	}
}
