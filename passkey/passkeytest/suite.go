package passkeytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/passkey"
)

// Origin and RPID are what the suite's relying party is configured with.
const (
	Origin = "http://localhost:3000"
	RPID   = "localhost"
)

const password = "passkey suite password 1"

// Run runs the passkey scenarios and the W rows of the security catalogue
// (internal/securitytest/ROWS.md) through the HTTP routes of an
// Authenticator built over the stores open returns, which must be fresh
// and empty each call, with the UserStore implementing
// [auth.PasskeyStore].
func Run(t *testing.T, open func(t *testing.T) (auth.UserStore, auth.TokenStore)) {
	rows := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"W01_register_then_discoverable_sign_in", w01},
		{"W02_replayed_assertion_refused", w02},
		{"W03_foreign_credential_refused", w03},
		{"W04_sign_count_rollback_refused_and_audited", w04},
		{"W05_expired_spent_or_foreign_ceremony_refused", w05},
		{"W06_other_users_passkey_is_404", w06},
		{"W07_origin_and_rp_id_mismatch_refused", w07},
		{"W08_passkey_as_second_step", w08},
		{"W09_registration_needs_fresh_proof", w09},
		{"W10_removed_passkey_cannot_sign_in", w10},
		{"W11_backup_flags", w11},
		{"W12_unverified_email_refused", w12},
		{"W13_last_way_in_kept", w13},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			users, tokens := open(t)
			r.fn(t, newEnv(t, users, tokens, nil))
		})
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logs collects the log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// env is one Authenticator with passkeys mounted.
type env struct {
	t      *testing.T
	a      *auth.Authenticator
	st     auth.PasskeyStore
	tokens auth.TokenStore
	h      http.Handler
	clock  *clock
	logs   *logs
}

