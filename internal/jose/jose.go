// Package jose holds the access-token rules that package auth and package
// verifier both apply: the strict claims types, the parser options, the
// header checks, the mapping of golang-jwt's errors, the allocation-free
// scan for a token's kid and the bearer-header grammar.
//
// It cannot import package auth, which imports it, so it reports refusals
// as a [Fault] that each caller maps to the contract's errors
// (auth.ErrInvalidToken, auth.ErrTokenExpired, auth.ErrUnauthorized), and
// its [Claims] has exactly the fields of auth.Claims, so that one converts
// to the other.
package jose

import (
	"crypto"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenType is the typ header of access tokens.
const AccessTokenType = "at+jwt"

// Limits on RSA keys. Below 2048 bits RSA is too weak (NIST SP 800-57);
// above 8192 bits verification gets slow enough to be a lever for denial of
// service, and no deployment needs it.
const (
	MinRSABits = 2048
	MaxRSABits = 8192
)

// Fault is why a token, or the Authorization header meant to carry one,
// was refused. The zero value, OK, is no fault.
type Fault uint8

const (
	// OK means the token was accepted.
	OK Fault = iota
	// Invalid is auth.ErrInvalidToken: malformed, forged, of the wrong
	// kind, for another issuer or audience, or missing a claim.
	Invalid
	// Expired is auth.ErrTokenExpired: a genuine token whose lifetime
	// has passed, and nothing else wrong with it.
	Expired
	// NoToken is auth.ErrUnauthorized: the request carries no bearer
	// token at all.
	NoToken
)

// Classify maps an error of golang-jwt's parser to a Fault. golang-jwt
// checks the signature before any claim, so an expiry error implies a
// genuine token; Expired is still given only when expiry is the sole
// complaint.
func Classify(err error) Fault {
	if errors.Is(err, jwt.ErrTokenExpired) &&
		!errors.Is(err, jwt.ErrTokenSignatureInvalid) &&
		!errors.Is(err, jwt.ErrTokenUnverifiable) &&
		!errors.Is(err, jwt.ErrTokenMalformed) &&
		!errors.Is(err, jwt.ErrTokenInvalidIssuer) &&
		!errors.Is(err, jwt.ErrTokenInvalidAudience) &&
		!errors.Is(err, jwt.ErrTokenNotValidYet) &&
		!errors.Is(err, jwt.ErrTokenUsedBeforeIssued) &&
		!errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		return Expired
	}
	return Invalid
}

// NewParser returns a parser that accepts the algorithm alg alone,
// requires exp, checks iss and aud against issuer and audience and the time
// claims (iat when present) with leeway on the clock now, and decodes the
// base64 segments strictly. It does not require iat (ParseAccess and the
// refresh-token parser refuse a token without it) and ignores payload
// members it does not know.
func NewParser(alg, issuer, audience string, leeway time.Duration, now func() time.Time) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
}

// Claims are the verified claims of an access token. Its fields are those
// of auth.Claims, in the same order and of the same types, so that a
// *Claims converts to an *auth.Claims; the conversions in both packages
// stop compiling should the two ever differ.
type Claims struct {
	UserID         string
	SessionID      string
	OrganizationID string
	Role           string
	TokenID        string
	IssuedAt       time.Time
	ExpiresAt      time.Time
	AMR            []string
	AAL            int
}

