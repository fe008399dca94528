package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// withXFF returns JSON request headers that also claim a client address
// through X-Forwarded-For, which only trusted proxies may set.
func withXFF(addr string) hdr {
	return append(hdr{{"X-Forwarded-For", addr}}, jsonHeaders...)
}

func (e *testEnv) loginFrom(email, password string, h hdr) *httpResult {
	return e.do(http.MethodPost, "/login", strings.NewReader(loginBody(email, password)), h)
}

func retryAfter(t *testing.T, r *httpResult) time.Duration {
	t.Helper()
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
}

// TestLoginThrottleRotatingForwardedFor is the scenario: 30 wrong
// passwords for one account, each claiming another X-Forwarded-For, are
// throttled; while throttled the right password gets the very same answer as
// a wrong one; after the back-off the right password works and resets the
// account's counter.
func TestLoginThrottleRotatingForwardedFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	e.registerHTTP(t, "victim@example.com")

	free := auth.DefaultLoginAccountBackoff.Free
	var statuses []int
	var last *httpResult
	for i := range 30 {
		last = e.loginFrom("victim@example.com", fmt.Sprintf("wrong password %d", i), withXFF(fmt.Sprintf("203.0.113.%d", i+1)))
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

func checkErrorCode(t *testing.T, r *httpResult, status int, code string) {
	t.Helper()
	if r.status != status || !strings.Contains(string(r.body), `"code":"`+code+`"`) {
		t.Fatalf("status %d body %s, want %d %s", r.status, r.body, status, code)
	}
}

// TestLoginThrottleBackoffGrows checks that each failure past the free ones
// doubles the delay, up to the cap.
func TestLoginThrottleBackoffGrows(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 2, Base: time.Second, Max: 8 * time.Second, Window: time.Hour}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.LoginAccountBackoff = rule })
	e.registerHTTP(t, "grow@example.com")
	var waits []time.Duration
	for range 12 {
		r := e.loginFrom("grow@example.com", "wrong password", jsonHeaders)
		if r.status == http.StatusTooManyRequests {
			d := retryAfter(t, r)
			waits = append(waits, d)
			e.clock.Advance(d)
			continue
		}
		if r.status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401 or 429; body %s", r.status, r.body)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if len(waits) < len(want) {
		t.Fatalf("waits %v, want at least %v", waits, want)
	}
	for i, w := range want {
		if waits[i] != w {
			t.Fatalf("waits %v, want them to start %v and stay at the cap", waits, want)
		}
	}
}

// TestLoginThrottleCanonicalKey checks that letter-case and white-space
// variants of one email share one counter, and that an unknown email is
// throttled exactly like a known one (no lockout oracle).
func TestLoginThrottleCanonicalKey(t *testing.T) {
	t.Parallel()
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("known=%v", known), func(t *testing.T) {
			e := newEnv(t, withThrottling)
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

// TestLoginThrottlePerAddress checks the per-address counter: failures
// spread over many emails from one peer are throttled, a spoofed
// X-Forwarded-For does not escape it, and another peer is unaffected.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 10, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.LoginAddressBackoff = rule })
	e.registerHTTP(t, "bystander@example.com")
	for i := range rule.Free {
		r := e.loginFrom(fmt.Sprintf("spray%d@example.com", i), "Summer2026!", withXFF(fmt.Sprintf("203.0.113.%d", i)))
		checkErrorCode(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	r := e.loginFrom("fresh@example.com", "Summer2026!", withXFF("198.51.100.1"))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")

	// Another client address (the recorder's peer is 192.0.2.1) still logs
	// in.
	req := strings.NewReader(loginBody("bystander@example.com", goodPassword))
	httpReq, _ := http.NewRequest(http.MethodPost, mountPrefix+"/login", req)
	httpReq.RemoteAddr = "192.0.2.99:4000"
	httpReq.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, httpReq)
	if rec.Code != http.StatusOK {
		t.Fatalf("login from another address: %d %s", rec.Code, rec.Body)
	}
}

// TestTrustedProxies checks that X-Forwarded-For is believed only from a
// trusted proxy, nearest untrusted hop first, and lands in audit records.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	e := newEnv(t, withThrottling, func(c *auth.Config) {
		c.LoginAddressBackoff = rule
		c.LoginAccountBackoff = auth.Backoff{Free: 100, Base: time.Second, Max: time.Second, Window: time.Hour}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	// Behind the trusted proxy (the recorder's peer 192.0.2.1), each client
	// address has its own counter: two failures from different clients are
	// both plain 401s.
	for _, client := range []string{"203.0.113.5", "203.0.113.6"} {
		for range rule.Free {
			r := e.loginFrom("nobody@example.com", "wrong password", withXFF("10.9.9.9, "+client))
			checkErrorCode(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		}
	}
	r := e.loginFrom("nobody@example.com", "wrong password", withXFF("10.9.9.9, 203.0.113.5"))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	if logs := e.logs.String(); !strings.Contains(logs, `client_ip="203.0.113.5"`) || strings.Contains(logs, `client_ip="10.9.9.9"`) {
		t.Fatalf("audit records should name the nearest untrusted hop 203.0.113.5 only:\n%s", logs)
	}
}

// TestParallelLoginsNotThrottled: ordinary volumes of successful logins from
// one address are never throttled.
func TestParallelLoginsNotThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
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
}

// TestConcurrentGuessesCounted: a burst of concurrent wrong passwords cannot
// all slip past the throttle before the first failure is counted; at most
// one per hashing slot gets through beyond the free allowance.
func TestConcurrentGuessesCounted(t *testing.T) {
	t.Parallel()
	const slots = 2
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.MaxConcurrentHashes = slots })
	e.registerHTTP(t, "target@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := range 60 {
		wg.Go(func() {
			s := e.loginFrom("target@example.com", fmt.Sprintf("guess %d", i), jsonHeaders).status
			mu.Lock()
			counts[s]++
			mu.Unlock()
		})
	}
	wg.Wait()
	free := auth.DefaultLoginAccountBackoff.Free
	if counts[http.StatusUnauthorized] > free+slots || counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 60 {
		t.Fatalf("statuses %v: want at most %d guesses evaluated, the rest 429", counts, free+slots)
	}
}

