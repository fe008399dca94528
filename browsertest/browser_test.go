package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

const (
	refreshCookie = "__Secure-auth-refresh"
	accessCookie  = "__Secure-auth-access"
	password      = "correct horse battery staple"
)

// TestBrowserMode runs the browser-mode scenarios of the README's "Browser
// apps" section against the reference server on each store, in one
// Chromium: register and log in through the page, reload, three tabs
// refreshing at once, a cross-site attacker, a trusted and an untrusted
// separate front-end origin, and logout.
func TestBrowserMode(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) { runBrowserMode(t, db) })
	}
}

func runBrowserMode(t *testing.T, db string) {
	b := newBrowser(t)
	trusted := freePort(t)
	untrusted := freePort(t)
	srv := startServer(t, db, "-access-cookie", "-frontend-origin", "http://localhost:"+trusted)
	authURL := srv.base + "/api/v2/auth"
	email := fmt.Sprintf("browser-%s@example.com", srv.port)

	p := open(t, b, srv.base+"/")
	if !visible(t, p, "#signed-out") {
		t.Fatal("a new visitor should see the sign-in forms")
	}

	// 1. Register, log out, log in, all through the page.
	fill(t, p, "#register-name", "Browser User")
	fill(t, p, "#register-email", email)
	fill(t, p, "#register-password", password)
	click(t, p, "#register-btn")
	waitText(t, p, "#me-email", email)
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	fill(t, p, "#login-email", email)
	fill(t, p, "#login-password", password)
	click(t, p, "#login-btn")
	waitText(t, p, "#status", "Signed in as")
	waitText(t, p, "#me-email", email)
	waitText(t, p, "#sessions tbody", "this device")

	c := cookie(t, p, authURL+"/refresh", refreshCookie)
	if c == nil {
		t.Fatalf("no %s cookie after login", refreshCookie)
	}
	if !c.HTTPOnly || !c.Secure || c.SameSite != proto.NetworkCookieSameSiteStrict || c.Path != "/api/v2/auth" {
		t.Errorf("refresh cookie: HttpOnly=%v Secure=%v SameSite=%q Path=%q; want HttpOnly, Secure, Strict, /api/v2/auth", c.HTTPOnly, c.Secure, c.SameSite, c.Path)
	}
	if other := cookie(t, p, srv.base+"/", refreshCookie); other != nil {
		t.Errorf("the refresh cookie is sent outside the auth routes (path %q)", other.Path)
	}
	docCookie := eval(t, p, `() => document.cookie`).Value.String()
	bodies := eval(t, p, `() => JSON.stringify(window.__bodies)`).Value.String()
	if strings.Contains(docCookie, c.Value) || strings.Contains(docCookie, refreshCookie) {
		t.Errorf("document.cookie shows the refresh token: %q", docCookie)
	}
	if strings.Contains(bodies, c.Value) || strings.Contains(bodies, `\"refreshToken\":\"eyJ`) {
		t.Errorf("a JSON body the page received carries a refresh token: %s", bodies)
	}
	if !strings.Contains(bodies, "accessToken") {
		t.Errorf("the page saw no access token in any body: %s", bodies)
	}
	if shot := os.Getenv("AUTH_SCREENSHOT"); shot != "" {
		if err := p.SetViewport(&proto.EmulationSetDeviceMetricsOverride{Width: 1100, Height: 760, DeviceScaleFactor: 1}); err == nil {
			if img, err := p.Screenshot(true, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng}); err == nil {
				if err := os.WriteFile(shot, img, 0o644); err != nil {
					t.Errorf("writing the screenshot: %v", err)
				}
			}
		}
	}

	// 2. A reload keeps the user logged in: the page refreshes through
	// the cookie.
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, p)
	waitText(t, p, "#me-email", email)
	if !visible(t, p, "#signed-in") {
		t.Fatal("after a reload the page is not signed in")
	}

	// 3. Three tabs refresh at the same moment: all stay logged in, and
	// there is still one session.
	p2 := open(t, b, srv.base+"/")
	p3 := open(t, b, srv.base+"/")
	waitText(t, p2, "#me-email", email)
	waitText(t, p3, "#me-email", email)
	all := []*rod.Page{p, p2, p3}
	// Hold each tab's refresh in the browser until all three are on their
	// way, so that they reach the server carrying the same cookie.
	release := holdRequests(t, all, "*/api/v2/auth/refresh", len(all))
	results := make([]bool, len(all))
	var wg sync.WaitGroup
	for i, pg := range all {
		wg.Go(func() {
			r, err := pg.Evaluate(rod.Eval(`() => window.app.refresh()`).ByPromise())
			results[i] = err == nil && r.Value.Bool()
		})
	}
	wg.Wait()
	if held := release(); held != len(all) {
		t.Errorf("%d refreshes were held together, want %d", held, len(all))
	}
	for i, ok := range results {
		if !ok {
			t.Errorf("tab %d: the concurrent refresh failed", i+1)
		}
	}
	for i, pg := range all {
		if !eval(t, pg, `() => window.app.loadAccount()`).Value.Bool() {
			t.Errorf("tab %d is logged out after the concurrent refreshes", i+1)
		}
	}
	if n := eval(t, p, `() => document.querySelectorAll("#sessions tbody tr.session").length`).Value.Int(); n != 1 {
		t.Errorf("%d sessions after three tabs refreshed, want 1", n)
	}
	if err := p2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p3.Close(); err != nil {
		t.Fatal(err)
	}

	// 4. An attacker page on another site (127.0.0.1 is not localhost)
	// posts a form and credentialed fetches to /refresh, /logout and a
	// protected application route: each is refused, and the session, its
	// tokens and the cookie are unchanged.
	before := cookie(t, p, authURL+"/refresh", refreshCookie)
	attacker := freePort(t)
	serveOn(t, attacker, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackPage, authURL, srv.base)
	}))
	mark := len(srv.log.String())
	evil := openRaw(t, b, "http://127.0.0.1:"+attacker+"/")
	waitText(t, evil, "#done", "done")
	got := srv.requestsSince(mark)
	seen := map[string]bool{}
	for _, line := range got {
		f := strings.Fields(line)
		if f[0] == http.MethodOptions || f[0] == http.MethodGet {
			continue
		}
		seen[f[0]+" "+f[1]] = true
		if !strings.HasPrefix(f[2], "4") {
			t.Errorf("cross-site request answered %s, want a refusal (4xx): %s", f[2], line)
		}
	}
	for _, want := range []string{"POST /api/v2/auth/refresh", "POST /api/v2/auth/logout", "POST /api/v2/whoami"} {
		if !seen[want] {
			t.Errorf("the attacker's %s never reached the server (requests: %v); the test proves nothing", want, got)
		}
	}
	after := cookie(t, p, authURL+"/refresh", refreshCookie)
	if after == nil || after.Value != before.Value {
		t.Errorf("the refresh cookie changed during the attack")
	}
	if !eval(t, p, `() => window.app.loadAccount()`).Value.Bool() {
		t.Errorf("the session did not survive the attack")
	}
	if err := evil.Close(); err != nil {
		t.Fatal(err)
	}

	// 5. A trusted separate front-end origin logs in and refreshes with
	// credentials; an untrusted one cannot.
	web := http.FileServer(http.Dir("../examples/server/web"))
	serveOn(t, trusted, web)
	serveOn(t, untrusted, web)
	for _, fe := range []struct {
		port string
		ok   bool
	}{{trusted, true}, {untrusted, false}} {
		inc, err := b.Incognito()
		if err != nil {
			t.Fatal(err)
		}
		fp := open(t, inc, "http://localhost:"+fe.port+"/?api="+authURL)
		mark := len(srv.log.String())
		fill(t, fp, "#login-email", email)
		fill(t, fp, "#login-password", password)
		click(t, fp, "#login-btn")
		if fe.ok {
			waitText(t, fp, "#me-email", email)
			if !eval(t, fp, `() => window.app.refresh()`).Value.Bool() {
				t.Errorf("the trusted front end could not refresh with its cookie")
			}
			if !eval(t, fp, `() => window.app.loadAccount()`).Value.Bool() {
				t.Errorf("the trusted front end is not logged in after a refresh")
			}
		} else {
			waitText(t, fp, "#status", "Could not reach the server")
			if visible(t, fp, "#signed-in") {
				t.Errorf("the untrusted front end signed in")
			}
			for _, line := range srv.requestsSince(mark) {
				if strings.HasPrefix(line, "POST /api/v2/auth/login 2") {
					t.Errorf("the untrusted front end's login reached the server and succeeded: %s", line)
				}
			}
			if c := cookie(t, fp, authURL+"/refresh", refreshCookie); c != nil {
				t.Errorf("the untrusted front end got a refresh cookie")
			}
		}
		_ = inc.Close()
	}

	// 6. Log out: the cookie is gone and the access token the page held
	// is refused; the session list showed Chromium's user agent.
	ua := eval(t, p, `() => document.querySelector("#sessions tbody tr.current td.ua").textContent`).Value.String()
	if !strings.Contains(ua, "Chrome") {
		t.Errorf("the current session's user agent is %q, want Chromium's", ua)
	}
	access := lastAccessToken(t, p)
	click(t, p, "#logout-btn")
	waitText(t, p, "#status", "Logged out")
	if c := cookie(t, p, authURL+"/refresh", refreshCookie); c != nil {
		t.Errorf("the refresh cookie survived logout")
	}
	if c := cookie(t, p, srv.base+"/", accessCookie); c != nil {
		t.Errorf("the access cookie survived logout")
	}
	req, _ := http.NewRequest(http.MethodGet, authURL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /me with the logged-out access token: %d, want 401", res.StatusCode)
	}
}