func newEnv(t *testing.T, users auth.UserStore, tokens auth.TokenStore, edit func(*auth.Config)) *env {
	t.Helper()
	st, ok := users.(auth.PasskeyStore)
	if !ok {
		t.Fatalf("%T does not implement auth.PasskeyStore", users)
	}
	e := &env{t: t, st: st, tokens: tokens, clock: &clock{now: time.Now().Truncate(time.Second)}, logs: &logs{}}
	cfg := auth.Config{
		Users: users, Tokens: tokens,
		Secret:    []byte("passkeytest-secret-0123456789-abcdefghijkl"),
		Now:       e.clock.Now,
		Logger:    slog.New(slog.NewTextHandler(e.logs, nil)),
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := passkey.New(a, st, passkey.Config{RPID: RPID, Origins: []string{Origin}, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	pk.Mount()
	e.a, e.h = a, a.Handler()
	return e
}

// answer is a decoded HTTP answer.
type answer struct {
	status int
	body   map[string]any
	raw    string
}

func (r *answer) code() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

func (r *answer) str(k string) string { s, _ := r.body[k].(string); return s }

// do sends a request and checks the error shape of failures: exactly
// {"error":{"code","message"}} (plus fields or ticket), no detail of the
// protocol library or the store.
func (e *env) do(method, path, token string, body any) *answer {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.7:1234"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	r := &answer{status: w.Code, raw: w.Body.String()}
	if r.raw != "" {
		if err := json.Unmarshal(w.Body.Bytes(), &r.body); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %q", method, path, r.raw)
		}
	}
	if r.status >= 400 {
		er, ok := r.body["error"].(map[string]any)
		if len(r.body) != 1 || !ok || er["code"] == nil || er["message"] == nil {
			e.t.Errorf("%s %s: error body %s is not in the contract's shape", method, path, r.raw)
		}
		for _, leak := range []string{"webauthn", "Error validating", "cbor", "sql", "challenge", "origin", ".go:"} {
			if strings.Contains(strings.ToLower(fmt.Sprint(er["message"])), strings.ToLower(leak)) {
				e.t.Errorf("%s %s: error message leaks %q: %s", method, path, leak, r.raw)
			}
		}
	}
	return r
}

// user is a registered account and its session.
type user struct {
	id, email, access string
	dev               *Authenticator
}

func (e *env) register() *user {
	e.t.Helper()
	email := "pk-" + uuid.NewString()[:8] + "@example.com"
	r := e.do("POST", "/register", "", map[string]string{"name": "Passkey User", "email": email, "password": password})
	if r.status != http.StatusCreated {
		e.t.Fatalf("register: %d %s", r.status, r.raw)
	}
	u := r.body["user"].(map[string]any)
	return &user{id: u["id"].(string), email: email, access: r.str("accessToken"), dev: New(Origin)}
}

// begin calls a begin route and returns the ceremony and the options.
func (e *env) begin(path, token string, body any) (string, json.RawMessage) {
	e.t.Helper()
	r := e.do("POST", path, token, body)
	if r.status != http.StatusOK {
		e.t.Fatalf("POST %s: %d %s", path, r.status, r.raw)
	}
	opts, _ := json.Marshal(r.body["publicKey"])
	return r.str("ceremony"), opts
}

// addPasskey registers a passkey of u's authenticator.
func (e *env) addPasskey(u *user) {
	e.t.Helper()
	c, opts := e.begin("/passkeys/register/begin", u.access, map[string]string{"password": password})
	cred, err := u.dev.Create(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.do("POST", "/passkeys/register/finish", u.access, map[string]any{"ceremony": c, "credential": cred, "name": "Device"})
	if r.status != http.StatusCreated {
		e.t.Fatalf("register finish: %d %s", r.status, r.raw)
	}
}

// loginWith signs in with dev's passkey; it returns the answer.
func (e *env) loginWith(dev *Authenticator) *answer {
	e.t.Helper()
	c, opts := e.begin("/passkeys/login/begin", "", map[string]any{})
	cred, err := dev.Get(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c, "credential": cred})
}

// claims verifies an access token.
func (e *env) claims(token string) *auth.Claims {
	e.t.Helper()
	c, err := e.a.Verify(context.Background(), token)
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	return c
}

// sessions counts the user's open sessions.
func (e *env) sessions(userID string) int {
	e.t.Helper()
	l, ok := e.tokens.(auth.SessionLister)
	if !ok {
		e.t.Fatal("the TokenStore lists no sessions")
	}
	ss, err := l.UserSessions(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, s := range ss {
		if s.RevokedAt.IsZero() {
			n++
		}
	}
	return n
}

func (e *env) refused(what string, r *answer, status int, code string) {
	e.t.Helper()
	if r.status != status || r.code() != code {
		e.t.Errorf("%s: %d %s, want %d %s", what, r.status, r.raw, status, code)
	}
	if r.str("accessToken") != "" {
		e.t.Errorf("%s: a refused call carries tokens", what)
	}
}

func (e *env) Logs() string { return e.logs.String() }

func (e *env) audited(event string) bool { return strings.Contains(e.logs.String(), "msg="+event+" ") }

func w01(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	r := e.loginWith(u.dev)
	if r.status != http.StatusOK {
		t.Fatalf("passkey sign-in: %d %s\n%s", r.status, r.raw, e.Logs())
	}
	c := e.claims(r.str("accessToken"))
	if c.UserID != u.id || !slices.Equal(c.AMR, []string{"webauthn"}) || c.AAL != 2 {
		t.Errorf("passkey sign-in: user %s amr %v aal %d; want %s [webauthn] 2", c.UserID, c.AMR, c.AAL, u.id)
	}
	if me := e.do("GET", "/me", r.str("accessToken"), nil); me.status != http.StatusOK {
		t.Errorf("GET /me: %d", me.status)
	}
	if !e.audited("auth.passkey.register") {
		t.Error("no auth.passkey.register audit record")
	}
	list := e.do("GET", "/passkeys", u.access, nil)
	keys, _ := list.body["passkeys"].([]any)
	if list.status != http.StatusOK || len(keys) != 1 {
		t.Fatalf("GET /passkeys: %d %s", list.status, list.raw)
	}
	k := keys[0].(map[string]any)
	if k["name"] != "Device" || k["lastUsedAt"] == nil || k["aaguid"] != fmt.Sprintf("%x", u.dev.AAGUID) {
		t.Errorf("GET /passkeys shows %v", k)
	}
	// Without user verification the passkey is one factor: aal 1.
	u.dev.NoUserVerification = true
	r = e.loginWith(u.dev)
	if r.status != http.StatusOK {
		t.Fatalf("passkey sign-in without UV: %d %s", r.status, r.raw)
	}
	if c := e.claims(r.str("accessToken")); !slices.Equal(c.AMR, []string{"webauthn"}) || c.AAL != 1 {
		t.Errorf("passkey sign-in without UV: amr %v aal %d; want [webauthn] 1", c.AMR, c.AAL)
	}
}

func w02(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	c, opts := e.begin("/passkeys/login/begin", "", map[string]any{})
	cred, err := u.dev.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c, "credential": cred}); r.status != http.StatusOK {
		t.Fatalf("first use: %d %s", r.status, r.raw)
	}
	before := e.sessions(u.id)
	e.refused("the same assertion and ceremony again", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c, "credential": cred}), 401, "INVALID_PASSKEY")
	c2, _ := e.begin("/passkeys/login/begin", "", map[string]any{})
	e.refused("the captured assertion with a new ceremony", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c2, "credential": cred}), 401, "INVALID_PASSKEY")
	if n := e.sessions(u.id); n != before {
		t.Errorf("replays opened sessions: %d, want %d", n, before)
	}
	if !e.audited("auth.passkey.failure") {
		t.Error("no auth.passkey.failure audit record")
	}
}

