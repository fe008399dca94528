package auth

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// BrowserConfig is the browser-mode group of [Config]. Its zero value turns
// browser mode off: every client then gets the HTTP contract's JSON bodies
// and nothing else.
//
// With browser mode on, a request opts in with the header
//
//	Auth-Mode: cookie
//
// on the routes that issue tokens (register, login, refresh and the others
// that answer tokens). Such a request gets its refresh token in an HttpOnly
// cookie ([RefreshCookieName]) instead of the JSON body, and POST /refresh
// reads that cookie when its body names no token. Clients that do not send
// the header (curl, mobile apps, server-to-server) see exactly the contract,
// on the same mount. Every unsafe request that carries one of the library's
// cookies or asks for cookie mode must pass [http.CrossOriginProtection]:
// Fetch Metadata (Sec-Fetch-Site), falling back to Origin, with the
// origins of TrustedOrigins allowed.
type BrowserConfig struct {
	// Enabled turns browser mode on. The default is false.
	Enabled bool

	// CookiePath is the Path of the refresh-token cookie: the path at which
	// [Authenticator.Handler] is mounted, such as "/api/v2/auth", so that
	// the cookie travels only to the auth routes. When it is empty the path
	// is taken from each request: the part of its RequestURI that
	// [http.StripPrefix] removed. The default is empty.
	CookiePath string

	// AccessTokenCookie also sets the access token as a cookie
	// ([AccessCookieName], Path=/) for server-rendered applications, and
	// makes [Authenticator.Middleware] accept it when a request has no
	// Authorization header. Unsafe requests authenticated by that cookie
	// must pass the same cross-origin check. The default is false: the
	// access token is only in the JSON body, for the page to keep in
	// memory.
	AccessTokenCookie bool

	// TrustedOrigins lists the origins ("https://app.example.com",
	// "http://localhost:5173") of front ends served from another origin
	// that may make cookie requests. An origin has a scheme, a host and
	// an optional port, and nothing else, or New fails. The default is
	// none: only same-origin requests.
	TrustedOrigins []string
}

// Names of the cookies of browser mode. The __Secure- prefix makes
// browsers accept them only with the Secure attribute from a secure origin
// (https, or http://localhost in development); __Host- is not used because
// it forces Path=/, which would send the refresh token to every route of
// the site instead of only to the auth routes.
const (
	// RefreshCookieName holds the refresh token: HttpOnly, Secure,
	// SameSite=Strict, Path=[BrowserConfig.CookiePath].
	RefreshCookieName = "__Secure-auth-refresh"
	// AccessCookieName holds the access token when
	// [BrowserConfig.AccessTokenCookie] is set: HttpOnly, Secure,
	// SameSite=Strict, Path=/.
	AccessCookieName = "__Secure-auth-access"
	// DeviceCookieName holds the device token of a browser-mode client
	// (see [WithDeviceToken]), so that the owner's own browser passes the
	// account-wide login ceiling that guessing by others may reach:
	// HttpOnly, Secure, SameSite=Strict, Path=[BrowserConfig.CookiePath],
	// for [ThrottleConfig.DeviceTokenTTL]. It is signed and names no user; logout
	// keeps it.
	DeviceCookieName = "__Secure-auth-device"
	// AuthModeHeader is the request header with which a browser client
	// asks for cookie mode, with the value "cookie".
	AuthModeHeader = "Auth-Mode"
)

// ErrCrossOrigin is answered (403) to an unsafe cross-origin request that a
// cookie would authenticate, or that asks for cookie mode, from an origin
// that is not trusted.
var ErrCrossOrigin = newError("FORBIDDEN", http.StatusForbidden, "Cross-origin request refused")

// browser is the Authenticator's browser-mode state; nil when it is off.
type browser struct {
	cfg BrowserConfig
	cop *http.CrossOriginProtection
}

func newBrowser(cfg BrowserConfig) (*browser, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("auth: Config.Browser.TrustedOrigins: %w", err)
		}
	}
	cfg.TrustedOrigins = append([]string(nil), cfg.TrustedOrigins...)
	return &browser{cfg: cfg, cop: cop}, nil
}

