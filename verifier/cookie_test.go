package verifier_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/verifier"
)

// TestMiddlewareAccessCookie: with AccessCookieName set, the middleware
// reads the access token from that cookie when there is no Authorization
// header, refuses an unsafe cross-site request carrying it, and without
// the option ignores the cookie.
func TestMiddlewareAccessCookie(t *testing.T) {
	t.Run("TrustedOrigins needs the cookie", func(t *testing.T) {
		if _, err := verifier.New(verifier.Config{JWKSURL: "https://auth.example.com/jwks.json", AccessCookieName: "a", TrustedOrigins: []string{"https://app.example.com"}}); err != nil {
			t.Fatalf("New with a cookie and a trusted origin: %v", err)
		}
		if _, err := verifier.New(verifier.Config{JWKSURL: "https://auth.example.com/jwks.json", TrustedOrigins: []string{"https://app.example.com"}}); err == nil {
			t.Error("New with TrustedOrigins and no AccessCookieName succeeded")
		}
		if _, err := verifier.New(verifier.Config{JWKSURL: "https://auth.example.com/jwks.json", AccessCookieName: "a", TrustedOrigins: []string{"not an origin"}}); err == nil {
			t.Error("New with a malformed trusted origin succeeded")
		}
	})
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	srv := newJWKSServer(t, a)
	res := register(t, a)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	withCookie := newVerifier(t, srv.URL, c, func(cfg *verifier.Config) { cfg.AccessCookieName = auth.AccessCookieName }).Middleware(next)
	without := newVerifier(t, srv.URL, c).Middleware(next)
	trusting := newVerifier(t, srv.URL, c, func(cfg *verifier.Config) {
		cfg.AccessCookieName = auth.AccessCookieName
		cfg.TrustedOrigins = []string{"https://app.example.com"}
	}).Middleware(next)
	fromOrigin := func(origin string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "https://api.example.com/x", nil)
		r.AddCookie(&http.Cookie{Name: auth.AccessCookieName, Value: res.AccessToken})
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", origin)
		return r
	}
	req := func(method string, crossSite bool) *http.Request {
		r := httptest.NewRequest(method, "https://api.example.com/x", nil)
		r.AddCookie(&http.Cookie{Name: auth.AccessCookieName, Value: res.AccessToken})
		if crossSite {
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		r      *http.Request
		status int
	}{
		{"cookie read", withCookie, req(http.MethodGet, false), http.StatusTeapot},
		{"cross-site POST refused", withCookie, req(http.MethodPost, true), http.StatusForbidden},
		{"cookie ignored without the option", without, req(http.MethodGet, false), http.StatusUnauthorized},
		{"trusted origin's cross-site POST let through", trusting, fromOrigin("https://app.example.com"), http.StatusTeapot},
		{"other origin's cross-site POST refused", trusting, fromOrigin("https://evil.example"), http.StatusForbidden},
		{"trusted origin does not lift it for others", withCookie, fromOrigin("https://app.example.com"), http.StatusForbidden},
	} {
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, tc.r)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.status, rec.Body)
		}
	}
}
