package auth_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// wrappedStore embeds the core interfaces of a memstore, as a store
// wrapper that forwards nothing else would: its optional interfaces are
// hidden.
type wrappedStore struct {
	auth.UserStore
	auth.TokenStore
}

// nopMailer accepts every mail.
type nopMailer struct{}

func (nopMailer) SendPasswordReset(context.Context, *auth.User, string) error     { return nil }
func (nopMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

// capConfig returns a Config on the given stores with fast hashing and a
// captured log.
func capConfig(users auth.UserStore, tokens auth.TokenStore, logs *testutil.LogSink) auth.Config {
	return auth.Config{
		Users: users, Tokens: tokens, Secret: testSecret,
		Logger:    slog.New(logs.Handler()),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
		Mail:      auth.MailConfig{ForgotPasswordMinDuration: 1},
	}
}

// TestNewRefusesSettingsTheStoresCannotServe checks that a setting that
// needs an optional store interface fails at New, naming the interface and
// the store's type, instead of answering 501 at run time.
func TestNewRefusesSettingsTheStoresCannotServe(t *testing.T) {
	mem := memstore.New()
	wrapped := &wrappedStore{mem, mem}
	for _, tc := range []struct {
		name  string
		tweak func(*auth.Config)
		want  []string
	}{
		{"Mailer on a wrapper", func(c *auth.Config) { c.Users, c.Tokens, c.Mail.Mailer = wrapped, wrapped, nopMailer{} }, []string{
			"auth: Config.Tokens (*auth_test.wrappedStore) does not implement auth.OneTimeTokenStore",
			"auth: Config.Tokens (*auth_test.wrappedStore) does not implement auth.SessionLister",
		}},
		{"Mailer, tokens wrapped", func(c *auth.Config) { c.Tokens, c.Mail.Mailer = bareTokens{mem}, nopMailer{} }, []string{
			"Config.Tokens (auth_test.bareTokens) does not implement auth.OneTimeTokenStore, which Config.Mail.Mailer (password reset) needs",
		}},
		{"SendVerificationEmail, users wrapped", func(c *auth.Config) {
			c.Users, c.Mail.Mailer, c.Mail.SendVerificationEmail = wrapped, nopMailer{}, true
		}, []string{"Config.Users (*auth_test.wrappedStore) does not implement auth.EmailVerifier, which Config.Mail.SendVerificationEmail needs"}},
		{"RequireVerifiedEmail, users wrapped", func(c *auth.Config) {
			c.Users, c.Mail.Mailer, c.Mail.RequireVerifiedEmail = wrapped, nopMailer{}, true
		}, []string{"Config.Users (*auth_test.wrappedStore) does not implement auth.EmailVerifier, which Config.Mail.RequireVerifiedEmail needs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := capConfig(mem, mem, &testutil.LogSink{})
			tc.tweak(&cfg)
			a, err := auth.New(cfg)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error naming the missing interface", a != nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: %v\nwant it to say %q", err, w)
				}
			}
		})
	}
	// The same settings on the store itself are fine.
	cfg := capConfig(mem, mem, &testutil.LogSink{})
	cfg.Mail.Mailer, cfg.Mail.SendVerificationEmail, cfg.Mail.RequireVerifiedEmail = nopMailer{}, true, true
	if _, err := auth.New(cfg); err != nil {
		t.Fatalf("New on memstore with a Mailer: %v", err)
	}
}

// lifecycleCalls are requests to every account-lifecycle route that the
// route serves when it can: none answers 501 unless the route is off.
var lifecycleCalls = []struct {
	route, method, path, body string
	authed                    bool
}{
	{"GET /sessions", "GET", "/sessions", "", true},
	{"POST /logout-all", "POST", "/logout-all", `{"keepCurrent": true}`, true},
	{"POST /password", "POST", "/password", `{"currentPassword": "` + goodPassword + `", "newPassword": "another good passphrase"}`, true},
	{"DELETE /me", "DELETE", "/me", `{"password": "` + goodPassword + `"}`, true},
	{"POST /password/forgot", "POST", "/password/forgot", `{"email": "someone@example.com"}`, false},
	{"POST /password/reset", "POST", "/password/reset", `{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "newPassword": "another good passphrase"}`, false},
	{"POST /verify-email", "POST", "/verify-email", `{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, false},
	{"DELETE /sessions/{id}", "DELETE", "/sessions/no-such-session", "", true},
}

// TestRoutesOffAreLogged checks that New logs, once and at Info, the
// lifecycle routes the configuration cannot serve and why, and that
// exactly those routes answer 501 NOT_IMPLEMENTED.
func TestRoutesOffAreLogged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tweak  func(c *auth.Config, mem *memstore.Store)
		off    []string
		reason string
	}{
		{"memstore with a Mailer", func(c *auth.Config, _ *memstore.Store) { c.Mail.Mailer = nopMailer{} }, nil, ""},
		{"memstore without a Mailer", func(*auth.Config, *memstore.Store) {},
			[]string{"POST /password/forgot", "POST /password/reset", "POST /verify-email"}, "no Config.Mail.Mailer"},
		{"wrapped stores without a Mailer", func(c *auth.Config, mem *memstore.Store) { w := &wrappedStore{mem, mem}; c.Users, c.Tokens = w, w },
			[]string{"GET /sessions", "POST /logout-all", "POST /password", "DELETE /me", "POST /password/forgot", "POST /password/reset", "POST /verify-email"},
			"Config.Tokens (*auth_test.wrappedStore) does not implement auth.SessionLister"},
		{"users wrapped, with a Mailer", func(c *auth.Config, mem *memstore.Store) {
			c.Users, c.Mail.Mailer = &wrappedStore{mem, mem}, nopMailer{}
		},
			[]string{"POST /verify-email"}, "Config.Users (*auth_test.wrappedStore) does not implement auth.EmailVerifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memstore.New()
			logs := &testutil.LogSink{}
			cfg := capConfig(mem, mem, logs)
			tc.tweak(&cfg, mem)
			a, err := auth.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			log := logs.String()
			if n := strings.Count(log, "routes off"); n != min(len(tc.off), 1) {
				t.Fatalf("%d log records about routes off, want %d:\n%s", n, min(len(tc.off), 1), log)
			}
			if len(tc.off) > 0 && (!strings.Contains(log, "INFO") || !strings.Contains(log, tc.reason)) {
				t.Errorf("the log does not say, at Info, %q:\n%s", tc.reason, log)
			}
			isOff := map[string]bool{}
			for _, r := range tc.off {
				isOff[r] = true
			}
			mux := http.NewServeMux()
			mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))
			e := &testEnv{a: a, mux: mux}
			for _, c := range lifecycleCalls {
				if logged := strings.Contains(log, c.route+"="); logged != isOff[c.route] {
					t.Errorf("%s: logged as off %v, want %v:\n%s", c.route, logged, isOff[c.route], log)
				}
				s := e.registerHTTP(t, strings.ToLower(strings.NewReplacer(" ", "", "/", "", "{", "", "}", "").Replace(c.route))+"@example.com")
				h := jsonHeaders
				if c.authed {
					h = append(bearer(s.access), h...)
				}
				var r *httpResult
				if c.body == "" {
					r = e.do(c.method, c.path, nil, h)
				} else {
					r = e.do(c.method, c.path, strings.NewReader(c.body), h)
				}
				if got := r.status == http.StatusNotImplemented; got != isOff[c.route] {
					t.Errorf("%s: %d %s; off: %v", c.route, r.status, r.body, isOff[c.route])
				}
			}
		})
	}
}
