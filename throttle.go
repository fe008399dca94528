package auth

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Backoff is a throttling rule for one kind of attempt. Within each Window,
// a key makes Free attempts without delay; from the Free-th on, each attempt
// makes the key wait before the next one, Base after the Free-th, doubling
// each time up to Max. A new window starts Window after the previous one
// started; a delay already imposed still runs out.
type Backoff struct {
	// Free is how many attempts a window allows before delays start.
	Free int
	// Base is the delay imposed by the first attempt over Free.
	Base time.Duration
	// Max caps the delay.
	Max time.Duration
	// Window is how long attempts are counted together.
	Window time.Duration
}

// The default throttling rules. Failed logins per account follow NIST SP
// 800-63B and ASVS (far fewer than 100 failures per hour: five free, then
// 1 s, 2 s, 4 s, ... up to 15 minutes); the rules per client address are
// looser, since many users can share one address.
var (
	// DefaultLoginAccountBackoff applies to failed logins per email.
	DefaultLoginAccountBackoff = Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	// DefaultLoginAddressBackoff applies to failed logins per client
	// address, whatever the email.
	DefaultLoginAddressBackoff = Backoff{Free: 50, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	// DefaultRegisterAddressBackoff applies to registrations per client
	// address.
	DefaultRegisterAddressBackoff = Backoff{Free: 20, Base: time.Second, Max: time.Hour, Window: time.Hour}
	// DefaultRefreshAddressBackoff applies to refreshes per client address.
	DefaultRefreshAddressBackoff = Backoff{Free: 600, Base: time.Second, Max: time.Minute, Window: time.Minute}
	// DefaultMailBackoff applies to mail sent to one email address.
	DefaultMailBackoff = Backoff{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
)

// Delay is the wait that the failures-th attempt of a window imposes on
// the key, counting from one: zero while failures is below Free, Base at
// Free, then doubling with each attempt up to Max. Shared [Limiter]
// implementations use it to compute the same delays as [MemoryLimiter].
func (b Backoff) Delay(failures int) time.Duration {
	over := failures - b.Free + 1
	if over <= 0 {
		return 0
	}
	d := b.Base
	for i := 1; i < over && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Limiter keeps the attempt counters behind throttling. For logins the
// Authenticator asks it whether the email and the client address must wait
// (Wait) and records each failure (Hit); for registrations and refreshes it
// checks and counts each attempt in one step (Take). The default is an
// in-memory Limiter ([NewMemoryLimiter]); deployments of several instances
// plug in a shared one so that an attacker cannot spread attempts across
// them.
//
// Implementations must be safe for concurrent use, and Take must be atomic.
// An error from a Limiter fails the request with INTERNAL_ERROR: throttling
// fails closed.
type Limiter interface {
	// Wait returns how long key must still wait before its next attempt;
	// zero means it may go ahead now.
	Wait(ctx context.Context, key string, now time.Time) (time.Duration, error)
	// Hit records one attempt of key under rule at now, whether or not the
	// key was waiting.
	Hit(ctx context.Context, key string, rule Backoff, now time.Time) error
	// Take atomically checks and counts one attempt: when key must still
	// wait it returns how long and counts nothing; otherwise it records the
	// attempt under rule and returns zero.
	Take(ctx context.Context, key string, rule Backoff, now time.Time) (time.Duration, error)
	// Reset forgets key, after a successful login.
	Reset(ctx context.Context, key string) error
}

// MemoryLimiter is an in-memory [Limiter] for one process. Its memory is
// bounded: it keeps at most a fixed number of keys and, when full, forgets
// the least recently used one. It is safe for concurrent use.
type MemoryLimiter struct {
	mu      sync.Mutex
	maxKeys int
	keys    map[string]*list.Element
	lru     list.List // front: most recently used; values are *limiterEntry
}

type limiterEntry struct {
	key         string
	windowStart time.Time
	count       int
	until       time.Time
}

// DefaultLimiterKeys is how many keys [NewMemoryLimiter] keeps when asked
// for 0: about 10 MB at most.
const DefaultLimiterKeys = 100_000

// NewMemoryLimiter returns a MemoryLimiter that keeps at most maxKeys keys;
// 0 means [DefaultLimiterKeys].
func NewMemoryLimiter(maxKeys int) *MemoryLimiter {
	if maxKeys <= 0 {
		maxKeys = DefaultLimiterKeys
	}
	return &MemoryLimiter{maxKeys: maxKeys, keys: make(map[string]*list.Element)}
}

// Wait implements [Limiter].
func (m *MemoryLimiter) Wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.keys[key]
	if !ok {
		return 0, nil
	}
	e := el.Value.(*limiterEntry)
	if d := e.until.Sub(now); d > 0 {
		return d, nil
	}
	return 0, nil
}

// Hit implements [Limiter].
func (m *MemoryLimiter) Hit(ctx context.Context, key string, rule Backoff, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hit(key, rule, now)
	return nil
}

// Take implements [Limiter].
func (m *MemoryLimiter) Take(ctx context.Context, key string, rule Backoff, now time.Time) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok {
		if d := el.Value.(*limiterEntry).until.Sub(now); d > 0 {
			return d, nil
		}
	}
	m.hit(key, rule, now)
	return 0, nil
}

// hit counts an attempt; m.mu must be held.
func (m *MemoryLimiter) hit(key string, rule Backoff, now time.Time) {
	var e *limiterEntry
	if el, ok := m.keys[key]; ok {
		m.lru.MoveToFront(el)
		e = el.Value.(*limiterEntry)
	} else {
		if m.lru.Len() >= m.maxKeys {
			oldest := m.lru.Back()
			m.lru.Remove(oldest)
			delete(m.keys, oldest.Value.(*limiterEntry).key)
		}
		e = &limiterEntry{key: key, windowStart: now}
		m.keys[key] = m.lru.PushFront(e)
	}
	if now.Sub(e.windowStart) >= rule.Window {
		e.windowStart, e.count = now, 0
	}
	e.count++
	if d := rule.Delay(e.count); d > 0 {
		if until := now.Add(d); until.After(e.until) {
			e.until = until
		}
	}
}

// Reset implements [Limiter].
func (m *MemoryLimiter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.keys[key]; ok {
		m.lru.Remove(el)
		delete(m.keys, key)
	}
	return nil
}

// Len returns how many keys the limiter holds.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// clientKey is the context key of the client address.
var clientKey = &contextKey{"client address"}

// WithClientIP returns a context that carries the client's IP address, for
// the throttling and audit records of calls made through the Go API. The
// handlers set it themselves from the request (see
// [Config.TrustedProxies]).
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	c := clientFrom(ctx)
	c.ip = ip
	return context.WithValue(ctx, clientKey, c)
}

