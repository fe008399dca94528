package browsertest

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-rod/rod"
)

// totp returns the code of a base32 secret from Debian's oathtool, an
// implementation independent of the library's, at now plus offset (an
// oathtool time expression such as "now + 30 seconds").
func totp(t *testing.T, secret, at string) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if isCI() {
			t.Fatal("no oathtool (apt-get install oathtool); CI must run the two-step browser test")
		}
		t.Skip("SKIP: no oathtool; install Debian's oathtool to run the two-step browser test")
	}
	out, err := exec.Command(path, "--totp", "-b", "--now", at, secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestBrowserTwoStep sets up two-step sign-in through the page's screens and
// signs in with it: enrollment shows the secret, a code from oathtool
// confirms it and the ten recovery codes appear once; the next login stops
// at the code prompt, where a code signs in, and on the login after that a
// recovery code does, once.
func TestBrowserTwoStep(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) { runBrowserTwoStep(t, db) })
	}
}

func runBrowserTwoStep(t *testing.T, db string) {
	b := newBrowser(t)
	srv := startServer(t, db)
	email := fmt.Sprintf("two-step-%s@example.com", srv.port)
	p := open(t, b, srv.base+"/")

	fill(t, p, "#register-name", "Two Step")
	fill(t, p, "#register-email", email)
	fill(t, p, "#register-password", password)
	click(t, p, "#register-btn")
	waitText(t, p, "#mfa-status", "Off")

	click(t, p, "#mfa-enroll-btn")
	waitText(t, p, "#status", "Scan the secret")
	secret := eval(t, p, `() => document.querySelector("#mfa-secret").textContent`).Value.String()
	uri := eval(t, p, `() => document.querySelector("#mfa-uri").getAttribute("href")`).Value.String()
	if len(secret) != 32 || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrollment shows secret %q and URI %q", secret, uri)
	}
	fill(t, p, "#mfa-confirm-code", totp(t, secret, "now"))
	click(t, p, "#mfa-confirm-btn")
	waitText(t, p, "#status", "Two-step sign-in is on")
	codes := eval(t, p, `() => [...document.querySelectorAll("#mfa-code-list li")].map(li => li.textContent)`).Value.Arr()
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	recovery := codes[0].String()
	waitText(t, p, "#mfa-status", "10 recovery codes left")

	// Log out; a password alone now stops at the code prompt.
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	login(t, p, email)
	waitText(t, p, "#status", "Enter the code")
	if visible(t, p, "#signed-in") {
		t.Fatal("signed in with a password alone")
	}
	// The code just used to confirm cannot be replayed; the next step's
	// code (within the allowed skew) signs in.
	fill(t, p, "#mfa-code", totp(t, secret, "now + 30 seconds"))
	click(t, p, "#mfa-verify-btn")
	waitText(t, p, "#status", "Signed in as")
	waitText(t, p, "#me-email", email)
	if aal := accessClaim(t, p, "aal"); aal != "2" {
		t.Errorf("access token after the second step has aal %s, want 2", aal)
	}

	// Log out; a recovery code signs in once.
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	login(t, p, email)
	waitText(t, p, "#status", "Enter the code")
	fill(t, p, "#mfa-recovery", recovery)
	click(t, p, "#mfa-verify-btn")
	waitText(t, p, "#status", "Signed in as")
	waitText(t, p, "#mfa-status", "9 recovery codes left")
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	login(t, p, email)
	waitText(t, p, "#status", "Enter the code")
	fill(t, p, "#mfa-recovery", recovery)
	click(t, p, "#mfa-verify-btn")
	waitText(t, p, "#status", "Invalid verification code")
	if visible(t, p, "#signed-in") {
		t.Fatal("a spent recovery code signed in again")
	}
}

// login submits the page's login form.
func login(t *testing.T, p *rod.Page, email string) {
	t.Helper()
	fill(t, p, "#login-email", email)
	fill(t, p, "#login-password", password)
	click(t, p, "#login-btn")
}

// accessClaim returns a claim of the newest access token the page received,
// as JSON text.
func accessClaim(t *testing.T, p *rod.Page, name string) string {
	t.Helper()
	tok := lastAccessToken(t, p)
	return eval(t, p, `(tok, name) => {
		const part = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
		return JSON.stringify(JSON.parse(atob(part))[name]);
	}`, tok, name).Value.String()
}
