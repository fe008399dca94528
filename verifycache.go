package auth

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// verifyCacheShards splits the cache so that concurrent verifications
// rarely wait for one another's lock.
const verifyCacheShards = 16

// verifyCache remembers access tokens that verified, so that a client
// presenting the same token again (for up to AccessTokenTTL) costs a
// SHA-256 and a map lookup instead of a JWT parse.
//
// It gives exactly the answers of a full verification, at every instant:
//   - A token's signature, kind, issuer, audience and claims are properties
//     of its bytes and of keys that are fixed once [New] returns, so a token
//     that passed them once passes them again.
//   - What depends on the clock is checked on every call. exp: a hit at or
//     after exp plus the leeway is [ErrTokenExpired], as the parser would
//     say of a genuine token. iat and nbf: a hit at an instant earlier than
//     the one at which the token was verified (a clock reading just after
//     the parse; a clock set back) is verified again in full; at that
//     instant or later, iat and nbf still pass.
//   - Only accepted tokens are kept; refused ones are verified in full every
//     time. The session check (and the session cache) is applied after it
//     as before, so revocations are as immediate as without this cache.
//   - Each call gets its own copy of the claims.
//
// It is keyed by the SHA-256 of the token, so it never holds a token.
// Memory is bounded by its size: an entry is about 400 bytes (the key, the
// claims and their strings, map overhead), so a cache of 10,000 tokens
// holds about 4 MB. When a shard is full, its expired entries
// are dropped, and then an arbitrary eighth of it if none had expired. It
// is safe for concurrent use.
type verifyCache struct {
	leeway   time.Duration
	perShard int
	shards   [verifyCacheShards]verifyShard
}

type verifyShard struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*verifiedToken
}

type verifiedToken struct {
	claims Claims
	from   time.Time // when it was verified: iat and nbf hold from then on
	until  time.Time // exp plus the leeway: expired from then on
}

func newVerifyCache(size int, leeway time.Duration) *verifyCache {
	c := &verifyCache{leeway: leeway, perShard: max(1, (size+verifyCacheShards-1)/verifyCacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[sha256.Size]byte]*verifiedToken)
	}
	return c
}

// parse returns what k.verifyAccess(token) returns at this instant of k's
// clock, from the cache when it can.
func (c *verifyCache) parse(k *tokens, token string) (*Claims, error) {
	key := sha256.Sum256([]byte(token))
	sh := &c.shards[key[0]%verifyCacheShards]
	sh.mu.Lock()
	e := sh.m[key]
	sh.mu.Unlock()
	if e != nil {
		now := k.now()
		switch {
		case now.Before(e.from):
			// The clock went back: check iat and nbf again, in full.
		case !now.Before(e.until):
			return nil, ErrTokenExpired
		default:
			claims := e.claims
			claims.AMR = slices.Clone(claims.AMR) // the caller's own copy
			return &claims, nil
		}
	}
	claims, err := k.verifyAccess(token)
	if err != nil || e != nil {
		return claims, err
	}
	// iat and nbf held at the instant the parser read the clock, and go on
	// holding at any later instant. With a clock that only moves forward,
	// this reading is at or after the parser's; were it set back in
	// between, a later hit before the parser's instant could wrongly pass
	// iat or nbf, by at most that step back.
	from := k.now()
	kept := *claims
	kept.AMR = slices.Clone(claims.AMR) // not shared with the caller
	c.put(sh, key, &verifiedToken{claims: kept, from: from, until: claims.ExpiresAt.Add(c.leeway)})
	return claims, nil
}

// put adds e to shard sh under key, making room first if sh is full.
func (c *verifyCache) put(sh *verifyShard, key [sha256.Size]byte, e *verifiedToken) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.m) >= c.perShard {
		for k, old := range sh.m {
			if !e.from.Before(old.until) {
				delete(sh.m, k)
			}
		}
		for k := range sh.m {
			if len(sh.m) < c.perShard-c.perShard/8 {
				break
			}
			delete(sh.m, k)
		}
	}
	sh.m[key] = e
}
