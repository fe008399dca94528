package securitytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section K: browser mode (refresh tokens in cookies, cross-site
// protection). These rows are the project's own, beyond spec/security.md's
// catalogue: cookie flags, cross-site refresh and logout, and requests
// that mix cookies and bearer tokens.
func rowsK() []row {
	return []row{
		{id: "K01", name: "cookie_flags_and_no_refresh_token_in_bodies", fn: testCookieFlags},
		{id: "K02", name: "cross_site_refresh_and_logout_refused", fn: testCrossSiteRefused},
		{id: "K03", name: "cookie_and_bearer_mixes", fn: testCookieBearerMix},
		{id: "K04", name: "json_clients_unchanged_on_a_browser_mode_server", fn: testJSONClientsUnchanged},
		{id: "K05", name: "session_ends_clear_the_cookie", fn: testCookieCleared},
		{id: "K06", name: "forms_and_missing_cookies_change_nothing", fn: testCookieFormsRefused},
		{id: "K07", name: "device_cookie_passes_the_account_ceiling", fn: testDeviceCookie},
	}
}

// trustedFrontEnd is the one other origin the rows' browser mode trusts.
const trustedFrontEnd = "https://app.example.com"

// browserMode turns browser mode on, with the access-token cookie, trusting
// trustedFrontEnd.
func browserMode(c *auth.Config) {
	c.Browser = auth.BrowserConfig{Enabled: true, AccessTokenCookie: true, TrustedOrigins: []string{trustedFrontEnd}}
}

// cookieMode is what a browser-mode page sends with a same-origin request.
var cookieMode = hdr{{"Auth-Mode", "cookie"}, {"Sec-Fetch-Site", "same-origin"}}

// cookieHdr is the Cookie header carrying the given cookies.
func cookieHdr(cs ...*http.Cookie) hdr {
	var parts []string
	for _, c := range cs {
		if c != nil {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return hdr{{"Cookie", strings.Join(parts, "; ")}}
}

func join(hs ...hdr) hdr {
	var out hdr
	for _, h := range hs {
		out = append(out, h...)
	}
	return out
}

// setCookie returns the cookie name that r sets, or nil.
func setCookie(r *result, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// browserSession registers email in cookie mode and returns the access
// token of the body and the two cookies.
func (e *env) browserSession(t *testing.T, email string) (access string, rt, at *http.Cookie) {
	t.Helper()
	r := e.do(http.MethodPost, "/register", strings.NewReader(testutil.RegisterBody(email, goodPassword, "Browser User")), join(jsonHeaders, cookieMode))
	if r.status != http.StatusCreated {
		t.Fatalf("cookie-mode register: %d %s", r.status, r.body)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["refreshToken"]; ok {
		t.Errorf("cookie-mode register body carries refreshToken: %s", r.body)
	}
	if err := json.Unmarshal(body["accessToken"], &access); err != nil || access == "" {
		t.Fatalf("cookie-mode register body lacks the access token: %s", r.body)
	}
	rt, at = setCookie(r, auth.RefreshCookieName), setCookie(r, auth.AccessCookieName)
	if rt == nil || at == nil {
		t.Fatalf("cookie-mode register set cookies %v", r.header.Values("Set-Cookie"))
	}
	return access, rt, at
}

// cookieRefresh refreshes with the refresh cookie in cookie mode.
func (e *env) cookieRefresh(rt *http.Cookie, extra hdr) *result {
	return e.do(http.MethodPost, "/refresh", strings.NewReader("{}"), join(jsonHeaders, cookieHdr(rt), extra))
}

// testCookieFlags: the refresh cookie is HttpOnly, Secure, SameSite=Strict,
// __Secure-, scoped to the auth routes, and never in a body; the access
// cookie likewise, at Path=/.
func testCookieFlags(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	_, rt, at := e.browserSession(t, "flags@example.com")
	for _, c := range []*http.Cookie{rt, at} {
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || !strings.HasPrefix(c.Name, "__Secure-") || c.MaxAge <= 0 {
			t.Errorf("cookie %s: HttpOnly=%v Secure=%v SameSite=%v MaxAge=%d", c.Name, c.HttpOnly, c.Secure, c.SameSite, c.MaxAge)
		}
	}
	if rt.Path != mountPrefix || at.Path != "/" {
		t.Errorf("paths: refresh %q (want %q), access %q (want /)", rt.Path, mountPrefix, at.Path)
	}
	r := e.cookieRefresh(rt, cookieMode)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "refreshToken") {
		t.Fatalf("cookie refresh: %d %s", r.status, r.body)
	}
	next := setCookie(r, auth.RefreshCookieName)
	if next == nil || next.Value == rt.Value || !next.HttpOnly || !next.Secure || next.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie refresh set %v", r.header.Values("Set-Cookie"))
	}
	// Login in cookie mode too.
	lr := e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody("flags@example.com", goodPassword)), join(jsonHeaders, cookieMode))
	if lr.status != http.StatusOK || strings.Contains(string(lr.body), "refreshToken") || setCookie(lr, auth.RefreshCookieName) == nil {
		t.Errorf("cookie-mode login: %d %s %v", lr.status, lr.body, lr.header.Values("Set-Cookie"))
	}
}

// crossSite are the headers of requests from other sites and untrusted
// origins, as browsers send them.
var crossSite = []hdr{
	{{"Sec-Fetch-Site", "cross-site"}},
	{{"Sec-Fetch-Site", "cross-site"}, {"Auth-Mode", "cookie"}, {"Origin", "https://evil.example"}},
	{{"Sec-Fetch-Site", "same-site"}, {"Origin", "https://evil.example.com"}},
	{{"Origin", "https://evil.example"}},
}

// testCrossSiteRefused: a refresh, a logout, a logout-all and an
// application route reached from another site with the cookies are 403,
// and change nothing: the cookie still refreshes afterwards.
func testCrossSiteRefused(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	_, rt, at := e.browserSession(t, "csrf@example.com")
	app := e.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, h := range crossSite {
		checkError(t, "cross-site refresh", e.cookieRefresh(rt, h), http.StatusForbidden, "FORBIDDEN")
		checkError(t, "cross-site logout", e.do(http.MethodPost, "/logout", nil, join(cookieHdr(rt, at), h)), http.StatusForbidden, "FORBIDDEN")
		checkError(t, "cross-site logout-all", e.do(http.MethodPost, "/logout-all", nil, join(cookieHdr(rt, at), h)), http.StatusForbidden, "FORBIDDEN")
		req, _ := http.NewRequest(http.MethodPost, "/api/projects", nil)
		req.Header.Set("Cookie", cookieHdr(at)[0][1])
		for _, kv := range h {
			req.Header.Set(kv[0], kv[1])
		}
		w := &recorder{header: http.Header{}}
		app.ServeHTTP(w, req)
		if w.status != http.StatusForbidden {
			t.Errorf("cross-site POST to an application route with the access cookie %v: %d", h, w.status)
		}
	}
	// The trusted front end may.
	r := e.cookieRefresh(rt, hdr{{"Auth-Mode", "cookie"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", trustedFrontEnd}})
	if r.status != http.StatusOK {
		t.Fatalf("refresh from the trusted front end: %d %s", r.status, r.body)
	}
}

// recorder is a minimal http.ResponseWriter for middleware checks.
type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// testCookieBearerMix: a bearer token wins over the access cookie; a
// request carrying a cookie is judged cross-site even when it also has a
// bearer token; a bearer-only request from another origin is not a
// browser-mode request and passes; a body's refresh token wins over the
// cookie.
func testCookieBearerMix(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	accessA, _, atA := e.browserSession(t, "mix-a@example.com")
	accessB, rtB, _ := e.browserSession(t, "mix-b@example.com")
	subA, subB := claimString(t, accessA, "sub"), claimString(t, accessB, "sub")

	var seen string
	app := e.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFromContext(r.Context())
		seen = c.UserID
	}))
	req, _ := http.NewRequest(http.MethodGet, "/api/projects", nil)
	req.Header.Set("Authorization", "Bearer "+accessB)
	req.Header.Set("Cookie", cookieHdr(atA)[0][1])
	app.ServeHTTP(&recorder{header: http.Header{}}, req)
	if seen != subB {
		t.Errorf("bearer of B with the cookie of A: the middleware saw %q, want B %q", seen, subB)
	}
	// Cross-site with a bearer and a cookie: refused.
	checkError(t, "cross-site logout with bearer and cookie",
		e.do(http.MethodPost, "/logout", nil, join(bearer(accessB), cookieHdr(atA), hdr{{"Sec-Fetch-Site", "cross-site"}})), http.StatusForbidden, "FORBIDDEN")
	// Bearer only, from another origin: an API client, unaffected.
	if r := e.do(http.MethodGet, "/me", nil, join(bearer(accessA), hdr{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://other.example"}})); r.status != http.StatusOK {
		t.Errorf("bearer-only cross-origin GET /me: %d", r.status)
	}
	// A JSON client's body token wins over a cookie it happens to carry:
	// A's token refreshes A's session, B's cookie is not spent.
	jsonA := e.registerHTTP(t, "mix-json@example.com")
	r := e.do(http.MethodPost, "/refresh", strings.NewReader(testutil.RefreshBody(jsonA.refresh)), join(jsonHeaders, cookieHdr(rtB), hdr{{"Sec-Fetch-Site", "same-origin"}}))
	if r.status != http.StatusOK {
		t.Fatalf("body refresh with a cookie beside it: %d %s", r.status, r.body)
	}
	if got := claimString(t, mustPair(t, r), "sub"); got == subA || got != jsonA.userID {
		t.Errorf("the body's token refreshed user %q, want %q", got, jsonA.userID)
	}
	if r := e.cookieRefresh(rtB, cookieMode); r.status != http.StatusOK {
		t.Errorf("B's cookie after A's body refresh: %d %s (it was spent)", r.status, r.body)
	}
}

// mustPair returns the access token of a refresh answer.
func mustPair(t *testing.T, r *result) string {
	t.Helper()
	var p struct{ AccessToken string }
	if err := json.Unmarshal(r.body, &p); err != nil || p.AccessToken == "" {
		t.Fatalf("refresh answer %s", r.body)
	}
	return p.AccessToken
}

// testJSONClientsUnchanged: without Auth-Mode, a browser-mode server answers
// exactly the contract: refresh token in the body, no Set-Cookie.
func testJSONClientsUnchanged(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	r := e.postJSON("/register", testutil.RegisterBody("json@example.com", goodPassword, "J"))
	sess := mustSession(t, r, http.StatusCreated)
	if sess.refresh == "" || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("JSON register: refresh %q, Set-Cookie %v", sess.refresh, r.header.Values("Set-Cookie"))
	}
	r2 := e.postJSON("/refresh", testutil.RefreshBody(sess.refresh))
	if r2.status != http.StatusOK || !strings.Contains(string(r2.body), `"refreshToken":"eyJ`) || len(r2.header.Values("Set-Cookie")) != 0 {
		t.Errorf("JSON refresh: %d %s %v", r2.status, r2.body, r2.header.Values("Set-Cookie"))
	}
}

// testCookieCleared: logout, logout-all, password reset and account
// deletion clear the cookies of a browser-mode request.
func testCookieCleared(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	check := func(what string, r *result) {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		for _, name := range []string{auth.RefreshCookieName, auth.AccessCookieName} {
			if c := setCookie(r, name); c == nil || c.Value != "" || c.MaxAge >= 0 {
				t.Errorf("%s did not clear %s: %v", what, name, r.header.Values("Set-Cookie"))
			}
		}
	}
	access, rt, at := e.browserSession(t, "clear1@example.com")
	check("logout", e.do(http.MethodPost, "/logout", nil, join(bearer(access), cookieHdr(rt, at), cookieMode)))
	checkError(t, "cookie after logout", e.cookieRefresh(rt, cookieMode), http.StatusUnauthorized, "INVALID_TOKEN")

	access, rt, at = e.browserSession(t, "clear2@example.com")
	check("logout-all", e.do(http.MethodPost, "/logout-all", nil, join(bearer(access), cookieHdr(rt, at), cookieMode)))
	checkError(t, "cookie after logout-all", e.cookieRefresh(rt, cookieMode), http.StatusUnauthorized, "INVALID_TOKEN")

	access, rt, at = e.browserSession(t, "clear3@example.com")
	check("delete account", e.do(http.MethodDelete, "/me", strings.NewReader(`{"password":"`+goodPassword+`"}`), join(jsonHeaders, bearer(access), cookieHdr(rt, at), cookieMode)))
}

// testCookieFormsRefused: a form post (text/plain, as a cross-site form
// would send) is refused before anything is read, and a cookie-mode
// refresh without the cookie is 401; neither changes anything.
func testCookieFormsRefused(t *testing.T, s *suite) {
	e := s.env(t, browserMode)
	_, rt, _ := e.browserSession(t, "form@example.com")
	r := e.do(http.MethodPost, "/refresh", strings.NewReader(`{"refreshToken":"x"}`), join(hdr{{"Content-Type", "text/plain"}, {"Sec-Fetch-Site", "same-origin"}}, cookieHdr(rt)))
	checkError(t, "text/plain refresh", r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	checkError(t, "cookie-mode refresh without a cookie", e.do(http.MethodPost, "/refresh", strings.NewReader("{}"), join(jsonHeaders, cookieMode)), http.StatusUnauthorized, "UNAUTHORIZED")
	if r := e.cookieRefresh(rt, cookieMode); r.status != http.StatusOK {
		t.Errorf("the cookie after the refused requests: %d %s", r.status, r.body)
	}
}

// testDeviceCookie: in cookie mode the device token travels as an HttpOnly
// cookie, not in the body, and a cookie-mode login carrying it passes the
// account-wide ceiling that guessing from many addresses reached (D14 for
// browsers).
func testDeviceCookie(t *testing.T, s *suite) {
	e := s.env(t, browserMode, throttling, behindProxy)
	r := e.do(http.MethodPost, "/register", strings.NewReader(testutil.RegisterBody("dev@example.com", goodPassword, "D")), join(jsonHeaders, cookieMode))
	if r.status != http.StatusCreated || strings.Contains(string(r.body), "deviceToken") {
		t.Fatalf("cookie-mode register: %d %s", r.status, r.body)
	}
	dev := setCookie(r, auth.DeviceCookieName)
	if dev == nil || !dev.HttpOnly || !dev.Secure || dev.SameSite != http.SameSiteStrictMode || dev.Path != mountPrefix || dev.MaxAge <= 0 {
		t.Fatalf("device cookie: %+v", dev)
	}
	for i := range 200 {
		r := e.loginFrom("dev@example.com", "guess", withXFF(fmt.Sprintf("203.0.113.%d", i+1)))
		if r.status == http.StatusTooManyRequests {
			break
		}
	}
	login := func(cs ...*http.Cookie) *result {
		return e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody("dev@example.com", goodPassword)),
			join(withXFF("198.51.100.7"), cookieMode, cookieHdr(cs...)))
	}
	if r := login(); r.status != http.StatusTooManyRequests {
		t.Fatalf("past the ceiling without the device cookie: %d %s, want 429", r.status, r.body)
	}
	forged := *dev
	forged.Value = dev.Value[:len(dev.Value)-2] + "AA"
	if r := login(&forged); r.status != http.StatusTooManyRequests {
		t.Fatalf("forged device cookie: %d %s, want 429", r.status, r.body)
	}
	if r := login(dev); r.status != http.StatusOK || strings.Contains(string(r.body), "deviceToken") {
		t.Fatalf("the owner's browser with its device cookie: %d %s, want 200", r.status, r.body)
	}
}
