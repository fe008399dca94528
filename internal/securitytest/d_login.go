package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/hashprobe"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section D: login, enumeration, brute force.
func rowsD() []row {
	return []row{
		{id: "D02", name: "login_in_any_case_or_spacing_is_the_same_user", fn: testLoginEmailVariants},
		{id: "D03", name: "failures_indistinguishable", fn: testInvalidCredentialsIndistinguishable},
		{id: "D04", name: "unknown_email_costs_a_hash", fn: testUnknownEmailSpendsHashTime},
		{id: "D05", name: "passwords_of_older_policies_no_oracle", fn: testOlderPolicyPasswords},
		{id: "D06", name: "over_long_passwords_no_oracle", fn: testOverLongPasswordsNoOracle},
		{id: "D07", name: "failures_throttled_until_the_wait_is_over", fn: testRateLimitedLogin},
		{id: "D07", name: "parallel_successful_logins_not_throttled", serial: true, fn: testParallelLoginsNotThrottled},
		{id: "D09", name: "email_variants_share_one_counter", fn: testLoginThrottleCanonicalKey},
		{id: "D11", name: "rotating_forwarded_for_still_throttled", fn: testLoginThrottleRotatingForwardedFor},
		{id: "D11", name: "failures_throttled_per_address", fn: testLoginThrottlePerAddress},
		{id: "D11", name: "refreshes_throttled_per_address", fn: testRefreshThrottle},
		{id: "D12", name: "deleted_user_refused_everywhere", fn: testDeletedUserTokensRejected},
		{id: "D13", name: "logins_open_distinct_sessions", serial: true, fn: testLoginsOpenDistinctSessions},
		{id: "D14", name: "stranger_at_one_address_cannot_lock_out_owner", fn: testStrangerOneAddress},
		{id: "D14", name: "many_addresses_reach_a_ceiling_device_token_passes", fn: testStrangerManyAddresses},
	}
}

// withXFF returns JSON request headers that also claim a client address
// through X-Forwarded-For, which only trusted proxies may set.
func withXFF(addr string) hdr {
	return append(hdr{{"X-Forwarded-For", addr}}, jsonHeaders...)
}

func (e *env) loginFrom(email, password string, h hdr) *result {
	return e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody(email, password)), h)
}

func retryAfter(t *testing.T, r *result) time.Duration {
	t.Helper()
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
}

// checkErrorCode is checkError that stops the row on a mismatch.
func checkErrorCode(t *testing.T, r *result, status int, code string) {
	t.Helper()
	if r.status != status || !strings.Contains(string(r.body), `"code":"`+code+`"`) {
		t.Fatalf("status %d body %s, want %d %s", r.status, r.body, status, code)
	}
	checkError(t, code, r, status, code)
}

// sameAnswer reports how b differs from a, ignoring nothing: status, body
// and every header.
func sameAnswer(a, b *result) string {
	switch {
	case a.status != b.status:
		return fmt.Sprintf("status %d, not %d", b.status, a.status)
	case !bytes.Equal(a.body, b.body):
		return fmt.Sprintf("body %q, not %q", b.body, a.body)
	case !maps.EqualFunc(a.header, b.header, slices.Equal):
		return fmt.Sprintf("headers %v, not %v", b.header, a.header)
	}
	return ""
}

// testLoginEmailVariants: D02.
func testLoginEmailVariants(t *testing.T, s *suite) {
	e := s.env(t)
	reg := e.registerHTTP(t, "alice@example.com")
	for _, email := range []string{"ALICE@EXAMPLE.COM", " alice@example.com", "alice@example.com\t", "Alice@Example.Com", "\r\nalice@EXAMPLE.com "} {
		if l := e.loginHTTP(t, email, goodPassword); l.userID != reg.userID || l.email != "alice@example.com" {
			t.Errorf("login as %q: user %q %q, want %q alice@example.com", email, l.userID, l.email, reg.userID)
		}
	}
}

