package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// newServer serves the auth routes under /api/v2/auth like the reference
// server, on memstore with cheap hashing, and returns the routes' URL. wrap,
// when not nil, wraps the routes.
func newServer(t *testing.T, throttle bool, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users:     st,
		Tokens:    st,
		Secret:    secret,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: !throttle},
		// The load test's race and reuse checks expect strict single use:
		// no reuse window.
		Sessions: auth.SessionConfig{RefreshReuseWindow: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = http.StripPrefix("/api/v2/auth", a.Handler())
	if wrap != nil {
		h = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v2/auth/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v2/auth"
}

// load runs the load test with args and returns its report and output.
func load(t *testing.T, args ...string) (*report, string) {
	t.Helper()
	var out bytes.Buffer
	cfg, err := parseFlags(args, &out)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", args, err)
	}
	rep, err := runLoad(t.Context(), cfg, &out)
	if err != nil {
		t.Fatalf("runLoad: %v\noutput:\n%s", err, &out)
	}
	rep.print(&out)
	return rep, out.String()
}

func TestLoad(t *testing.T) {
	url := newServer(t, false, nil)
	rep, out := load(t, "-url", url, "-c", "4", "-d", "2s", "-seed", "1", "-progress", "1s")
	t.Logf("output:\n%s", out)

	if f := rep.failures(); len(f) > 0 {
		t.Errorf("failures: %q", f)
	}
	if rep.st.serverErrs != 0 {
		t.Errorf("%d 5xx responses", rep.st.serverErrs)
	}
	if n := rep.st.transportErrors(); n != 0 {
		t.Errorf("%d transport errors", n)
	}
	v := rep.verify
	if rep.lostUsers() != 0 || rep.lostSessions() != 0 || v.usersUnverified != 0 || v.sessionsUnverified != 0 || v.reuseAccepted != 0 {
		t.Errorf("data loss: %+v, lost during the load %d", v, rep.lostDuringRun)
	}
	if v.users != rep.setupUsers+rep.registered || v.usersOK != v.users {
		t.Errorf("users: %d verified of %d, want all %d registered (%d in setup, %d during the load)",
			v.usersOK, v.users, rep.setupUsers+rep.registered, rep.setupUsers, rep.registered)
	}
	if v.sessions == 0 || v.refreshedOnce != v.sessions || v.refusedTwice != v.sessions {
		t.Errorf("sessions: %d live, %d refreshed once, %d refused twice", v.sessions, v.refreshedOnce, v.refusedTwice)
	}
	if !rep.race.ran || rep.race.sessions != 8 || rep.race.failed() {
		t.Errorf("race check: %+v", rep.race)
	}
	if rep.setupUsers != 4 {
		t.Errorf("setup registered %d users, want 4 (-users defaults to -c)", rep.setupUsers)
	}
	// How long the phases took is the tool's output, not a property: it
	// depends on the machine's load, so it is not asserted.
	for o := range numLoadOps {
		s := rep.latencies(o)
		if s.n == 0 { // how many depends on the machine; that there are some does not
			t.Errorf("%s: no requests", o)
			continue
		}
		if !(0 < s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max) {
			t.Errorf("%s: percentiles not monotonic: p50 %v, p90 %v, p99 %v, max %v", o, s.p50, s.p90, s.p99, s.max)
		}
	}
	for _, want := range []string{"load phase:", "register", "login", "me", "refresh", "verification", "RESULT: PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// TestDetectsLoss runs the load test against a server that forgets some
// registrations and hands out bogus refresh tokens while answering success:
// the load test must notice and fail.
func TestDetectsLoss(t *testing.T) {
	var registers, refreshes atomic.Int64
	url := newServer(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v2/auth/register":
				if registers.Add(1)%5 == 0 {
					var in struct{ Email string }
					_ = readJSON(r, &in)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusCreated)
					fmt.Fprintf(w, `{"user":{"id":"00000000-0000-0000-0000-000000000000","email":%q,"name":"x"},"accessToken":"eyJ.forgotten.a","refreshToken":"eyJ.forgotten.r"}`, in.Email)
					return
				}
			case "/api/v2/auth/refresh":
				if refreshes.Add(1)%7 == 0 {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"accessToken":"eyJ.bogus.a","refreshToken":"eyJ.bogus.r"}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-url", url, "-c", "4", "-d", "1s", "-seed", "2", "-progress", "0"}, &out, &errOut)
	t.Logf("output:\n%s%s", &out, &errOut)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	for _, want := range []string{"lost users", "lost sessions", "RESULT: FAIL"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// TestFailsOn5xx checks that a single 5xx fails the run.
func TestFailsOn5xx(t *testing.T) {
	var mes atomic.Int64
	url := newServer(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v2/auth/me" && mes.Add(1) == 3 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"error":{"code":"INTERNAL_ERROR","message":"Internal server error"}}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-url", url, "-c", "2", "-d", "500ms", "-progress", "0", "-race-sessions", "0"}, &out, &errOut)
	if code != 1 {
		t.Errorf("exit status %d, want 1\noutput:\n%s%s", code, &out, &errOut)
	}
	if !regexp.MustCompile(`\n  me +500 +INTERNAL_ERROR +1\n`).MatchString(out.String()) || !strings.Contains(out.String(), "1 responses with a 5xx status") {
		t.Errorf("the output does not report the 500:\n%s", &out)
	}
}

func TestBurst(t *testing.T) {
	url := newServer(t, true, nil)
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"-url", url, "-burst", "64"}, &out, &errOut)
	t.Logf("output:\n%s%s", &out, &errOut)
	if code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	// Successful logins are not throttled: all 64 succeed.
	for _, want := range []string{"statuses: 200 x64\n", "RESULT: PASS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

// TestBurstThrottled checks that clean 429s pass and other answers fail.
func TestBurstThrottled(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		status     int
		want       int
	}{
		{"429 with Retry-After", "3", http.StatusTooManyRequests, 0},
		{"429 without Retry-After", "", http.StatusTooManyRequests, 1},
		{"503", "3", http.StatusServiceUnavailable, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logins atomic.Int64
			url := newServer(t, false, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/api/v2/auth/login" && logins.Add(1)%2 == 0 {
						if tc.retryAfter != "" {
							w.Header().Set("Retry-After", tc.retryAfter)
						}
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(tc.status)
						fmt.Fprint(w, `{"error":{"code":"RATE_LIMITED","message":"Too many attempts"}}`)
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			var out, errOut bytes.Buffer
			if code := run(t.Context(), []string{"-url", url, "-burst", "16"}, &out, &errOut); code != tc.want {
				t.Errorf("exit status %d, want %d\noutput:\n%s%s", code, tc.want, &out, &errOut)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // an error substring; "" for success
	}{
		{nil, ""},
		{[]string{"-url", "http://localhost:8080/api/v2/auth/"}, ""},
		{[]string{"-url", "http://[::1]:8080/x"}, ""},
		{[]string{"-url", "http://example.com/api/v2/auth"}, "not a loopback address"},
		{[]string{"-url", "http://10.0.0.1/api/v2/auth"}, "not a loopback address"},
		{[]string{"-url", "http://example.com/api/v2/auth", "-allow-remote"}, ""},
		{[]string{"-url", "ftp://127.0.0.1/x"}, "http://"},
		{[]string{"-url", "http://u:p@127.0.0.1/x"}, "user information"},
		{[]string{"-c", "0"}, "-c must be at least 1"},
		{[]string{"-d", "0s"}, "-d must be positive"},
		{[]string{"-users", "-1"}, "-users must not be negative"},
		{[]string{"-mix", "1,2,3"}, "bad flags"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		cfg, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want one with %q", tc.args, err, tc.want)
		case tc.want == "" && len(tc.args) == 0 && (cfg.users != 16 || cfg.concurrency != 16 || cfg.mix != defaultMix || cfg.url != defaultURL):
			t.Errorf("defaults: %+v", cfg)
		}
	}
	cfg, err := parseFlags([]string{"-c", "8", "-users", "0"}, io.Discard)
	if err != nil || cfg.users != 0 {
		t.Errorf("-users 0: %v, users %d", err, cfg.users)
	}
}

func TestMix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mix
		ok   bool
	}{
		{"register=5,login=10,me=60,refresh=25", mix{5, 10, 60, 25}, true},
		{"me=1", mix{0, 0, 1, 0}, true},
		{" refresh = 3 , me=1", mix{0, 0, 1, 3}, true},
		{"1,2,3,4", mix{1, 2, 3, 4}, true},
		{"1,2,3", mix{}, false},
		{"me=1,me=2", mix{}, false},
		{"logout=1", mix{}, false},
		{"me=-1", mix{}, false},
		{"0,0,0,0", mix{}, false},
		{"me", mix{}, false},
	} {
		var m mix
		err := m.Set(tc.in)
		if (err == nil) != tc.ok || (tc.ok && m != tc.want) {
			t.Errorf("Set(%q) = %v, %v; want %v (ok %v)", tc.in, m, err, tc.want, tc.ok)
		}
	}
	if got := defaultMix.String(); got != "register=5,login=10,me=60,refresh=25" {
		t.Errorf("defaultMix = %s", got)
	}
}

func TestPercentiles(t *testing.T) {
	lat := make([]time.Duration, 0, 1000)
	for i := 1000; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := summarize(lat)
	if s.n != 1000 || s.p50 != 500*time.Millisecond || s.p90 != 900*time.Millisecond || s.p99 != 990*time.Millisecond || s.max != time.Second {
		t.Errorf("summarize(1..1000ms) = %+v", s)
	}
	if s := summarize([]time.Duration{7}); s.p50 != 7 || s.p99 != 7 || s.max != 7 {
		t.Errorf("summarize([7]) = %+v", s)
	}
	if s := summarize(nil); s.n != 0 {
		t.Errorf("summarize(nil) = %+v", s)
	}
}

// TestInterrupt checks that a cancelled run stops early and still verifies:
// with -d an hour, a run that returns at all, saying it was interrupted,
// stopped on the cancellation.
func TestInterrupt(t *testing.T) {
	url := newServer(t, false, nil)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(500*time.Millisecond, cancel)
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-url", url, "-c", "2", "-d", "1h", "-progress", "0"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "(interrupted)") {
		t.Errorf("exit status %d\noutput:\n%s%s", code, &out, &errOut)
	}
}

// readJSON decodes a request's JSON body.
func readJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return json.Unmarshal(data, v)
}
