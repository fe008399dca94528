package auth

import (
	"sync"
	"time"
)

// sessionCacheSize bounds how many sessions the cache holds.
const sessionCacheSize = 100_000

// maxRevocationMarks bounds how many revocations the cache remembers to
// refuse stale puts; past it, every read begun before is refused instead.
const maxRevocationMarks = sessionCacheSize / 10

// sessionCache remembers, for a short while, that a session was live, so
// that Verify need not read the TokenStore on every request. Only live
// sessions are cached; revocations made through this Authenticator evict
// their entry at once. It is safe for concurrent use.
//
// Eviction wins over a concurrent fill: a verification takes a generation
// with begin before it reads the session from the store, and put refuses
// the session when a revocation of it (or of its user) was recorded after
// that generation, so a read that raced a logout cannot put the session
// back.
type sessionCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedSession
	// gen counts revocations; revoked maps "s"+session id and "u"+user id
	// to the generation of their latest revocation. A put of a read begun
	// before floor is refused outright (revoked was cleared then).
	gen, floor uint64
	revoked    map[string]uint64
}

type cachedSession struct {
	userID    string
	orgID     string    // the session's active organization
	expiresAt time.Time // the session's own end
	until     time.Time // when this entry stops being trusted
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, m: make(map[string]cachedSession), revoked: make(map[string]uint64)}
}

// live reports whether the cache vouches that session id of userID is live
// at now, in the organization orgID.
func (c *sessionCache) live(id, userID, orgID string, now time.Time) bool {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	return ok && e.userID == userID && (e.orgID == "" || e.orgID == orgID) && now.Before(e.until) && now.Before(e.expiresAt)
}

// begin returns the generation to pass to put for a store read that starts
// now.
func (c *sessionCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put records that s was found live at now by a store read begun at
// generation gen, unless s or its user has been revoked since.
func (c *sessionCache) put(s *Session, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.floor || c.revoked["s"+s.ID] > gen || c.revoked["u"+s.UserID] > gen {
		return
	}
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
	c.m[s.ID] = cachedSession{userID: s.UserID, orgID: s.OrganizationID, expiresAt: s.ExpiresAt, until: now.Add(c.ttl)}
}

// markRevoked records a revocation under key, at a new generation. The
// caller holds c.mu.
func (c *sessionCache) markRevoked(key string) {
	c.gen++
	if len(c.revoked) >= maxRevocationMarks {
		clear(c.revoked)
		c.floor = c.gen
	}
	c.revoked[key] = c.gen
}

// forget evicts session id, and keeps a read begun before from putting it
// back.
func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	c.markRevoked("s" + id)
	delete(c.m, id)
	c.mu.Unlock()
}

// forgetUser evicts every session of userID except the one whose id is
// except, and keeps reads begun before from putting any session of the
// user back (except's included, which costs only a store read).
func (c *sessionCache) forgetUser(userID, except string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markRevoked("u" + userID)
	for id, e := range c.m {
		if e.userID == userID && id != except {
			delete(c.m, id)
		}
	}
}
