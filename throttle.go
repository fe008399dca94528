package auth

import (
	"container/heap"
	"container/list"
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
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

// Delay returns the wait that the failures-th attempt of a window imposes
// on the key before its next attempt (failures counts from 1, this attempt
// included): zero while failures < Free, then Base for the Free-th,
// doubling with each further attempt up to Max. A [Limiter] records an
// attempt by setting the key's wait to at least now + Delay(count), where
// count is the number of attempts in the current window.
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
// Authenticator asks it whether the (email, client address) pair, the
// client address and the email's account-wide ceiling (or the device
// token presented) must wait (Wait) and records each failure on each of
// them (Hit); for registrations, refreshes and mail it checks and counts
// each attempt in one step (Take). Keys are printable ASCII of at most 400
// bytes. A Limiter applies a [Backoff] through [Backoff.Delay]. The
// default is an in-memory Limiter ([NewMemoryLimiter]); deployments of
// several instances plug in a shared one so that an attacker cannot spread
// attempts across them.
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
// bounded: it keeps at most a fixed number of keys. When full, it forgets
// the least recently used key whose back-off is not running (which restarts
// that key's count), so that a flood of cheap or idle keys cannot flush the
// back-off of a key under attack. When every key it holds is waiting out a
// back-off, it fails closed: a key it does not hold is treated as throttled
// (Wait and Take return the time until the first back-off runs out, Hit
// records nothing) until a slot frees. It is safe for concurrent use.
type MemoryLimiter struct {
	mu      sync.Mutex
	maxKeys int
	keys    map[string]*limiterEntry
	idle    list.List    // keys whose back-off is not running; front: most recently used
	waiting limiterQueue // keys whose back-off was running when last hit, soonest end first
}

type limiterEntry struct {
	key         string
	windowStart time.Time
	count       int
	until       time.Time
	// el is the entry's element in idle, or nil when it is in waiting at
	// index.
	el    *list.Element
	index int
}

// limiterQueue is a min-heap of entries by the end of their back-off.
type limiterQueue []*limiterEntry

func (q limiterQueue) Len() int           { return len(q) }
func (q limiterQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q limiterQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *limiterQueue) Push(x any) {
	e := x.(*limiterEntry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *limiterQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// DefaultLimiterKeys is how many keys [NewMemoryLimiter] keeps when asked
// for 0: about 20 MB when full of keys of 60 bytes (measured).
const DefaultLimiterKeys = 100_000

// NewMemoryLimiter returns a MemoryLimiter that keeps at most maxKeys keys;
// 0 means [DefaultLimiterKeys].
func NewMemoryLimiter(maxKeys int) *MemoryLimiter {
	if maxKeys <= 0 {
		maxKeys = DefaultLimiterKeys
	}
	return &MemoryLimiter{maxKeys: maxKeys, keys: make(map[string]*limiterEntry)}
}

// Wait implements [Limiter].
func (m *MemoryLimiter) Wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.keys[key]
	if !ok {
		return m.fullFor(now), nil
	}
	return max(e.until.Sub(now), 0), nil
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
	if e, ok := m.keys[key]; ok {
		if d := e.until.Sub(now); d > 0 {
			return d, nil
		}
	} else if d := m.fullFor(now); d > 0 {
		return d, nil
	}
	m.hit(key, rule, now)
	return 0, nil
}

// fullFor returns how long a key the limiter does not hold must wait: zero
// unless every slot holds a running back-off, then until the first of them
// runs out. m.mu must be held.
func (m *MemoryLimiter) fullFor(now time.Time) time.Duration {
	if len(m.keys) < m.maxKeys || m.idle.Len() > 0 {
		return 0
	}
	return max(m.waiting[0].until.Sub(now), 0)
}

// hit counts an attempt; m.mu must be held. When the limiter is full it
// makes room by forgetting the key whose back-off ran out first, or else
// the least recently used idle key; when every key's back-off is running
// it records nothing.
func (m *MemoryLimiter) hit(key string, rule Backoff, now time.Time) {
	e, ok := m.keys[key]
	if !ok {
		if len(m.keys) >= m.maxKeys && !m.evict(now) {
			return
		}
		e = &limiterEntry{key: key, windowStart: now}
		m.keys[key] = e
		e.el = m.idle.PushFront(e)
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
	switch {
	case e.until.After(now) && e.el != nil:
		m.idle.Remove(e.el)
		e.el = nil
		heap.Push(&m.waiting, e)
	case e.until.After(now):
		heap.Fix(&m.waiting, e.index)
	case e.el != nil:
		m.idle.MoveToFront(e.el)
	default:
		// Its back-off has run out: it is idle again.
		heap.Remove(&m.waiting, e.index)
		e.el = m.idle.PushFront(e)
	}
}

// evict forgets one key whose back-off is not running and reports whether
// it found one. m.mu must be held.
func (m *MemoryLimiter) evict(now time.Time) bool {
	if len(m.waiting) > 0 && !m.waiting[0].until.After(now) {
		m.remove(m.waiting[0])
		return true
	}
	if back := m.idle.Back(); back != nil {
		m.remove(back.Value.(*limiterEntry))
		return true
	}
	return false
}

// remove forgets e; m.mu must be held.
func (m *MemoryLimiter) remove(e *limiterEntry) {
	if e.el != nil {
		m.idle.Remove(e.el)
		e.el = nil
	} else {
		heap.Remove(&m.waiting, e.index)
	}
	delete(m.keys, e.key)
}

// Reset implements [Limiter].
func (m *MemoryLimiter) Reset(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.keys[key]; ok {
		m.remove(e)
	}
	return nil
}

// Len returns how many keys the limiter holds.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// throttleKeys are the limiter keys of one kind of attempt.
const (
	keyLoginAccount    = "login:account:"
	keyLoginPair       = "login:pair:"
	keyLoginDevice     = "login:device:"
	keyLoginAddress    = "login:address:"
	keyRegisterAddress = "register:address:"
	keyRefreshAddress  = "refresh:address:"
	keyAccountAddress  = "account:address:"
	keyMailTo          = "mail:to:"
	keyMailPair        = "mail:pair:"
	keyMailVerify      = "mail:verify:"
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
		a.observeThrottle(ctx, k, d <= 0)
		if d > 0 {
			a.audit(ctx, AuditThrottled, "action", event, "retry_after_s", int64(retryAfterSeconds(d)))
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
// kind, or "" when the call carries no address (a Go API call without
// [WithClientIP]). A request whose peer address does not parse gets the
// shared [unknownAddressKey].
func addressThrottleKey(ctx context.Context, kind string) string {
	c := clientFrom(ctx)
	switch {
	case c.ip.IsValid():
		return addressKey(kind, c.ip)
	case c.unknownAddr:
		return kind + unknownAddressKey
	}
	return ""
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
	a.observeThrottle(ctx, key, d <= 0)
	if d > 0 {
		a.audit(ctx, AuditThrottled, "action", event, "retry_after_s", int64(retryAfterSeconds(d)))
		return rateLimited(d)
	}
	return nil
}

// pairKey is the throttling key of one account (or email) asked for from
// one client address: the address's key, a space, and the email. Neither
// an address key nor the "none" of a call without address contains a
// space, so the split is unambiguous.
func pairKey(ctx context.Context, kind, email string) string {
	addr := addressThrottleKey(ctx, "")
	if addr == "" {
		addr = "none"
	}
	return kind + addr + " " + email
}

// ThrottleConfig configures throttling: the limiter, its rules and how client
// addresses are determined. Zero fields mean their documented default.
type ThrottleConfig struct {
	// Limiter keeps the counters behind throttling: failed logins per
	// email and per client address, registrations and refreshes per client
	// address. Throttled calls return RATE_LIMITED (429 with Retry-After),
	// the same whether the password was right or wrong. Deployments of
	// several instances should share one Limiter. The default is
	// NewMemoryLimiter(0).
	Limiter Limiter

	// LoginAccountBackoff throttles failed logins per (email, client
	// address), the email known or not. A successful login from that
	// address resets it. The default is [DefaultLoginAccountBackoff].
	LoginAccountBackoff Backoff

	// LoginAccountCeiling throttles failed logins per email from all client
	// addresses together, against guessing spread over many addresses; its
	// Free must be at most 100. A login that presents a valid device token
	// (see [WithDeviceToken]) is not held back by it. A successful login
	// does not reset it. The default is [DefaultLoginAccountCeiling].
	LoginAccountCeiling Backoff

	// DeviceTokenTTL is how long a device token, returned by every
	// registration and login, exempts later logins to the same account
	// from LoginAccountCeiling. The default is one year.
	DeviceTokenTTL time.Duration

	// LoginAddressBackoff throttles failed logins per client address. The
	// default is [DefaultLoginAddressBackoff].
	LoginAddressBackoff Backoff

	// RegisterAddressBackoff throttles registrations per client address.
	// The default is [DefaultRegisterAddressBackoff].
	RegisterAddressBackoff Backoff

	// RefreshAddressBackoff throttles refreshes per client address. The
	// default is [DefaultRefreshAddressBackoff].
	RefreshAddressBackoff Backoff

	// InsecureDisableThrottling turns all throttling off, for benchmarks
	// and functional test runs that register many users from one address.
	// The default is false.
	InsecureDisableThrottling bool

	// TrustedProxies lists the reverse proxies whose X-Forwarded-For header
	// the handlers believe when they determine the client address. With
	// none, the client address is the peer address and the header is
	// ignored, so clients cannot pick their own throttling key. The default
	// is none.
	TrustedProxies []netip.Prefix
}
