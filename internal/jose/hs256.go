package jose

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// HS256 verifies the library's own HS256 tokens, whose header
// segment is always the same bytes, without decoding that header: the
// costly part of a general JWT parse that tells nothing about a token whose
// first segment is a known constant. Everything else is as [ParseAccess]
// with a parser of [NewParser] does it: the same strict base64 decoding,
// the same claims type decoded as encoding/json does (DecodeClaims), golang-jwt's own
// [jwt.Validator] with the same options, and the same refusals. The fuzz
// test FuzzHS256MatchesParser holds the two to the same answer for every
// token and instant.
//
// It is safe for concurrent use.
type HS256 struct {
	prefix    string // the header segment and its dot
	validator *jwt.Validator
	macs      sync.Pool // of hash.Hash, HMAC-SHA-256 under the key
}

// NewHS256 returns a verifier of tokens whose header segment, with its
// dot, is exactly prefix, signed with HMAC-SHA-256 under key, with the
// claim checks of [NewParser](HS256, issuer, audience, leeway, now). The
// caller vouches that golang-jwt's parser with the access-token key
// function accepts that header (alg HS256, typ at+jwt, nothing else).
func NewHS256(prefix string, key []byte, issuer, audience string, leeway time.Duration, now func() time.Time) *HS256 {
	key = append([]byte(nil), key...)
	h := &HS256{
		prefix: prefix,
		validator: jwt.NewValidator(
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
		),
	}
	h.macs.New = func() any { return hmac.New(sha256.New, key) }
	return h
}

// strict is the segment encoding of [NewParser]'s jwt.WithStrictDecoding.
var strict = base64.RawURLEncoding.Strict()

// ParseAccess verifies token, which must start with the prefix, and
// returns its claims or why it was refused, exactly as ParseAccess would.
func (h *HS256) ParseAccess(token string) (*Claims, Fault) {
	var c AccessClaims
	if f := h.Verify(token, &c); f != OK {
		return nil, f
	}
	return c.claims()
}

// Verify verifies token, which must start with the prefix, decoding its
// payload into claims (a pointer to a struct), and returns the Fault that
// [Classify] gives for the error of golang-jwt's ParseWithClaims with the
// same claims, or OK.
func (h *HS256) Verify(token string, claims jwt.Claims) Fault {
	rest, ok := strings.CutPrefix(token, h.prefix)
	if !ok {
		return Invalid
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return Invalid // not three segments
	}
	claimBytes, err := strict.DecodeString(payload)
	if err != nil {
		return Invalid
	}
	if err := DecodeClaims(claimBytes, claims); err != nil {
		return Invalid
	}
	// DecodeString, as golang-jwt: it skips line breaks in the segment.
	got, err := strict.DecodeString(sig)
	if err != nil {
		return Invalid
	}
	m := h.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(token[:len(h.prefix)+len(payload)]))
	var want [sha256.Size]byte
	good := hmac.Equal(m.Sum(want[:0]), got)
	h.macs.Put(m)
	if !good {
		return Invalid
	}
	if err := h.validator.Validate(claims); err != nil {
		return Classify(err)
	}
	return OK
}

// Sign returns the token of claims: the prefix, the unpadded base64url of
// their JSON, and the HMAC-SHA-256 of both, exactly the bytes that
// golang-jwt's SignedString gives for the header the prefix encodes.
func (h *HS256) Sign(claims jwt.Claims) (string, error) {
	payload, err := EncodeClaims(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	n := len(h.prefix) + enc.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+enc.EncodedLen(sha256.Size))
	copy(buf, h.prefix)
	enc.Encode(buf[len(h.prefix):], payload)
	m := h.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(buf)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	h.macs.Put(m)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sum[:])
	return string(buf), nil
}
