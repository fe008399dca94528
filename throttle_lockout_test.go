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
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := auth.Backoff{Free: 3, Base: time.Second, Max: 5 * time.Second, Window: time.Hour}
	want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.Delay(i); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i, got, w)
		}
	}
}

// loginAt logs in through the Go API from ip, presenting device when it is
// not empty.
func loginAt(e *testEnv, ip, email, password, device string) (*auth.AuthResult, error) {
	ctx := auth.WithClientIP(context.Background(), netip.MustParseAddr(ip))
	if device != "" {
		ctx = auth.WithDeviceToken(ctx, device)
	}
	return e.a.Login(ctx, email, password)
}

// TestStrangerCannotLockOutFromOneAddress: an hour of guessing from one
// address, always retrying as soon as allowed, neither keeps the owner out
// from their own address nor reaches the account-wide ceiling.
func TestStrangerCannotLockOutFromOneAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	e.registerAPI(t, "owner@example.com")
	start := e.clock.Now()
	guesses := 0
	for e.clock.Now().Sub(start) < time.Hour {
		_, err := loginAt(e, "203.0.113.9", "owner@example.com", fmt.Sprint("guess ", guesses), "")
		var ae *auth.Error
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			guesses++
		case errors.As(err, &ae) && ae.Code == "RATE_LIMITED":
			e.clock.Advance(ae.RetryAfter)
		default:
			t.Fatalf("guess %d: %v", guesses, err)
		}
		// The owner, from their own address, is never held back.
		if guesses%5 == 0 {
			if _, err := loginAt(e, "198.51.100.20", "owner@example.com", goodPassword, ""); err != nil {
				t.Fatalf("after %d guesses, the owner's login: %v", guesses, err)
			}
		}
	}
	if guesses > 20 || guesses < 5 {
		t.Fatalf("%d guesses evaluated in an hour from one address, want 5 to 20", guesses)
	}
	// A third address, with no device token, is not held back either: one
	// address stays below the ceiling.
	if _, err := loginAt(e, "192.0.2.77", "owner@example.com", goodPassword, ""); err != nil {
		t.Fatalf("login from a new address: %v", err)
	}
}

// TestStrangerCannotLockOutFromManyAddresses: guessing spread over many
// addresses reaches the account-wide ceiling, which then holds back logins
// without a device token, right password or wrong alike; the owner's
// device token passes it, and still only with the right password.
func TestStrangerCannotLockOutFromManyAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	reg := e.registerAPI(t, "owner@example.com")
	other := e.registerAPI(t, "other@example.com")
	if reg.DeviceToken == "" {
		t.Fatal("Register returned no device token")
	}
	ceiling := auth.DefaultLoginAccountCeiling.Free
	for i := range ceiling {
		ip := fmt.Sprintf("203.0.%d.%d", 113+i/200, 1+i%200)
		if _, err := loginAt(e, ip, "owner@example.com", "guess", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, wrong := loginAt(e, "198.51.100.1", "owner@example.com", "guess", "")
	_, right := loginAt(e, "198.51.100.2", "owner@example.com", goodPassword, "")
	var we, re *auth.Error
	if !errors.As(wrong, &we) || !errors.As(right, &re) || we.Code != "RATE_LIMITED" || we.Error() != re.Error() || we.RetryAfter != re.RetryAfter {
		t.Fatalf("past the ceiling: wrong password %v, right password %v; want the same RATE_LIMITED", wrong, right)
	}
	// Neither a forged token nor another account's passes the ceiling.
	for _, tok := range []string{other.DeviceToken, reg.DeviceToken[:len(reg.DeviceToken)-2] + "AA", "garbage"} {
		if _, err := loginAt(e, "198.51.100.3", "owner@example.com", goodPassword, tok); !errors.As(err, &re) || re.Code != "RATE_LIMITED" {
			t.Fatalf("device token %q: %v, want RATE_LIMITED", tok, err)
		}
	}
	res, err := loginAt(e, "198.51.100.4", "owner@example.com", goodPassword, reg.DeviceToken)
	if err != nil {
		t.Fatalf("owner with their device token: %v", err)
	}
	if res.DeviceToken == "" || res.DeviceToken == reg.DeviceToken {
		t.Fatalf("login returned device token %q, want a new one", res.DeviceToken)
	}
	if _, err := loginAt(e, "198.51.100.5", "owner@example.com", "guess", res.DeviceToken); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("wrong password with a device token: %v, want INVALID_CREDENTIALS", err)
	}
	// A device token expires.
	e.clock.Advance(auth.DefaultDeviceTokenTTL)
	for i := range ceiling { // the ceiling's window has passed: fill it again
		_, _ = loginAt(e, fmt.Sprintf("203.0.%d.%d", 113+i/200, 1+i%200), "owner@example.com", "guess", "")
	}
	if _, err := loginAt(e, "198.51.100.6", "owner@example.com", goodPassword, reg.DeviceToken); !errors.As(err, &re) || re.Code != "RATE_LIMITED" {
		t.Fatalf("expired device token: %v, want RATE_LIMITED", err)
	}
}

