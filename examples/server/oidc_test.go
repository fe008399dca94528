package main

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/ingestiq/auth/oidc/oidctest"
)

// readmeOIDCCommands returns the commands of the ```bash blocks of the
// README's "Sign in with a provider" section, continuation lines joined.
func readmeOIDCCommands(t *testing.T) []string {
	t.Helper()
	readme := readReadme(t)
	i := strings.Index(readme, "\n## Sign in with a provider\n")
	if i < 0 {
		t.Fatal("the README has no section \"Sign in with a provider\"")
	}
	section := readme[i+1:]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	return blockCommands(section, "bash")
}

// TestReadmeOIDC runs the curl lines of the README's "Sign in with a
// provider" against the reference server configured with a real OpenID
// provider (npm's oidc-provider on loopback) as "google": the start route's
// 302 with state, nonce and PKCE, then a sign-in at the provider's own
// login page whose one-time code the README's lines exchange (once), list
// the identity and fail to unlink the last way in.
func TestReadmeOIDC(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("SKIP: curl is not installed; the README's commands need it")
	}
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("SKIP: jq is not installed; the README's commands need it")
	}
	cmds := readmeOIDCCommands(t)
	if len(cmds) < 6 {
		t.Fatalf("%d commands in the README's provider section, want at least 6", len(cmds))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	op := oidctest.Start(t, oidctest.Options{
		Clients: []oidctest.Client{{ID: "readme-app", Secret: "readme-secret", RedirectURIs: []string{base + "/api/v2/auth/oidc/google/callback"}}},
	})
	srv := start(t, map[string]string{"AUTH_SECRET": testSecret}, "-addr", addr, "-db", "memory",
		"-oidc-provider", "google="+op.Issuer+",readme-app,readme-secret", "-oidc-public-url", base)
	if srv.url != base {
		t.Fatalf("server at %s, want %s", srv.url, base)
	}

	// The browser's part: the start route, the provider's login page, the
	// callback, whose redirect carries the one-time code.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/api/v2/auth/oidc/google")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb := op.Login(t, c, res.Header.Get("Location"), "readme-user")
	res, err = c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	frag, _ := url.ParseQuery(loc.Fragment)
	code := frag.Get("oidc_code")
	if res.StatusCode != http.StatusSeeOther || code == "" {
		t.Fatalf("callback: %d %s", res.StatusCode, loc)
	}
	for i, cmd := range cmds {
		cmds[i] = strings.ReplaceAll(cmd, "<code>", code)
	}
	runCurls(t, srv, cmds)
}
