package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// withBrowser turns browser mode on, trusting one other origin.
func withBrowser(c *auth.Config) {
	c.Browser = auth.BrowserConfig{Enabled: true, TrustedOrigins: []string{"http://localhost:5173"}}
}

// browserReq is one request of a browser: JSON body, the given cookies and
// extra headers (name, value pairs).
func (e *testEnv) browserReq(method, path, body string, cookies []*http.Cookie, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, mountPrefix+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestBrowserModeRefreshCookie(t *testing.T) {
	e := newEnv(t, withBrowser)
	body := testutil.RegisterBody("b@example.com", goodPassword, "B")
	rec := e.browserReq(http.MethodPost, "/register", body, nil, "Auth-Mode", "cookie", "Sec-Fetch-Site", "same-origin")
	if rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["refreshToken"]; ok {
		t.Errorf("cookie-mode body carries refreshToken: %s", rec.Body)
	}
	if _, ok := got["accessToken"]; !ok {
		t.Errorf("cookie-mode body lacks accessToken: %s", rec.Body)
	}
	c := cookieNamed(rec, auth.RefreshCookieName)
	if c == nil {
		t.Fatalf("no %s cookie in %v", auth.RefreshCookieName, rec.Result().Header["Set-Cookie"])
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != mountPrefix || c.MaxAge <= 0 {
		t.Errorf("cookie flags: %+v, want HttpOnly Secure SameSite=Strict Path=%s Max-Age>0", c, mountPrefix)
	}
	if cookieNamed(rec, auth.AccessCookieName) != nil {
		t.Errorf("access cookie set without AccessTokenCookie")
	}

	// Refresh through the cookie, with an empty object as the body.
	rec2 := e.browserReq(http.MethodPost, "/refresh", "{}", []*http.Cookie{c}, "Auth-Mode", "cookie", "Sec-Fetch-Site", "same-origin")
	if rec2.Code != http.StatusOK {
		t.Fatalf("cookie refresh: %d %s", rec2.Code, rec2.Body)
	}
	if strings.Contains(rec2.Body.String(), "refreshToken") {
		t.Errorf("cookie refresh body carries refreshToken: %s", rec2.Body)
	}
	next := cookieNamed(rec2, auth.RefreshCookieName)
	if next == nil || next.Value == "" || next.Value == c.Value {
		t.Fatalf("refresh did not set a successor cookie: %v", rec2.Result().Header["Set-Cookie"])
	}

	// A cross-site refresh carrying the cookie is refused and changes
	// nothing: the successor still refreshes.
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site", "Origin", "http://evil.localhost:3000"},
		{"Origin", "http://127.0.0.1:4000"},
	} {
		rec3 := e.browserReq(http.MethodPost, "/refresh", "{}", []*http.Cookie{next}, h...)
		if rec3.Code != http.StatusForbidden || len(rec3.Result().Cookies()) != 0 {
			t.Errorf("cross-site refresh %v: %d %s, cookies %v", h, rec3.Code, rec3.Body, rec3.Result().Cookies())
		}
		rec4 := e.browserReq(http.MethodPost, "/logout", "", []*http.Cookie{next}, h...)
		if rec4.Code != http.StatusForbidden {
			t.Errorf("cross-site logout %v: %d %s", h, rec4.Code, rec4.Body)
		}
	}
	// A trusted origin may refresh.
	rec5 := e.browserReq(http.MethodPost, "/refresh", "{}", []*http.Cookie{next}, "Auth-Mode", "cookie", "Sec-Fetch-Site", "same-site", "Origin", "http://localhost:5173")
	if rec5.Code != http.StatusOK {
		t.Fatalf("trusted-origin refresh: %d %s", rec5.Code, rec5.Body)
	}
	last := cookieNamed(rec5, auth.RefreshCookieName)
	var pair struct{ AccessToken string }
	if err := json.Unmarshal(rec5.Body.Bytes(), &pair); err != nil {
		t.Fatal(err)
	}

	// Logout clears the cookie; the refresh token in it is dead.
	rec6 := e.browserReq(http.MethodPost, "/logout", "", []*http.Cookie{last}, "Authorization", "Bearer "+pair.AccessToken, "Auth-Mode", "cookie", "Sec-Fetch-Site", "same-origin")
	if rec6.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", rec6.Code, rec6.Body)
	}
	if cl := cookieNamed(rec6, auth.RefreshCookieName); cl == nil || cl.MaxAge >= 0 || cl.Value != "" {
		t.Errorf("logout did not clear the cookie: %v", rec6.Result().Header["Set-Cookie"])
	}
	rec7 := e.browserReq(http.MethodPost, "/refresh", "{}", []*http.Cookie{last}, "Auth-Mode", "cookie", "Sec-Fetch-Site", "same-origin")
	if rec7.Code != http.StatusUnauthorized {
		t.Errorf("refresh after logout: %d %s", rec7.Code, rec7.Body)
	}
}