// testInvalidCredentialsIndistinguishable: D03. Every way of failing a
// login gives the very same answer: status, code, message, headers, length.
func testInvalidCredentialsIndistinguishable(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerHTTP(t, "alice@example.com")
	gone := e.registerHTTP(t, "gone@example.com")
	if err := e.users.DeleteUser(context.Background(), gone.userID); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ name, body string }{
		{"wrong password", testutil.LoginBody("alice@example.com", "correct horse battery stapler")},
		{"unknown email", testutil.LoginBody("nobody@example.com", goodPassword)},
		{"unknown email, wrong password", testutil.LoginBody("nobody@example.com", "correct horse battery stapler")},
		{"deleted account", testutil.LoginBody("gone@example.com", goodPassword)},
		{"password in another case", testutil.LoginBody("alice@example.com", strings.ToUpper(goodPassword))},
		{"password with surrounding spaces", testutil.LoginBody("alice@example.com", " "+goodPassword+" ")},
		{"empty password", testutil.LoginBody("alice@example.com", "")},
		{"malformed email", testutil.LoginBody("not-an-email", goodPassword)},
		{"password over 1024 bytes", testutil.LoginBody("alice@example.com", strings.Repeat("p", 2000))},
	}
	var first *result
	for _, c := range cases {
		r := e.postJSON("/login", c.body)
		checkError(t, c.name, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		if first == nil {
			first = r
			continue
		}
		if d := sameAnswer(first, r); d != "" {
			t.Errorf("%s: %s (as %s answered)", c.name, d, cases[0].name)
		}
	}
}

// testUnknownEmailSpendsHashTime: D04. An unknown email costs a hash just
// like a wrong password: a probe in the login's context
// (internal/hashprobe) sees exactly one argon2id computation with the live
// parameters for a wrong password, an unknown email, a malformed email and
// an empty password alike. Which work a login does is the property; how
// long it takes is measured by the login benchmarks, not asserted.
func testUnknownEmailSpendsHashTime(t *testing.T, s *suite) {
	live := auth.Argon2Params{Memory: 64, Iterations: 3, Parallelism: 1}
	e := s.env(t, func(c *auth.Config) { c.Passwords.Argon2 = live })
	e.registerAPI(t, "timed@example.com")
	want := []hashprobe.Computation{{Algorithm: "argon2id", Memory: live.Memory, Iterations: live.Iterations, Parallelism: live.Parallelism}}
	for _, c := range []struct{ name, email, password string }{
		{"wrong password", "timed@example.com", "not the password at all"},
		{"unknown email", "untimed@example.com", "not the password at all"},
		{"malformed email", "not-an-email", "not the password at all"},
		{"empty password", "timed@example.com", ""},
	} {
		var mu sync.Mutex
		var got []hashprobe.Computation
		ctx := hashprobe.With(context.Background(), func(c hashprobe.Computation) func() {
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
			return func() {}
		})
		e.seen.add(c.email, c.password)
		if _, err := e.a.Login(ctx, c.email, c.password); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("%s: Login: %v, want ErrInvalidCredentials", c.name, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the login computed %+v, want %+v", c.name, got, want)
		}
	}
}