func TestRegisterThrottle(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 3, Base: 30 * time.Second, Max: time.Hour, Window: time.Hour}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.RegisterAddressBackoff = rule })
	for i := range rule.Free {
		e.registerHTTP(t, fmt.Sprintf("probe%d@example.com", i))
	}
	r := e.postJSON("/register", registerBody("probe9@example.com", goodPassword, "Probe"))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	if d := retryAfter(t, r); d != rule.Base {
		t.Fatalf("Retry-After %v, want %v", d, rule.Base)
	}
	// The throttled call created nothing.
	if _, err := e.a.Login(context.Background(), "probe9@example.com", goodPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("login of a throttled registration: %v, want ErrInvalidCredentials", err)
	}
	e.clock.Advance(rule.Base)
	e.registerHTTP(t, "probe9@example.com")
}

func TestRefreshThrottle(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 3, Base: 10 * time.Second, Max: time.Minute, Window: time.Minute}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.RefreshAddressBackoff = rule })
	s := e.registerHTTP(t, "refresher@example.com")
	refresh := s.refresh
	for range rule.Free {
		_, refresh = e.refreshHTTP(t, refresh)
	}
	r := e.postJSON("/refresh", refreshBody(refresh))
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	e.clock.Advance(rule.Base)
	// The throttled call did not spend the token.
	e.refreshHTTP(t, refresh)
}

// failingLimiter fails every call: throttling must fail closed.
type failingLimiter struct{}

func (failingLimiter) Wait(context.Context, string, time.Time) (time.Duration, error) {
	return 0, errors.New("redis: connection refused")
}
func (failingLimiter) Hit(context.Context, string, auth.Backoff, time.Time) error {
	return errors.New("redis: connection refused")
}
func (failingLimiter) Reset(context.Context, string) error {
	return errors.New("redis: connection refused")
}

func TestLimiterFailureFailsClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.InsecureDisableThrottling = false; c.Limiter = failingLimiter{} })
	r := e.postJSON("/register", registerBody("x@example.com", goodPassword, "X"))
	checkErrorCode(t, r, http.StatusInternalServerError, "INTERNAL_ERROR")
	if _, err := e.a.Login(context.Background(), "x@example.com", goodPassword); err == nil || errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Login with the limiter down: %v, want an internal error", err)
	}
	r = e.postJSON("/login", loginBody("x@example.com", goodPassword))
	checkErrorCode(t, r, http.StatusInternalServerError, "INTERNAL_ERROR")
	if strings.Contains(string(r.body), "redis") {
		t.Fatalf("body leaks the cause: %s", r.body)
	}
}