// cookieMode reports whether r asked for cookie mode.
func (b *browser) cookieMode(r *http.Request) bool {
	return b != nil && strings.EqualFold(r.Header.Get(AuthModeHeader), "cookie")
}

// hasCookie reports whether r carries one of the library's cookies.
func (b *browser) hasCookie(r *http.Request) bool {
	if b == nil {
		return false
	}
	for _, c := range r.Cookies() {
		if c.Name == RefreshCookieName || (b.cfg.AccessTokenCookie && c.Name == AccessCookieName) {
			return true
		}
	}
	return false
}

// involved reports whether r is a browser-mode request: one that asks for
// cookie mode or carries a cookie of the library's.
func (b *browser) involved(r *http.Request) bool {
	return b.cookieMode(r) || b.hasCookie(r)
}

// checkOrigin refuses an unsafe cross-origin browser-mode request.
// Requests that carry neither a cookie of the library's nor the cookie-mode
// header pass untouched: a bearer token is not sent by the browser on its
// own, so it needs no cross-site protection.
func (b *browser) checkOrigin(r *http.Request) error {
	if !b.involved(r) {
		return nil
	}
	if err := b.cop.Check(r); err != nil {
		return ErrCrossOrigin
	}
	return nil
}

// refreshFromCookie returns the refresh token of r's cookie, if any.
func (b *browser) refreshFromCookie(r *http.Request) (string, bool) {
	if b == nil {
		return "", false
	}
	c, err := r.Cookie(RefreshCookieName)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// cookiePath is the Path of the refresh cookie for r.
func (b *browser) cookiePath(r *http.Request) string {
	if b.cfg.CookiePath != "" {
		return b.cfg.CookiePath
	}
	// http.StripPrefix leaves RequestURI as the client sent it; what it
	// removed from the path is the mount point.
	full := r.RequestURI
	if i := strings.IndexAny(full, "?#"); i >= 0 {
		full = full[:i]
	}
	if prefix, ok := strings.CutSuffix(full, r.URL.Path); ok && prefix != "" && strings.HasPrefix(prefix, "/") {
		return prefix
	}
	return "/"
}

func (b *browser) cookie(name, value, path string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
		MaxAge:   int(maxAge / time.Second),
	}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	return c
}

// setTokens puts issued tokens into r's response when r asked for cookie
// mode: the refresh token (and the access token, if configured) go into
// cookies, and the returned refresh token, for the JSON body, is empty. For
// other requests it returns the refresh token unchanged.
func (b *browser) setTokens(w http.ResponseWriter, r *http.Request, access, refresh string, refreshTTL, accessTTL time.Duration) string {
	if !b.cookieMode(r) {
		return refresh
	}
	http.SetCookie(w, b.cookie(RefreshCookieName, refresh, b.cookiePath(r), refreshTTL))
	if b.cfg.AccessTokenCookie {
		http.SetCookie(w, b.cookie(AccessCookieName, access, "/", accessTTL))
	}
	return ""
}

// clear removes the cookies of a browser-mode request whose session ended.
func (b *browser) clear(w http.ResponseWriter, r *http.Request) {
	if !b.involved(r) {
		return
	}
	http.SetCookie(w, b.cookie(RefreshCookieName, "", b.cookiePath(r), 0))
	if b.cfg.AccessTokenCookie {
		http.SetCookie(w, b.cookie(AccessCookieName, "", "/", 0))
	}
}

// setDevice puts a device token into a cookie when r asked for cookie mode,
// and returns what the JSON body should carry: nothing then, the token
// otherwise.
func (b *browser) setDevice(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) string {
	if token == "" || !b.cookieMode(r) {
		return token
	}
	http.SetCookie(w, b.cookie(DeviceCookieName, token, b.cookiePath(r), ttl))
	return ""
}

// deviceFromCookie returns the device token of r's cookie, for a login in
// cookie mode.
func (b *browser) deviceFromCookie(r *http.Request) string {
	if !b.cookieMode(r) {
		return ""
	}
	c, err := r.Cookie(DeviceCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}
