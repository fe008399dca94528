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

// bearerToken returns the token of the request's Authorization header,
// by the auth library's rules: no header, another scheme or an empty token
// is [auth.ErrUnauthorized]; several Authorization headers, or a token that
// is not an RFC 6750 b64token or is too long, is [auth.ErrInvalidToken].
func bearerToken(r *http.Request) (string, error) {
	token, f := jose.BearerToken(r.Header, auth.MaxTokenLength)
	return token, faultErrors[f]
}