func TestMemoryLimiter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rule := auth.Backoff{Free: 1, Base: time.Second, Max: 4 * time.Second, Window: time.Minute}

	t.Run("bounded", func(t *testing.T) {
		l := auth.NewMemoryLimiter(3)
		for i := range 10 {
			if err := l.Hit(ctx, fmt.Sprint("k", i), rule, now); err != nil {
				t.Fatal(err)
			}
		}
		if l.Len() != 3 {
			t.Fatalf("Len = %d, want 3", l.Len())
		}
	})
	t.Run("window and cap", func(t *testing.T) {
		l := auth.NewMemoryLimiter(0)
		wait := func(at time.Time) time.Duration {
			d, err := l.Wait(ctx, "k", at)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		var got []time.Duration
		for range 6 {
			if err := l.Hit(ctx, "k", rule, now); err != nil {
				t.Fatal(err)
			}
			got = append(got, wait(now))
		}
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("waits %v, want %v", got, want)
		}
		// A new window starts counting afresh; the delay imposed runs out.
		later := now.Add(rule.Window)
		if d := wait(later); d != 0 {
			t.Fatalf("wait after the window = %v, want 0", d)
		}
		free := auth.Backoff{Free: 2, Base: time.Second, Max: time.Second, Window: time.Minute}
		if d, err := l.Take(ctx, "k", free, later); err != nil || d != 0 {
			t.Fatalf("first Take of a new window: %v, %v; want it allowed", d, err)
		}
		if d := wait(later); d != 0 {
			t.Fatalf("first attempt of a new window imposed %v, want 0", d)
		}
		if d, err := l.Take(ctx, "k", free, later); err != nil || d != 0 {
			t.Fatalf("second Take: %v, %v; want it allowed", d, err)
		}
		if d, err := l.Take(ctx, "k", free, later); err != nil || d != time.Second {
			t.Fatalf("third Take: %v, %v; want a 1s wait, uncounted", d, err)
		}
		if err := l.Reset(ctx, "k"); err != nil || l.Len() != 0 {
			t.Fatalf("Reset: %v, Len %d", err, l.Len())
		}
	})
}

// TestAuditLog checks the audit events of a full flow: present, with user
// and client address, never a password, hash or token, and with control
// characters in client-supplied values escaped.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	s := e.registerHTTP(t, "audit@example.com")
	e.loginFrom("audit@example.com", "wrong password", jsonHeaders)
	e.loginFrom("evil\n\x1b[31m@example.com", "wrong password", jsonHeaders)
	l := e.loginHTTP(t, "audit@example.com", goodPassword)
	_, next := e.refreshHTTP(t, l.refresh)
	e.postJSON("/refresh", refreshBody(l.refresh)) // reuse
	e.do(http.MethodPost, "/logout", nil, bearer(s.access))

	logs := e.logs.String()
	for _, event := range []string{"auth.register", "auth.login.failure", "auth.login.success", "auth.refresh", "auth.refresh.reuse", "auth.logout"} {
		if !strings.Contains(logs, " "+event+" ") {
			t.Errorf("no %s event in:\n%s", event, logs)
		}
	}
	if !strings.Contains(logs, `user_id="`+s.userID+`"`) || !strings.Contains(logs, `client_ip="192.0.2.1"`) {
		t.Errorf("events lack user_id or client_ip:\n%s", logs)
	}
	for _, secret := range []string{goodPassword, "wrong password", s.access, s.refresh, l.access, l.refresh, next, "$argon2id$"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %.20q...:\n%s", secret, logs)
		}
	}
	if strings.Contains(logs, "\x1b") || strings.Contains(logs, "evil\n") {
		t.Errorf("control characters reached the log unescaped:\n%q", logs)
	}
	if !strings.Contains(logs, `evil\\n\\x1b[31m@example.com`) {
		t.Errorf("the hostile email is not logged escaped:\n%s", logs)
	}
}

func (failingLimiter) Take(context.Context, string, auth.Backoff, time.Time) (time.Duration, error) {
	return 0, errors.New("redis: connection refused")
}

// TestHashWaitBounded: when every hashing slot stays busy past
// MaxHashWait, a login is answered 429 with Retry-After instead of queueing
// until the client gives up.
func TestHashWaitBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.MaxConcurrentHashes = 1; c.MaxHashWait = 20 * time.Millisecond })
	e.registerHTTP(t, "slow@example.com")
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	e.store.lookup = func(string) {
		once.Do(func() { close(entered); <-release })
	}
	done := make(chan *httpResult)
	go func() { done <- e.loginFrom("slow@example.com", goodPassword, jsonHeaders) }()
	<-entered // the first login holds the only slot
	r := e.loginFrom("slow@example.com", goodPassword, jsonHeaders)
	close(release)
	checkErrorCode(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	retryAfter(t, r)
	if first := <-done; first.status != http.StatusOK {
		t.Fatalf("the login holding the slot: %d %s", first.status, first.body)
	}
}
