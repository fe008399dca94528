package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/totp"
	"github.com/ingestiq/auth/memstore"
)

// authedJSON sends body as JSON with a bearer token.
func (e *testEnv) authedJSON(method, path, token, body string) *httpResult {
	h := append(hdr{}, jsonHeaders...)
	h = append(h, bearer(token)...)
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	return e.do(method, path, r, h)
}

func jsonBody(t testing.TB, r *httpResult, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// code returns the TOTP code of secret (base32) at the env's clock, offset
// by steps.
func (e *testEnv) code(t testing.TB, secret string, steps int) string {
	t.Helper()
	raw, err := totp.Encoding.DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	return totp.TOTP(totp.SHA1, raw, e.clock.Now().Add(time.Duration(steps)*totp.Period), totp.Period, 6)
}

// enrolled registers a user, enrolls and confirms a TOTP factor, and
// returns the session, the base32 secret and the recovery codes. The clock
// is moved to the next time step afterwards, so the next code is fresh.
func (e *testEnv) enrolled(t testing.TB, email string) (session, string, []string) {
	t.Helper()
	s := e.registerHTTP(t, email)
	var enr struct{ Secret, URI string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusOK, &enr)
	var conf struct{ RecoveryCodes []string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"`+e.code(t, enr.Secret, 0)+`"}`), http.StatusOK, &conf)
	e.clock.Advance(totp.Period)
	return s, enr.Secret, conf.RecoveryCodes
}

// ticket logs in and returns the MFA ticket of the MFA_REQUIRED answer.
func (e *testEnv) ticket(t testing.TB, email string) string {
	t.Helper()
	r := e.postJSON("/login", `{"email":"`+email+`","password":"`+goodPassword+`"}`)
	var body struct {
		Error struct {
			Code, Message, Ticket string
			Methods               []string
		}
		AccessToken string
	}
	jsonBody(t, r, http.StatusUnauthorized, &body)
	if body.Error.Code != "MFA_REQUIRED" || body.Error.Ticket == "" || body.AccessToken != "" ||
		!slices.Equal(body.Error.Methods, []string{"totp", "recovery_code"}) {
		t.Fatalf("login: %s", r.body)
	}
	return body.Error.Ticket
}

func (e *testEnv) verifyMFA(ticket, field, code string) *httpResult {
	return e.postJSON("/mfa/verify", `{"ticket":"`+ticket+`","`+field+`":"`+code+`"}`)
}

func TestMFAFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, secret, codes := e.enrolled(t, "mfa@example.com")
	if len(codes) != 10 {
		t.Fatalf("got %d recovery codes, want 10", len(codes))
	}
	// Confirmation ended the other sessions but not the caller's... which
	// the login below replaces anyway; the enrolling session stays aal 1.
	if c, err := e.a.Verify(ctx, s.access); err != nil || c.AAL != 1 || !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Fatalf("enrolling session: %+v, %v", c, err)
	}
	var st auth.MFAStatus
	jsonBody(t, e.authedJSON(http.MethodGet, "/mfa", s.access, ""), http.StatusOK, &st)
	if !slices.Equal(st.Factors, []string{"totp"}) || st.RecoveryCodesLeft != 10 || st.TOTPPending {
		t.Fatalf("status %+v", st)
	}

	// Login: a ticket, no tokens; the Go API says the same.
	_, err := e.a.Login(ctx, "mfa@example.com", goodPassword)
	if !errors.Is(err, auth.ErrMFARequired) {
		t.Fatalf("Login: %v, want MFA_REQUIRED", err)
	}
	ticket := e.ticket(t, "mfa@example.com")
	code := e.code(t, secret, 0)
	got := mustSession(t, e.verifyMFA(ticket, "code", code), http.StatusOK)
	c, err := e.a.Verify(ctx, got.access)
	if err != nil || c.AAL != 2 || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("claims after MFA: %+v, %v", c, err)
	}
	// Refresh keeps the assurance.
	access, _ := e.refreshHTTP(t, got.refresh)
	if c, err := e.a.Verify(ctx, access); err != nil || c.AAL != 2 || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("claims after refresh: %+v, %v", c, err)
	}

	// The same code again, with a fresh ticket: refused.
	checkError(t, "replayed code", e.verifyMFA(e.ticket(t, "mfa@example.com"), "code", code), http.StatusUnauthorized, "INVALID_CODE")
	// The spent ticket: refused, even with a new code.
	e.clock.Advance(totp.Period)
	checkError(t, "spent ticket", e.verifyMFA(ticket, "code", e.code(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")

	// A recovery code works once.
	mustSession(t, e.verifyMFA(e.ticket(t, "mfa@example.com"), "recoveryCode", strings.ToUpper(codes[3])), http.StatusOK)
	checkError(t, "spent recovery code", e.verifyMFA(e.ticket(t, "mfa@example.com"), "recoveryCode", codes[3]), http.StatusUnauthorized, "INVALID_CODE")
	jsonBody(t, e.authedJSON(http.MethodGet, "/mfa", got.access, ""), http.StatusOK, &st)
	if st.RecoveryCodesLeft != 9 {
		t.Errorf("recovery codes left = %d, want 9", st.RecoveryCodesLeft)
	}
	if !strings.Contains(e.logs.String(), "auth.mfa.recovery_code.used") {
		t.Error("no audit event for the recovery code")
	}

	// Regenerating needs aal 2: the enrolling (aal 1) session is refused.
	e.clock.Advance(totp.Period)
	checkError(t, "regenerate at aal 1", e.authedJSON(http.MethodPost, "/mfa/recovery-codes", s.access, `{"code":"`+e.code(t, secret, 0)+`"}`), http.StatusForbidden, "FORBIDDEN")
	var regen struct{ RecoveryCodes []string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/recovery-codes", got.access, `{"code":"`+e.code(t, secret, 0)+`"}`), http.StatusOK, &regen)
	if len(regen.RecoveryCodes) != 10 || slices.Contains(regen.RecoveryCodes, codes[0]) {
		t.Fatalf("regenerated %v", regen.RecoveryCodes)
	}
	checkError(t, "old recovery code", e.verifyMFA(e.ticket(t, "mfa@example.com"), "recoveryCode", codes[0]), http.StatusUnauthorized, "INVALID_CODE")

	// Removing needs aal 2, the password and a code.
	e.clock.Advance(totp.Period)
	body := `{"password":"` + goodPassword + `","code":"` + e.code(t, secret, 0) + `"}`
	checkError(t, "remove at aal 1", e.authedJSON(http.MethodDelete, "/mfa/totp", s.access, body), http.StatusForbidden, "FORBIDDEN")
	checkError(t, "remove, wrong password", e.authedJSON(http.MethodDelete, "/mfa/totp", got.access, `{"password":"wrong password!","code":"`+e.code(t, secret, 0)+`"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	if r := e.authedJSON(http.MethodDelete, "/mfa/totp", got.access, body); r.status != http.StatusOK {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	mustSession(t, e.postJSON("/login", `{"email":"mfa@example.com","password":"`+goodPassword+`"}`), http.StatusOK)

	// Nothing secret in the log.
	logs := e.logs.String()
	for _, s := range append([]string{secret, code, codes[3], ticket}, regen.RecoveryCodes...) {
		if strings.Contains(logs, s) {
			t.Errorf("log contains a secret %q", s)
		}
	}
}

func TestMFAConfirmEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	s := e.registerHTTP(t, "other@example.com")
	other := mustSession(t, e.postJSON("/login", `{"email":"other@example.com","password":"`+goodPassword+`"}`), http.StatusOK)
	var enr struct{ Secret string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusOK, &enr)
	// Unconfirmed: login still gives tokens.
	mustSession(t, e.postJSON("/login", `{"email":"other@example.com","password":"`+goodPassword+`"}`), http.StatusOK)
	checkError(t, "wrong confirmation code", e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"000000x"}`), http.StatusUnauthorized, "INVALID_CODE")
	var conf struct{ RecoveryCodes []string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"`+e.code(t, enr.Secret, 0)+`"}`), http.StatusOK, &conf)
	if _, err := e.a.Verify(context.Background(), other.access); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("other session after confirmation: %v, want INVALID_TOKEN", err)
	}
	if _, err := e.a.Verify(context.Background(), s.access); err != nil {
		t.Errorf("confirming session: %v", err)
	}
	checkError(t, "enroll again", e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusConflict, "MFA_ALREADY_ENABLED")
	checkError(t, "confirm again", e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"123456"}`), http.StatusConflict, "MFA_NOT_ENABLED")
}

func TestMFAEnrollNeedsFreshProof(t *testing.T) {
	e := newEnv(t)
	s := e.registerHTTP(t, "fresh@example.com")
	e.clock.Advance(auth.DefaultMFAFreshLogin + time.Second)
	checkError(t, "stale session", e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusForbidden, "FRESH_LOGIN_REQUIRED")
	checkError(t, "wrong password", e.authedJSON(http.MethodPost, "/mfa/totp", s.access, `{"password":"not the password"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	var enr struct{ Secret, URI string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp", s.access, `{"password":"`+goodPassword+`"}`), http.StatusOK, &enr)
	raw, err := totp.Encoding.DecodeString(enr.Secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret %q: %d bytes, %v", enr.Secret, len(raw), err)
	}
	for _, want := range []string{"otpauth://totp/ingestiq-auth:fresh@example.com?", "secret=" + enr.Secret, "issuer=ingestiq-auth", "algorithm=SHA1", "digits=6", "period=30"} {
		if !strings.Contains(enr.URI, want) {
			t.Errorf("uri %s lacks %s", enr.URI, want)
		}
	}
	// The secret at rest is sealed: the stored bytes do not hold it.
	f, err := e.mem.SecondFactor(context.Background(), s.userID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.Secret), string(raw)) || len(f.Secret) < len(raw)+16 {
		t.Errorf("stored secret is not sealed: %x", f.Secret)
	}
}