// TestDeviceTokenOverHTTP: login and register answer a deviceToken, and a
// login may present one.
func TestDeviceTokenOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling, func(c *auth.Config) {
		c.Throttle.LoginAccountCeiling = auth.Backoff{Free: 1, Base: time.Hour, Max: time.Hour, Window: time.Hour}
	})
	r := e.postJSON("/register", testutil.RegisterBody("dev@example.com", goodPassword, "Dev"))
	tok := jsonMember(t, r, "deviceToken")
	e.loginFrom("dev@example.com", "wrong", jsonHeaders)
	if r := e.loginFrom("dev@example.com", goodPassword, jsonHeaders); r.status != http.StatusTooManyRequests {
		t.Fatalf("past the ceiling without a device token: %d %s", r.status, r.body)
	}
	body := fmt.Sprintf(`{"email":"dev@example.com","password":%q,"deviceToken":%q}`, goodPassword, tok)
	r = e.postJSON("/login", body)
	if r.status != http.StatusOK || jsonMember(t, r, "deviceToken") == "" {
		t.Fatalf("login with the device token: %d %s", r.status, r.body)
	}
}

func jsonMember(t *testing.T, r *httpResult, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(string(r.body), `"`+name+`":"`)
	v, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 || v == "" {
		t.Fatalf("no %s in %d %s", name, r.status, r.body)
	}
	return v
}

// TestStrangerCannotBlockResetMail: one address asking for reset mail
// again and again is throttled on its own; the owner, from another
// address, still gets the mail.
func TestStrangerCannotBlockResetMail(t *testing.T) {
	t.Parallel()
	m := &resetMailer{}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.Mail.Mailer = m; c.Mail.ForgotPasswordMinDuration = time.Nanosecond })
	e.registerAPI(t, "owner@example.com")
	at := func(ip string) context.Context {
		return auth.WithClientIP(context.Background(), netip.MustParseAddr(ip))
	}
	for range 10 {
		_ = e.a.ForgotPassword(at("203.0.113.9"), "owner@example.com")
	}
	sent := m.n.Load()
	if err := e.a.ForgotPassword(at("198.51.100.20"), "owner@example.com"); err != nil {
		t.Fatalf("owner's reset request: %v", err)
	}
	if m.n.Load() != sent+1 {
		t.Fatal("the owner's reset mail was not sent")
	}
	// Many addresses together reach the per-email ceiling.
	for i := range 20 {
		_ = e.a.ForgotPassword(at(fmt.Sprintf("203.0.114.%d", i+1)), "owner@example.com")
	}
	if n := m.n.Load(); n > int32(auth.DefaultMailCeiling.Free)+2 {
		t.Fatalf("%d reset mails sent in one hour, want at most about %d", n, auth.DefaultMailCeiling.Free)
	}
}

// TestDefaultsAreCopies: changing an exported default rule changes nothing
// in New. Not parallel: it changes a package variable.
func TestDefaultsAreCopies(t *testing.T) {
	saved := auth.DefaultLoginAccountBackoff
	auth.DefaultLoginAccountBackoff = auth.Backoff{Free: 100, Base: time.Nanosecond, Max: time.Nanosecond, Window: time.Nanosecond}
	defer func() { auth.DefaultLoginAccountBackoff = saved }()
	e := newEnv(t, withThrottling)
	e.registerAPI(t, "floor@example.com")
	var err error
	for range saved.Free + 1 {
		_, err = loginAt(e, "203.0.113.9", "floor@example.com", "guess", "")
	}
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != "RATE_LIMITED" {
		t.Fatalf("attempt %d: %v, want RATE_LIMITED", saved.Free+1, err)
	}
}