// RegisteredClaims are the registered JWT claims the library uses. It
// stands in for jwt.RegisteredClaims to decode the time claims strictly:
// golang-jwt accepts a numeric string such as "exp":"9999999999", which no
// token of the library carries.
type RegisteredClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt *NumericDate     `json:"exp,omitempty"`
	NotBefore *NumericDate     `json:"nbf,omitempty"`
	IssuedAt  *NumericDate     `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
}

// GetExpirationTime implements [jwt.Claims].
func (c *RegisteredClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return c.ExpiresAt.get(), nil
}

// GetIssuedAt implements [jwt.Claims].
func (c *RegisteredClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt.get(), nil }

// GetNotBefore implements [jwt.Claims].
func (c *RegisteredClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.get(), nil }

// GetIssuer implements [jwt.Claims].
func (c *RegisteredClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements [jwt.Claims].
func (c *RegisteredClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements [jwt.Claims].
func (c *RegisteredClaims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// NumericDate is a JWT NumericDate that must be a JSON number.
type NumericDate struct{ jwt.NumericDate }

// NewDate returns t as a NumericDate.
func NewDate(t time.Time) *NumericDate { return &NumericDate{*jwt.NewNumericDate(t)} }

var errNotNumber = errors.New("jose: time claim is not a number")

// UnmarshalJSON accepts only a JSON number, and converts it as
// jwt.NumericDate does (seconds as a float64, split into whole seconds and
// nanoseconds, at jwt.TimePrecision), without decoding the literal a second
// time: encoding/json hands over a JSON value already checked, so one that
// starts with '-' or a digit is a number literal.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumber
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("jose: time claim: %w", err)
	}
	whole, frac := math.Modf(f)
	d.NumericDate = *jwt.NewNumericDate(time.Unix(int64(whole), int64(frac*1e9)))
	return nil
}

func (d *NumericDate) get() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// AccessClaims is the JWT payload of an access token.
type AccessClaims struct {
	RegisteredClaims
	SessionID      string   `json:"sid"`
	OrganizationID string   `json:"org,omitempty"`
	Role           string   `json:"role,omitempty"`
	AMR            []string `json:"amr,omitempty"`
	AAL            int      `json:"aal,omitempty"`
}

// ParseAccess verifies an access token with the parser p and the key
// function keyFunc, and returns its claims or why it was refused: Expired
// only for a genuine token whose lifetime alone has passed, Invalid for
// anything else, including a token without the claims every access token
// carries.
func ParseAccess(p *jwt.Parser, keyFunc jwt.Keyfunc, token string) (*Claims, Fault) {
	var c AccessClaims
	if _, err := p.ParseWithClaims(token, &c, keyFunc); err != nil {
		return nil, Classify(err)
	}
	return c.claims()
}

// claims returns the verified claims of c, or Invalid when it lacks one
// that every access token carries.
func (c *AccessClaims) claims() (*Claims, Fault) {
	if c.Subject == "" || c.SessionID == "" || c.ID == "" || c.IssuedAt == nil {
		return nil, Invalid
	}
	return &Claims{
		UserID:         c.Subject,
		SessionID:      c.SessionID,
		OrganizationID: c.OrganizationID,
		Role:           c.Role,
		TokenID:        c.ID,
		IssuedAt:       c.IssuedAt.Time,
		ExpiresAt:      c.ExpiresAt.Time,
		AMR:            c.AMR,
		AAL:            max(c.AAL, 1), // tokens issued before assurance levels: a password
	}, OK
}

var (
	// ErrWrongKind is a key function's refusal of a token whose typ is
	// not the one expected, or that carries a key, a key's address or
	// critical extensions of its own.
	ErrWrongKind = errors.New("jose: wrong token kind")
	// ErrWrongKey is a key function's refusal of a token that names
	// another key or algorithm.
	ErrWrongKey = errors.New("jose: token names another key or algorithm")
)

// CheckHeader requires the typ header to be typ, and refuses tokens that
// carry a key, a key's address or critical extensions of their own: keys
// come only from the configuration.
func CheckHeader(t *jwt.Token, typ string) error {
	if h, _ := t.Header["typ"].(string); h != typ {
		return ErrWrongKind
	}
	for _, name := range [...]string{"jku", "jwk", "x5u", "x5c", "crit"} {
		if _, ok := t.Header[name]; ok {
			return ErrWrongKind
		}
	}
	return nil
}

// PublicKey is an asymmetric key access tokens may be signed with, bound
// to the one algorithm its type allows, with a parser that accepts only
// that algorithm. It is immutable once made by [NewPublicKey].
type PublicKey struct {
	Kid string

	method  jwt.SigningMethod
	key     crypto.PublicKey
	parser  *jwt.Parser
	keyFunc jwt.Keyfunc // k.check, bound once rather than on every Verify
}

// NewPublicKey returns the key named kid, used with m alone and verified
// with p, which must accept m alone.
func NewPublicKey(kid string, m jwt.SigningMethod, key crypto.PublicKey, p *jwt.Parser) *PublicKey {
	k := &PublicKey{Kid: kid, method: m, key: key, parser: p}
	k.keyFunc = k.check
	return k
}

// Verify verifies an access token with the key, as [ParseAccess] does.
func (k *PublicKey) Verify(token string) (*Claims, Fault) {
	return ParseAccess(k.parser, k.keyFunc, token)
}

// check is the key's key function: it hands out the key only for access
// tokens that pass [CheckHeader], name it by its exact kid and use its one
// algorithm (which the parser pins as well).
func (k *PublicKey) check(t *jwt.Token) (any, error) {
	if err := CheckHeader(t, AccessTokenType); err != nil {
		return nil, err
	}
	if kid, _ := t.Header["kid"].(string); kid != k.Kid || t.Method != k.method {
		return nil, ErrWrongKey
	}
	return k.key, nil
}
