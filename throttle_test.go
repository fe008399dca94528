package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// withXFF returns JSON request headers that also claim a client address
// through X-Forwarded-For, which only trusted proxies may set.
func withXFF(addr string) hdr {
	return append(hdr{{"X-Forwarded-For", addr}}, jsonHeaders...)
}

func (e *testEnv) loginFrom(email, password string, h hdr) *httpResult {
	return e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody(email, password)), h)
}

func retryAfter(t *testing.T, r *httpResult) time.Duration {
	t.Helper()
	s, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || s < 1 {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", r.header.Get("Retry-After"))
	}
	return time.Duration(s) * time.Second
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
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.Throttle.LoginAccountBackoff = rule })
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

// TestTrustedProxies checks that X-Forwarded-For is believed only from a
// trusted proxy, nearest untrusted hop first, and lands in audit records.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	e := newEnv(t, withThrottling, func(c *auth.Config) {
		c.Throttle.LoginAddressBackoff = rule
		c.Throttle.LoginAccountBackoff = auth.Backoff{Free: 100, Base: time.Second, Max: time.Second, Window: time.Hour}
		c.Throttle.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
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

// TestConcurrentGuessesCounted: a burst of concurrent wrong passwords cannot
// all slip past the throttle before the first failure is counted; at most
// one per hashing slot gets through beyond the free allowance.
func TestConcurrentGuessesCounted(t *testing.T) {
	t.Parallel()
	const slots = 2
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.Passwords.MaxConcurrentHashes = slots })
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
	e := newEnv(t, func(c *auth.Config) {
		c.Throttle.InsecureDisableThrottling = false
		c.Throttle.Limiter = failingLimiter{}
	})
	r := e.postJSON("/register", testutil.RegisterBody("x@example.com", goodPassword, "X"))
	checkErrorCode(t, r, http.StatusInternalServerError, "INTERNAL_ERROR")
	if _, err := e.a.Login(context.Background(), "x@example.com", goodPassword); err == nil || errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Login with the limiter down: %v, want an internal error", err)
	}
	r = e.postJSON("/login", testutil.LoginBody("x@example.com", goodPassword))
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

func (failingLimiter) Take(context.Context, string, auth.Backoff, time.Time) (time.Duration, error) {
	return 0, errors.New("redis: connection refused")
}

// TestHashWaitBounded: when every hashing slot stays busy past
// MaxHashWait, a login is answered 429 with Retry-After instead of queueing
// until the client gives up.
func TestHashWaitBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) {
		c.Passwords.MaxConcurrentHashes = 1
		c.Passwords.MaxHashWait = 20 * time.Millisecond
	})
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