// TestUnparsedPeerAddressThrottled: requests whose peer address is not an
// IP address (a Unix-socket listener) are throttled together instead of
// not at all, and the Authenticator says so once in its log.
func TestUnparsedPeerAddressThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling, func(c *auth.Config) {
		c.Throttle.LoginAddressBackoff = auth.Backoff{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	})
	var statuses []int
	for i := range 5 {
		body := testutil.LoginBody(fmt.Sprintf("spray%d@example.com", i), "Summer2026!")
		req := httptest.NewRequest(http.MethodPost, mountPrefix+"/login", strings.NewReader(body))
		req.RemoteAddr = "@"
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.mux.ServeHTTP(rec, req)
		statuses = append(statuses, rec.Code)
	}
	if fmt.Sprint(statuses) != "[401 401 401 429 429]" {
		t.Fatalf("statuses %v, want [401 401 401 429 429]", statuses)
	}
	if n := strings.Count(e.logs.String(), "peer address is not an IP address"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, e.logs.String())
	}
}

// TestFailedLoginAuditCanonicalEmail: the failed-login event records the
// canonical email, never the raw input, which may be a password typed
// into the wrong field.
func TestFailedLoginAuditCanonicalEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _ = e.a.Login(context.Background(), " Hunter2-Secret-Pass ", "x")
	_, _ = e.a.Login(context.Background(), " Bob@Example.COM ", "x")
	logs := e.logs.String()
	if strings.Contains(strings.ToLower(logs), "hunter2") {
		t.Fatalf("the raw email input was logged:\n%s", logs)
	}
	if !strings.Contains(logs, "Bob@example.com") && !strings.Contains(logs, "bob@example.com") {
		t.Fatalf("the canonical email was not logged:\n%s", logs)
	}
}

// TestMemoryLimiterKeepsRunningBackoffs: a flood of a million cheap keys
// (one Take each, none in back-off) does not evict a key whose back-off
// is running; when every slot holds a running back-off, keys it does not
// hold are throttled (fail closed) until one runs out.
func TestMemoryLimiterKeepsRunningBackoffs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	victim := auth.Backoff{Free: 1, Base: 15 * time.Minute, Max: 15 * time.Minute, Window: time.Hour}
	cheap := auth.Backoff{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}

	t.Run("flood", func(t *testing.T) {
		// Ten times the default capacity; a tenth of both under the race
		// detector, which makes each call ten times slower.
		size, flood := 0, 1_000_000
		if raceEnabled {
			size, flood = auth.DefaultLimiterKeys/10, 100_000
		}
		l := auth.NewMemoryLimiter(size)
		if err := l.Hit(ctx, "login:pair:victim", victim, now); err != nil {
			t.Fatal(err)
		}
		for i := range flood {
			if d, err := l.Take(ctx, "mail:to:"+strconv.Itoa(i), cheap, now.Add(time.Second)); err != nil || d != 0 {
				t.Fatalf("Take %d: %v, %v", i, d, err)
			}
		}
		if want := flood / 10; l.Len() != want {
			t.Fatalf("Len = %d, want %d", l.Len(), want)
		}
		if d, err := l.Wait(ctx, "login:pair:victim", now.Add(time.Minute)); err != nil || d != 14*time.Minute {
			t.Fatalf("the victim's back-off after the flood: %v, %v; want 14m", d, err)
		}
	})
	t.Run("all waiting", func(t *testing.T) {
		l := auth.NewMemoryLimiter(3)
		for i := range 3 {
			if err := l.Hit(ctx, fmt.Sprint("k", i), victim, now.Add(time.Duration(i)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		at := now.Add(5 * time.Minute)
		if d, err := l.Take(ctx, "new", cheap, at); err != nil || d != 10*time.Minute {
			t.Fatalf("Take of a new key when full: %v, %v; want 10m (until the first back-off ends)", d, err)
		}
		if d, _ := l.Wait(ctx, "new", at); d != 10*time.Minute {
			t.Fatalf("Wait of a new key when full: %v, want 10m", d)
		}
		if err := l.Hit(ctx, "new", cheap, at); err != nil || l.Len() != 3 {
			t.Fatalf("Hit of a new key when full: %v, Len %d; want nothing recorded", err, l.Len())
		}
		if d, _ := l.Wait(ctx, "k1", at); d != 11*time.Minute {
			t.Fatalf("k1's back-off: %v, want 11m", d)
		}
		// k0's back-off has run out: it makes room.
		at = now.Add(15 * time.Minute)
		if d, err := l.Take(ctx, "new", cheap, at); err != nil || d != 0 {
			t.Fatalf("Take once a back-off ran out: %v, %v", d, err)
		}
		if d, _ := l.Wait(ctx, "k1", at); d != time.Minute {
			t.Fatalf("k1's back-off: %v, want 1m", d)
		}
	})
}