func TestMFASkewAndTicketExpiry(t *testing.T) {
	for _, tc := range []struct {
		skew   int
		offset int
		ok     bool
	}{{0, -1, true}, {0, 1, true}, {0, -2, false}, {0, 2, false}, {-1, -1, false}, {-1, 0, true}, {2, 2, true}, {2, -2, true}} {
		e := newEnv(t, func(c *auth.Config) { c.MFA.Skew = tc.skew })
		_, secret, _ := e.enrolled(t, "skew@example.com")
		e.clock.Advance(5 * totp.Period) // beyond the confirmation's step
		r := e.verifyMFA(e.ticket(t, "skew@example.com"), "code", e.code(t, secret, tc.offset))
		if tc.ok {
			mustSession(t, r, http.StatusOK)
		} else {
			checkError(t, "skewed code", r, http.StatusUnauthorized, "INVALID_CODE")
		}
	}

	e := newEnv(t)
	_, secret, _ := e.enrolled(t, "expiry@example.com")
	ticket := e.ticket(t, "expiry@example.com")
	e.clock.Advance(auth.DefaultMFATicketTTL)
	checkError(t, "expired ticket", e.verifyMFA(ticket, "code", e.code(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")
	ticket = e.ticket(t, "expiry@example.com")
	e.clock.Advance(auth.DefaultMFATicketTTL - time.Second)
	mustSession(t, e.verifyMFA(ticket, "code", e.code(t, secret, 0)), http.StatusOK)
	// Tampered and foreign tickets.
	for _, bad := range []string{"", "x", ticket + "x", strings.Replace(ticket, ".", "A.", 1), "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		r := e.verifyMFA(bad, "code", e.code(t, secret, 0))
		if r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest {
			t.Errorf("ticket %q: status %d", bad, r.status)
		}
	}
}

func TestMFAThrottling(t *testing.T) {
	e := newEnv(t, withThrottling)
	_, secret, _ := e.enrolled(t, "throttle@example.com")
	ticket := e.ticket(t, "throttle@example.com")
	good := e.code(t, secret, 0)
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	for range 5 {
		checkError(t, "wrong code", e.verifyMFA(ticket, "code", wrong), http.StatusUnauthorized, "INVALID_CODE")
	}
	r := e.verifyMFA(ticket, "code", wrong)
	checkError(t, "sixth wrong code", r, http.StatusTooManyRequests, "RATE_LIMITED")
	// Throttled whether the code is right or wrong: the ticket is dead.
	checkError(t, "right code on a dead ticket", e.verifyMFA(ticket, "code", good), http.StatusTooManyRequests, "RATE_LIMITED")
	// The account is throttled too: a new ticket waits.
	checkError(t, "new ticket, throttled account", e.verifyMFA(e.ticket(t, "throttle@example.com"), "code", good), http.StatusTooManyRequests, "RATE_LIMITED")
	e.clock.Advance(time.Minute)
	mustSession(t, e.verifyMFA(e.ticket(t, "throttle@example.com"), "code", e.code(t, secret, 0)), http.StatusOK)
}

// TestMFAConcurrentCode races 50 logins with one code, each with its own
// ticket: exactly one gets tokens.
func TestMFAConcurrentCode(t *testing.T) {
	e := newEnv(t)
	_, secret, codes := e.enrolled(t, "race@example.com")
	for _, tc := range []struct{ field, code string }{{"code", e.code(t, secret, 0)}, {"recoveryCode", codes[0]}} {
		tickets := make([]string, 50)
		for i := range tickets {
			tickets[i] = e.ticket(t, "race@example.com")
		}
		var wg sync.WaitGroup
		statuses := make([]int, len(tickets))
		for i := range tickets {
			wg.Go(func() { statuses[i] = e.verifyMFA(tickets[i], tc.field, tc.code).status })
		}
		wg.Wait()
		wins := 0
		for _, s := range statuses {
			if s == http.StatusOK {
				wins++
			} else if s != http.StatusUnauthorized {
				t.Errorf("%s: status %d", tc.field, s)
			}
		}
		if wins != 1 {
			t.Errorf("%s: %d of 50 concurrent logins won, want 1", tc.field, wins)
		}
	}
}

func TestRequireAAL2(t *testing.T) {
	e := newEnv(t)
	s, secret, _ := e.enrolled(t, "aal@example.com")
	two := mustSession(t, e.verifyMFA(e.ticket(t, "aal@example.com"), "code", e.code(t, secret, 0)), http.StatusOK)
	h := e.a.Middleware(auth.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	for _, tc := range []struct {
		token string
		want  int
	}{{s.access, http.StatusForbidden}, {two.access, http.StatusNoContent}} {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("status %d, want %d", rec.Code, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	auth.RequireAAL2(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no claims: status %d, want 401", rec.Code)
	}
}

// TestMFASecretRotation checks that factors sealed under a previous secret
// still work when it is listed in PreviousSecrets, and not otherwise.
func TestMFASecretRotation(t *testing.T) {
	e := newEnv(t)
	_, secret, codes := e.enrolled(t, "rotate@example.com")
	newSecret := []byte("a-completely-new-secret-0123456789-xyzw")
	for _, prev := range []bool{true, false} {
		cfg := auth.Config{Users: e.store, Tokens: e.store, Secret: newSecret, Now: e.clock.Now,
			Logger:    slog.New(e.logs.Handler()),
			Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
			Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true}}
		if prev {
			cfg.MFA.PreviousSecrets = [][]byte{testSecret}
		}
		a, err := auth.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Login(context.Background(), "rotate@example.com", goodPassword)
		var me *auth.Error
		if !errors.As(err, &me) || me.Ticket == "" {
			t.Fatalf("login: %v", err)
		}
		_, err = a.VerifyMFA(context.Background(), me.Ticket, "", codes[len(codes)-1])
		if prev && err != nil {
			t.Errorf("recovery code under the previous secret: %v", err)
		}
		_, err = a.Login(context.Background(), "rotate@example.com", goodPassword)
		errors.As(err, &me)
		_, err = a.VerifyMFA(context.Background(), me.Ticket, e.code(t, secret, 0), "")
		if prev && err != nil {
			t.Errorf("code under the previous secret: %v", err)
		}
		if !prev && err == nil {
			t.Error("code accepted without the previous secret")
		}
		e.clock.Advance(totp.Period)
	}
}

// noMFAStore hides memstore's SecondFactorStore.
type noMFAStore struct {
	auth.UserStore
	auth.TokenStore
}

func TestMFANotImplemented(t *testing.T) {
	m := memstore.New()
	e := newEnv(t, func(c *auth.Config) { c.Users, c.Tokens = noMFAStore{m, m}, noMFAStore{m, m} })
	s := e.registerHTTP(t, "nomfa@example.com")
	checkError(t, "enroll", e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusNotImplemented, "NOT_IMPLEMENTED")
	checkError(t, "status", e.authedJSON(http.MethodGet, "/mfa", s.access, ""), http.StatusNotImplemented, "NOT_IMPLEMENTED")
	checkError(t, "verify", e.postJSON("/mfa/verify", `{"ticket":"x","code":"123456"}`), http.StatusNotImplemented, "NOT_IMPLEMENTED")
	mustSession(t, e.postJSON("/login", `{"email":"nomfa@example.com","password":"`+goodPassword+`"}`), http.StatusOK)
}

// burstStore holds every SecondFactor read, once armed, until each of
// total requests has either reached that read or finished: all the code
// checks that a burst lets through then run together, as they would
// against a slow database.
type burstStore struct {
	*memstore.Store
	mu                       sync.Mutex
	cond                     *sync.Cond
	armed                    bool
	total, arrived, finished int
}

func (s *burstStore) SecondFactor(ctx context.Context, userID string) (*auth.SecondFactor, error) {
	s.mu.Lock()
	if s.armed {
		s.arrived++
		s.cond.Broadcast()
		for s.arrived+s.finished < s.total {
			s.cond.Wait()
		}
	}
	s.mu.Unlock()
	return s.Store.SecondFactor(ctx, userID)
}

func (s *burstStore) done() {
	s.mu.Lock()
	s.finished++
	s.cond.Broadcast()
	s.mu.Unlock()
}

// TestMFABurstCountedPerAccount sends one wrong code on each of 20 tickets
// of one account at once: every attempt counts against the account before
// its code is checked, so no more codes are checked than the account's
// rule lets through, however many tickets the password can mint.
func TestMFABurstCountedPerAccount(t *testing.T) {
	bs := &burstStore{Store: memstore.New()}
	bs.cond = sync.NewCond(&bs.mu)
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.Users, c.Tokens = bs, bs })
	_, secret, _ := e.enrolled(t, "burst@example.com")
	const n = 20
	tickets := make([]string, n)
	for i := range tickets {
		tickets[i] = e.ticket(t, "burst@example.com")
	}
	wrong := "000000"
	if wrong == e.code(t, secret, 0) || wrong == e.code(t, secret, -1) || wrong == e.code(t, secret, 1) {
		wrong = "111111"
	}
	bs.mu.Lock()
	bs.armed, bs.total = true, n
	bs.mu.Unlock()
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, tk := range tickets {
		wg.Go(func() {
			defer bs.done()
			statuses[i] = e.verifyMFA(tk, "code", wrong).status
		})
	}
	wg.Wait()
	checked := 0
	for _, s := range statuses {
		if s == http.StatusUnauthorized {
			checked++
		}
	}
	if free := auth.DefaultMFAAccountBackoff.Free; checked > free {
		t.Fatalf("%d wrong codes were checked in one burst over %d tickets, want at most %d (statuses %v)", checked, n, free, statuses)
	}
}

// TestMFASpentTicketChecksNoCode: a ticket already redeemed is refused
// before its code is looked at, so it can neither spend a recovery code nor
// tell a right code from a wrong one.
func TestMFASpentTicketChecksNoCode(t *testing.T) {
	e := newEnv(t)
	_, secret, codes := e.enrolled(t, "spent@example.com")
	ticket := e.ticket(t, "spent@example.com")
	mustSession(t, e.verifyMFA(ticket, "code", e.code(t, secret, 0)), http.StatusOK)
	checkError(t, "spent ticket, recovery code", e.verifyMFA(ticket, "recoveryCode", codes[0]), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "spent ticket, wrong code", e.verifyMFA(ticket, "code", "000000"), http.StatusUnauthorized, "INVALID_TOKEN")
	// The recovery code was not spent by the refused call.
	mustSession(t, e.verifyMFA(e.ticket(t, "spent@example.com"), "recoveryCode", codes[0]), http.StatusOK)
}

// TestMFAVerifyGivesDeviceToken: a login finished with a second factor
// gets a device token like any other login, so that the owner of an
// account with two-step sign-in is not held back by the account-wide
// ceiling either.
func TestMFAVerifyGivesDeviceToken(t *testing.T) {
	e := newEnv(t)
	_, secret, _ := e.enrolled(t, "device@example.com")
	var body struct{ DeviceToken string }
	jsonBody(t, e.verifyMFA(e.ticket(t, "device@example.com"), "code", e.code(t, secret, 0)), http.StatusOK, &body)
	if body.DeviceToken == "" {
		t.Fatal("POST /mfa/verify answered no deviceToken")
	}
}

// secondFactorsOnly has a memstore's users and second factors, but a token
// store without one-time tokens or session listing.
type secondFactorsOnly struct {
	*memstore.Store
}

// TestMFANeedsTicketStore: with a Users store that keeps second factors
// beside a Tokens store that cannot keep MFA tickets, enrollment answers
// NOT_IMPLEMENTED instead of letting a user enroll and then never log in.
func TestMFANeedsTicketStore(t *testing.T) {
	mem := memstore.New()
	e := newEnv(t, func(c *auth.Config) { c.Users, c.Tokens = secondFactorsOnly{mem}, tokensOnly{mem} })
	s := e.registerHTTP(t, "noticket@example.com")
	checkError(t, "enroll without a ticket store", e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusNotImplemented, "NOT_IMPLEMENTED")
	mustSession(t, e.postJSON("/login", `{"email":"noticket@example.com","password":"`+goodPassword+`"}`), http.StatusOK)
}

// tokensOnly is the bare TokenStore of a memstore.
type tokensOnly struct{ auth.TokenStore }

// TestMFAConfirmCountsWrongCodes: wrong codes at confirmation count against
// the account like those of the other steps, so a bearer token cannot
// guess the confirmation code without end.
func TestMFAConfirmCountsWrongCodes(t *testing.T) {
	e := newEnv(t, withThrottling)
	s := e.registerHTTP(t, "confirm@example.com")
	var enr struct{ Secret string }
	jsonBody(t, e.authedJSON(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusOK, &enr)
	wrong := "000000"
	for _, st := range []int{-1, 0, 1} {
		if e.code(t, enr.Secret, st) == wrong {
			wrong = "111111"
		}
	}
	for i := range auth.DefaultMFAAccountBackoff.Free {
		checkError(t, fmt.Sprintf("wrong confirmation code %d", i+1), e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"`+wrong+`"}`), http.StatusUnauthorized, "INVALID_CODE")
	}
	checkError(t, "one more wrong confirmation code", e.authedJSON(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"`+wrong+`"}`), http.StatusTooManyRequests, "RATE_LIMITED")
}
