package securitytest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/totp"
)

// Section M: two-step sign-in (TOTP and recovery codes).
func rowsM() []row {
	return []row{
		{id: "M01", name: "enrollment_needs_a_fresh_proof", fn: testMFAFreshProof},
		{id: "M02", name: "login_with_a_factor_gives_a_ticket_not_tokens", fn: testMFATicketNotTokens},
		{id: "M03", name: "verify_gives_aal2_tokens_kept_by_refresh", fn: testMFAVerifyAAL2},
		{id: "M04", name: "a_code_is_accepted_once_and_never_an_earlier_one", fn: testMFAReplay},
		{id: "M05", name: "fifty_logins_racing_one_code_or_recovery_code_one_wins", serial: true, fn: testMFARace},
		{id: "M06", name: "tickets_are_signed_single_use_and_expire", fn: testMFATickets},
		{id: "M07", name: "wrong_codes_throttled_per_ticket_and_account", fn: testMFAThrottle},
		{id: "M08", name: "skew_is_one_step_each_way", fn: testMFASkew},
		{id: "M09", name: "recovery_codes_single_use_counted_regenerable_at_aal2", fn: testMFARecovery},
		{id: "M10", name: "removal_needs_aal2_password_and_code", fn: testMFARemove},
		{id: "M11", name: "require_aal2_middleware", fn: testMFARequireAAL2},
		{id: "M12", name: "secret_sealed_at_rest_nothing_secret_logged", fn: testMFASealedAndQuiet},
		{id: "M13", name: "confirmation_ends_other_sessions", fn: testMFAConfirmEndsSessions},
		{id: "M14", name: "pending_tickets_end_with_a_password_change_or_logout_all", fn: testMFATicketsEndWithSessions},
	}
}

// mfaStores is the probe (which forwards the lifecycle capabilities) with
// the second-factor store of the stores as opened.
type mfaStores struct {
	*probe
	auth.SecondFactorStore
}

// mfaEnv is env with the second-factor capabilities visible to the
// Authenticator; it skips the row when the stores lack them.
func (s *suite) mfaEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	e := s.env(t, opts...)
	sf, ok1 := e.users.(auth.SecondFactorStore)
	_, ok2 := e.tokens.(auth.OneTimeTokenStore)
	_, ok3 := e.tokens.(auth.SessionLister)
	if !ok1 || !ok2 || !ok3 {
		t.Skip("the stores lack SecondFactorStore, OneTimeTokenStore or SessionLister")
	}
	st := &mfaStores{e.probe, sf}
	e.cfg.Users, e.cfg.Tokens = st, st
	a, err := auth.New(e.cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.a = a
	e.mux = http.NewServeMux()
	e.mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))
	return e
}

func (e *env) authed(method, path, token, body string) *result {
	h := append(hdr{}, bearer(token)...)
	var r *strings.Reader
	if body != "" {
		h = append(h, jsonHeaders...)
		r = strings.NewReader(body)
	}
	if r == nil {
		return e.do(method, path, nil, h)
	}
	return e.do(method, path, r, h)
}

func decodeInto(t testing.TB, what string, r *result, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: body %s: %v", what, r.body, err)
	}
}

// totpCode is the code of a base32 secret at the env's clock plus steps.
func (e *env) totpCode(t testing.TB, secret string, steps int) string {
	t.Helper()
	raw, err := totp.Encoding.DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	return totp.TOTP(totp.SHA1, raw, e.clock.Now().Add(time.Duration(steps)*totp.Period), totp.Period, 6)
}

// enrolled registers email, enrolls and confirms a factor, and moves the
// clock one step on, so that the next code is unspent.
func (e *env) enrolled(t testing.TB, email string) (session, string, []string) {
	t.Helper()
	s := e.registerHTTP(t, email)
	var enr struct{ Secret, URI string }
	decodeInto(t, "enroll", e.authed(http.MethodPost, "/mfa/totp", s.access, ""), http.StatusOK, &enr)
	var conf struct{ RecoveryCodes []string }
	decodeInto(t, "confirm", e.authed(http.MethodPost, "/mfa/totp/confirm", s.access, `{"code":"`+e.totpCode(t, enr.Secret, 0)+`"}`), http.StatusOK, &conf)
	e.clock.Advance(totp.Period)
	return s, enr.Secret, conf.RecoveryCodes
}