// A client that does not ask for cookies sees the contract unchanged on a
// server with browser mode on: the refresh token in the body, no cookie.
func TestBrowserModeLeavesJSONClientsAlone(t *testing.T) {
	e := newEnv(t, withBrowser)
	r := e.postJSON("/register", testutil.RegisterBody("j@example.com", goodPassword, "J"))
	s := mustSession(t, r, http.StatusCreated)
	if s.refresh == "" || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("JSON client: refresh %q, Set-Cookie %v", s.refresh, r.header.Values("Set-Cookie"))
	}
	// A cross-origin request with a bearer token and no cookie is not a
	// browser-mode request: it passes.
	rec := e.browserReq(http.MethodPost, "/logout", "", nil, "Authorization", "Bearer "+s.access, "Sec-Fetch-Site", "cross-site", "Origin", "https://other.example")
	if rec.Code != http.StatusOK || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("bearer logout from another origin: %d %s %v", rec.Code, rec.Body, rec.Result().Cookies())
	}
}

func TestBrowserModeAccessCookieAndMiddleware(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) {
		c.Browser = auth.BrowserConfig{Enabled: true, AccessTokenCookie: true, CookiePath: "/auth"}
	})
	rec := e.browserReq(http.MethodPost, "/register", testutil.RegisterBody("a@example.com", goodPassword, "A"), nil, "Auth-Mode", "cookie")
	if rec.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	at := cookieNamed(rec, auth.AccessCookieName)
	rt := cookieNamed(rec, auth.RefreshCookieName)
	if at == nil || rt == nil || at.Path != "/" || rt.Path != "/auth" || !at.HttpOnly || !at.Secure || at.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies: access %+v refresh %+v", at, rt)
	}
	app := e.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte(c.UserID))
	}))
	serve := func(method string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/api/projects", nil)
		req.AddCookie(at)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		return w
	}
	if w := serve(http.MethodGet); w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Errorf("GET with the access cookie: %d %s", w.Code, w.Body)
	}
	if w := serve(http.MethodPost, "Sec-Fetch-Site", "same-origin"); w.Code != http.StatusOK {
		t.Errorf("same-origin POST with the access cookie: %d %s", w.Code, w.Body)
	}
	if w := serve(http.MethodPost, "Sec-Fetch-Site", "cross-site"); w.Code != http.StatusForbidden {
		t.Errorf("cross-site POST with the access cookie: %d %s", w.Code, w.Body)
	}
	// GET /me on the auth routes reads the cookie too.
	me := e.browserReq(http.MethodGet, "/me", "", []*http.Cookie{at})
	if me.Code != http.StatusOK {
		t.Errorf("GET /me with the access cookie: %d %s", me.Code, me.Body)
	}
}

func TestBrowserConfigValidation(t *testing.T) {
	for name, b := range map[string]auth.BrowserConfig{
		"bad origin":       {Enabled: true, TrustedOrigins: []string{"localhost:5173/path"}},
		"relative path":    {Enabled: true, CookiePath: "auth"},
		"settings but off": {TrustedOrigins: []string{"http://localhost:5173"}},
	} {
		e := newEnv(t)
		cfg := auth.Config{Users: e.mem, Tokens: e.mem, Secret: testSecret, Browser: b}
		if _, err := auth.New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, b)
		}
	}
}