// client is what the handlers know of the caller: its address and its
// User-Agent, recorded on the sessions it opens.
type client struct {
	ip        netip.Addr
	userAgent string
}

// maxUserAgentBytes caps the User-Agent recorded on a session.
const maxUserAgentBytes = 512

func withClient(ctx context.Context, r *http.Request, trusted []netip.Prefix) context.Context {
	ua := r.UserAgent()
	if len(ua) > maxUserAgentBytes {
		ua = ua[:maxUserAgentBytes]
	}
	ua = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(ua, ""))
	return context.WithValue(ctx, clientKey, client{ip: requestIP(r, trusted), userAgent: ua})
}

func clientFrom(ctx context.Context) client {
	c, _ := ctx.Value(clientKey).(client)
	return c
}

func clientIP(ctx context.Context) (netip.Addr, bool) {
	ip := clientFrom(ctx).ip
	return ip, ip.IsValid()
}

// addressKey is the throttling key of a client address. IPv6 clients are
// keyed by their /64, which one subscriber usually holds whole.
func addressKey(kind string, ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return kind + p.String()
	}
	return kind + ip.String()
}

// requestIP returns the client address of r: the peer address, or, when the
// peer is one of the trusted proxies, the nearest address in
// X-Forwarded-For that is not a trusted proxy. Without trusted proxies the
// header is ignored, so a client cannot choose its own throttling key.
func requestIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client
			}
			client = ip.Unmap()
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// throttleKeys are the limiter keys of one kind of attempt.
const (
	keyLoginAccount    = "login:account:"
	keyLoginAddress    = "login:address:"
	keyRegisterAddress = "register:address:"
	keyRefreshAddress  = "refresh:address:"
	keyAccountAddress  = "account:address:"
	keyMailTo          = "mail:to:"
)

// rateLimited returns a RATE_LIMITED error that tells the client to wait d.
func rateLimited(d time.Duration) *Error {
	e := *ErrRateLimited
	e.RetryAfter = d
	return &e
}

// throttled checks the keys in order and returns a RATE_LIMITED error for
// the first that must wait, nil when none must, or the limiter's error.
func (a *Authenticator) throttled(ctx context.Context, event string, keys ...string) error {
	if a.limiter == nil {
		return nil
	}
	now := a.cfg.Now()
	for _, k := range keys {
		if k == "" {
			continue
		}
		d, err := a.limiter.Wait(ctx, k, now)
		if err != nil {
			return err
		}
		if d > 0 {
			a.audit(ctx, "auth.throttled", "action", event, "retry_after_s", int64(retryAfterSeconds(d)))
			return rateLimited(d)
		}
	}
	return nil
}

// hit records an attempt under rule; a limiter failure is returned.
func (a *Authenticator) hit(ctx context.Context, key string, rule Backoff) error {
	if a.limiter == nil || key == "" {
		return nil
	}
	return a.limiter.Hit(ctx, key, rule, a.cfg.Now())
}

// addressThrottleKey returns the key of the context's client address for
// kind, or "" when the call carries no address.
func addressThrottleKey(ctx context.Context, kind string) string {
	ip, ok := clientIP(ctx)
	if !ok {
		return ""
	}
	return addressKey(kind, ip)
}

// retryAfterSeconds rounds d up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// take checks and counts one attempt of key under rule in one atomic step,
// and returns a RATE_LIMITED error when the key must wait.
func (a *Authenticator) take(ctx context.Context, event, key string, rule Backoff) error {
	if a.limiter == nil || key == "" {
		return nil
	}
	d, err := a.limiter.Take(ctx, key, rule, a.cfg.Now())
	if err != nil {
		return fmt.Errorf("auth: record attempt: %w", err)
	}
	if d > 0 {
		a.audit(ctx, "auth.throttled", "action", event, "retry_after_s", int64(retryAfterSeconds(d)))
		return rateLimited(d)
	}
	return nil
}
