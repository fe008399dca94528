// Package oidctest runs a real OpenID provider for tests: npm's
// oidc-provider (testdata/provider, a certified implementation) on a
// loopback port, with its development login pages, and a tampering proxy
// in front of it that re-signs its ID tokens with changed claims, for the
// refusal cases. It needs node and npm; the provider's packages are
// installed with `npm ci` when missing.
package oidctest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client is an OAuth client registered at the provider.
type Client struct {
	ID, Secret   string
	RedirectURIs []string
}

// Account is what the provider asserts about a login name.
type Account struct {
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name,omitempty"`
}

// Options configures [Start].
type Options struct {
	// Clients are the registered clients.
	Clients []Client
	// Accounts maps login names to their claims; any other login name
	// signs in as <login>@example.com, verified.
	Accounts map[string]Account
	// IDTokenTTL is the ID tokens' lifetime. The default is one hour.
	IDTokenTTL time.Duration
}

// Provider is a running provider.
type Provider struct {
	// Issuer is its issuer URL, http://127.0.0.1:<port>.
	Issuer string
}

var npmOnce sync.Once

// dir is testdata/provider of the oidc module.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "provider")
}

// Start starts a provider for the test and stops it at its end. Without
// node and npm on the PATH it skips the test, and under CI=true fails it
// (CI installs them); it fails the test when node cannot run the provider.
func Start(t testing.TB, opt Options) *Provider {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("oidctest: no %s (apt-get install nodejs npm); CI must run the provider tests", tool)
			}
			t.Skipf("SKIP: no %s; install Node.js and npm to run the tests against a real OpenID provider", tool)
		}
	}
	d := dir()
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(d, "node_modules", "oidc-provider")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = d
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("npm ci: %v\n%s", err, out)
		}
	})
	type jc struct {
		ID     string   `json:"client_id"`
		Secret string   `json:"client_secret"`
		URIs   []string `json:"redirect_uris"`
	}
	var cs []jc
	for _, c := range opt.Clients {
		cs = append(cs, jc{c.ID, c.Secret, c.RedirectURIs})
	}
	clients, _ := json.Marshal(cs)
	accounts, _ := json.Marshal(opt.Accounts)
	ttl := opt.IDTokenTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	cmd := exec.Command("node", "provider.mjs")
	cmd.Dir = d
	cmd.Env = append(os.Environ(), "OIDC_CLIENTS="+string(clients), "OIDC_ACCOUNTS="+string(accounts),
		"OIDC_ID_TOKEN_TTL="+strconv.Itoa(int(ttl/time.Second)))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if os.Getenv("OIDCTEST_DEBUG") != "" {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("oidctest: start the provider (node): %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		var v struct{ Issuer string }
		if !ok || json.Unmarshal([]byte(l), &v) != nil || v.Issuer == "" {
			t.Fatalf("oidctest: the provider did not start (is `npm ci` done in %s?): %q", d, l)
		}
		return &Provider{Issuer: v.Issuer}
	case <-time.After(60 * time.Second):
		t.Fatal("oidctest: the provider did not start within 60 s")
	}
	return nil
}

var actionRE = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// Login drives the provider's own login and consent pages with c (which
// must have a cookie jar and must not follow redirects on its own),
// starting at authURL, signing in as login, until the provider redirects
// to a URL outside it: that URL (the application's callback) is returned.
func (p *Provider) Login(t testing.TB, c *http.Client, authURL, login string) *url.URL {
	t.Helper()
	next, _ := url.Parse(authURL)
	var form url.Values
	for range 20 {
		var res *http.Response
		var err error
		if form != nil {
			res, err = c.PostForm(next.String(), form)
		} else {
			res, err = c.Get(next.String())
		}
		if err != nil {
			t.Fatalf("oidctest: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		form = nil
		switch {
		case res.StatusCode >= 300 && res.StatusCode < 400:
			loc, err := next.Parse(res.Header.Get("Location"))
			if err != nil {
				t.Fatalf("oidctest: bad Location: %v", err)
			}
			if !strings.HasPrefix(loc.String(), p.Issuer+"/") {
				return loc
			}
			next = loc
		case res.StatusCode == http.StatusOK:
			m := actionRE.FindSubmatch(body)
			if m == nil {
				t.Fatalf("oidctest: no form on the provider's page:\n%s", body)
			}
			next, _ = next.Parse(html.UnescapeString(string(m[1])))
			if strings.Contains(string(body), `value="login"`) {
				form = url.Values{"prompt": {"login"}, "login": {login}, "password": {"any"}}
			} else {
				form = url.Values{"prompt": {"consent"}}
			}
		default:
			t.Fatalf("oidctest: provider answered %d:\n%s", res.StatusCode, body)
		}
	}
	t.Fatal("oidctest: too many steps at the provider")
	return nil
}

// String returns the issuer.
func (p *Provider) String() string { return fmt.Sprint(p.Issuer) }
