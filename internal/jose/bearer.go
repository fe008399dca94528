package jose

import (
	"net/http"
	"strings"
)

// BearerToken returns the token of the "Authorization: Bearer" header in h.
// No header, another scheme or an empty token is NoToken; several
// Authorization headers, a tab after the scheme, or a token that is not an
// RFC 6750 b64token or is longer than maxLen bytes, is Invalid.
func BearerToken(h http.Header, maxLen int) (string, Fault) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", NoToken
	case 1:
	default:
		return "", Invalid
	}
	v := strings.TrimRight(values[0], " ")
	if len(v) < len("Bearer") || !strings.EqualFold(v[:len("Bearer")], "Bearer") {
		return "", NoToken
	}
	rest := v[len("Bearer"):]
	if rest == "" {
		return "", NoToken
	}
	if rest[0] != ' ' {
		// "BearerX" is another scheme; "Bearer\tX" is malformed.
		if rest[0] == '\t' {
			return "", Invalid
		}
		return "", NoToken
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", NoToken
	}
	if len(token) > maxLen || !IsB64Token(token) {
		return "", Invalid
	}
	return token, OK
}

// IsB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func IsB64Token(s string) bool {
	i := 0
	for i < len(s) && b64TokenChars[s[i]] {
		i++
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

// b64TokenChars marks the bytes of RFC 6750's b64token, before any "=".
var b64TokenChars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// RequestToken returns the access token of r: the bearer token of its
// Authorization header (see BearerToken) or, when cookieName is not empty
// and r has no Authorization header at all, the value of that cookie. It
// reports whether the token came from the cookie. It is where package auth
// (its routes and middleware) and package verifier read an access token.
func RequestToken(r *http.Request, cookieName string, maxLen int) (token string, fromCookie bool, f Fault) {
	token, f = BearerToken(r.Header, maxLen)
	if f == NoToken && cookieName != "" {
		if c, err := r.Cookie(cookieName); err == nil && c.Value != "" {
			return c.Value, true, OK
		}
	}
	return token, false, f
}
