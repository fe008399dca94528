package auth

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/jose"
)

// Token kinds, carried in the JWT "typ" header. A token of one kind is never
// accepted where the other is expected; the two kinds are also signed with
// different keys.
const (
	accessTokenType  = jose.AccessTokenType
	refreshTokenType = "rt+jwt"
)

// hsAccessHeader is the encoded header segment, and its dot, of every
// HS256 access token the library issues: {"alg":"HS256","typ":"at+jwt"}
// (encoding/json writes map keys sorted).
var hsAccessHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "."

// hsRefreshHeader is the same of every refresh token.
var hsRefreshHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"rt+jwt"}`)) + "."

// MaxTokenLength is the longest token, in bytes, that is parsed at all.
// Longer input is rejected as [ErrInvalidToken] before any decoding, so a
// huge header cannot make verification allocate in proportion to it.
const MaxTokenLength = 4096

// Claims are the verified claims of an access token. Verification fills
// them only from a token whose signature, kind, issuer, audience and
// lifetime have all been checked.
type Claims struct {
	// UserID is the user the token was issued to (the "sub" claim).
	UserID string
	// SessionID is the session the token belongs to (the "sid" claim).
	SessionID string
	// OrganizationID is the user's organization (the "org" claim).
	OrganizationID string
	// Role is the user's role in the organization (the "role" claim).
	Role string
	// TokenID is the token's unique id (the "jti" claim).
	TokenID string
	// IssuedAt is when the token was issued.
	IssuedAt time.Time
	// ExpiresAt is when the token stops being accepted (less the configured
	// leeway).
	ExpiresAt time.Time
	// AMR lists the authentication methods of the session's login (the
	// "amr" claim, RFC 8176): ["pwd"], or ["pwd","otp"] after a second
	// factor.
	AMR []string
	// AAL is the session's authenticator assurance level (the "aal"
	// claim): 1 for a password alone, 2 with a second factor.
	AAL int
}

// refreshClaims is the JWT payload of a refresh token. SessionExpiresAt
// carries the session's absolute end so that a successor never outlives it.
type refreshClaims struct {
	jose.RegisteredClaims
	SessionID        string            `json:"sid"`
	SessionExpiresAt *jose.NumericDate `json:"sxp"`
	// AMR and AAL are the session's assurance, carried so that a refresh
	// re-issues them without reading the session.
	AMR string `json:"amr,omitempty"`
	AAL int    `json:"aal,omitempty"`
}

// SetClaim implements jose.ClaimSetter, for the fast decoding of the
// library's own refresh tokens.
func (c *refreshClaims) SetClaim(key string, v jose.ClaimValue) bool {
	switch key {
	case "sid":
		c.SessionID = v.Str
		return v.IsStr
	case "sxp":
		if !v.IsNum {
			return false
		}
		c.SessionExpiresAt = jose.NewDate(time.Unix(v.Num, 0))
		return true
	case "amr":
		c.AMR = v.Str
		return v.IsStr
	case "aal":
		c.AAL = int(v.Num)
		return v.IsNum
	}
	return c.SetRegistered(key, v)
}

// ResetClaims implements jose.ClaimSetter.
func (c *refreshClaims) ResetClaims() { *c = refreshClaims{} }

// AppendClaims implements jose.ClaimAppender, for the fast encoding of
// refresh tokens: the members in the order and with the omissions of the
// struct's tags.
func (c *refreshClaims) AppendClaims(w *jose.ClaimWriter) {
	c.AppendRegistered(w)
	w.String("sid", c.SessionID, false)
	w.Date("sxp", c.SessionExpiresAt, false)
	w.String("amr", c.AMR, true)
	w.Int("aal", int64(c.AAL), true)
}

// tokens signs and verifies both kinds of token. It is immutable after
// construction and safe for concurrent use.
//
// Access tokens are signed with Config.Secret (HS256, no kid) by default,
// or with Config.Keys.SigningKey (EdDSA, ES256 or RS256, with the key's kid).
// Refresh tokens are always HS256 with a key derived from the secret: they
// never leave the auth service, so nothing gains from making them
// asymmetric.
type tokens struct {
	refreshKey []byte
	issuer     string
	audience   string
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time

	// accessMethod, accessKey and accessKid sign access tokens: HS256 with
	// the secret and no kid, or the SigningKey's algorithm, key and kid.
	accessMethod jwt.SigningMethod
	accessKey    any
	accessKid    string

	// hsParser and hsKeyFunc verify HS256 access tokens, those without a
	// kid; both are nil when a SigningKey signs access tokens.
	hsParser  *jwt.Parser
	hsKeyFunc jwt.Keyfunc
	// hsFast verifies the HS256 access tokens that start with
	// hsAccessHeader (all that this package signs) as hsParser would,
	// without decoding the constant header; nil with hsParser.
	hsFast *jose.HS256
	// byKid holds the public keys that access tokens may be signed with:
	// the SigningKey's and the VerifyKeys. It is nil when there are none,
	// and then the header is not scanned for a kid at all.
	byKid map[string]*jose.PublicKey
	// jwks is the JSON of the public keys' JWK Set, served by JWKSHandler.
	jwks []byte

	refreshParser *jwt.Parser
	refreshKeyFn  jwt.Keyfunc
	// refreshFast verifies the refresh tokens that start with
	// hsRefreshHeader (all that this package signs) as refreshParser would.
	refreshFast *jose.HS256

	// verified is the verify cache; nil unless Config.Sessions.VerifyCacheSize is
	// positive.
	verified *verifyCache
}

func newTokens(c *Config) (*tokens, error) {
	// The refresh key is derived apart from the secret: a refresh token can
	// never verify as an access token, even if its typ header were ignored.
	refreshKey, err := hkdf.Key(sha256.New, c.Secret, nil, "github.com/ingestiq/auth refresh-token key v1", 32)
	if err != nil {
		return nil, err
	}
	t := &tokens{
		refreshKey: refreshKey,
		issuer:     c.Issuer,
		audience:   c.Audience,
		accessTTL:  c.AccessTokenTTL,
		refreshTTL: c.RefreshTokenTTL,
		now:        c.Now,
	}
	parser := func(alg string) *jwt.Parser {
		return jose.NewParser(alg, c.Issuer, c.Audience, c.Sessions.Leeway, c.Now)
	}
	t.refreshParser = parser(jwt.SigningMethodHS256.Alg())
	t.refreshKeyFn = keyFor(refreshTokenType, t.refreshKey, false)
	t.refreshFast = jose.NewHS256(hsRefreshHeader, t.refreshKey, c.Issuer, c.Audience, c.Sessions.Leeway, c.Now)

	// keys are the public keys access tokens may be signed with, each with
	// its one algorithm.
	type methodKey struct {
		method jwt.SigningMethod
		key    crypto.PublicKey
	}
	var keys []methodKey
	if c.Keys.SigningKey == nil {
		// The access key is the secret itself, so services that share the
		// secret can verify access tokens with any JWT library.
		t.accessMethod, t.accessKey = jwt.SigningMethodHS256, c.Secret
		t.hsParser = parser(jwt.SigningMethodHS256.Alg())
		// With public keys beside it, a token with a kid is theirs: the
		// secret verifies only tokens without one.
		t.hsKeyFunc = keyFor(accessTokenType, c.Secret, len(c.Keys.VerifyKeys) > 0)
		t.hsFast = jose.NewHS256(hsAccessHeader, c.Secret, c.Issuer, c.Audience, c.Sessions.Leeway, c.Now)
	} else {
		sk, err := newSigningKey(c.Keys.SigningKey)
		if err != nil {
			return nil, err
		}
		t.accessMethod, t.accessKey, t.accessKid = sk.method, sk.key, sk.kid
		keys = append(keys, methodKey{sk.method, sk.pub})
	}
	for i, pub := range c.Keys.VerifyKeys {
		m, err := signingMethod(pub)
		if err != nil {
			return nil, fmt.Errorf("auth: Config.Keys.VerifyKeys[%d]: %w", i, err)
		}
		keys = append(keys, methodKey{m, pub})
	}

	parsers := map[string]*jwt.Parser{}
	set := struct {
		Keys []*jwk `json:"keys"`
	}{Keys: []*jwk{}}
	for _, k := range keys {
		kid, j, err := jwkOf(k.key, k.method)
		if err != nil {
			return nil, fmt.Errorf("auth: public key: %w", err)
		}
		if t.byKid == nil {
			t.byKid = make(map[string]*jose.PublicKey, len(keys))
		}
		if _, dup := t.byKid[kid]; dup {
			continue // the same key listed twice: its kid is its thumbprint
		}
		alg := k.method.Alg()
		if parsers[alg] == nil {
			parsers[alg] = parser(alg)
		}
		t.byKid[kid] = jose.NewPublicKey(kid, k.method, k.key, parsers[alg])
		set.Keys = append(set.Keys, j)
	}
	if t.jwks, err = json.Marshal(set); err != nil {
		return nil, err
	}
	if c.Sessions.VerifyCacheSize > 0 {
		t.verified = newVerifyCache(c.Sessions.VerifyCacheSize, c.Sessions.Leeway)
	}
	return t, nil
}

// keyFor returns a key function that hands out key only for tokens whose
// typ header is typ and that name no key of their own (and, with noKid, no
// kid either). The algorithm is pinned by the parser, never read from the
// token.
func keyFor(typ string, key []byte, noKid bool) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if err := jose.CheckHeader(t, typ); err != nil {
			return nil, err
		}
		if _, ok := t.Header["kid"]; ok && noKid {
			return nil, jose.ErrWrongKey
		}
		return key, nil
	}
}

// newID returns n random bytes, base64url-encoded.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashTokenID returns the hex SHA-256 of a refresh token's id: the only form
// in which a store ever sees it.
func hashTokenID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// signAccess signs access-token claims: with the secret through hsFast
// (the bytes golang-jwt would give), or with the SigningKey.
func (k *tokens) signAccess(c *jose.AccessClaims) (string, error) {
	if k.accessKid == "" && k.hsFast != nil {
		return k.hsFast.Sign(c)
	}
	return sign(accessTokenType, k.accessMethod, k.accessKey, k.accessKid, c)
}

// sign signs claims as a token of kind typ with the given algorithm and
// key, naming the key by kid unless kid is empty.
func sign(typ string, m jwt.SigningMethod, key any, kid string, claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(m, claims)
	t.Header["typ"] = typ
	if kid != "" {
		t.Header["kid"] = kid
	}
	return t.SignedString(key)
}

// issueAccess signs an access token for the user in the given session. Its
// lifetime never reaches past the session's end.
func (k *tokens) issueAccess(u *User, s *Session, now time.Time) (string, error) {
	exp := now.Add(k.accessTTL)
	if s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	return k.signAccess(&jose.AccessClaims{
		RegisteredClaims: jose.RegisteredClaims{
			Issuer:    k.issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{k.audience},
			ExpiresAt: jose.NewDate(exp),
			IssuedAt:  jose.NewDate(now),
			ID:        newID(16),
		},
		SessionID:      s.ID,
		OrganizationID: u.OrganizationID,
		Role:           u.Role,
		AMR:            sessionAMR(s),
		AAL:            max(s.AAL, 1),
	})
}

// successorLabel separates the successor derivation from every other use
// of the refresh key: it holds a NUL and a space, which no JWT signing
// input (two base64url segments and a dot) does.
const successorLabel = "github.com/ingestiq/auth refresh successor v1\x00"

// successorID returns the id of the refresh token that replaces the one
// with the given id: HMAC-SHA256 of the id under the refresh key,
// base64url-encoded. Every process that knows the key derives the same
// successor for a token, so a retry within the reuse window can be handed
// the very token it missed without any token being stored; without the key
// the successor of a token cannot be guessed from it.
func (k *tokens) successorID(id string) string {
	m := hmac.New(sha256.New, k.refreshKey)
	m.Write([]byte(successorLabel))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// successor returns the id and the record of the successor of the refresh
// token whose claims are c, issued at now; the id is the one successorID
// derives. Nothing is signed yet: see signRefresh.
func (k *tokens) successor(c *refreshClaims, now time.Time) (string, *RefreshToken) {
	exp := now.Add(k.refreshTTL)
	if sxp := c.SessionExpiresAt.Time; sxp.Before(exp) {
		exp = sxp
	}
	id := k.successorID(c.ID)
	return id, &RefreshToken{
		IDHash:    hashTokenID(id),
		SessionID: c.SessionID,
		UserID:    c.Subject,
		CreatedAt: now.UTC(),
		ExpiresAt: exp.UTC(),
	}
}

// signRefresh signs, at now, the refresh token with the given id whose
// record is rec, for the session whose claims c carries: its expiry is the
// record's, so a token signed again for a stored record (a replay in the
// reuse window) refreshes exactly that record; only its iat differs.
func (k *tokens) signRefresh(id string, c *refreshClaims, rec *RefreshToken, now time.Time) (string, error) {
	return k.refreshFast.Sign(&refreshClaims{
		RegisteredClaims: jose.RegisteredClaims{
			Issuer:    k.issuer,
			Subject:   rec.UserID,
			Audience:  jwt.ClaimStrings{k.audience},
			ExpiresAt: jose.NewDate(rec.ExpiresAt),
			IssuedAt:  jose.NewDate(now),
			ID:        id,
		},
		SessionID:        rec.SessionID,
		SessionExpiresAt: c.SessionExpiresAt,
		AMR:              c.AMR,
		AAL:              c.AAL,
	})
}

// issueRefresh signs a refresh token of the session and returns it with
// the record the store keeps of it (the hash of its id, never the token).
func (k *tokens) issueRefresh(s *Session, now time.Time) (string, *RefreshToken, error) {
	userID, sessionID, sessionExp := s.UserID, s.ID, s.ExpiresAt
	id := newID(32)
	exp := now.Add(k.refreshTTL)
	if sessionExp.Before(exp) {
		exp = sessionExp
	}
	tok, err := k.refreshFast.Sign(&refreshClaims{
		RegisteredClaims: jose.RegisteredClaims{
			Issuer:    k.issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{k.audience},
			ExpiresAt: jose.NewDate(exp),
			IssuedAt:  jose.NewDate(now),
			ID:        id,
		},
		SessionID:        sessionID,
		SessionExpiresAt: jose.NewDate(sessionExp),
		AMR:              s.AMR,
		AAL:              s.AAL,
	})
	if err != nil {
		return "", nil, err
	}
	rec := &RefreshToken{
		IDHash:    hashTokenID(id),
		SessionID: sessionID,
		UserID:    userID,
		CreatedAt: now.UTC(),
		ExpiresAt: exp.UTC(),
	}
	return tok, rec, nil
}

// parseAccess verifies an access token and returns its claims. It returns
// [ErrTokenExpired] only for a token that is genuine but expired, and
// [ErrInvalidToken] for anything else. With a verify cache, tokens that
// may be genuine go through it; it gives the answers of verifyAccess.
func (k *tokens) parseAccess(token string, now time.Time) (*Claims, error) {
	if k.verified != nil && len(token) <= MaxTokenLength && (k.byKid != nil || strings.HasPrefix(token, hsAccessHeader)) {
		return k.verified.parse(k, token, now)
	}
	return k.verifyAccess(token)
}

// verifyAccess is parseAccess without the verify cache.
func (k *tokens) verifyAccess(token string) (*Claims, error) {
	if len(token) == 0 || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	p, keyFunc := k.hsParser, k.hsKeyFunc
	if k.byKid == nil && !strings.HasPrefix(token, hsAccessHeader) {
		// With HS256 alone every genuine access token starts with this exact
		// header segment: anything else is refused before any decoding.
		return nil, ErrInvalidToken
	}
	if k.byKid != nil {
		var buf [jose.MaxHeaderBytes]byte
		kid, found, ok := jose.HeaderKid(token, &buf)
		switch {
		case !ok:
			return nil, ErrInvalidToken
		case found:
			// The kid alone picks the key, and with it the one algorithm
			// and parser; an unknown kid is an invalid token.
			pk := k.byKid[string(kid)]
			if pk == nil {
				return nil, ErrInvalidToken
			}
			return verified(pk.Verify(token))
		case p == nil:
			return nil, ErrInvalidToken // no kid, and no HS256 key to try
		}
	}
	if k.hsFast != nil && strings.HasPrefix(token, hsAccessHeader) {
		return verified(k.hsFast.ParseAccess(token))
	}
	return verified(jose.ParseAccess(p, keyFunc, token))
}

// verified returns the outcome of an access token's verification by
// package jose in the contract's terms. jose.Claims has the fields of
// Claims, so the one pointer converts to the other.
func verified(c *jose.Claims, f jose.Fault) (*Claims, error) {
	if f != jose.OK {
		return nil, faultErrors[f]
	}
	return (*Claims)(c), nil
}

// faultErrors maps package jose's refusals to the contract's errors; the
// entry of jose.OK is nil.
var faultErrors = [...]error{
	jose.Invalid: ErrInvalidToken,
	jose.Expired: ErrTokenExpired,
	jose.NoToken: ErrUnauthorized,
}

// parseRefresh verifies a refresh token, with the same error rules as
// parseAccess; like an access token, it must carry iat.
func (k *tokens) parseRefresh(token string) (*refreshClaims, error) {
	if len(token) == 0 || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	var c refreshClaims
	if strings.HasPrefix(token, hsRefreshHeader) {
		if f := k.refreshFast.Verify(token, &c); f != jose.OK {
			return nil, faultErrors[f]
		}
	} else if _, err := k.refreshParser.ParseWithClaims(token, &c, k.refreshKeyFn); err != nil {
		return nil, faultErrors[jose.Classify(err)]
	}
	if c.Subject == "" || c.SessionID == "" || c.ID == "" || c.SessionExpiresAt == nil || c.IssuedAt == nil {
		return nil, ErrInvalidToken
	}
	return &c, nil
}
