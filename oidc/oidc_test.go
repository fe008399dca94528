package oidc_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/oidc"
	"github.com/ingestiq/auth/oidc/oidctest"
)

var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// env is a service with the oidc routes, in front of a real provider
// ("real") and the same provider behind a tampering proxy ("proxied").
type env struct {
	t     *testing.T
	a     *auth.Authenticator
	st    *memstore.Store
	base  string
	op    *oidctest.Provider
	proxy *oidctest.Proxy
}

func newEnv(t *testing.T, accounts map[string]oidctest.Account, extra ...oidc.Provider) *env {
	return newEnvWith(t, accounts, nil, extra...)
}

// newEnvWith is newEnv with the Authenticator's Config changed by cfg.
func newEnvWith(t *testing.T, accounts map[string]oidctest.Account, cfg func(*auth.Config), extra ...oidc.Provider) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	op := oidctest.Start(t, oidctest.Options{
		Clients:  []oidctest.Client{{ID: "app", Secret: "app-secret", RedirectURIs: []string{base + "/auth/oidc/real/callback", base + "/auth/oidc/proxied/callback"}}},
		Accounts: accounts,
	})
	proxy := oidctest.NewProxy(t, op)
	st := memstore.New()
	c := auth.Config{Users: st, Tokens: st, Secret: secret}
	if cfg != nil {
		cfg(&c)
	}
	a, err := auth.New(c)
	if err != nil {
		t.Fatal(err)
	}
	providers := append([]oidc.Provider{
		{Name: "real", Label: "Test provider", Issuer: op.Issuer, ClientID: "app", ClientSecret: "app-secret"},
		{Name: "proxied", Issuer: proxy.URL, ClientID: "app", ClientSecret: "app-secret"},
	}, extra...)
	if _, err := oidc.New(context.Background(), oidc.Config{
		Auth: a, Providers: providers, Secret: secret, PublicURL: base + "/auth", FrontendURL: base + "/app",
	}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", a.Handler()))
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return &env{t: t, a: a, st: st, base: base, op: op, proxy: proxy}
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// start begins a sign-in at provider p and returns the provider's
// authorization URL.
func (e *env) start(c *http.Client, p string) *url.URL {
	e.t.Helper()
	res, err := c.Get(e.base + "/auth/oidc/" + p)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("start: status %d", res.StatusCode)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	q := loc.Query()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		e.t.Fatalf("start: authorization URL lacks state, nonce or PKCE S256: %s", loc)
	}
	return loc
}

// callback follows the provider's redirect back and returns the front
// end's fragment parameters.
func (e *env) callback(c *http.Client, cb *url.URL) url.Values {
	e.t.Helper()
	res, err := c.Get(cb.String())
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("callback: status %d", res.StatusCode)
	}
	loc, _ := url.Parse(res.Header.Get("Location"))
	if !strings.HasPrefix(loc.String(), e.base+"/app#") || loc.RawQuery != "" {
		e.t.Fatalf("callback: redirect to %s", loc)
	}
	v, err := url.ParseQuery(loc.Fragment)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// signIn runs the whole browser flow at provider p as login.
func (e *env) signIn(p, login string) url.Values {
	e.t.Helper()
	c := browser(e.t)
	return e.callback(c, e.op.Login(e.t, c, e.start(c, p).String(), login))
}

