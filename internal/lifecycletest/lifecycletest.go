// Package lifecycletest tests the account-lifecycle routes (sessions,
// logout everywhere, password change and reset, email verification,
// account deletion) over HTTP against any store. The root package runs it on
// memstore and the integration module on every sqlstore dialect, so the
// same assertions hold everywhere.
package lifecycletest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

const prefix = "/api/v2/auth"

const password = "correct horse battery staple"

var secret = []byte("lifecycle-test-secret-0123456789-abcdefgh")

// Run runs the lifecycle tests; open must return fresh, empty stores that
// implement auth.SessionLister, auth.OneTimeTokenStore and
// auth.EmailVerifier.
func Run(t *testing.T, open func(t *testing.T) (auth.UserStore, auth.TokenStore)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"TwoDevicesListAndEnd", testTwoDevices},
		{"EndSessionOfAnotherUser", testEndOtherUsersSession},
		{"LogoutAll", testLogoutAll},
		{"ChangePassword", testChangePassword},
		{"ChangePasswordThrottled", testChangePasswordThrottled},
		{"ForgotAndReset", testForgotAndReset},
		{"ResetTokenExpiry", testResetExpiry},
		{"ConcurrentReset", testConcurrentReset},
		{"VerifyEmail", testVerifyEmail},
		{"DeleteAccount", testDeleteAccount},
		{"ReuseWindowAndSessionEnd", testReuseWindowAndSessionEnd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, tokens := open(t)
			e := newEnv(t, users, tokens, nil)
			e.open = open
			tc.fn(t, e)
		})
	}
}

// mailer records the tokens the library sends.
type mailer struct {
	mu     sync.Mutex
	resets map[string][]string // email -> tokens
	verify map[string][]string
}

func (m *mailer) SendPasswordReset(_ context.Context, u *auth.User, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resets[u.Email] = append(m.resets[u.Email], token)
	return nil
}

func (m *mailer) SendEmailVerification(_ context.Context, u *auth.User, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.verify[u.Email] = append(m.verify[u.Email], token)
	return nil
}

func (m *mailer) last(box map[string][]string, email string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l := box[email]; len(l) > 0 {
		return l[len(l)-1]
	}
	return ""
}

func (m *mailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.resets {
		n += len(l)
	}
	for _, l := range m.verify {
		n += len(l)
	}
	return n
}

type env struct {
	open  func(t *testing.T) (auth.UserStore, auth.TokenStore)
	t     *testing.T
	a     *auth.Authenticator
	h     http.Handler
	mail  *mailer
	clock *testutil.Clock
}

func newEnv(t *testing.T, users auth.UserStore, tokens auth.TokenStore, tweak func(*auth.Config)) *env {
	t.Helper()
	e := &env{t: t, mail: &mailer{resets: map[string][]string{}, verify: map[string][]string{}},
		clock: testutil.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC))}
	cfg := auth.Config{
		Users: users, Tokens: tokens, Secret: secret, Now: e.clock.Now,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
		Mail:      auth.MailConfig{Mailer: e.mail, ForgotPasswordMinDuration: time.Millisecond},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, a.Handler()))
	e.a, e.h = a, mux
	return e
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

