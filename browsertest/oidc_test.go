package browsertest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"
	"github.com/ingestiq/auth/oidc/oidctest"
)

// TestBrowserOIDC signs in with a real OpenID provider (npm's
// oidc-provider on loopback) from the reference page: the page's "Sign in
// with" button leads to the provider's own login page, where the test logs
// in; the provider sends the browser back, the state cookie (SameSite=Lax)
// comes with that cross-site redirect, and the page lands signed in, /me
// showing the provider's user.
func TestBrowserOIDC(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) { runBrowserOIDC(t, db) })
	}
}

func runBrowserOIDC(t *testing.T, db string) {
	b := newBrowser(t)
	port := freePort(t)
	base := "http://localhost:" + port
	op := oidctest.Start(t, oidctest.Options{
		Clients:  []oidctest.Client{{ID: "ref-app", Secret: "ref-app-secret", RedirectURIs: []string{base + "/api/v2/auth/oidc/testop/callback"}}},
		Accounts: map[string]oidctest.Account{"browser-user": {Email: "browser-user@example.com", EmailVerified: true, Name: "Browser User"}},
	})
	srv := startServer(t, db, "-addr", "127.0.0.1:"+port,
		"-oidc-provider", "testop="+op.Issuer+",ref-app,ref-app-secret", "-oidc-public-url", base)
	p := open(t, b, srv.base+"/")

	btn, err := p.Timeout(20 * time.Second).Element("#oidc-testop")
	if err != nil {
		t.Fatalf("no sign-in button: %v", err)
	}
	if txt := btn.MustText(); txt != "Sign in with testop" {
		t.Fatalf("button says %q", txt)
	}
	mark := len(srv.log.String())
	btn.MustClick()

	// The provider's own login page.
	login, err := p.Timeout(30 * time.Second).Element(`input[name="login"]`)
	if err != nil {
		t.Fatalf("the provider's login page did not show: %v", err)
	}
	if !strings.HasPrefix(p.MustInfo().URL, op.Issuer+"/") {
		t.Fatalf("login page at %s, want the provider %s", p.MustInfo().URL, op.Issuer)
	}
	// The state cookie the start route set: HttpOnly, SameSite=Lax.
	cookies, err := proto.NetworkGetCookies{Urls: []string{base + "/api/v2/auth/oidc/testop/callback"}}.Call(p)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cookies.Cookies, func(c *proto.NetworkCookie) bool { return c.Name == "auth-oidc-state" })
	if i < 0 || !cookies.Cookies[i].HTTPOnly || cookies.Cookies[i].SameSite != proto.NetworkCookieSameSiteLax {
		t.Fatalf("state cookie: %+v", cookies.Cookies)
	}
	login.MustInput("browser-user")
	p.MustElement(`input[name="password"]`).MustInput("any password")
	p.MustElement(`button[type="submit"]`).MustClick()
	consent, err := p.Timeout(30 * time.Second).Element(`input[name="prompt"][value="consent"]`)
	if err != nil {
		t.Fatalf("no consent page: %v", err)
	}
	_ = consent
	p.MustElement(`button[type="submit"]`).MustClick()

	// Back on the page, signed in.
	if _, err := p.Timeout(30 * time.Second).Element(`body[data-oidc="signed-in"]`); err != nil {
		t.Fatalf("the page did not sign in: %v; status %q; log:\n%s", err, p.MustElement("#status").MustText(), srv.log.String()[mark:])
	}
	waitText(t, p, "#me-email", "browser-user@example.com")
	if u := p.MustInfo().URL; u != base+"/" {
		t.Fatalf("the page's address is %s: the code must leave the address bar", u)
	}
	reqs := srv.requestsSince(mark)
	if !slices.ContainsFunc(reqs, func(s string) bool { return strings.HasPrefix(s, "GET /api/v2/auth/oidc/testop/callback 303") }) ||
		!slices.Contains(reqs, "POST /api/v2/auth/oidc/exchange 200") {
		t.Fatalf("requests: %v", reqs)
	}
	if strings.Contains(srv.log.String()[mark:], "sign-in refused") {
		t.Fatal("the server refused the sign-in: the state cookie did not survive the redirect")
	}
	// A reload keeps the session: the refresh cookie of browser mode.
	p.MustReload()
	waitReady(t, p)
	waitText(t, p, "#me-email", "browser-user@example.com")
}