func w03(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	// A second authenticator whose credential was never registered.
	stranger := New(Origin)
	c, opts := e.begin("/passkeys/register/begin", u.access, map[string]string{"password": password})
	if _, err := stranger.Create(opts); err != nil { // made, never sent
		t.Fatal(err)
	}
	_ = c
	e.refused("an unregistered credential", e.loginWith(stranger), 401, "INVALID_PASSKEY")
	// A registered credential whose user handle names another user.
	v := e.register()
	e.addPasskey(v)
	forged := u.dev.Clone()
	forged.Credentials()[0].UserHandle = []byte(v.id)
	e.refused("a credential claiming another user", e.loginWith(forged), 401, "INVALID_PASSKEY")
	if n := e.sessions(v.id); n != 1 {
		t.Errorf("the other user has %d sessions, want 1 (registration's)", n)
	}
}

func w04(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	clone := u.dev.Clone()
	for range 2 {
		if r := e.loginWith(u.dev); r.status != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.status, r.raw)
		}
	}
	// The clone's counter is behind the original's.
	e.refused("a sign count that went backwards", e.loginWith(clone), 401, "INVALID_PASSKEY")
	if !e.audited("auth.passkey.sign_count") {
		t.Error("no auth.passkey.sign_count audit record")
	}
	// The same count again (a replay from another ceremony).
	cred := u.dev.Credentials()[0]
	c, opts := e.begin("/passkeys/login/begin", "", map[string]any{})
	var o struct{ Challenge string }
	_ = json.Unmarshal(opts, &o)
	same, err := u.dev.Assert(cred, o.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	e.refused("the same sign count again", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c, "credential": same}), 401, "INVALID_PASSKEY")
	p, err := e.st.Passkeys(context.Background(), u.id)
	if err != nil || len(p) != 1 || p[0].SignCount != 2 {
		t.Errorf("stored sign count after refusals: %v %v, want 2", p, err)
	}
	if r := e.loginWith(u.dev); r.status != http.StatusOK {
		t.Errorf("the genuine authenticator after the clone: %d %s", r.status, r.raw)
	}
}