// testOlderPolicyPasswords: D05. Login never applies the registration
// policy: a short or blocklisted password is an ordinary wrong password
// (401 the same for a known and an unknown email, never 400), and a user
// whose password predates the policy still logs in with it.
func testOlderPolicyPasswords(t *testing.T, s *suite) {
	e := s.env(t)
	const legacy = "k9#mQz2" // 7 characters: too short for today's policy
	h, err := bcrypt.GenerateFromPassword([]byte(legacy), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.storeLegacyUser(t, "old@example.com", string(h))
	e.registerHTTP(t, "new@example.com")
	var first *result
	for _, email := range []string{"old@example.com", "new@example.com", "nobody@example.com"} {
		for _, pw := range []string{"short1!", "password", "12345678", "x"} {
			r := e.postJSON("/login", testutil.LoginBody(email, pw))
			what := fmt.Sprintf("login %s with %q", email, pw)
			checkError(t, what, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
			if first == nil {
				first = r
			} else if d := sameAnswer(first, r); d != "" {
				t.Errorf("%s: %s", what, d)
			}
		}
	}
	e.loginHTTP(t, "old@example.com", legacy)
}

// testOverLongPasswordsNoOracle: D06. Passwords longer than bcrypt reads,
// or than the library accepts at all, give the same 401 for an account
// with an imported bcrypt hash, an argon2id account and an unknown email.
func testOverLongPasswordsNoOracle(t *testing.T, s *suite) {
	e := s.env(t)
	p72 := strings.Repeat("0123456789ab", 6)
	h, err := bcrypt.GenerateFromPassword([]byte(p72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.storeLegacyUser(t, "bcrypt@example.com", string(h))
	e.registerHTTP(t, "argon@example.com")
	var first *result
	for _, pw := range []string{p72 + "x", p72 + strings.Repeat("y", 28), p72 + strings.Repeat("z", 928), strings.Repeat("p", 1025), strings.Repeat("q", 40<<10)} {
		for _, email := range []string{"bcrypt@example.com", "argon@example.com", "nobody@example.com"} {
			r := e.postJSON("/login", testutil.LoginBody(email, pw))
			what := fmt.Sprintf("login %s with %d bytes", email, len(pw))
			checkError(t, what, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
			if first == nil {
				first = r
			} else if d := sameAnswer(first, r); d != "" {
				t.Errorf("%s: %s", what, d)
			}
		}
	}
}

// testRateLimitedLogin covers D07 (failures on one account are throttled;
// once the wait is over the right password works and resets the count),
// D08 (while throttled, the right password gets the same answer as a
// wrong one), D09 (spellings of one email share a count) and D10 (an
// unknown email is throttled after as many failures as a known one).
func testRateLimitedLogin(t *testing.T, s *suite) {
	e := s.env(t, throttling)
	e.registerHTTP(t, "victim@example.com")
	e.registerHTTP(t, "carol@example.com")

	// failuresUntilThrottled sends wrong passwords for the emails in turn
	// until the answer is 429, and returns how many failures it took and
	// the 429 answer.
	failuresUntilThrottled := func(emails ...string) (int, *result) {
		for i := range 100 {
			r := e.postJSON("/login", testutil.LoginBody(emails[i%len(emails)], "wrong password, attempt "+fmt.Sprint(i)))
			if r.status == http.StatusTooManyRequests {
				return i, r
			}
			checkError(t, "failed login", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		}
		t.Fatalf("100 failed logins for %v were never throttled", emails)
		return 0, nil
	}
	n, limited := failuresUntilThrottled("victim@example.com")
	checkError(t, "throttled login", limited, http.StatusTooManyRequests, "RATE_LIMITED")
	retry, err := strconv.Atoi(limited.header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After %q, want a whole number of seconds", limited.header.Get("Retry-After"))
	}
	// While throttled, the right password gets the same answer as a wrong
	// one: the throttle is no oracle.
	right := e.postJSON("/login", testutil.LoginBody("victim@example.com", goodPassword))
	if d := sameAnswer(limited, right); d != "" {
		t.Errorf("throttled login with the right password: %s (a wrong one's answer)", d)
	}
	// An unknown email is throttled after as many failures, and spellings
	// of one address share one count.
	if m, _ := failuresUntilThrottled("ghost@example.com"); m != n {
		t.Errorf("unknown email throttled after %d failures, a known one after %d", m, n)
	}
	if m, _ := failuresUntilThrottled("carol@example.com", "CAROL@example.com", " Carol@Example.COM "); m != n {
		t.Errorf("spellings of one email throttled after %d failures, one spelling after %d", m, n)
	}
	if n > 100 {
		t.Errorf("throttled only after %d failures, want at most 100 (NIST SP 800-63B)", n)
	}

	// Once the wait is over, the right password works and the count starts
	// afresh.
	e.clock.Advance(time.Duration(retry) * time.Second)
	e.loginHTTP(t, "victim@example.com", goodPassword)
	checkError(t, "one failure after a success", e.postJSON("/login", testutil.LoginBody("victim@example.com", "wrong again")), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

// testParallelLoginsNotThrottled: D07's other side, from issue 4. Ordinary
// volumes of successful logins from one address are never throttled: 64
// parallel logins of one account under the default throttling all
// succeed, each with a session of its own, over a live server and through
// the handler directly.
func testParallelLoginsNotThrottled(t *testing.T, s *suite) {
	t.Run("live_server", func(t *testing.T) {
		e := s.env(t, throttling) // default MaxConcurrentHashes and throttling
		e.registerHTTP(t, "busy@example.com")
		results := burst(t, 64, func(int) (*result, error) {
			return e.call(http.MethodPost, "/login", testutil.LoginBody("Busy@Example.com", goodPassword), jsonHeaders)
		})
		sids := map[string]bool{}
		for i, r := range results {
			if r.status != http.StatusOK {
				t.Errorf("login %d: status %d, body %s", i, r.status, r.body)
				continue
			}
			sids[claimString(t, mustSession(t, r, http.StatusOK).access, "sid")] = true
		}
		if len(sids) != 64 {
			t.Errorf("64 logins opened %d distinct sessions, want 64", len(sids))
		}
		if n := e.probe.counts().sessions; n != 65 {
			t.Errorf("store: %d sessions created, want 65 (the registration's and 64 logins')", n)
		}
	})
	t.Run("handler", func(t *testing.T) {
		e := s.env(t, throttling)
		e.registerHTTP(t, "busy@example.com")
		var wg sync.WaitGroup
		statuses := make([]int, 64)
		for i := range statuses {
			wg.Go(func() { statuses[i] = e.loginFrom("busy@example.com", goodPassword, jsonHeaders).status })
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("login %d: status %d, want 200 (all: %v)", i, s, statuses)
			}
		}
	})
}

// testLoginThrottleCanonicalKey: D09 and D10. Letter-case and white-space
// variants of one email share one counter, and an unknown email is
// throttled exactly like a known one (no lockout oracle).
func testLoginThrottleCanonicalKey(t *testing.T, s *suite) {
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("known=%v", known), func(t *testing.T) {
			e := s.env(t, throttling)
			if known {
				e.registerHTTP(t, "alice@example.com")
			}
			variants := []string{"alice@example.com", "ALICE@example.com", " alice@example.com ", "Alice@Example.COM"}
			free := auth.DefaultLoginAccountBackoff.Free
			for i := range free {
				r := e.loginFrom(variants[i%len(variants)], "wrong password", jsonHeaders)
				checkErrorCode(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
			}
			r := e.loginFrom("aLiCe@example.com", "wrong password", jsonHeaders)
			checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
		})
	}
}

// testLoginThrottleRotatingForwardedFor is D11 and issue 4's scenario: 30
// wrong passwords for one account, each claiming another X-Forwarded-For,
// are throttled; while throttled the right password gets the very same
// answer as a wrong one (D08); after the back-off the right password works
// and resets the account's counter.
func testLoginThrottleRotatingForwardedFor(t *testing.T, s *suite) {
	e := s.env(t, throttling)
	e.registerHTTP(t, "victim@example.com")

	free := auth.DefaultLoginAccountBackoff.Free
	var statuses []int
	var last *result
	for i := range 30 {
		h := withXFF(fmt.Sprintf("203.0.113.%d", i+1))
		h = append(h, [2]string{"X-Real-IP", fmt.Sprintf("198.51.100.%d", i+1)})
		last = e.loginFrom("victim@example.com", fmt.Sprintf("wrong password %d", i), h)
		statuses = append(statuses, last.status)
	}
	for i, s := range statuses {
		want := http.StatusUnauthorized
		if i >= free {
			want = http.StatusTooManyRequests
		}
		if s != want {
			t.Fatalf("attempt %d: status %d, want %d (all: %v)", i+1, s, want, statuses)
		}
	}
	checkErrorCode(t, last, http.StatusTooManyRequests, "RATE_LIMITED")
	wait := retryAfter(t, last)

	right := e.loginFrom("victim@example.com", goodPassword, withXFF("198.51.100.7"))
	if right.status != last.status || string(right.body) != string(last.body) || right.header.Get("Retry-After") != last.header.Get("Retry-After") {
		t.Fatalf("right password while throttled: %d %s (Retry-After %q); wrong password: %d %s (Retry-After %q)",
			right.status, right.body, right.header.Get("Retry-After"), last.status, last.body, last.header.Get("Retry-After"))
	}

	e.clock.Advance(wait)
	e.loginHTTP(t, "victim@example.com", goodPassword)
	// Success resets the account's counter: the next wrong password is an
	// ordinary 401, not a 429.
	if r := e.loginFrom("victim@example.com", "wrong again", jsonHeaders); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password after a successful login: status %d, want 401; body %s", r.status, r.body)
	}
}

// testLoginThrottlePerAddress: D11. Failures spread over many emails from
// one peer are throttled, a spoofed X-Forwarded-For does not escape it,
// and another peer is unaffected.
func testLoginThrottlePerAddress(t *testing.T, s *suite) {
	rule := auth.Backoff{Free: 10, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	e := s.env(t, throttling, func(c *auth.Config) { c.Throttle.LoginAddressBackoff = rule })
	e.registerHTTP(t, "bystander@example.com")
	for i := range rule.Free {
		r := e.loginFrom(fmt.Sprintf("spray%d@example.com", i), "Summer2026!", withXFF(fmt.Sprintf("203.0.113.%d", i)))
		checkErrorCode(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	r := e.loginFrom("fresh@example.com", "Summer2026!", withXFF("198.51.100.1"))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")

	// Another client address (the recorder's peer is 192.0.2.1) still logs
	// in.
	body := testutil.LoginBody("bystander@example.com", goodPassword)
	req := httptest.NewRequest(http.MethodPost, target("/login"), strings.NewReader(body))
	req.RemoteAddr = "192.0.2.99:4000"
	req.Header.Set("Content-Type", "application/json")
	if r := e.serve(req, []byte(body)); r.status != http.StatusOK {
		t.Fatalf("login from another address: %d %s", r.status, r.body)
	}
}

// testRefreshThrottle: D11's refresh counterpart (supabase's
// TestRateLimitTokenRefresh): refreshes are throttled per client address,
// and a throttled refresh does not spend its token.
func testRefreshThrottle(t *testing.T, s *suite) {
	rule := auth.Backoff{Free: 3, Base: 10 * time.Second, Max: time.Minute, Window: time.Minute}
	e := s.env(t, throttling, func(c *auth.Config) { c.Throttle.RefreshAddressBackoff = rule })
	sess := e.registerHTTP(t, "refresher@example.com")
	refresh := sess.refresh
	for range rule.Free {
		_, refresh = e.refreshHTTP(t, refresh)
	}
	r := e.postJSON("/refresh", testutil.RefreshBody(refresh))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	// A spoofed X-Forwarded-For does not escape it.
	r = e.do(http.MethodPost, "/refresh", strings.NewReader(testutil.RefreshBody(refresh)), withXFF("203.0.113.9"))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	e.clock.Advance(rule.Base)
	// The throttled calls did not spend the token.
	e.refreshHTTP(t, refresh)
}

// testDeletedUserTokensRejected covers D12 (a deleted user cannot log in),
// E19 (its access token is refused) and G10 (its refresh token issues
// nothing).
func testDeletedUserTokensRejected(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "gone@example.com")
	if err := e.users.DeleteUser(context.Background(), sess.userID); err != nil {
		t.Fatal(err)
	}
	checkError(t, "me of a deleted user", e.do(http.MethodGet, "/me", nil, bearer(sess.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh of a deleted user", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "login of a deleted user", e.postJSON("/login", testutil.LoginBody("gone@example.com", goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	// The email is free again, and the new account is another user whose
	// tokens the old ones do not reach.
	again := e.registerHTTP(t, "gone@example.com")
	if again.userID == sess.userID {
		t.Errorf("re-registration got the deleted user's id %q", sess.userID)
	}
	checkError(t, "old access token after re-registration", e.do(http.MethodGet, "/me", nil, bearer(sess.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "old refresh token after re-registration", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
}

// testLoginsOpenDistinctSessions: D13 (and G11's uniqueness). 1000 logins
// of one user, each refreshed once, never repeat a session id, a token id
// or a token.
func testLoginsOpenDistinctSessions(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerAPI(t, "many@example.com")
	const logins, workers = 1000, 8
	var mu sync.Mutex
	ids := map[string]string{}
	note := func(kind, v string) {
		mu.Lock()
		defer mu.Unlock()
		if v == "" {
			t.Errorf("%s missing", kind)
			return
		}
		if prev, dup := ids[v]; dup {
			t.Errorf("%s %q repeats a %s", kind, v, prev)
		}
		ids[v] = kind
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range jobs {
				res, err := e.login("many@example.com", goodPassword)
				if err != nil {
					t.Error(err)
					continue
				}
				note("session id", claimOf(res.AccessToken, "sid"))
				note("access jti", claimOf(res.AccessToken, "jti"))
				note("refresh jti", claimOf(res.RefreshToken, "jti"))
				note("refresh token", res.RefreshToken)
				pair, err := e.a.Refresh(context.Background(), res.RefreshToken)
				if err != nil {
					t.Error(err)
					continue
				}
				note("refreshed access jti", claimOf(pair.AccessToken, "jti"))
				note("refreshed refresh jti", claimOf(pair.RefreshToken, "jti"))
				note("refreshed refresh token", pair.RefreshToken)
			}
		})
	}
	for i := range logins {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if n := e.probe.counts().sessions; n != logins+1 {
		t.Errorf("store: %d sessions created, want %d", n, logins+1)
	}
}

// behindProxy makes the recorder's peer (192.0.2.1) a trusted proxy, so
// that withXFF chooses the client address.
func behindProxy(c *auth.Config) {
	c.Throttle.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
}

// loginWithDevice logs in from addr over HTTP, presenting a device token.
func (e *env) loginWithDevice(email, password, device, addr string) *result {
	body := fmt.Sprintf(`{"email":%q,"password":%q,"deviceToken":%q}`, email, password, device)
	return e.do(http.MethodPost, "/login", strings.NewReader(body), withXFF(addr))
}

// deviceTokenOf returns the deviceToken member of a register or login
// answer.
func deviceTokenOf(t *testing.T, r *result) string {
	t.Helper()
	var body struct {
		DeviceToken string `json:"deviceToken"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.DeviceToken == "" {
		t.Fatalf("no deviceToken in %d %s", r.status, r.body)
	}
	return body.DeviceToken
}

// testStrangerOneAddress: D14 (issue #10, spec/security.md §0 "brute
// force"). A stranger who knows the owner's email guesses from one address
// for an hour, retrying as soon as allowed: the owner, from their own
// address, logs in throughout, and the guesser gets no more than the
// per-(account, address) back-off allows.
func testStrangerOneAddress(t *testing.T, s *suite) {
	e := s.env(t, throttling, behindProxy)
	e.registerHTTP(t, "owner@example.com")
	start := e.clock.Now()
	guesses := 0
	for e.clock.Now().Sub(start) < time.Hour {
		r := e.loginFrom("owner@example.com", fmt.Sprint("guess ", guesses), withXFF("203.0.113.9"))
		switch r.status {
		case http.StatusUnauthorized:
			guesses++
		case http.StatusTooManyRequests:
			e.clock.Advance(retryAfter(t, r))
		default:
			t.Fatalf("guess %d: %d %s", guesses, r.status, r.body)
		}
		if r.status == http.StatusTooManyRequests {
			if o := e.loginFrom("owner@example.com", goodPassword, withXFF("198.51.100.20")); o.status != http.StatusOK {
				t.Fatalf("after %d guesses, the owner's login: %d %s", guesses, o.status, o.body)
			}
		}
	}
	if guesses > 20 {
		t.Fatalf("%d guesses evaluated in an hour from one address, want at most 20", guesses)
	}
}

// testStrangerManyAddresses: D14, D08. Guesses spread over many addresses
// reach the account-wide ceiling (at most 100 failures per hour, ASVS
// 4-2.2.1): without a device token the right password then gets the very
// same 429 as a wrong one; with the device token the owner's registration
// returned, the owner logs in from a new address.
func testStrangerManyAddresses(t *testing.T, s *suite) {
	e := s.env(t, throttling, behindProxy)
	reg := e.postJSON("/register", testutil.RegisterBody("owner@example.com", goodPassword, "Owner"))
	device := deviceTokenOf(t, reg)
	failures := 0
	for i := range 200 {
		r := e.loginFrom("owner@example.com", "guess", withXFF(fmt.Sprintf("203.0.113.%d", i+1)))
		if r.status == http.StatusTooManyRequests {
			break
		}
		checkErrorCode(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		failures++
	}
	if failures >= 100 {
		t.Fatalf("%d failures from many addresses before a 429, want fewer than 100", failures)
	}
	wrong := e.loginFrom("owner@example.com", "guess", withXFF("198.51.100.1"))
	right := e.loginFrom("owner@example.com", goodPassword, withXFF("198.51.100.1"))
	if diff := sameAnswer(wrong, right); wrong.status != http.StatusTooManyRequests || diff != "" {
		t.Fatalf("past the ceiling: wrong %d %s, right %d %s: %s", wrong.status, wrong.body, right.status, right.body, diff)
	}
	if r := e.loginWithDevice("owner@example.com", goodPassword, device[:len(device)-2]+"AA", "198.51.100.2"); r.status != http.StatusTooManyRequests {
		t.Fatalf("forged device token: %d %s, want 429", r.status, r.body)
	}
	r := e.loginWithDevice("owner@example.com", goodPassword, device, "198.51.100.3")
	if r.status != http.StatusOK {
		t.Fatalf("owner with their device token: %d %s, want 200", r.status, r.body)
	}
	deviceTokenOf(t, r)
}