// lastAccessToken returns the access token of the last answer the page
// received that carried one.
func lastAccessToken(t *testing.T, p *rod.Page) string {
	t.Helper()
	var bodies []string
	if err := json.Unmarshal([]byte(eval(t, p, `() => JSON.stringify(window.__bodies)`).Value.String()), &bodies); err != nil {
		t.Fatal(err)
	}
	for i := len(bodies) - 1; i >= 0; i-- {
		var b struct{ AccessToken string }
		if json.Unmarshal([]byte(bodies[i]), &b) == nil && b.AccessToken != "" {
			return b.AccessToken
		}
	}
	t.Fatal("the page received no access token")
	return ""
}

// attackPage is another site's page: a form that posts itself into a
// hidden frame, and credentialed fetches, all at the reference server. The
// fetches are "simple" requests (text/plain, no custom header), which the
// browser sends without a preflight, so that the server has to refuse
// them itself. It writes "done" into #done when all have settled.
const attackPage = `<!doctype html><html><body>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="POST" action="%[1]s/refresh" target="sink" enctype="text/plain">
<input type="hidden" name='{"refreshToken":"x","a":"' value='"}'>
</form>
<p id="done"></p>
<script>
const api = %[1]q, base = %[2]q;
const hit = (url) => fetch(url, {method: "POST", credentials: "include", mode: "no-cors",
  headers: {"Content-Type": "text/plain"}, body: "{}"}).catch(() => null);
const framed = new Promise((resolve) => { document.getElementById("sink").onload = resolve; });
document.getElementById("f").submit();
Promise.all([framed, hit(api + "/refresh"), hit(api + "/logout"), hit(base + "/api/v2/whoami")])
  .then(() => { document.getElementById("done").textContent = "done"; });
</script>
</body></html>`
