package browsertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	// A passkey is a second step: the two-step card says so at once.
	waitText(t, p, "#mfa-status", "On: passkey")
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
	if !strings.Contains(srv.log.String(), "auth.passkey.register") {
		t.Fatal("no auth.passkey.register audit record")
	}
	userID := c["sub"].(string)
	if shot := os.Getenv("AUTH_SCREENSHOT"); shot != "" {
		screenshot(t, p, filepath.Join(filepath.Dir(shot), "passkeys.png"))
	}

	// 2. A password login of a user with a passkey stops at the second
	// step, which the passkey satisfies.
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	login(t, p, email)
	waitText(t, p, "#status", "Use your passkey")
	if visible(t, p, "#signed-in") || !visible(t, p, "#mfa-passkey-btn") {
		t.Fatal("a password alone signed in, or the second step offers no passkey")
	}
	click(t, p, "#mfa-passkey-btn")
	waitText(t, p, "#status", "Signed in as "+email)
	if _, c := accessClaims(t, p); !slices.Equal(amrOf(c), []string{"pwd", "webauthn"}) || c["aal"] != float64(2) {
		t.Fatalf("second step with the passkey: amr %v aal %v, want [pwd webauthn] and 2", amrOf(c), c["aal"])
	}

	// 4. A captured assertion replayed over HTTP is refused; so is a sign
	// count that went backwards, which is audited.
	captured := eval(t, p, `async () => {
		const b = await call("POST", "/passkeys/login/begin", {});
		const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(b.data.publicKey) });
		return JSON.stringify({ ceremony: b.data.ceremony, credential: cred.toJSON() });
	}`).Value.String()
	if s, _ := postJSON(t, srv.base+"/api/v2/auth/passkeys/login/finish", captured); s != http.StatusOK {
		t.Fatalf("the captured assertion's first use: %d", s)
	}
	if s, code := postJSON(t, srv.base+"/api/v2/auth/passkeys/login/finish", captured); s != http.StatusUnauthorized || code != "INVALID_PASSKEY" {
		t.Fatalf("the replayed assertion: %d %s, want 401 INVALID_PASSKEY", s, code)
	}
	creds := credentials(t, p, auth1)
	cred := creds[0]
	if err := (proto.WebAuthnRemoveCredential{AuthenticatorID: auth1, CredentialID: cred.CredentialID}).Call(p); err != nil {
		t.Fatal(err)
	}
	tampered := *cred
	tampered.SignCount = 0
	if err := (proto.WebAuthnAddCredential{AuthenticatorID: auth1, Credential: &tampered}).Call(p); err != nil {
		t.Fatalf("WebAuthn.addCredential: %v", err)
	}
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	click(t, p, "#passkey-login-btn")
	waitText(t, p, "#status", "Passkey not accepted")
	if visible(t, p, "#signed-in") {
		t.Fatal("a sign count that went backwards signed in")
	}
	if !strings.Contains(srv.log.String(), "msg=auth.passkey.sign_count") {
		t.Fatal("the sign count going backwards was not audited")
	}
	// Put the counter ahead again.
	if err := (proto.WebAuthnRemoveCredential{AuthenticatorID: auth1, CredentialID: cred.CredentialID}).Call(p); err != nil {
		t.Fatal(err)
	}
	restored := *cred
	restored.SignCount = cred.SignCount + 10
	if err := (proto.WebAuthnAddCredential{AuthenticatorID: auth1, Credential: &restored}).Call(p); err != nil {
		t.Fatal(err)
	}

	// 3. A second virtual authenticator, whose credential (for this site
	// and this user's handle) was never registered, is refused.
	if err := (proto.WebAuthnRemoveVirtualAuthenticator{AuthenticatorID: auth1}).Call(p); err != nil {
		t.Fatal(err)
	}
	auth2 := virtualAuthenticator(t, p)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	strangerID := make([]byte, 16)
	_, _ = rand.Read(strangerID)
	if err := (proto.WebAuthnAddCredential{AuthenticatorID: auth2, Credential: &proto.WebAuthnCredential{
		CredentialID: strangerID, IsResidentCredential: true, RpID: "localhost", PrivateKey: pkcs8, UserHandle: []byte(userID), SignCount: 1,
	}}).Call(p); err != nil {
		t.Fatalf("WebAuthn.addCredential: %v", err)
	}
	status(t, p, "")
	click(t, p, "#passkey-login-btn")
	waitText(t, p, "#status", "Passkey not accepted")
	if visible(t, p, "#signed-in") {
		t.Fatal("an unregistered credential signed in")
	}
	if err := (proto.WebAuthnRemoveVirtualAuthenticator{AuthenticatorID: auth2}).Call(p); err != nil {
		t.Fatal(err)
	}
	auth3 := virtualAuthenticator(t, p)
	if err := (proto.WebAuthnAddCredential{AuthenticatorID: auth3, Credential: &restored}).Call(p); err != nil {
		t.Fatal(err)
	}

	// 5. The genuine passkey signs in; deleted, it no longer does.
	click(t, p, "#passkey-login-btn")
	waitText(t, p, "#status", "Signed in as "+email)
	waitText(t, p, "#passkeys tbody", "Laptop")
	click(t, p, ".remove-passkey")
	waitText(t, p, "#status", "Passkey removed.")
	if n := eval(t, p, `() => document.querySelectorAll("#passkeys tbody tr").length`).Value.Int(); n != 0 {
		t.Fatalf("%d passkeys listed after the removal", n)
	}
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	click(t, p, "#passkey-login-btn")
	waitText(t, p, "#status", "Passkey not accepted")
	if visible(t, p, "#signed-in") {
		t.Fatal("a deleted passkey signed in")
	}
	if !strings.Contains(srv.log.String(), "msg=auth.passkey.remove") {
		t.Fatal("no auth.passkey.remove audit record")
	}
}

// status sets the page's status line, so that a later waitText sees a new
// message.
func status(t *testing.T, p *rod.Page, text string) {
	t.Helper()
	eval(t, p, `(s) => { document.querySelector("#status").textContent = s; }`, text)
}

// postJSON posts body to url and returns the status and the error code.
func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error.Code
}

// screenshot writes the page as a PNG to path.
func screenshot(t *testing.T, p *rod.Page, path string) {
	t.Helper()
	if err := p.SetViewport(&proto.EmulationSetDeviceMetricsOverride{Width: 1100, Height: 900, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	img, err := p.Screenshot(true, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Errorf("writing the screenshot: %v", err)
	}
}
