package auth

import (
	"net/http"
	"time"

	"github.com/ingestiq/auth/internal/jose"
)

// transport is the one seam through which tokens travel: where a request's
// access and refresh tokens come from, and where the tokens issued to it
// go. Every route, [Authenticator.Middleware] and
// [Authenticator.WriteAuthResult] use it; a new transport (another cookie
// scheme, a header of its own) is one implementation of it.
type transport interface {
	// check refuses a request the transport must not serve (browser mode:
	// an unsafe cross-origin request that a cookie would authenticate).
	check(r *http.Request) error
	// accessToken returns the request's access token, or ErrUnauthorized
	// when it carries none.
	accessToken(r *http.Request) (string, error)
	// refreshToken returns the refresh token the request carries outside
	// its body: "" with a nil error when the transport has none to offer
	// (the body then decides), an error when the request asked for this
	// transport's tokens and has none.
	refreshToken(r *http.Request) (string, error)
	// deviceToken returns the device token the request carries outside
	// its body, or "".
	deviceToken(r *http.Request) string
	// issue hands the issued tokens to the response and returns what the
	// JSON body carries of them: the fields the transport put elsewhere
	// are emptied.
	issue(w http.ResponseWriter, r *http.Request, t issuedTokens) issuedTokens
	// clear takes back what the transport gave a client whose session
	// ended.
	clear(w http.ResponseWriter, r *http.Request)
}

// issuedTokens are the tokens one response hands out, with their
// lifetimes.
type issuedTokens struct {
	Access, Refresh, Device          string
	AccessTTL, RefreshTTL, DeviceTTL time.Duration
}

// standardTransport carries tokens in the Authorization header and the
// JSON body and, in browser mode, in the library's HttpOnly cookies.
type standardTransport struct {
	browser *browser // nil unless browser mode is on
	// accessCookie is the name of the access-token cookie when browser
	// mode has it on, else "".
	accessCookie string
}

func newStandardTransport(b *browser) standardTransport {
	t := standardTransport{browser: b}
	if b != nil && b.cfg.AccessTokenCookie {
		t.accessCookie = AccessCookieName
	}
	return t
}

func (t standardTransport) check(r *http.Request) error {
	return t.browser.checkOrigin(r)
}

// accessToken returns the bearer token of r's Authorization header or,
// when the access-token cookie is on and r has no Authorization header,
// that cookie: the rule package verifier shares (internal/jose).
func (t standardTransport) accessToken(r *http.Request) (string, error) {
	token, _, f := jose.RequestToken(r, t.accessCookie, MaxTokenLength)
	return token, faultErrors[f]
}

// refreshToken returns the refresh cookie of a request in cookie mode; a
// browser without the cookie is simply not signed in.
func (t standardTransport) refreshToken(r *http.Request) (string, error) {
	if !t.browser.cookieMode(r) {
		return "", nil
	}
	c, ok := t.browser.refreshFromCookie(r)
	if !ok {
		return "", ErrUnauthorized
	}
	return c, nil
}

func (t standardTransport) deviceToken(r *http.Request) string {
	return t.browser.deviceFromCookie(r)
}

func (t standardTransport) issue(w http.ResponseWriter, r *http.Request, tok issuedTokens) issuedTokens {
	tok.Refresh = t.browser.setTokens(w, r, tok.Access, tok.Refresh, tok.RefreshTTL, tok.AccessTTL)
	tok.Device = t.browser.setDevice(w, r, tok.Device, tok.DeviceTTL)
	return tok
}

func (t standardTransport) clear(w http.ResponseWriter, r *http.Request) {
	t.browser.clear(w, r)
}

// accessToken returns the access token of r, through the transport.
func (a *Authenticator) accessToken(r *http.Request) (string, error) {
	return a.transport.accessToken(r)
}

// WriteAuthResult answers r with res, exactly as POST /login answers a
// successful login: the user and the tokens, with each token put where the
// request's transport wants it (the JSON body, or browser mode's HttpOnly
// cookies). It is for handlers of further ways in (a nested module's
// passkey or OpenID Connect routes) that end in
// [Authenticator.OpenSession]; errors are answered with [Authenticator.Route].
func (a *Authenticator) WriteAuthResult(w http.ResponseWriter, r *http.Request, status int, res *AuthResult) {
	t := a.transport.issue(w, r, issuedTokens{
		Access: res.AccessToken, Refresh: res.RefreshToken, Device: res.DeviceToken,
		AccessTTL: a.cfg.AccessTokenTTL, RefreshTTL: a.cfg.RefreshTokenTTL, DeviceTTL: a.cfg.Throttle.DeviceTokenTTL,
	})
	writeJSON(w, status, authBody{
		User:         publicUser{ID: res.User.ID, Email: res.User.Email, Name: res.User.Name},
		AccessToken:  t.Access,
		RefreshToken: t.Refresh,
		DeviceToken:  t.Device,
	})
}

// writeTokenPair answers a refresh: the new access token and its
// successor, through the transport.
func (a *Authenticator) writeTokenPair(w http.ResponseWriter, r *http.Request, pair *TokenPair) {
	t := a.transport.issue(w, r, issuedTokens{
		Access: pair.AccessToken, Refresh: pair.RefreshToken,
		AccessTTL: a.cfg.AccessTokenTTL, RefreshTTL: a.cfg.RefreshTokenTTL,
	})
	body, err := tokenPairJSON(&TokenPair{AccessToken: t.Access, RefreshToken: t.Refresh})
	if err != nil {
		writeBody(w, http.StatusInternalServerError, errorBodies[ErrInternal])
		return
	}
	writeBody(w, http.StatusOK, body)
}
