package securitytest

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// mountPrefix is where the rows mount the library's routes, as the
// reference server does.
const mountPrefix = "/api/v2/auth"

// testSecret is the HS256 secret of every Authenticator unless a row needs
// another: 40 bytes, above the 32-byte minimum.
var testSecret = []byte("test-secret-0123456789-abcdefghijklmnopq")

// fastArgon2 makes hashing cheap enough for the race detector and for
// thousands of logins on a database; it is only accepted together with
// InsecureAllowWeakHashing.
var fastArgon2 = auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

// testStart is the instant every clock starts at. Its millisecond part is
// non-zero so that createdAt shows three meaningful fractional digits.
var testStart = time.Date(2025, 1, 28, 12, 0, 0, 123_000_000, time.UTC)

// option changes the Config of a row's Authenticator before New.
type option func(*auth.Config)

// throttling restores the default throttling, for rows about it and rows
// that check the contract under the configuration a deployment runs.
func throttling(c *auth.Config) { c.Throttle.InsecureDisableThrottling = false }

// env is one row's world: an Authenticator over a freshly opened pair of
// stores (seen through a probe that counts and can fail calls), a
// controllable clock, a captured log, and the routes mounted under
// mountPrefix.
type env struct {
	t *testing.T
	a *auth.Authenticator
	// cfg is the Config a was built from, for siblings on the same stores.
	cfg auth.Config
	// users and tokens are the stores as opened: rows read and plant
	// records through them behind the Authenticator's back.
	users  auth.UserStore
	tokens auth.TokenStore
	// probe is what the Authenticator sees of the stores.
	probe *probe
	clock *testutil.Clock
	logs  *testutil.LogSink
	mux   *http.ServeMux
	seen  *seen

	srvOnce sync.Once
	srv     *httptest.Server

	// inflight and started tell the invariant checks whether a request
	// overlapped others, whose effects on the counts it must not judge.
	inflight atomic.Int32
	started  atomic.Int64
}

// env opens fresh stores and builds a row's environment on them. Each
// option may change the Config before New is called.
func (s *suite) env(t *testing.T, opts ...option) *env {
	t.Helper()
	users, tokens := s.open(t)
	if users == nil || tokens == nil {
		t.Fatal("open returned a nil store")
	}
	e := &env{
		t: t, users: users, tokens: tokens, probe: newProbe(users, tokens),
		clock: testutil.NewClock(testStart), logs: &testutil.LogSink{}, seen: newSeen(),
	}
	e.cfg = auth.Config{
		Users:  e.probe,
		Tokens: e.probe,
		Secret: testSecret,
		Now:    e.clock.Now,
		Logger: slog.New(e.logs.Handler()),
		// Rows send many requests from one address; the rows about
		// throttling turn it back on.
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
	for _, opt := range opts {
		opt(&e.cfg)
	}
	a, err := auth.New(e.cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.a = a
	e.mux = http.NewServeMux()
	e.mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))
	t.Cleanup(e.finish)
	return e
}

// sibling returns another Authenticator on the same stores, clock and log,
// with the env's Config changed by opts.
func (e *env) sibling(opts ...option) *auth.Authenticator {
	e.t.Helper()
	cfg := e.cfg
	for _, opt := range opts {
		opt(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		e.t.Fatalf("auth.New: %v", err)
	}
	return a
}

// server returns a live test server on the env's routes, started on first
// use and closed when the row ends. Its error log is discarded: net/http
// reports there the panics it recovers, which row I05 provokes.
func (e *env) server() *httptest.Server {
	e.srvOnce.Do(func() {
		e.srv = httptest.NewUnstartedServer(e.mux)
		e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		e.srv.Start()
		e.t.Cleanup(e.srv.Close)
	})
	return e.srv
}

// canaryEmail is the account INV5 registers when a row ends.
const canaryEmail = "inv5.canary@example.com"

// finish runs when the row ends: it heals the store, then asserts INV5
// (the service still serves a new user) and INV4 (nothing secret reached
// the log).
func (e *env) finish() {
	t := e.t
	e.probe.heal()
	res, err := e.a.Register(context.Background(), auth.RegisterInput{Email: canaryEmail, Password: goodPassword, Name: "Canary"})
	if err != nil {
		t.Errorf("INV5: registering a new user after the row: %v", err)
	} else if r := e.do(http.MethodGet, "/me", nil, bearer(res.AccessToken)); r.status != http.StatusOK {
		t.Errorf("INV5: GET /me with a fresh token after the row: status %d, body %s", r.status, r.body)
	}
	e.checkLog()
}

// checkLog asserts INV4: the log carries no token, no password hash and no
// password the row used.
func (e *env) checkLog() {
	t := e.t
	logs := e.logs.String()
	for _, marker := range []string{"eyJ", "$argon2id$", "$argon2i$", "$2a$", "$2b$", "$2y$"} {
		if strings.Contains(logs, marker) {
			t.Errorf("INV4: the log carries %q (a token or a password hash):\n%s", marker, logs)
		}
	}
	for _, pw := range e.seen.secretPasswords() {
		if strings.Contains(logs, pw) {
			t.Errorf("INV4: the log carries the password %q:\n%s", pw, logs)
		}
	}
}

// seen records the emails and passwords a row sent, for INV4.
type seen struct {
	mu        sync.Mutex
	passwords map[string]bool
	emails    map[string]bool
}

func newSeen() *seen { return &seen{passwords: map[string]bool{}, emails: map[string]bool{}} }

func (s *seen) add(email, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if email != "" {
		s.emails[email] = true
	}
	if password != "" {
		s.passwords[password] = true
	}
}

// secretPasswords returns the passwords distinctive enough that finding
// them in a log means they were logged: at least 10 bytes besides
// surrounding white space, and not part of an email the row sent (an email
// is logged on purpose, and row C06 uses one as a password).
func (s *seen) secretPasswords() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for pw := range s.passwords {
		if len(strings.TrimSpace(pw)) < 10 {
			continue
		}
		inEmail := false
		for email := range s.emails {
			if strings.Contains(email, pw) {
				inEmail = true
				break
			}
		}
		if !inEmail {
			out = append(out, pw)
		}
	}
	return out
}
