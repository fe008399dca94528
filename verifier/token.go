package verifier

// Token parsing. The rules are the auth library's own (tokens.go and
// handlers.go in package auth), restated here because that code is
// unexported: the same claims with strictly numeric dates, the same header
// checks, the same mapping of errors, the same bearer-header grammar. The
// tests in this package check both sides against the same tokens.

import (
	"crypto"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
)

// accessTokenType is the typ header of access tokens.
const accessTokenType = "at+jwt"

// maxHeaderBytes bounds the decoded JOSE header scanned for a kid.
const maxHeaderBytes = 512

// publicKey is a published key, bound to the one algorithm its type
// allows, with the parser that accepts only that algorithm.
type publicKey struct {
	kid     string
	method  jwt.SigningMethod
	key     crypto.PublicKey
	parser  *jwt.Parser
	keyFunc jwt.Keyfunc
}

var (
	errWrongKind = errors.New("verifier: wrong token kind")
	errWrongKey  = errors.New("verifier: token names another key or algorithm")
)

// check is the key's key function: it hands out the key only for access
// tokens that name it by its exact kid, use its one algorithm, and carry
// no key or key address of their own.
func (k *publicKey) check(t *jwt.Token) (any, error) {
	if typ, _ := t.Header["typ"].(string); typ != accessTokenType {
		return nil, errWrongKind
	}
	for _, name := range [...]string{"jku", "jwk", "x5u", "x5c", "crit"} {
		if _, ok := t.Header[name]; ok {
			return nil, errWrongKind
		}
	}
	if kid, _ := t.Header["kid"].(string); kid != k.kid || t.Method != k.method {
		return nil, errWrongKey
	}
	return k.key, nil
}

// verify parses token with the key and returns its claims.
func (k *publicKey) verify(token string) (*auth.Claims, error) {
	var c accessClaims
	if _, err := k.parser.ParseWithClaims(token, &c, k.keyFunc); err != nil {
		return nil, classify(err)
	}
	if c.Subject == "" || c.SessionID == "" || c.ID == "" || c.IssuedAt == nil {
		return nil, auth.ErrInvalidToken
	}
	return &auth.Claims{
		UserID:         c.Subject,
		SessionID:      c.SessionID,
		OrganizationID: c.OrganizationID,
		Role:           c.Role,
		TokenID:        c.ID,
		IssuedAt:       c.IssuedAt.Time,
		ExpiresAt:      c.ExpiresAt.Time,
	}, nil
}

// accessClaims is the payload of an access token.
type accessClaims struct {
	Issuer         string           `json:"iss,omitempty"`
	Subject        string           `json:"sub,omitempty"`
	Audience       jwt.ClaimStrings `json:"aud,omitempty"`
	ExpiresAt      *numericDate     `json:"exp,omitempty"`
	NotBefore      *numericDate     `json:"nbf,omitempty"`
	IssuedAt       *numericDate     `json:"iat,omitempty"`
	ID             string           `json:"jti,omitempty"`
	SessionID      string           `json:"sid"`
	OrganizationID string           `json:"org,omitempty"`
	Role           string           `json:"role,omitempty"`
}

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.get(), nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt.get(), nil }
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore.get(), nil }
func (c *accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// numericDate is a JWT NumericDate that must be a JSON number: golang-jwt
// would also accept a numeric string, which no token of the library
// carries.
type numericDate struct{ jwt.NumericDate }

var errNotNumber = errors.New("verifier: time claim is not a number")

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumber
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func (d *numericDate) get() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

// classify maps a golang-jwt error to the library's errors: TOKEN_EXPIRED
// only when expiry is the sole complaint about a token whose signature
// verified, INVALID_TOKEN for anything else.
func classify(err error) error {
	if errors.Is(err, jwt.ErrTokenExpired) &&
		!errors.Is(err, jwt.ErrTokenSignatureInvalid) &&
		!errors.Is(err, jwt.ErrTokenUnverifiable) &&
		!errors.Is(err, jwt.ErrTokenMalformed) &&
		!errors.Is(err, jwt.ErrTokenInvalidIssuer) &&
		!errors.Is(err, jwt.ErrTokenInvalidAudience) &&
		!errors.Is(err, jwt.ErrTokenNotValidYet) &&
		!errors.Is(err, jwt.ErrTokenUsedBeforeIssued) &&
		!errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		return auth.ErrTokenExpired
	}
	return auth.ErrInvalidToken
}

// headerKid finds the "kid" member of a compact JWS's header without
// allocating (buf holds the decoded header). found reports whether there
// is one; ok is false when the header cannot be read or its kid is not a
// plain string. It only chooses the key to try: the key function then
// requires the kid golang-jwt decoded to be that key's. The kid is used as
// nothing but a map key.
func headerKid(token string, buf *[maxHeaderBytes]byte) (kid []byte, found, ok bool) {
	seg, _, dotted := strings.Cut(token, ".")
	if !dotted || base64.RawURLEncoding.DecodedLen(len(seg)) > len(buf) {
		return nil, false, false
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg))
	if err != nil {
		return nil, false, false
	}
	return jsonStringMember(buf[:n], "kid")
}

// jsonStringMember scans the JSON object obj for the top-level member name
// and returns its value when that is a string without escapes.
func jsonStringMember(obj []byte, name string) (val []byte, found, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, false, true
	}
	for {
		key, escaped, j := scanString(obj, i)
		if j < 0 {
			return nil, false, false
		}
		i = skipSpace(obj, j)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false, false
		}
		i = skipSpace(obj, i+1)
		if !escaped && string(key) == name {
			v, vEscaped, j := scanString(obj, i)
			if j < 0 || vEscaped {
				return nil, true, false
			}
			return v, true, true
		}
		if i = skipValue(obj, i); i < 0 {
			return nil, false, false
		}
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return nil, false, false
		}
		switch obj[i] {
		case '}':
			return nil, false, true
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return nil, false, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the JSON string at b[i]: its raw contents, whether they
// hold an escape, and the index after its closing quote, or -1.
func scanString(b []byte, i int) (s []byte, escaped bool, next int) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, -1
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], escaped, j + 1
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false, -1
		}
	}
	return nil, false, -1
}

// skipValue returns the index after the JSON value at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, next := scanString(b, i)
		return next
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, next := scanString(b, j)
				if next < 0 {
					return -1
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && strings.IndexByte(",}] \t\r\n", b[j]) < 0 {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// bearerToken returns the token of the request's Authorization header,
// by the auth library's rules: no header, another scheme or an empty token
// is [auth.ErrUnauthorized]; several Authorization headers, or a token that
// is not an RFC 6750 b64token or is too long, is [auth.ErrInvalidToken].
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", auth.ErrUnauthorized
	case 1:
	default:
		return "", auth.ErrInvalidToken
	}
	v := strings.TrimRight(values[0], " ")
	if len(v) < len("Bearer") || !strings.EqualFold(v[:len("Bearer")], "Bearer") {
		return "", auth.ErrUnauthorized
	}
	rest := v[len("Bearer"):]
	if rest == "" {
		return "", auth.ErrUnauthorized
	}
	if rest[0] != ' ' {
		if rest[0] == '\t' {
			return "", auth.ErrInvalidToken
		}
		return "", auth.ErrUnauthorized
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", auth.ErrUnauthorized
	}
	if len(token) > auth.MaxTokenLength || !isB64Token(token) {
		return "", auth.ErrInvalidToken
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
