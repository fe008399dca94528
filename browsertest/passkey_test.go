package browsertest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// virtualAuthenticator enables WebAuthn in p and attaches a virtual CTAP2
// platform authenticator with resident keys and user verification that
// answers without a touch; it returns its id.
func virtualAuthenticator(t *testing.T, p *rod.Page) proto.WebAuthnAuthenticatorID {
	t.Helper()
	if err := (proto.WebAuthnEnable{}).Call(p); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	r, err := proto.WebAuthnAddVirtualAuthenticator{Options: &proto.WebAuthnVirtualAuthenticatorOptions{
		Protocol:                    proto.WebAuthnAuthenticatorProtocolCtap2,
		Ctap2Version:                proto.WebAuthnCtap2VersionCtap21,
		Transport:                   proto.WebAuthnAuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}}.Call(p)
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return r.AuthenticatorID
}

// credentials returns the credentials a virtual authenticator holds.
func credentials(t *testing.T, p *rod.Page, id proto.WebAuthnAuthenticatorID) []*proto.WebAuthnCredential {
	t.Helper()
	r, err := proto.WebAuthnGetCredentials{AuthenticatorID: id}.Call(p)
	if err != nil {
		t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return r.Credentials
}

// accessClaims returns the claims of the page's in-memory access token.
func accessClaims(t *testing.T, p *rod.Page) (string, map[string]any) {
	t.Helper()
	tok := eval(t, p, `() => accessToken`).Value.String()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("the page holds no access token (%q)", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return tok, c
}

func amrOf(c map[string]any) []string {
	var out []string
	for _, m := range c["amr"].([]any) {
		out = append(out, m.(string))
	}
	return out
}

// me calls GET /me with a bearer token and returns the status.
func me(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v2/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// registerAndAddPasskey registers an account on the page and adds a
// passkey named name to it through the Passkeys screen.
func registerAndAddPasskey(t *testing.T, p *rod.Page, email, name string) {
	t.Helper()
	fill(t, p, "#register-name", "Passkey User")
	fill(t, p, "#register-email", email)
	fill(t, p, "#register-password", password)
	click(t, p, "#register-btn")
	waitText(t, p, "#me-email", email)
	fill(t, p, "#passkey-name", name)
	click(t, p, "#passkey-add-btn")
	waitText(t, p, "#status", "Passkey added.")
	waitText(t, p, "#passkeys tbody", name)
}

// TestBrowserPasskeys proves passkeys in headless Chromium with the
// DevTools protocol's virtual authenticator, on the reference page.
func TestBrowserPasskeys(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) { runBrowserPasskeys(t, db) })
	}
}

func runBrowserPasskeys(t *testing.T, db string) {
	b := newBrowser(t)
	srv := startServer(t, db)
	p := open(t, b, srv.base+"/")
	auth1 := virtualAuthenticator(t, p)
	email := fmt.Sprintf("passkey-%s@example.com", srv.port)

	// 1. Register, add a passkey, log out, sign in with the passkey
	// without typing an email: amr webauthn (aal 2, the authenticator
	// verified the user), and /me works.
	registerAndAddPasskey(t, p, email, "Laptop")
	if n := len(credentials(t, p, auth1)); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", n)
	}
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	click(t, p, "#passkey-login-btn")
	waitText(t, p, "#status", "Signed in as "+email)
	if v := eval(t, p, `() => document.querySelector("#login-email").value`).Value.String(); v != "" {
		t.Fatalf("the email field holds %q; a passkey sign-in types none", v)
	}
	tok, c := accessClaims(t, p)
	if amr := amrOf(c); !slices.Equal(amr, []string{"webauthn"}) || c["aal"] != float64(2) {
		t.Fatalf("passkey sign-in: amr %v aal %v, want [webauthn] and 2", amr, c["aal"])
	}
	if s := me(t, srv.base, tok); s != http.StatusOK {
		t.Fatalf("GET /me with the passkey session: %d", s)
	}
	waitText(t, p, "#me-email", email)
	if srv.log.String() == "" || !strings.Contains(srv.log.String(), "auth.passkey.register") {
		t.Fatal("no auth.passkey.register audit record")
	}
}
