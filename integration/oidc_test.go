package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/oidc"
	"github.com/ingestiq/auth/oidc/oidctest"
)

// TestOIDC signs in with a real OpenID provider (npm's oidc-provider on
// loopback) through the oidc module, on sqlstore on every database: a
// first sign-in creates a passwordless user and its identity, the one-time
// code opens a session once, the second sign-in finds the same user, a
// tampered ID token changes nothing, an unverified provider email does not
// take over an account, and the last way in cannot be unlinked.
func TestOIDC(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		ts := httptest.NewUnstartedServer(nil)
		base := "http://" + ts.Listener.Addr().String()
		op := oidctest.Start(t, oidctest.Options{
			Clients: []oidctest.Client{{ID: "app", Secret: "app-secret", RedirectURIs: []string{base + "/oidc/op/callback", base + "/oidc/px/callback"}}},
			Accounts: map[string]oidctest.Account{
				"ada":    {Email: "ada@example.com", EmailVerified: true},
				"mallet": {Email: "victim@example.com", EmailVerified: false},
			},
		})
		proxy := oidctest.NewProxy(t, op)
		a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: []byte("integration-oidc-secret-0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oidc.New(ctx, oidc.Config{
			Auth: a, Secret: []byte("integration-oidc-state-0123456789abcdef"), PublicURL: base, FrontendURL: base + "/app",
			Providers: []oidc.Provider{
				{Name: "op", Issuer: op.Issuer, ClientID: "app", ClientSecret: "app-secret"},
				{Name: "px", Issuer: proxy.URL, ClientID: "app", ClientSecret: "app-secret"},
			},
		}); err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = a.Handler()
		ts.Start()
		t.Cleanup(ts.Close)

		signIn := func(p, login string) url.Values {
			t.Helper()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := c.Get(base + "/oidc/" + p)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cb := op.Login(t, c, res.Header.Get("Location"), login)
			res, err = c.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc, _ := url.Parse(res.Header.Get("Location"))
			v, _ := url.ParseQuery(loc.Fragment)
			return v
		}
		exchange := func(code string) (int, map[string]any) {
			res, err := http.Post(base+"/oidc/exchange", "application/json", strings.NewReader(`{"code":"`+code+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(res.Body).Decode(&m)
			return res.StatusCode, m
		}

		code := signIn("op", "ada").Get("oidc_code")
		if st, body := exchange(code); st != 200 || body["accessToken"] == nil {
			t.Fatalf("exchange: %d %v", st, body)
		}
		if st, _ := exchange(code); st != 401 {
			t.Fatalf("second exchange: %d", st)
		}
		ada, err := st.UserByEmail(ctx, "ada@example.com")
		if err != nil || ada.PasswordHash != "" {
			t.Fatalf("ada: %+v %v", ada, err)
		}
		ids, err := st.UserExternalIdentities(ctx, ada.ID)
		if err != nil || len(ids) != 1 || ids[0].Issuer != op.Issuer || ids[0].Subject != "ada" {
			t.Fatalf("identities: %v %v", ids, err)
		}
		_, body := exchange(signIn("op", "ada").Get("oidc_code"))
		if u, _ := body["user"].(map[string]any); u["id"] != ada.ID {
			t.Fatalf("second sign-in: %v, want user %s", body, ada.ID)
		}

		proxy.SetMode(oidctest.WrongNonce)
		if v := signIn("px", "tampered"); v.Get("oidc_error") != "OIDC_FAILED" {
			t.Fatalf("wrong nonce: %v", v)
		}
		proxy.SetMode(oidctest.Faithful)
		if _, err := st.UserByEmail(ctx, "tampered@example.com"); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("a refused sign-in created a user: %v", err)
		}

		victim, err := a.Register(ctx, auth.RegisterInput{Email: "victim@example.com", Name: "Victim", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetEmailVerified(ctx, victim.User.ID, victim.User.CreatedAt); err != nil {
			t.Fatal(err)
		}
		if v := signIn("op", "mallet"); v.Get("oidc_error") != "ACCOUNT_EXISTS" {
			t.Fatalf("unverified provider email: %v", v)
		}
		if ids, _ := st.UserExternalIdentities(ctx, victim.User.ID); len(ids) != 0 {
			t.Fatalf("the victim's account got linked: %v", ids)
		}
		if err := a.UnlinkExternal(context.Background(), ada.ID, ids[0].ID); !errors.Is(err, auth.ErrLastSignInMethod) {
			t.Fatalf("unlink the last way in: %v", err)
		}
	})
}