func w05(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	c, opts := e.begin("/passkeys/login/begin", "", map[string]any{})
	cred, _ := u.dev.Get(opts)
	e.clock.Add(auth.PasskeyCeremonyTTL + time.Second)
	e.refused("an expired ceremony", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": c, "credential": cred}), 401, "INVALID_PASSKEY")
	e.refused("an unknown ceremony", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": "nope", "credential": cred}), 401, "INVALID_PASSKEY")
	// A fresh session for the registration routes.
	r := e.do("POST", "/login", "", map[string]string{"email": u.email, "password": password})
	if r.status != http.StatusUnauthorized || r.code() != "MFA_REQUIRED" {
		t.Fatalf("password login with a passkey: %d %s", r.status, r.raw)
	}
	// A registration ceremony cannot finish a sign-in, nor another user's
	// registration.
	v := e.register()
	rc, ropts := e.begin("/passkeys/register/begin", v.access, map[string]string{"password": password})
	vcred, _ := v.dev.Create(ropts)
	e.refused("a registration ceremony at sign-in", e.do("POST", "/passkeys/login/finish", "", map[string]any{"ceremony": rc, "credential": vcred}), 401, "INVALID_PASSKEY")
	rc2, ropts2 := e.begin("/passkeys/register/begin", v.access, map[string]string{"password": password})
	vcred2, _ := v.dev.Create(ropts2)
	w := e.register()
	e.refused("another user's registration ceremony", e.do("POST", "/passkeys/register/finish", w.access, map[string]any{"ceremony": rc2, "credential": vcred2}), 401, "INVALID_PASSKEY")
	e.refused("a spent registration ceremony", e.do("POST", "/passkeys/register/finish", v.access, map[string]any{"ceremony": rc2, "credential": vcred2}), 401, "INVALID_PASSKEY")
	if p, _ := e.st.Passkeys(context.Background(), w.id); len(p) != 0 {
		t.Errorf("a refused registration stored %d passkeys", len(p))
	}
}

func w06(t *testing.T, e *env) {
	u, v := e.register(), e.register()
	e.addPasskey(u)
	e.addPasskey(v)
	pv, _ := e.st.Passkeys(context.Background(), v.id)
	id := pv[0].ID
	e.refused("renaming another user's passkey", e.do("PATCH", "/passkeys/"+id, u.access, map[string]string{"name": "mine"}), 404, "NOT_FOUND")
	e.refused("deleting another user's passkey", e.do("DELETE", "/passkeys/"+id, u.access, nil), 404, "NOT_FOUND")
	e.refused("an unknown passkey", e.do("DELETE", "/passkeys/nope", u.access, nil), 404, "NOT_FOUND")
	e.refused("no bearer token", e.do("GET", "/passkeys", "", nil), 401, "UNAUTHORIZED")
	list := e.do("GET", "/passkeys", u.access, nil)
	if keys, _ := list.body["passkeys"].([]any); len(keys) != 1 || strings.Contains(list.raw, id) {
		t.Errorf("u's list shows %s", list.raw)
	}
	if after, _ := e.st.Passkey(context.Background(), id); after == nil || after.Name != "Device" {
		t.Errorf("v's passkey changed: %+v", after)
	}
	if r := e.do("PATCH", "/passkeys/"+id, v.access, map[string]string{"name": "Phone"}); r.status != http.StatusNoContent {
		t.Errorf("renaming one's own passkey: %d %s", r.status, r.raw)
	}
	e.refused("an empty name", e.do("PATCH", "/passkeys/"+id, v.access, map[string]string{"name": " "}), 400, "VALIDATION_ERROR")
}

func w07(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	evil := u.dev.Clone()
	evil.Origin = "http://localhost.evil.example:3000"
	e.refused("an assertion from another origin", e.loginWith(evil), 401, "INVALID_PASSKEY")
	other := u.dev.Clone()
	other.RPID = "evil.example"
	e.refused("an assertion for another relying party", e.loginWith(other), 401, "INVALID_PASSKEY")
	// Registration from another origin.
	c, opts := e.begin("/passkeys/register/begin", u.access, map[string]string{"password": password})
	dev := New("https://evil.example")
	cred, _ := dev.Create(opts)
	e.refused("a registration from another origin", e.do("POST", "/passkeys/register/finish", u.access, map[string]any{"ceremony": c, "credential": cred}), 401, "INVALID_PASSKEY")
	if p, _ := e.st.Passkeys(context.Background(), u.id); len(p) != 1 {
		t.Errorf("%d passkeys after refused registrations, want 1", len(p))
	}
}

func w08(t *testing.T, e *env) {
	u, v := e.register(), e.register()
	e.addPasskey(u)
	e.addPasskey(v)
	r := e.do("POST", "/login", "", map[string]string{"email": u.email, "password": password})
	methods, _ := r.body["error"].(map[string]any)["methods"].([]any)
	if r.code() != "MFA_REQUIRED" || !slices.Contains(methods, any("webauthn")) {
		t.Fatalf("password login of a user with a passkey: %s", r.raw)
	}
	ticket := r.body["error"].(map[string]any)["ticket"].(string)
	// Another user's passkey does not satisfy u's ticket.
	c, opts := e.begin("/mfa/passkey/begin", "", map[string]string{"ticket": ticket})
	if _, err := v.dev.Get(opts); err == nil {
		t.Error("the options allowed another user's credential")
	}
	vc, _ := e.begin("/passkeys/login/begin", "", map[string]any{})
	_ = vc
	var o struct{ Challenge string }
	_ = json.Unmarshal(opts, &o)
	forged, _ := v.dev.Assert(v.dev.Credentials()[0], o.Challenge)
	e.refused("another user's passkey for the ticket", e.do("POST", "/mfa/passkey/finish", "", map[string]any{"ticket": ticket, "ceremony": c, "credential": forged}), 401, "INVALID_PASSKEY")
	c, opts = e.begin("/mfa/passkey/begin", "", map[string]string{"ticket": ticket})
	cred, err := u.dev.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	ok := e.do("POST", "/mfa/passkey/finish", "", map[string]any{"ticket": ticket, "ceremony": c, "credential": cred})
	if ok.status != http.StatusOK {
		t.Fatalf("second step with the passkey: %d %s", ok.status, ok.raw)
	}
	if cl := e.claims(ok.str("accessToken")); !slices.Equal(cl.AMR, []string{"pwd", "webauthn"}) || cl.AAL != 2 {
		t.Errorf("second step: amr %v aal %d, want [pwd webauthn] 2", cl.AMR, cl.AAL)
	}
	r = e.do("POST", "/mfa/passkey/begin", "", map[string]string{"ticket": ticket})
	e.refused("a spent ticket", r, 401, "INVALID_TOKEN")
	e.refused("a forged ticket", e.do("POST", "/mfa/passkey/begin", "", map[string]string{"ticket": "00.00"}), 401, "INVALID_TOKEN")
}

func w09(t *testing.T, e *env) {
	u := e.register()
	e.refused("a wrong password", e.do("POST", "/passkeys/register/begin", u.access, map[string]string{"password": "wrong password 123"}), 401, "INVALID_CREDENTIALS")
	// The registration's session is fresh: no password needed.
	if r := e.do("POST", "/passkeys/register/begin", u.access, map[string]any{}); r.status != http.StatusOK {
		t.Errorf("a fresh session without password: %d %s", r.status, r.raw)
	}
	old := e.do("POST", "/login", "", map[string]string{"email": u.email, "password": password})
	e.clock.Add(10 * time.Minute) // past MFAConfig.FreshLogin, within the access token's life
	e.refused("a stale session without password", e.do("POST", "/passkeys/register/begin", old.str("accessToken"), map[string]any{}), 403, "FRESH_LOGIN_REQUIRED")
	e.refused("no bearer token", e.do("POST", "/passkeys/register/begin", "", map[string]any{}), 401, "UNAUTHORIZED")
	// The same authenticator twice: excluded by the options.
	u.access = e.do("POST", "/login", "", map[string]string{"email": u.email, "password": password}).str("accessToken")
	e.addPasskey(u)
	_, opts := e.begin("/passkeys/register/begin", u.access, map[string]string{"password": password})
	if _, err := u.dev.Create(opts); err == nil {
		t.Error("the registration options do not exclude the registered credential")
	}
}

func w10(t *testing.T, e *env) {
	u := e.register()
	e.addPasskey(u)
	p, _ := e.st.Passkeys(context.Background(), u.id)
	if r := e.do("DELETE", "/passkeys/"+p[0].ID, u.access, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	if !e.audited("auth.passkey.remove") {
		t.Error("no auth.passkey.remove audit record")
	}
	e.refused("a removed passkey", e.loginWith(u.dev), 401, "INVALID_PASSKEY")
	// Without passkeys, a password alone signs in again.
	if r := e.do("POST", "/login", "", map[string]string{"email": u.email, "password": password}); r.status != http.StatusOK {
		t.Errorf("password login after removing the passkey: %d %s", r.status, r.raw)
	}
}

func w11(t *testing.T, e *env) {
	u := e.register()
	u.dev.BackupEligible = true
	e.addPasskey(u)
	// The backup state may change; it is stored.
	u.dev.BackupState = true
	if r := e.loginWith(u.dev); r.status != http.StatusOK {
		t.Fatalf("sign-in with a new backup state: %d %s", r.status, r.raw)
	}
	p, _ := e.st.Passkeys(context.Background(), u.id)
	if !p[0].BackupEligible || !p[0].BackupState {
		t.Errorf("stored flags BE %v BS %v, want both", p[0].BackupEligible, p[0].BackupState)
	}
	// The backup-eligible flag never changes: refused.
	u.dev.BackupEligible, u.dev.BackupState = false, false
	e.refused("a changed backup-eligible flag", e.loginWith(u.dev), 401, "INVALID_PASSKEY")
	u.dev.BackupEligible = true
	if r := e.loginWith(u.dev); r.status != http.StatusOK {
		t.Errorf("sign-in with the flags restored: %d %s", r.status, r.raw)
	}
}

func w12(t *testing.T, e0 *env) {
	// An Authenticator that requires verified emails, over the same kind
	// of store: the passkey does not get around it.
	u := e0.register()
	e0.addPasskey(u)
	users, ok := e0.st.(auth.UserStore)
	if !ok {
		t.Fatal("the passkey store is not the UserStore")
	}
	e := newEnv(t, users, e0.tokens, func(c *auth.Config) {
		c.Mail = auth.MailConfig{RequireVerifiedEmail: true, Mailer: nopMailer{}}
	})
	e.refused("an unverified account's passkey", e.loginWith(u.dev), 403, "EMAIL_NOT_VERIFIED")
}

type nopMailer struct{}

func (nopMailer) SendPasswordReset(context.Context, *auth.User, string) error     { return nil }
func (nopMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

// w13: an account without a password keeps its last way in. Signed up
// through a provider, it adds a passkey; the provider may then be unlinked
// (the passkey remains), but the only passkey of an account without a
// password or a provider cannot be deleted, and it still signs in.
func w13(t *testing.T, e *env) {
	ctx := context.Background()
	tag := uuid.NewString()[:8]
	u, err := e.a.SignInExternal(ctx, auth.ExternalUser{Issuer: "https://idp.example", Subject: "w13-" + tag, Email: "w13-" + tag + "@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.a.OpenSession(ctx, u, []string{"oidc"})
	if err != nil {
		t.Fatal(err)
	}
	dev := New(Origin)
	c, opts := e.begin("/passkeys/register/begin", res.AccessToken, map[string]any{})
	cred, err := dev.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/passkeys/register/finish", res.AccessToken, map[string]any{"ceremony": c, "credential": cred}); r.status != http.StatusCreated {
		t.Fatalf("register finish: %d %s", r.status, r.raw)
	}
	ids, err := e.a.ExternalIdentities(ctx, u.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities = %v, %v", ids, err)
	}
	if err := e.a.UnlinkExternal(ctx, u.ID, ids[0].ID); err != nil {
		t.Fatalf("unlinking the provider of an account with a passkey: %v", err)
	}
	keys, err := e.st.Passkeys(ctx, u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("passkeys = %v, %v", keys, err)
	}
	e.refused("deleting the last way in", e.do("DELETE", "/passkeys/"+keys[0].ID, res.AccessToken, nil), http.StatusConflict, "LAST_SIGN_IN_METHOD")
	e.refused("an unknown passkey", e.do("DELETE", "/passkeys/nope", res.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
	if after, _ := e.st.Passkeys(ctx, u.ID); len(after) != 1 {
		t.Errorf("the refused deletion removed the passkey: %d left", len(after))
	}
	if r := e.loginWith(dev); r.status != http.StatusOK {
		t.Errorf("sign-in with the kept passkey: %d %s", r.status, r.raw)
	}
}
