package auth

import (
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"time"
)

// verifyCacheShards splits the cache so that concurrent verifications
// rarely wait for one another's lock.
const verifyCacheShards = 16

// verifyCache remembers access tokens that verified, so that a client
// presenting the same token again (for up to AccessTokenTTL) costs a
// short SHA-256, a map lookup and a comparison instead of a JWT parse.
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
// An entry is found by the SHA-256 of the token's signature (its last
// segment) and holds the signed part (header and claims, before the last
// dot), which a hit compares byte for byte: a hit is the very token that
// verified, and hashing the short signature instead of the whole token
// halves the cost of a hit. It never holds a token: the signature, without
// which the signed part is no token, is kept only as its hash.
// Memory is bounded by its size: an entry is about 600 bytes (the key, the
// signed part, the claims and their strings, map overhead; 564 measured
// with 459-byte tokens), so a cache of 10,000 tokens holds about 6 MB.
// When a shard is full, its expired entries are dropped, and then an
// arbitrary eighth of it if none had expired. It is safe for concurrent
// use.
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
	signed string // the token before its last dot
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

// parse returns what k.verifyAccess(token) returns at the instant now of
// k's clock (read by the caller just before), from the cache when it can.
func (c *verifyCache) parse(k *tokens, token string, now time.Time) (*Claims, error) {
	dot := strings.LastIndexByte(token, '.')
	if dot < 0 {
		return k.verifyAccess(token) // not a JWT: never kept
	}
	signed := token[:dot]
	key := signatureKey(token[dot+1:])
	sh := &c.shards[key[0]%verifyCacheShards]
	sh.mu.Lock()
	e := sh.m[key]
	sh.mu.Unlock()
	if e != nil && e.signed != signed {
		// The signature of a token that verified, under other claims: a
		// forgery, which the full verification refuses. Keep the entry.
		return k.verifyAccess(token)
	}
	if e != nil {
		switch {
		case now.Before(e.from):
			// The clock went back: check iat and nbf again, in full.
		case !now.Before(e.until):
			return nil, ErrTokenExpired
		default:
			return e.copyClaims(), nil
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
	c.put(sh, key, &verifiedToken{signed: strings.Clone(signed), claims: kept, from: from, until: claims.ExpiresAt.Add(c.leeway)})
	return claims, nil
}

// ownClaims is a caller's copy of cached claims, with room for their AMR,
// so that a hit allocates once.
type ownClaims struct {
	claims Claims
	amr    [2]string
}

// copyClaims returns the caller's own copy of e's claims, AMR included.
func (e *verifiedToken) copyClaims() *Claims {
	o := &ownClaims{claims: e.claims}
	if amr := e.claims.AMR; amr != nil && len(amr) <= len(o.amr) {
		o.claims.AMR = o.amr[:copy(o.amr[:], amr):len(amr)]
	} else {
		o.claims.AMR = slices.Clone(amr)
	}
	return &o.claims
}

// signatureKey returns the SHA-256 of a token's signature segment. One of
// up to 512 bytes (an HS256 signature is 43, an RS256-4096 one 683) is
// hashed from a copy on the stack: converting the string to a slice would
// put its bytes on the heap on every call.
func signatureKey(sig string) [sha256.Size]byte {
	var buf [512]byte
	if len(sig) > len(buf) {
		return sha256.Sum256([]byte(sig))
	}
	return sha256.Sum256(buf[:copy(buf[:], sig)])
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