// mfaTicket logs in with the right password and returns the ticket of the
// MFA_REQUIRED answer, checking that no token came with it.
func (e *env) mfaTicket(t testing.TB, email string) string {
	t.Helper()
	r := e.postJSON("/login", `{"email":"`+email+`","password":"`+goodPassword+`"}`)
	var body struct {
		Error struct {
			Code, Ticket string
			Methods      []string
		}
	}
	decodeInto(t, "login", r, http.StatusUnauthorized, &body)
	if body.Error.Code != "MFA_REQUIRED" || body.Error.Ticket == "" || !slices.Equal(body.Error.Methods, []string{"totp", "recovery_code"}) {
		t.Fatalf("login: %s", r.body)
	}
	if keys := keysOf(t, r.body); !slices.Equal(keys, []string{"error"}) {
		t.Fatalf("login with a factor answered %v", keys)
	}
	return body.Error.Ticket
}

func (e *env) mfaVerify(ticket, field, code string) *result {
	return e.postJSON("/mfa/verify", `{"ticket":"`+ticket+`","`+field+`":"`+code+`"}`)
}

// testMFAFreshProof: M01.
func testMFAFreshProof(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	sess := e.registerHTTP(t, "m01@example.com")
	e.clock.Advance(auth.DefaultMFAFreshLogin + time.Second)
	checkError(t, "stale session, no password", e.authed(http.MethodPost, "/mfa/totp", sess.access, ""), http.StatusForbidden, "FRESH_LOGIN_REQUIRED")
	checkError(t, "wrong password", e.authed(http.MethodPost, "/mfa/totp", sess.access, `{"password":"not the right one"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	checkError(t, "no token", e.postJSON("/mfa/totp", `{}`), http.StatusUnauthorized, "UNAUTHORIZED")
	var enr struct{ Secret, URI string }
	decodeInto(t, "enroll with the password", e.authed(http.MethodPost, "/mfa/totp", sess.access, `{"password":"`+goodPassword+`"}`), http.StatusOK, &enr)
	if raw, err := totp.Encoding.DecodeString(enr.Secret); err != nil || len(raw) != 20 {
		t.Errorf("secret %q is not 160 bits of base32", enr.Secret)
	}
	if !strings.HasPrefix(enr.URI, "otpauth://totp/") || !strings.Contains(enr.URI, "issuer=") || !strings.Contains(enr.URI, "secret="+enr.Secret) {
		t.Errorf("uri %s", enr.URI)
	}
}

// testMFATicketNotTokens: M02.
func testMFATicketNotTokens(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	sess := e.registerHTTP(t, "m02@example.com")
	var enr struct{ Secret string }
	decodeInto(t, "enroll", e.authed(http.MethodPost, "/mfa/totp", sess.access, ""), http.StatusOK, &enr)
	e.loginHTTP(t, "m02@example.com", goodPassword) // unconfirmed: tokens as before
	decodeInto(t, "confirm", e.authed(http.MethodPost, "/mfa/totp/confirm", sess.access, `{"code":"`+e.totpCode(t, enr.Secret, 0)+`"}`), http.StatusOK, &struct{}{})
	before := e.probe.counts().sessions
	e.mfaTicket(t, "m02@example.com")
	if _, err := e.a.Login(context.Background(), "m02@example.com", goodPassword); !errors.Is(err, auth.ErrMFARequired) {
		t.Errorf("Login: %v, want MFA_REQUIRED", err)
	}
	if n := e.probe.counts().sessions; n != before {
		t.Errorf("a login answered MFA_REQUIRED opened %d sessions", n-before)
	}
	checkError(t, "wrong password", e.postJSON("/login", `{"email":"m02@example.com","password":"wrong password here"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

// testMFAVerifyAAL2: M03.
func testMFAVerifyAAL2(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	_, secret, _ := e.enrolled(t, "m03@example.com")
	got := mustSession(t, e.mfaVerify(e.mfaTicket(t, "m03@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusOK)
	if claimInt(t, got.access, "aal") != 2 {
		t.Errorf("aal = %d, want 2", claimInt(t, got.access, "aal"))
	}
	c, err := e.a.Verify(context.Background(), got.access)
	if err != nil || c.AAL != 2 || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("claims %+v, %v", c, err)
	}
	at, _ := e.refreshHTTP(t, got.refresh)
	if c, err := e.a.Verify(context.Background(), at); err != nil || c.AAL != 2 || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Errorf("after refresh: %+v, %v", c, err)
	}
	plain := e.registerHTTP(t, "m03b@example.com")
	if c, err := e.a.Verify(context.Background(), plain.access); err != nil || c.AAL != 1 || !slices.Equal(c.AMR, []string{"pwd"}) {
		t.Errorf("password-only claims %+v, %v", c, err)
	}
}

// testMFAReplay: M04.
func testMFAReplay(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	_, secret, _ := e.enrolled(t, "m04@example.com")
	code := e.totpCode(t, secret, 0)
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m04@example.com"), "code", code), http.StatusOK)
	checkError(t, "same code", e.mfaVerify(e.mfaTicket(t, "m04@example.com"), "code", code), http.StatusUnauthorized, "INVALID_CODE")
	// A later step spent: the previous one, still within the skew, is refused.
	e.clock.Advance(totp.Period)
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m04@example.com"), "code", e.totpCode(t, secret, 1)), http.StatusOK)
	checkError(t, "earlier step", e.mfaVerify(e.mfaTicket(t, "m04@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_CODE")
}

// testMFARace: M05, over a live server.
func testMFARace(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	_, secret, codes := e.enrolled(t, "m05@example.com")
	for _, tc := range []struct{ field, code string }{{"code", e.totpCode(t, secret, 0)}, {"recoveryCode", codes[0]}} {
		tickets := make([]string, 50)
		for i := range tickets {
			tickets[i] = e.mfaTicket(t, "m05@example.com")
		}
		rs := burst(t, len(tickets), func(i int) (*result, error) {
			return e.call(http.MethodPost, "/mfa/verify", `{"ticket":"`+tickets[i]+`","`+tc.field+`":"`+tc.code+`"}`, jsonHeaders)
		})
		wins := 0
		for _, r := range rs {
			switch r.status {
			case http.StatusOK:
				wins++
			case http.StatusUnauthorized:
			default:
				t.Errorf("%s: status %d", tc.field, r.status)
			}
		}
		if wins != 1 {
			t.Errorf("%s: %d of 50 racing logins won, want exactly 1", tc.field, wins)
		}
	}
}

// testMFATickets: M06.
func testMFATickets(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	_, secret, _ := e.enrolled(t, "m06@example.com")
	ticket := e.mfaTicket(t, "m06@example.com")
	mustSession(t, e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusOK)
	e.clock.Advance(totp.Period)
	checkError(t, "spent ticket", e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")

	ticket = e.mfaTicket(t, "m06@example.com")
	e.clock.Advance(auth.DefaultMFATicketTTL)
	checkError(t, "expired ticket", e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")

	ticket = e.mfaTicket(t, "m06@example.com")
	head, sig, _ := strings.Cut(ticket, ".")
	other := e.sibling(func(c *auth.Config) { c.Secret = []byte("another-secret-entirely-0123456789-abc") })
	_, err := other.Login(context.Background(), "m06@example.com", goodPassword)
	var foreign *auth.Error
	if !errors.As(err, &foreign) || foreign.Ticket == "" {
		t.Fatalf("sibling login: %v", err)
	}
	flipped := []byte(sig)
	flipped[0] ^= 1
	for name, bad := range map[string]string{
		"tampered signature": head + "." + string(flipped),
		"another secret's":   foreign.Ticket,
		"no signature":       head,
		"garbage":            "x.y",
		"an access token":    e.registerHTTP(t, "m06b@example.com").access,
	} {
		checkError(t, name, e.mfaVerify(bad, "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")
	}
	mustSession(t, e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusOK)
}

// testMFAThrottle: M07.
func testMFAThrottle(t *testing.T, s *suite) {
	e := s.mfaEnv(t, throttling)
	_, secret, _ := e.enrolled(t, "m07@example.com")
	ticket := e.mfaTicket(t, "m07@example.com")
	wrong := "000000"
	if wrong == e.totpCode(t, secret, 0) || wrong == e.totpCode(t, secret, -1) || wrong == e.totpCode(t, secret, 1) {
		wrong = "999999"
	}
	for range 5 {
		checkError(t, "wrong code", e.mfaVerify(ticket, "code", wrong), http.StatusUnauthorized, "INVALID_CODE")
	}
	checkError(t, "sixth code on the ticket", e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusTooManyRequests, "RATE_LIMITED")
	checkError(t, "a new ticket, same account", e.mfaVerify(e.mfaTicket(t, "m07@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusTooManyRequests, "RATE_LIMITED")
	e.clock.Advance(time.Minute)
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m07@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusOK)
}

// testMFASkew: M08.
func testMFASkew(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	_, secret, _ := e.enrolled(t, "m08@example.com")
	e.clock.Advance(10 * totp.Period)
	checkError(t, "two steps ahead", e.mfaVerify(e.mfaTicket(t, "m08@example.com"), "code", e.totpCode(t, secret, 2)), http.StatusUnauthorized, "INVALID_CODE")
	checkError(t, "two steps behind", e.mfaVerify(e.mfaTicket(t, "m08@example.com"), "code", e.totpCode(t, secret, -2)), http.StatusUnauthorized, "INVALID_CODE")
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m08@example.com"), "code", e.totpCode(t, secret, -1)), http.StatusOK)
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m08@example.com"), "code", e.totpCode(t, secret, 1)), http.StatusOK)
}

// testMFARecovery: M09.
func testMFARecovery(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	first, secret, codes := e.enrolled(t, "m09@example.com")
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(codes))
	}
	two := mustSession(t, e.mfaVerify(e.mfaTicket(t, "m09@example.com"), "recoveryCode", codes[0]), http.StatusOK)
	checkError(t, "spent recovery code", e.mfaVerify(e.mfaTicket(t, "m09@example.com"), "recoveryCode", codes[0]), http.StatusUnauthorized, "INVALID_CODE")
	var st auth.MFAStatus
	decodeInto(t, "status", e.authed(http.MethodGet, "/mfa", two.access, ""), http.StatusOK, &st)
	if st.RecoveryCodesLeft != 9 || !slices.Equal(st.Factors, []string{"totp"}) {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(e.logs.String(), "auth.mfa.recovery_code.used") {
		t.Error("using a recovery code is not an audit event")
	}
	checkError(t, "regenerate at aal 1", e.authed(http.MethodPost, "/mfa/recovery-codes", first.access, `{"code":"`+e.totpCode(t, secret, 0)+`"}`), http.StatusForbidden, "FORBIDDEN")
	var regen struct{ RecoveryCodes []string }
	decodeInto(t, "regenerate", e.authed(http.MethodPost, "/mfa/recovery-codes", two.access, `{"code":"`+e.totpCode(t, secret, 0)+`"}`), http.StatusOK, &regen)
	if len(regen.RecoveryCodes) != 10 {
		t.Fatalf("regenerated %d codes", len(regen.RecoveryCodes))
	}
	checkError(t, "a replaced code", e.mfaVerify(e.mfaTicket(t, "m09@example.com"), "recoveryCode", codes[1]), http.StatusUnauthorized, "INVALID_CODE")
	mustSession(t, e.mfaVerify(e.mfaTicket(t, "m09@example.com"), "recoveryCode", regen.RecoveryCodes[9]), http.StatusOK)
}

// testMFARemove: M10.
func testMFARemove(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	first, secret, _ := e.enrolled(t, "m10@example.com")
	two := mustSession(t, e.mfaVerify(e.mfaTicket(t, "m10@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusOK)
	e.clock.Advance(totp.Period)
	body := func(pw string) string {
		return `{"password":"` + pw + `","code":"` + e.totpCode(t, secret, 0) + `"}`
	}
	checkError(t, "aal 1", e.authed(http.MethodDelete, "/mfa/totp", first.access, body(goodPassword)), http.StatusForbidden, "FORBIDDEN")
	checkError(t, "wrong password", e.authed(http.MethodDelete, "/mfa/totp", two.access, body("wrong password here")), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	checkError(t, "wrong code", e.authed(http.MethodDelete, "/mfa/totp", two.access, `{"password":"`+goodPassword+`","code":"12345x"}`), http.StatusUnauthorized, "INVALID_CODE")
	e.mfaTicket(t, "m10@example.com") // still required
	if r := e.authed(http.MethodDelete, "/mfa/totp", two.access, body(goodPassword)); r.status != http.StatusOK {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	e.loginHTTP(t, "m10@example.com", goodPassword)
}

// testMFARequireAAL2: M11.
func testMFARequireAAL2(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	first, secret, _ := e.enrolled(t, "m11@example.com")
	two := mustSession(t, e.mfaVerify(e.mfaTicket(t, "m11@example.com"), "code", e.totpCode(t, secret, 0)), http.StatusOK)
	h := e.a.Middleware(auth.RequireAAL2(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	for token, want := range map[string]int{first.access: http.StatusForbidden, two.access: http.StatusNoContent} {
		req := httptest.NewRequest(http.MethodGet, "/protected", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("status %d, want %d", rec.Code, want)
		}
	}
	// A forged aal claim does not verify.
	forged := withPayload(t, first.access, edit(jwtPart(t, first.access, 1), map[string]any{"aal": 2, "amr": []string{"pwd", "otp"}}))
	req := httptest.NewRequest(http.MethodGet, "/protected", nil)
	req.Header.Set("Authorization", "Bearer "+forged)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("forged aal: status %d, want 401", rec.Code)
	}
}

// testMFASealedAndQuiet: M12.
func testMFASealedAndQuiet(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	sess, secret, codes := e.enrolled(t, "m12@example.com")
	raw, _ := totp.Encoding.DecodeString(secret)
	f, err := e.users.(auth.SecondFactorStore).SecondFactor(context.Background(), sess.userID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.Secret), string(raw)) || strings.Contains(string(f.Secret), secret) {
		t.Error("the stored secret holds the secret in the clear")
	}
	ticket := e.mfaTicket(t, "m12@example.com")
	mustSession(t, e.mfaVerify(ticket, "recoveryCode", codes[2]), http.StatusOK)
	logs := e.logs.String()
	for _, s := range append([]string{secret, ticket}, codes...) {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a secret, recovery code or ticket")
		}
	}
	for _, ev := range []string{"auth.mfa.totp.enroll", "auth.mfa.totp.confirm", "auth.login.mfa_required", "auth.mfa.recovery_code.used"} {
		if !strings.Contains(logs, ev) {
			t.Errorf("no audit event %s", ev)
		}
	}
}

// testMFAConfirmEndsSessions: M13.
func testMFAConfirmEndsSessions(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	sess := e.registerHTTP(t, "m13@example.com")
	other := e.loginHTTP(t, "m13@example.com", goodPassword)
	var enr struct{ Secret string }
	decodeInto(t, "enroll", e.authed(http.MethodPost, "/mfa/totp", sess.access, ""), http.StatusOK, &enr)
	decodeInto(t, "confirm", e.authed(http.MethodPost, "/mfa/totp/confirm", sess.access, `{"code":"`+e.totpCode(t, enr.Secret, 0)+`"}`), http.StatusOK, &struct{}{})
	checkError(t, "other session", e.do(http.MethodGet, "/me", nil, bearer(other.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "other refresh", e.postJSON("/refresh", `{"refreshToken":"`+other.refresh+`"}`), http.StatusUnauthorized, "INVALID_TOKEN")
	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Errorf("confirming session: %d", r.status)
	}
}

// testMFATicketsEndWithSessions: M14. A ticket from a login before a
// password change, or before a logout of every session, no longer
// completes the login, even with a right code; a ticket from after still
// does.
func testMFATicketsEndWithSessions(t *testing.T, s *suite) {
	e := s.mfaEnv(t)
	const email = "m14@example.com"
	sess, secret, _ := e.enrolled(t, email)
	ticket := e.mfaTicket(t, email)
	const newPassword = "another-good-password-14"
	if r := e.authed(http.MethodPost, "/password", sess.access, `{"currentPassword":"`+goodPassword+`","newPassword":"`+newPassword+`"}`); r.status != http.StatusOK {
		t.Fatalf("password change: %d %s", r.status, r.body)
	}
	checkError(t, "ticket from before the password change", e.mfaVerify(ticket, "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")

	r := e.postJSON("/login", `{"email":"`+email+`","password":"`+newPassword+`"}`)
	var body struct{ Error struct{ Code, Ticket string } }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Code != "MFA_REQUIRED" {
		t.Fatalf("login with the new password: %d %s", r.status, r.body)
	}
	if r := e.authed(http.MethodPost, "/logout-all", sess.access, ""); r.status != http.StatusOK {
		t.Fatalf("logout-all: %d %s", r.status, r.body)
	}
	checkError(t, "ticket from before logout-all", e.mfaVerify(body.Error.Ticket, "code", e.totpCode(t, secret, 0)), http.StatusUnauthorized, "INVALID_TOKEN")

	r = e.postJSON("/login", `{"email":"`+email+`","password":"`+newPassword+`"}`)
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Ticket == "" {
		t.Fatalf("login after logout-all: %d %s", r.status, r.body)
	}
	mustSession(t, e.mfaVerify(body.Error.Ticket, "code", e.totpCode(t, secret, 0)), http.StatusOK)
}
