package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
)

// JWKSCacheMaxAge is how long, in seconds, clients may cache the JWK Set
// served by [Authenticator.JWKSHandler].
//
// Rotation relies on it: a new key is published (as one of
// [KeyConfig.VerifyKeys]) at least this long before it starts signing, so
// every verifier has fetched it by the time the first token names it, and
// an old key stays published for at least the access-token lifetime after
// it stops signing. Five minutes keeps the wait short while sparing the
// auth service a fetch per request.
const JWKSCacheMaxAge = 300

// JWKSHandler returns an http.Handler that serves the public keys access
// tokens are verified with, as a JWK Set (RFC 7517): the SigningKey's
// first, then the VerifyKeys, each with "kty", its key parameters
// ("crv", "x", "y" or "n", "e"), "kid", "alg" and "use":"sig". It never
// holds private or symmetric material: with HS256 alone (no
// [KeyConfig.SigningKey] or [KeyConfig.VerifyKeys]) it serves an empty set,
// {"keys":[]}. Mount it where verifiers expect it, conventionally:
//
//	mux.Handle("/.well-known/jwks.json", a.JWKSHandler())
//
// It answers GET and HEAD with Content-Type application/jwk-set+json,
// Cache-Control public, max-age=300 (see [JWKSCacheMaxAge]) and an ETag,
// and other methods 405 METHOD_NOT_ALLOWED. The body is computed once, by
// New.
func (a *Authenticator) JWKSHandler() http.Handler {
	body := a.keys.jwks
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	length := strconv.Itoa(len(body))
	cacheControl := "public, max-age=" + strconv.Itoa(JWKSCacheMaxAge)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, ErrMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}