// call makes a JSON request and decodes the answer.
func (e *env) call(method, path, bearer string, body any) (int, map[string]any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.base+"/auth"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// exchange redeems a one-time code and returns the access token.
func (e *env) exchange(code string) string {
	e.t.Helper()
	st, body := e.call("POST", "/oidc/exchange", "", map[string]string{"code": code})
	if st != http.StatusOK {
		e.t.Fatalf("exchange: %d %v", st, body)
	}
	tok, _ := body["accessToken"].(string)
	if tok == "" {
		e.t.Fatalf("exchange: no access token: %v", body)
	}
	return tok
}

// noUser asserts that the store has no user with that email.
func (e *env) noUser(email string) {
	e.t.Helper()
	if u, err := e.st.UserByEmail(context.Background(), email); !errors.Is(err, auth.ErrNotFound) {
		e.t.Fatalf("a user %v exists for %s (err %v)", u, email, err)
	}
}

func TestSignInWithARealProvider(t *testing.T) {
	e := newEnv(t, map[string]oidctest.Account{"ada": {Email: "Ada@Example.com", EmailVerified: true, Name: "Ada"}})
	v := e.signIn("real", "ada")
	code := v.Get("oidc_code")
	if code == "" {
		t.Fatalf("no code: %v", v)
	}
	tok := e.exchange(code)
	claims, err := e.a.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.AMR, []string{"oidc"}) || claims.AAL != 1 {
		t.Fatalf("amr %v aal %d, want [oidc] 1", claims.AMR, claims.AAL)
	}
	st, body := e.call("GET", "/me", tok, nil)
	me, _ := body["user"].(map[string]any)
	if st != 200 || me["email"] != "ada@example.com" {
		t.Fatalf("/me: %d %v", st, me)
	}
	u, err := e.st.UserByEmail(context.Background(), "ada@example.com")
	if err != nil || u.PasswordHash != "" || u.EmailVerifiedAt.IsZero() {
		t.Fatalf("user %+v, %v: want passwordless and verified", u, err)
	}
	// The code is single use.
	if st, body := e.call("POST", "/oidc/exchange", "", map[string]string{"code": code}); st != 401 || errCode(body) != "INVALID_TOKEN" {
		t.Fatalf("second exchange: %d %v", st, body)
	}
	// A second sign-in finds the same user by (issuer, subject).
	tok2 := e.exchange(e.signIn("real", "ada").Get("oidc_code"))
	c2, _ := e.a.Verify(context.Background(), tok2)
	if c2.UserID != u.ID {
		t.Fatalf("second sign-in: user %s, want %s", c2.UserID, u.ID)
	}
	// The account has no password: a password login is refused, not a panic.
	if _, err := e.a.Login(context.Background(), "ada@example.com", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("password login of a passwordless account: %v", err)
	}
	if _, err := e.a.Login(context.Background(), "ada@example.com", "anything-at-all"); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("password login of a passwordless account: %v", err)
	}
	// The control case of the tampering proxy: faithfully re-signed tokens pass.
	if e.signIn("proxied", "grace").Get("oidc_code") == "" {
		t.Fatal("the faithful proxy's sign-in failed")
	}
	// GET /oidc/providers lists both.
	if st, body := e.call("GET", "/oidc/providers", "", nil); st != 200 || len(body["providers"].([]any)) != 2 {
		t.Fatalf("providers: %d %v", st, body)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, nil)
	for _, mode := range []oidctest.Tamper{oidctest.OtherAudience, oidctest.Expired, oidctest.WrongNonce, oidctest.BadSignature} {
		t.Run(string(mode), func(t *testing.T) {
			e.proxy.SetMode(mode)
			defer e.proxy.SetMode(oidctest.Faithful)
			login := "victim-" + string(mode)
			v := e.signIn("proxied", login)
			if v.Get("oidc_error") != "OIDC_FAILED" || v.Get("oidc_code") != "" {
				t.Fatalf("got %v, want oidc_error=OIDC_FAILED", v)
			}
			e.noUser(login + "@example.com")
		})
	}
	t.Run("forged state", func(t *testing.T) {
		c := browser(t)
		cb := e.op.Login(t, c, e.start(c, "real").String(), "forged")
		q := cb.Query()
		q.Set("state", "forged-state")
		cb.RawQuery = q.Encode()
		if v := e.callback(c, cb); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("got %v", v)
		}
		e.noUser("forged@example.com")
	})
	t.Run("no state cookie", func(t *testing.T) {
		c := browser(t)
		cb := e.op.Login(t, c, e.start(c, "real").String(), "nocookie")
		if v := e.callback(browser(t), cb); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("got %v", v)
		}
		e.noUser("nocookie@example.com")
	})
	t.Run("state cookie of another sign-in", func(t *testing.T) {
		c := browser(t)
		cb := e.op.Login(t, c, e.start(c, "real").String(), "swapped")
		e.start(c, "real") // a second flow replaces the cookie
		if v := e.callback(c, cb); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("got %v", v)
		}
		e.noUser("swapped@example.com")
	})
	t.Run("replayed state and code used twice", func(t *testing.T) {
		c := browser(t)
		authURL := e.start(c, "real")
		u, _ := url.Parse(e.base + "/auth/oidc/")
		saved := c.Jar.Cookies(u)
		cb := e.op.Login(t, c, authURL.String(), "twice")
		first := e.callback(c, cb)
		if first.Get("oidc_code") == "" {
			t.Fatalf("first callback: %v", first)
		}
		// The cookie is gone: replaying the callback is refused.
		if v := e.callback(c, cb); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("replay without cookie: %v", v)
		}
		// With the cookie put back, the provider refuses the spent code.
		c.Jar.SetCookies(u, saved)
		if v := e.callback(c, cb); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("replay with cookie: %v", v)
		}
		usr, err := e.st.UserByEmail(context.Background(), "twice@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := e.st.UserSessions(context.Background(), usr.ID)
		if len(ls) != 0 {
			t.Fatalf("%d sessions before the exchange", len(ls))
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		if st, body := e.call("GET", "/oidc/nope", "", nil); st != 404 || errCode(body) != "NOT_FOUND" {
			t.Fatalf("%d %v", st, body)
		}
	})
}

func TestLinkingRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, map[string]oidctest.Account{
		"bob": {Email: "bob@example.com", EmailVerified: true},
		"eve": {Email: "eve@example.com", EmailVerified: false},
		"kim": {Email: "kim-elsewhere@example.com", EmailVerified: true},
	})
	reg := func(email string, verified bool) *auth.User {
		res, err := e.a.Register(ctx, auth.RegisterInput{Email: email, Name: "Someone", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		if verified {
			if err := e.st.SetEmailVerified(ctx, res.User.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		return res.User
	}
	bob := reg("bob@example.com", false)
	eve := reg("eve@example.com", true)
	kim := reg("kim@example.com", false)

	// A verified provider email, an unverified local account: no link.
	if v := e.signIn("real", "bob"); v.Get("oidc_error") != "ACCOUNT_EXISTS" {
		t.Fatalf("bob (local unverified): %v", v)
	}
	// An unverified provider email, a verified local account: no link.
	if v := e.signIn("real", "eve"); v.Get("oidc_error") != "ACCOUNT_EXISTS" {
		t.Fatalf("eve (provider unverified): %v", v)
	}
	for _, u := range []*auth.User{bob, eve} {
		if ids, _ := e.a.ExternalIdentities(ctx, u.ID); len(ids) != 0 {
			t.Fatalf("%s got linked: %v", u.Email, ids)
		}
	}
	// Both verified: the sign-in links to the account.
	if err := e.st.SetEmailVerified(ctx, bob.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	tok := e.exchange(e.signIn("real", "bob").Get("oidc_code"))
	if c, _ := e.a.Verify(ctx, tok); c.UserID != bob.ID {
		t.Fatalf("bob signed in as %s, want %s", c.UserID, bob.ID)
	}

	// Linking from a signed-in account works whatever the emails.
	res, err := e.a.Login(ctx, "kim@example.com", "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	req, _ := http.NewRequest("POST", e.base+"/auth/oidc/real/link", nil)
	req.Header.Set("Authorization", "Bearer "+res.AccessToken)
	lres, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var link struct{ URL string }
	_ = json.NewDecoder(lres.Body).Decode(&link)
	lres.Body.Close()
	if lres.StatusCode != 200 || link.URL == "" {
		t.Fatalf("link: %d", lres.StatusCode)
	}
	if v := e.callback(c, e.op.Login(t, c, link.URL, "kim")); v.Get("oidc_linked") != "real" {
		t.Fatalf("link callback: %v", v)
	}
	tok = e.exchange(e.signIn("real", "kim").Get("oidc_code"))
	if cl, _ := e.a.Verify(ctx, tok); cl.UserID != kim.ID {
		t.Fatalf("kim signed in as %s, want %s", cl.UserID, kim.ID)
	}
	st, body := e.call("GET", "/identities", res.AccessToken, nil)
	ids, _ := body["identities"].([]any)
	if st != 200 || len(ids) != 1 {
		t.Fatalf("identities: %d %v", st, body)
	}
	id := ids[0].(map[string]any)["id"].(string)
	// Linking without a session is refused.
	if st, body := e.call("POST", "/oidc/real/link", "", nil); st != 401 {
		t.Fatalf("link without a session: %d %v", st, body)
	}
	// kim has a password: unlinking is allowed.
	if st, body := e.call("DELETE", "/identities/"+id, res.AccessToken, nil); st != 204 {
		t.Fatalf("unlink: %d %v", st, body)
	}

	// A passwordless account cannot unlink its last way in.
	tok = e.exchange(e.signIn("real", "solo").Get("oidc_code"))
	_, body = e.call("GET", "/identities", tok, nil)
	ids, _ = body["identities"].([]any)
	if len(ids) != 1 {
		t.Fatalf("solo identities: %v", body)
	}
	id = ids[0].(map[string]any)["id"].(string)
	if st, body := e.call("DELETE", "/identities/"+id, tok, nil); st != 409 || errCode(body) != "LAST_SIGN_IN_METHOD" {
		t.Fatalf("unlink last: %d %v", st, body)
	}
	// Someone else's identity is not found.
	if st, body := e.call("DELETE", "/identities/"+id, res.AccessToken, nil); st != 404 {
		t.Fatalf("unlink other's: %d %v", st, body)
	}
}

// fakeGitHub serves GitHub's OAuth endpoints and its two user API calls,
// since GitHub itself cannot be reached from the tests. Its authorize
// endpoint signs in at once; its token endpoint checks the PKCE verifier.
func fakeGitHub(t *testing.T, verified bool) *httptest.Server {
	codes := map[string]string{} // code -> challenge
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" {
			http.Error(w, "pkce", http.StatusBadRequest)
			return
		}
		code := "gh-code-" + q.Get("state")[:8]
		codes[code] = q.Get("code_challenge")
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ch, ok := codes[r.PostForm.Get("code")]
		delete(codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || r.PostForm.Get("client_secret") != "gh-secret" || base64.RawURLEncoding.EncodeToString(sum[:]) != ch {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"error":"bad_verification_code"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"gho_test","token_type":"bearer","scope":"read:user,user:email"}`)
	})
	authz := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_test" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /user", authz(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":583231,"login":"octocat","name":"The Octocat","email":null}`)
	}))
	mux.HandleFunc("GET /user/emails", authz(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode([]map[string]any{
			{"email": "octo-old@example.com", "primary": false, "verified": true},
			{"email": "octocat@example.com", "primary": true, "verified": verified},
		})
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGitHubAgainstALocalFake(t *testing.T) {
	gh := fakeGitHub(t, true)
	e := newEnv(t, nil, oidc.Provider{Name: "github", ClientID: "gh-client", ClientSecret: "gh-secret",
		GitHub: &oidc.GitHub{AuthURL: gh.URL + "/login/oauth/authorize", TokenURL: gh.URL + "/login/oauth/access_token", APIURL: gh.URL}})
	c := browser(t)
	auth0 := e.start2(c, "github")
	res, err := c.Get(auth0.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb, _ := url.Parse(res.Header.Get("Location"))
	v := e.callback(c, cb)
	tok := e.exchange(v.Get("oidc_code"))
	st, body := e.call("GET", "/me", tok, nil)
	me, _ := body["user"].(map[string]any)
	if st != 200 || me["email"] != "octocat@example.com" || me["name"] != "The Octocat" {
		t.Fatalf("/me: %d %v", st, me)
	}
	u, _ := e.st.UserByEmail(context.Background(), "octocat@example.com")
	if id, err := e.st.ExternalIdentity(context.Background(), "https://github.com", "583231"); err != nil || id.UserID != u.ID {
		t.Fatalf("identity: %v %v", id, err)
	}
}

// start2 is start for a provider without a nonce (GitHub).
func (e *env) start2(c *http.Client, p string) *url.URL {
	e.t.Helper()
	res, err := c.Get(e.base + "/auth/oidc/" + p)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 302 || loc.Query().Get("code_challenge_method") != "S256" || loc.Query().Get("state") == "" {
		e.t.Fatalf("start: %d %s", res.StatusCode, loc)
	}
	return loc
}

// TestGitHubUnverifiedEmailDoesNotLink: GitHub's primary email, not
// verified at GitHub, matching a verified local account: refused, nothing
// linked.
func TestGitHubUnverifiedEmailDoesNotLink(t *testing.T) {
	gh := fakeGitHub(t, false)
	e := newEnv(t, nil, oidc.Provider{Name: "github", ClientID: "gh-client", ClientSecret: "gh-secret",
		GitHub: &oidc.GitHub{AuthURL: gh.URL + "/login/oauth/authorize", TokenURL: gh.URL + "/login/oauth/access_token", APIURL: gh.URL}})
	ctx := context.Background()
	res, err := e.a.Register(ctx, auth.RegisterInput{Email: "octocat@example.com", Name: "Owner", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetEmailVerified(ctx, res.User.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := browser(t)
	r, err := c.Get(e.start2(c, "github").String())
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	cb, _ := url.Parse(r.Header.Get("Location"))
	if v := e.callback(c, cb); v.Get("oidc_error") != "ACCOUNT_EXISTS" {
		t.Fatalf("got %v, want oidc_error=ACCOUNT_EXISTS", v)
	}
	if _, err := e.st.ExternalIdentity(ctx, "https://github.com", "583231"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("the GitHub account got linked: %v", err)
	}
}

// nopMailer delivers nothing.
type nopMailer struct{}

func (nopMailer) SendPasswordReset(context.Context, *auth.User, string) error     { return nil }
func (nopMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

// TestRequireVerifiedEmail: a provider that does not assert the email
// verified makes no account (EMAIL_NOT_VERIFIED, no user, no session: the
// address stays its owner's); one whose provider asserts it signs in, under
// Mail.RequireVerifiedEmail too.
func TestRequireVerifiedEmail(t *testing.T) {
	e := newEnvWith(t, map[string]oidctest.Account{
		"unverified": {Email: "unverified@example.com", EmailVerified: false},
		"verified":   {Email: "verified@example.com", EmailVerified: true},
	}, func(c *auth.Config) { c.Mail = auth.MailConfig{Mailer: nopMailer{}, RequireVerifiedEmail: true} })
	if v := e.signIn("real", "unverified"); v.Get("oidc_error") != "EMAIL_NOT_VERIFIED" || v.Get("oidc_code") != "" {
		t.Fatalf("unverified: %v; want oidc_error=EMAIL_NOT_VERIFIED and no code", v)
	}
	if u, err := e.st.UserByEmail(context.Background(), "unverified@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("an account was made from an unverified address: %+v, %v", u, err)
	}
	e.exchange(e.signIn("real", "verified").Get("oidc_code"))
}

// outageStore is a memstore whose identity lookup fails, as a database
// outage would.
type outageStore struct{ *memstore.Store }

func (outageStore) ExternalIdentity(context.Context, string, string) (*auth.ExternalIdentity, error) {
	return nil, errors.New("connection refused")
}

// TestCallbackStoreOutage: a store failure during the callback, after the
// provider's answer verified, sends the browser back with
// oidc_error=INTERNAL_ERROR (not OIDC_FAILED, a refusal), and creates no
// account.
func TestCallbackStoreOutage(t *testing.T) {
	var st *memstore.Store
	e := newEnvWith(t, map[string]oidctest.Account{"ada": {Email: "ada@example.com", EmailVerified: true, Name: "Ada"}}, func(c *auth.Config) {
		st = c.Users.(*memstore.Store)
		c.Users, c.Tokens = outageStore{st}, outageStore{st}
	})
	if v := e.signIn("real", "ada"); v.Get("oidc_error") != "INTERNAL_ERROR" || v.Get("oidc_code") != "" {
		t.Fatalf("sign-in during a store outage: %v; want oidc_error=INTERNAL_ERROR", v)
	}
	if _, err := st.UserByEmail(context.Background(), "ada@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("an account was made during the outage: %v", err)
	}
}
