// Package testutil holds the helpers that the tests of package auth and
// package verifier, and the suites in internal/securitytest and
// internal/lifecycletest, share: a controllable clock, a capturing slog
// handler, asymmetric test keys, request bodies and token tampering.
//
// It does not import package auth, so that tests inside package auth may
// use it as well as those outside it.
package testutil

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Clock is a controllable clock for auth.Config.Now: time moves only when
// a test calls Advance. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// LogSink collects the records of a capturing slog handler, for tests
// that assert what was, or was not, logged. The zero value is ready to
// use; it is safe for concurrent use.
type LogSink struct {
	mu    sync.Mutex
	lines []string
}

// String returns every record collected so far, one per line.
func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// Handler returns a slog.Handler, enabled at every level, that renders
// each record with its attributes into s.
func (s *LogSink) Handler() slog.Handler { return &captureHandler{sink: s} }

// captureHandler is a slog.Handler that renders each record, with its
// attributes, into a LogSink.
type captureHandler struct {
	sink   *LogSink
	attrs  []slog.Attr
	groups string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s%s=%q", h.groups, a.Key, a.Value.String())
		return true
	})
	h.sink.mu.Lock()
	h.sink.lines = append(h.sink.lines, b.String())
	h.sink.mu.Unlock()
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &captureHandler{sink: h.sink, attrs: append(slices.Clone(h.attrs), attrs...), groups: h.groups}
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	return &captureHandler{sink: h.sink, attrs: h.attrs, groups: h.groups + name + "."}
}

// asymKeys holds two keys of each asymmetric algorithm, generated once per
// test binary: RSA key generation is slow under -race.
var asymKeys = sync.OnceValue(func() map[string]crypto.Signer {
	keys := map[string]crypto.Signer{}
	for _, suffix := range []string{"", "-2"} {
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		rs, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys["EdDSA"+suffix], keys["ES256"+suffix], keys["RS256"+suffix] = ed, ec, rs
	}
	return keys
})

// Key returns the test key of the given name: "EdDSA", "ES256" or "RS256"
// (2048 bits) for the first key of each algorithm, with "-2" appended for
// a second one; nil for any other name.
func Key(name string) crypto.Signer { return asymKeys()[name] }

// BaselineClaims has the shape of the library's access-token claims as an
// application would declare it with golang-jwt: the registered claims plus
// sid, org and role. The golang-jwt baselines of the benchmarks sign and
// parse it.
type BaselineClaims struct {
	jwt.RegisteredClaims
	SessionID      string `json:"sid"`
	OrganizationID string `json:"org,omitempty"`
	Role           string `json:"role,omitempty"`
}

// MustJSON marshals v, which never fails for the maps and strings the
// tests use.
func MustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// RegisterBody returns a /register body.
func RegisterBody(email, password, name string) string {
	return MustJSON(map[string]string{"email": email, "password": password, "name": name})
}

// LoginBody returns a /login body.
func LoginBody(email, password string) string {
	return MustJSON(map[string]string{"email": email, "password": password})
}

// RefreshBody returns a /refresh body.
func RefreshBody(token string) string {
	return MustJSON(map[string]string{"refreshToken": token})
}

// UUIDRE matches a canonical UUID.
var UUIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// FlipMiddle returns s with the character in the middle of the segment
// [from, to) changed, which always changes the decoded bytes.
func FlipMiddle(s string, from, to int) string {
	i := from + (to-from)/2
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// WithSignatureFlipped returns token with one signature character changed.
func WithSignatureFlipped(token string) string {
	dot := strings.LastIndexByte(token, '.')
	return FlipMiddle(token, dot+1, len(token))
}
