package verifier

// Token parsing. The rules are the auth library's own, which it shares with
// this package through package jose: the same claims with strictly numeric
// dates, the same header checks, the same mapping of errors, the same
// bearer-header grammar. The tests in this package check both sides against
// the same tokens.

import (
	"net/http"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/jose"
)

// faultErrors maps package jose's refusals to the library's errors; the
// entry of jose.OK is nil.
var faultErrors = [...]error{
	jose.Invalid: auth.ErrInvalidToken,
	jose.Expired: auth.ErrTokenExpired,
	jose.NoToken: auth.ErrUnauthorized,
}

// verify parses token with the key k and returns its claims:
// [auth.ErrTokenExpired] only for a genuine token whose lifetime alone has
// passed, [auth.ErrInvalidToken] for anything else.
func verify(k *jose.PublicKey, token string) (*auth.Claims, error) {
	c, f := k.Verify(token)
	if f != jose.OK {
		return nil, faultErrors[f]
	}
	return (*auth.Claims)(c), nil
}

// requestToken returns the request's access token by the auth library's
// rules (internal/jose, shared with its transport): no header, another
// scheme or an empty token is [auth.ErrUnauthorized]; several Authorization
// headers, or a token that is not an RFC 6750 b64token or is too long, is
// [auth.ErrInvalidToken]. With [Config.AccessCookieName] set, a request
// without an Authorization header may carry the token in that cookie, and
// an unsafe cross-origin one is then refused with [auth.ErrCrossOrigin].
func (v *Verifier) requestToken(r *http.Request) (string, error) {
	token, fromCookie, f := jose.RequestToken(r, v.cookie, auth.MaxTokenLength)
	if fromCookie && v.cop.Check(r) != nil {
		return "", auth.ErrCrossOrigin
	}
	return token, faultErrors[f]
}