func (r *response) code() string {
	var b struct{ Error struct{ Code string } }
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

// device identifies the client making a request.
type device struct {
	userAgent, remote string
}

var (
	phone  = device{"Phone/1.0", "198.51.100.10:40000"}
	laptop = device{"Laptop/2.0", "203.0.113.20:50000"}
)

func (e *env) do(d device, method, path, token string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, prefix+path, rd)
	req.RemoteAddr = d.remote
	req.Header.Set("User-Agent", d.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := &response{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
	if res.status >= 500 {
		e.t.Errorf("%s %s: %d %s", method, path, res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return res
}

func (e *env) expect(r *response, status int, code string) {
	e.t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		e.t.Fatalf("status %d code %q, want %d %q; body %s", r.status, r.code(), status, code, r.body)
	}
}

type tokens struct{ access, refresh string }

func (e *env) register(d device, email string) tokens {
	e.t.Helper()
	r := e.do(d, http.MethodPost, "/register", "", map[string]string{"email": email, "password": password, "name": "Test"})
	e.expect(r, http.StatusCreated, "")
	var b struct{ AccessToken, RefreshToken string }
	r.json(e.t, &b)
	return tokens{b.AccessToken, b.RefreshToken}
}

func (e *env) login(d device, email, pw string) tokens {
	e.t.Helper()
	r := e.do(d, http.MethodPost, "/login", "", map[string]string{"email": email, "password": pw})
	e.expect(r, http.StatusOK, "")
	var b struct{ AccessToken, RefreshToken string }
	r.json(e.t, &b)
	return tokens{b.AccessToken, b.RefreshToken}
}

// alive asserts whether both tokens of a session still work: the access
// token on GET /me, and the refresh token on POST /refresh (which spends
// it, so the returned tokens replace tk).
func (e *env) alive(tk *tokens, want bool) {
	e.t.Helper()
	me := e.do(phone, http.MethodGet, "/me", tk.access, nil)
	ref := e.do(phone, http.MethodPost, "/refresh", "", map[string]string{"refreshToken": tk.refresh})
	if want {
		e.expect(me, http.StatusOK, "")
		e.expect(ref, http.StatusOK, "")
		var b struct{ AccessToken, RefreshToken string }
		ref.json(e.t, &b)
		*tk = tokens{b.AccessToken, b.RefreshToken}
		return
	}
	e.expect(me, http.StatusUnauthorized, "INVALID_TOKEN")
	e.expect(ref, http.StatusUnauthorized, "INVALID_TOKEN")
}

type sessionJSON struct {
	ID, CreatedAt, LastUsedAt, UserAgent, IPAddress string
	Current                                         bool
}

func (e *env) sessions(tk tokens) []sessionJSON {
	e.t.Helper()
	r := e.do(phone, http.MethodGet, "/sessions", tk.access, nil)
	e.expect(r, http.StatusOK, "")
	var b struct{ Sessions []sessionJSON }
	r.json(e.t, &b)
	return b.Sessions
}

var timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func testTwoDevices(t *testing.T, e *env) {
	a := e.register(phone, "two@example.com")
	e.clock.Advance(time.Minute)
	b := e.login(laptop, "two@example.com", password)

	list := e.sessions(a)
	if len(list) != 2 {
		t.Fatalf("GET /sessions listed %d sessions, want 2: %+v", len(list), list)
	}
	var mine, other sessionJSON
	for _, s := range list {
		if !timeRE.MatchString(s.CreatedAt) || !timeRE.MatchString(s.LastUsedAt) {
			t.Errorf("session times %q, %q not in the contract's format", s.CreatedAt, s.LastUsedAt)
		}
		if s.Current {
			mine = s
		} else {
			other = s
		}
	}
	if mine.UserAgent != phone.userAgent || mine.IPAddress != "198.51.100.10" {
		t.Errorf("current session %+v, want the phone's user agent and address", mine)
	}
	if other.UserAgent != laptop.userAgent || other.IPAddress != "203.0.113.20" || other.ID == "" {
		t.Errorf("other session %+v, want the laptop's user agent and address", other)
	}
	if list[0].ID != other.ID {
		t.Errorf("sessions not listed most recent first: %+v", list)
	}

	// A refresh moves the laptop session's lastUsedAt.
	e.clock.Advance(time.Minute)
	e.alive(&b, true)
	for _, s := range e.sessions(a) {
		if s.ID == other.ID && s.LastUsedAt == other.LastUsedAt {
			t.Errorf("lastUsedAt %s did not move after a refresh", s.LastUsedAt)
		}
	}

	// The phone ends the laptop's session: its tokens die at once.
	r := e.do(phone, http.MethodDelete, "/sessions/"+other.ID, a.access, nil)
	e.expect(r, http.StatusOK, "")
	e.alive(&b, false)
	e.alive(&a, true)
	if list := e.sessions(a); len(list) != 1 || !list[0].Current {
		t.Fatalf("after ending the other session: %+v", list)
	}
	// Ending it again, or an unknown id, is 404 alike.
	again := e.do(phone, http.MethodDelete, "/sessions/"+other.ID, a.access, nil)
	unknown := e.do(phone, http.MethodDelete, "/sessions/00000000-0000-0000-0000-000000000000", a.access, nil)
	e.expect(again, http.StatusNotFound, "NOT_FOUND")
	if string(again.body) != string(unknown.body) || again.status != unknown.status {
		t.Errorf("an ended session (%d %s) and an unknown one (%d %s) answer differently", again.status, again.body, unknown.status, unknown.body)
	}
	// Without a token: 401.
	e.expect(e.do(phone, http.MethodGet, "/sessions", "", nil), http.StatusUnauthorized, "UNAUTHORIZED")
}

func testEndOtherUsersSession(t *testing.T, e *env) {
	alice := e.register(phone, "alice@example.com")
	bob := e.register(laptop, "bob@example.com")
	bobs := e.sessions(bob)
	if len(bobs) != 1 {
		t.Fatalf("bob has %d sessions", len(bobs))
	}
	theirs := e.do(phone, http.MethodDelete, "/sessions/"+bobs[0].ID, alice.access, nil)
	unknown := e.do(phone, http.MethodDelete, "/sessions/"+strings.Repeat("a", 36), alice.access, nil)
	e.expect(theirs, http.StatusNotFound, "NOT_FOUND")
	if string(theirs.body) != string(unknown.body) {
		t.Errorf("another user's session %s and an unknown one %s answer differently", theirs.body, unknown.body)
	}
	e.alive(&bob, true)
}

func testLogoutAll(t *testing.T, e *env) {
	a := e.register(phone, "all@example.com")
	b := e.login(laptop, "all@example.com", password)
	c := e.login(laptop, "all@example.com", password)

	r := e.do(phone, http.MethodPost, "/logout-all", a.access, map[string]bool{"keepCurrent": true})
	e.expect(r, http.StatusOK, "")
	var body struct{ SessionsEnded int }
	r.json(t, &body)
	if body.SessionsEnded != 2 {
		t.Errorf("sessionsEnded %d, want 2", body.SessionsEnded)
	}
	e.alive(&b, false)
	e.alive(&c, false)
	e.alive(&a, true)

	// Without a body, every session ends, the caller's too.
	e.expect(e.do(phone, http.MethodPost, "/logout-all", a.access, nil), http.StatusOK, "")
	e.alive(&a, false)
}

func testChangePassword(t *testing.T, e *env) {
	a := e.register(phone, "change@example.com")
	b := e.login(laptop, "change@example.com", password)
	const newPassword = "a brand new passphrase"

	wrong := e.do(phone, http.MethodPost, "/password", a.access, map[string]string{"currentPassword": "not it at all", "newPassword": newPassword})
	e.expect(wrong, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	weak := e.do(phone, http.MethodPost, "/password", a.access, map[string]string{"currentPassword": password, "newPassword": "short"})
	e.expect(weak, http.StatusBadRequest, "VALIDATION_ERROR")
	if !strings.Contains(string(weak.body), `"newPassword"`) {
		t.Errorf("validation error does not name newPassword: %s", weak.body)
	}
	e.alive(&b, true) // the failures changed nothing

	ok := e.do(phone, http.MethodPost, "/password", a.access, map[string]string{"currentPassword": password, "newPassword": newPassword})
	e.expect(ok, http.StatusOK, "")
	e.alive(&b, false)
	e.alive(&a, true)
	e.expect(e.do(laptop, http.MethodPost, "/login", "", map[string]string{"email": "change@example.com", "password": password}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	e.login(laptop, "change@example.com", newPassword)
}

func testChangePasswordThrottled(t *testing.T, base *env) {
	// Wrong current passwords count toward the account's login throttle.
	e := base.with(func(c *auth.Config) { c.Throttle.InsecureDisableThrottling = false })
	a := e.register(phone, "guess@example.com")
	free := auth.DefaultLoginAccountBackoff.Free
	for range free {
		r := e.do(phone, http.MethodPost, "/password", a.access, map[string]string{"currentPassword": "a wrong guess", "newPassword": "whatever it may be"})
		e.expect(r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	r := e.do(phone, http.MethodPost, "/login", "", map[string]string{"email": "guess@example.com", "password": password})
	e.expect(r, http.StatusTooManyRequests, "RATE_LIMITED")
}

// with returns an env on fresh stores whose Config is changed by tweak.
func (e *env) with(tweak func(*auth.Config)) *env {
	users, tokens := e.open(e.t)
	n := newEnv(e.t, users, tokens, tweak)
	n.open = e.open
	return n
}

func testForgotAndReset(t *testing.T, e *env) {
	a := e.register(phone, "forgot@example.com")
	b := e.login(laptop, "forgot@example.com", password)

	known := e.do(phone, http.MethodPost, "/password/forgot", "", map[string]string{"email": "Forgot@Example.com"})
	unknown := e.do(phone, http.MethodPost, "/password/forgot", "", map[string]string{"email": "nobody@example.com"})
	e.expect(known, http.StatusAccepted, "")
	if known.status != unknown.status || string(known.body) != string(unknown.body) {
		t.Fatalf("known email %d %s, unknown %d %s: must be identical", known.status, known.body, unknown.status, unknown.body)
	}
	token := e.mail.last(e.mail.resets, "forgot@example.com")
	if token == "" || e.mail.count() != 1 {
		t.Fatalf("mailer got %d messages, reset token %q; want exactly one for the known email", e.mail.count(), token)
	}

	// A password that breaks the rules does not spend the token.
	weak := e.do(phone, http.MethodPost, "/password/reset", "", map[string]string{"token": token, "newPassword": "short"})
	e.expect(weak, http.StatusBadRequest, "VALIDATION_ERROR")

	const newPassword = "reset to something new"
	r := e.do(phone, http.MethodPost, "/password/reset", "", map[string]string{"token": token, "newPassword": newPassword})
	e.expect(r, http.StatusOK, "")
	e.alive(&a, false)
	e.alive(&b, false)
	e.expect(e.do(phone, http.MethodPost, "/login", "", map[string]string{"email": "forgot@example.com", "password": password}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	e.login(phone, "forgot@example.com", newPassword)

	// Once and only once.
	again := e.do(phone, http.MethodPost, "/password/reset", "", map[string]string{"token": token, "newPassword": "and yet another one"})
	e.expect(again, http.StatusUnauthorized, "INVALID_TOKEN")
	e.expect(e.do(phone, http.MethodPost, "/password/reset", "", map[string]string{"token": "not-a-real-token", "newPassword": "and yet another one"}), http.StatusUnauthorized, "INVALID_TOKEN")
	e.login(phone, "forgot@example.com", newPassword)
}

func testResetExpiry(t *testing.T, e *env) {
	e.register(phone, "late@example.com")
	e.expect(e.do(phone, http.MethodPost, "/password/forgot", "", map[string]string{"email": "late@example.com"}), http.StatusAccepted, "")
	token := e.mail.last(e.mail.resets, "late@example.com")
	e.clock.Advance(auth.DefaultPasswordResetTTL)
	r := e.do(phone, http.MethodPost, "/password/reset", "", map[string]string{"token": token, "newPassword": "too late for this one"})
	e.expect(r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	e.login(phone, "late@example.com", password)
}

func testConcurrentReset(t *testing.T, e *env) {
	e.register(phone, "race@example.com")
	e.expect(e.do(phone, http.MethodPost, "/password/forgot", "", map[string]string{"email": "race@example.com"}), http.StatusAccepted, "")
	token := e.mail.last(e.mail.resets, "race@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for range 8 {
		wg.Go(func() {
			err := e.a.ResetPassword(context.Background(), token, "concurrent new password")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				counts[200]++
			case errors.Is(err, auth.ErrInvalidToken):
				counts[401]++
			default:
				t.Errorf("ResetPassword: %v", err)
			}
		})
	}
	wg.Wait()
	if counts[200] != 1 || counts[401] != 7 {
		t.Fatalf("8 concurrent resets with one token: %v, want exactly one success", counts)
	}
}

func testVerifyEmail(t *testing.T, base *env) {
	e := base.with(func(c *auth.Config) { c.Mail.SendVerificationEmail, c.Mail.RequireVerifiedEmail = true, true })
	e.register(phone, "verify@example.com")
	token := e.mail.last(e.mail.verify, "verify@example.com")
	if token == "" {
		t.Fatal("no verification token was sent on registration")
	}
	// The right password on an unverified account: 403; a wrong one: the
	// usual 401, so the check reveals nothing to a guesser.
	e.expect(e.do(phone, http.MethodPost, "/login", "", map[string]string{"email": "verify@example.com", "password": password}), http.StatusForbidden, "EMAIL_NOT_VERIFIED")
	e.expect(e.do(phone, http.MethodPost, "/login", "", map[string]string{"email": "verify@example.com", "password": "wrong password!"}), http.StatusUnauthorized, "INVALID_CREDENTIALS")

	e.expect(e.do(phone, http.MethodPost, "/verify-email", "", map[string]string{"token": token}), http.StatusOK, "")
	e.login(phone, "verify@example.com", password)
	e.expect(e.do(phone, http.MethodPost, "/verify-email", "", map[string]string{"token": token}), http.StatusUnauthorized, "INVALID_TOKEN")
	// A reset token is not a verification token.
	e.expect(e.do(phone, http.MethodPost, "/password/forgot", "", map[string]string{"email": "verify@example.com"}), http.StatusAccepted, "")
	reset := e.mail.last(e.mail.resets, "verify@example.com")
	e.expect(e.do(phone, http.MethodPost, "/verify-email", "", map[string]string{"token": reset}), http.StatusUnauthorized, "INVALID_TOKEN")
}

func testDeleteAccount(t *testing.T, e *env) {
	a := e.register(phone, "gone@example.com")
	b := e.login(laptop, "gone@example.com", password)
	e.expect(e.do(phone, http.MethodDelete, "/me", a.access, map[string]string{"password": "not my password"}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	e.alive(&a, true)

	e.expect(e.do(phone, http.MethodDelete, "/me", a.access, map[string]string{"password": password}), http.StatusOK, "")
	me := e.do(phone, http.MethodGet, "/me", a.access, nil)
	e.expect(me, http.StatusUnauthorized, "INVALID_TOKEN")
	e.alive(&b, false)
	e.expect(e.do(phone, http.MethodPost, "/login", "", map[string]string{"email": "gone@example.com", "password": password}), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	e.register(phone, "gone@example.com")
}

// testReuseWindowAndSessionEnd: replays of a spent refresh token within the
// reuse window open no session and leave the one session listed; once the
// sessions are ended (logout-all), the same replay is refused: a revoked
// session hands out no successor.
func testReuseWindowAndSessionEnd(t *testing.T, e *env) {
	a := e.register(phone, "window@example.com")
	spent := a.refresh
	e.alive(&a, true) // spends the registration's refresh token
	for range 3 {
		r := e.do(phone, http.MethodPost, "/refresh", "", map[string]string{"refreshToken": spent})
		e.expect(r, http.StatusOK, "")
	}
	if list := e.sessions(a); len(list) != 1 {
		t.Fatalf("sessions after three replays: %d, want 1: %+v", len(list), list)
	}
	e.expect(e.do(phone, http.MethodPost, "/logout-all", a.access, nil), http.StatusOK, "")
	e.expect(e.do(phone, http.MethodPost, "/refresh", "", map[string]string{"refreshToken": spent}), http.StatusUnauthorized, "INVALID_TOKEN")
	e.alive(&a, false)
}
