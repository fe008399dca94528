// Package limitertest is the conformance suite for implementations of
// [auth.Limiter]. Every limiter of this module runs it, and so should any
// third-party limiter: call [Run] from a test, with a function that opens a
// fresh, empty limiter.
//
//	func TestMyLimiter(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T) auth.Limiter {
//			return mylimiter.New(...)
//		})
//	}
//
// The suite is black-box: it uses only the exported API of package auth and
// of the limiter. Time comes only from the now arguments the suite passes,
// as the Authenticator passes its Config.Now, so no check sleeps and a
// limiter must not read a clock of its own to decide anything (it may use
// one to let its storage forget keys that no longer matter).
//
// # How the suite reads the contract
//
//   - Hit counts an attempt within the rule's window: the window starts at
//     the first attempt and a new one starts with the first attempt Window
//     or more after it. After the n-th attempt of a window the key waits
//     until at least now + rule.Delay(n) ([auth.Backoff.Delay]); a delay
//     already imposed is never shortened, not by a new window either.
//   - Wait returns how long is left of the longest delay imposed, zero when
//     it has run out; a key never hit, or reset, waits zero.
//   - Take refuses (returns the wait and counts nothing) while the key
//     waits, and otherwise counts like Hit and returns zero. Of N
//     concurrent Takes of one key, exactly as many pass as the rule allows.
//   - Hit counts whether or not the key waits; concurrent Hits lose no
//     count.
//   - Reset forgets the key entirely; resetting an unknown key succeeds.
//   - Keys are compared byte for byte and may hold any bytes, up to 512 of
//     them.
//   - Instants are compared whatever their location; precision finer than a
//     millisecond is not required (the suite's instants and delays are whole
//     milliseconds).
//   - A method called with a cancelled context returns an error for which
//     errors.Is(err, context.Canceled) holds, and changes nothing. (The
//     Authenticator fails a request whose limiter fails: throttling fails
//     closed.)
//   - With the [MaxKeys] option, a limiter that claims a bound on its memory
//     has a Len() int method and never holds more keys than the bound,
//     keeping the most recently hit.
//
// Each subtest calls open once and uses the limiter it returns alone; two
// checks call it from 32 goroutines at once. Open may register clean-up
// with t.Cleanup.
package limitertest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// base is the instant of the suite's first attempts: whole milliseconds.
var base = time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)

// racers is how many goroutines the concurrency checks run at once.
const racers = 32

// Option changes what the suite checks.
type Option func(*options)

type options struct {
	maxKeys int
}

// MaxKeys tells the suite that the limiter keeps at most n keys; the
// limiter must then have a Len() int method reporting how many it holds.
// Without it the bound is not checked.
func MaxKeys(n int) Option { return func(o *options) { o.maxKeys = n } }

// Run runs the conformance suite against the limiters open returns, one
// subtest per behaviour of the contract. Open is called once per subtest and
// must return a fresh, empty limiter.
func Run(t *testing.T, open func(t *testing.T) auth.Limiter, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"FreshKey", testFreshKey},
		{"BackoffArithmetic", testBackoffArithmetic},
		{"DelayRunsOut", testDelayRunsOut},
		{"HitWhileWaiting", testHitWhileWaiting},
		{"Take", testTake},
		{"ConcurrentTake", testConcurrentTake},
		{"ConcurrentHit", testConcurrentHit},
		{"Window", testWindow},
		{"DelayOutlastsWindow", testDelayOutlastsWindow},
		{"Reset", testReset},
		{"KeysIndependent", testKeysIndependent},
		{"Locations", testLocations},
		{"CancelledContext", testCancelledContext},
		{"BoundedMemory", func(t *testing.T, f *fixture) { testBoundedMemory(t, f, o.maxKeys) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := open(t)
			if l == nil {
				t.Fatal("open returned a nil limiter")
			}
			tt.fn(t, &fixture{l: l, ctx: t.Context()})
		})
	}
}

type fixture struct {
	l   auth.Limiter
	ctx context.Context
}

func (f *fixture) hit(t *testing.T, key string, rule auth.Backoff, now time.Time) {
	t.Helper()
	if err := f.l.Hit(f.ctx, key, rule, now); err != nil {
		t.Fatalf("Hit(%q, %v): %v", key, now, err)
	}
}

func (f *fixture) take(t *testing.T, key string, rule auth.Backoff, now time.Time) time.Duration {
	t.Helper()
	d, err := f.l.Take(f.ctx, key, rule, now)
	if err != nil {
		t.Fatalf("Take(%q, %v): %v", key, now, err)
	}
	return d
}

func (f *fixture) wait(t *testing.T, key string, now time.Time) time.Duration {
	t.Helper()
	d, err := f.l.Wait(f.ctx, key, now)
	if err != nil {
		t.Fatalf("Wait(%q, %v): %v", key, now, err)
	}
	return d
}

func (f *fixture) wantWait(t *testing.T, key string, now time.Time, want time.Duration, what string) {
	t.Helper()
	if got := f.wait(t, key, now); got != want {
		t.Fatalf("%s: Wait(%q) at base%+v = %v, want %v", what, key, now.Sub(base), got, want)
	}
}

// newKey returns a key unique to the test, so that limiters that share
// storage between subtests do not mix them up.
func newKey(t *testing.T, name string) string {
	return "limitertest:" + t.Name() + ":" + name
}

func testFreshKey(t *testing.T, f *fixture) {
	k := newKey(t, "fresh")
	f.wantWait(t, k, base, 0, "a key never hit")
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	if d := f.take(t, k, rule, base); d != 0 {
		t.Fatalf("the first Take of a fresh key returned %v, want 0 (it passes)", d)
	}
}

// testBackoffArithmetic checks the waits after each failure against the
// values spelled out, and against auth.Backoff.Delay.
func testBackoffArithmetic(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 3, Base: time.Second, Max: 10 * time.Second, Window: time.Hour}
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	k := newKey(t, "k")
	for i, w := range want {
		if d := rule.Delay(i + 1); d != w {
			t.Fatalf("auth.Backoff%+v.Delay(%d) = %v, want %v", rule, i+1, d, w)
		}
		f.hit(t, k, rule, base)
		f.wantWait(t, k, base, w, "after "+strconv.Itoa(i+1)+" hits at one instant")
	}
	// The default login rule, as the Authenticator uses it.
	rule = auth.DefaultLoginAccountBackoff
	k = newKey(t, "default")
	for i := 1; i <= rule.Free+12; i++ {
		f.hit(t, k, rule, base)
		f.wantWait(t, k, base, rule.Delay(i), "default login rule after "+strconv.Itoa(i)+" hits")
	}
}

func testDelayRunsOut(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 1, Base: 2 * time.Second, Max: time.Minute, Window: time.Hour}
	k := newKey(t, "k")
	f.hit(t, k, rule, base)
	f.wantWait(t, k, base.Add(500*time.Millisecond), 1500*time.Millisecond, "half-way through the delay")
	f.wantWait(t, k, base.Add(2*time.Second-time.Millisecond), time.Millisecond, "a millisecond before the delay ends")
	f.wantWait(t, k, base.Add(2*time.Second), 0, "when the delay ends")
	f.wantWait(t, k, base.Add(time.Hour), 0, "long after")
}

func testHitWhileWaiting(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	k := newKey(t, "k")
	f.hit(t, k, rule, base)
	// Hits while waiting still count and lengthen the delay.
	f.hit(t, k, rule, base.Add(10*time.Second))
	f.wantWait(t, k, base.Add(10*time.Second), 2*time.Minute, "the second hit, made while waiting")
	// A shorter delay never shortens a longer one already imposed: with a
	// rule of smaller Base the third hit asks for 4 s only.
	small := auth.Backoff{Free: 1, Base: time.Second, Max: time.Hour, Window: time.Hour}
	f.hit(t, k, small, base.Add(20*time.Second))
	f.wantWait(t, k, base.Add(20*time.Second), 2*time.Minute-10*time.Second, "after a hit asking for a shorter delay")
}

func testTake(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 2, Base: time.Minute, Max: time.Hour, Window: 24 * time.Hour}
	k := newKey(t, "k")
	if d := f.take(t, k, rule, base); d != 0 {
		t.Fatalf("first Take = %v, want 0", d)
	}
	f.wantWait(t, k, base, 0, "after one free Take")
	if d := f.take(t, k, rule, base); d != 0 {
		t.Fatalf("second Take = %v, want 0 (the Free-th attempt passes and imposes the delay)", d)
	}
	f.wantWait(t, k, base, time.Minute, "after the Free-th Take")
	for i := range 5 {
		at := base.Add(time.Duration(i) * 10 * time.Second)
		if d := f.take(t, k, rule, at); d != time.Minute-at.Sub(base) {
			t.Fatalf("a Take while waiting at base+%v = %v, want %v", at.Sub(base), d, time.Minute-at.Sub(base))
		}
	}
	// The refused Takes counted nothing: the next pass is the third attempt.
	at := base.Add(time.Minute)
	if d := f.take(t, k, rule, at); d != 0 {
		t.Fatalf("Take when the delay ran out = %v, want 0", d)
	}
	f.wantWait(t, k, at, rule.Delay(3), "after the third counted Take (refused Takes must not count)")
}

func testConcurrentTake(t *testing.T, f *fixture) {
	for _, free := range []int{1, 5} {
		rule := auth.Backoff{Free: free, Base: time.Hour, Max: time.Hour, Window: time.Hour}
		k := newKey(t, "free"+strconv.Itoa(free))
		var (
			passed, refused atomic.Int32
			wg              sync.WaitGroup
			start           = make(chan struct{})
		)
		errs := make(chan error, racers)
		for range racers {
			wg.Go(func() {
				<-start
				d, err := f.l.Take(f.ctx, k, rule, base)
				switch {
				case err != nil:
					errs <- err
				case d == 0:
					passed.Add(1)
				case d == time.Hour:
					refused.Add(1)
				default:
					errs <- errors.New("Take returned " + d.String() + ", want 0 or 1h")
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Take: %v", err)
		}
		if int(passed.Load()) != free {
			t.Fatalf("of %d concurrent Takes with Free=%d, %d passed, want exactly %d", racers, free, passed.Load(), free)
		}
		f.wantWait(t, k, base, time.Hour, "after the concurrent Takes")
	}
}

func testConcurrentHit(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 20, Base: time.Second, Max: 24 * time.Hour, Window: time.Hour}
	k := newKey(t, "k")
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, racers)
	for range racers {
		wg.Go(func() {
			<-start
			if err := f.l.Hit(f.ctx, k, rule, base); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Hit: %v", err)
	}
	f.wantWait(t, k, base, rule.Delay(racers), strconv.Itoa(racers)+" concurrent hits (a lost count gives a shorter wait)")
}

func testWindow(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 3, Base: time.Second, Max: time.Hour, Window: time.Minute}
	k := newKey(t, "k")
	f.hit(t, k, rule, base)
	f.hit(t, k, rule, base.Add(30*time.Second))
	// Just inside the window: the third hit imposes a delay.
	at := base.Add(time.Minute - time.Millisecond)
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, time.Second, "the third hit, a millisecond before the window ends")
	// A window starts at its first hit; the next starts Window or more
	// after it, and counts from one again.
	at = base.Add(time.Minute + time.Second)
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, 0, "the first hit of a new window")
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, 0, "the second hit of a new window")
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, time.Second, "the third hit of a new window")

	// The boundary: a hit exactly Window after the window's start opens
	// a new one.
	k = newKey(t, "boundary")
	f.hit(t, k, rule, base)
	f.hit(t, k, rule, base)
	at = base.Add(time.Minute)
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, 0, "a hit exactly Window after the first (a new window)")
}

func testDelayOutlastsWindow(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 2, Base: 2 * time.Hour, Max: 2 * time.Hour, Window: time.Hour}
	k := newKey(t, "k")
	f.hit(t, k, rule, base)
	f.hit(t, k, rule, base)
	at := base.Add(90 * time.Minute)
	f.wantWait(t, k, at, 30*time.Minute, "a delay that outlasts its window")
	if d := f.take(t, k, rule, at); d != 30*time.Minute {
		t.Fatalf("Take after the window ended but within the delay = %v, want 30m", d)
	}
	// A hit opens a new window, whose first attempt imposes no delay; the
	// delay already imposed still runs.
	f.hit(t, k, rule, at)
	f.wantWait(t, k, at, 30*time.Minute, "after the first hit of a new window, within an older delay")
	at = base.Add(2 * time.Hour)
	if d := f.take(t, k, rule, at); d != 0 {
		t.Fatalf("Take when the delay ran out = %v, want 0", d)
	}
	f.wantWait(t, k, at, rule.Delay(2), "the second attempt of the window opened at base+90m")
}

func testReset(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 2, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	k := newKey(t, "k")
	for range 4 {
		f.hit(t, k, rule, base)
	}
	if err := f.l.Reset(f.ctx, k); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	f.wantWait(t, k, base, 0, "after Reset")
	f.hit(t, k, rule, base)
	f.wantWait(t, k, base, 0, "the first hit after Reset (the count starts again)")
	f.hit(t, k, rule, base)
	f.wantWait(t, k, base, time.Minute, "the second hit after Reset")
	if err := f.l.Reset(f.ctx, newKey(t, "unknown")); err != nil {
		t.Fatalf("Reset of an unknown key: %v", err)
	}
}

func testKeysIndependent(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	p := newKey(t, "")
	long := p + strings.Repeat("é", (512-len(p))/2)
	keys := []string{
		p + "user@example.com", p + "User@example.com", p + "user@example.com ", p + "user@example.co",
		p + "{tag}x", p + "a\x00b", p + "a\nb", p + "ü", long,
	}
	for i, k := range keys {
		for range i + 1 {
			f.hit(t, k, rule, base)
		}
	}
	for i, k := range keys {
		f.wantWait(t, k, base, rule.Delay(i+1), "key "+strconv.Itoa(i)+" hit "+strconv.Itoa(i+1)+" times among similar keys")
	}
	if err := f.l.Reset(f.ctx, keys[0]); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	f.wantWait(t, keys[1], base, rule.Delay(2), "a similar key after another's Reset")
	f.wantWait(t, keys[0], base, 0, "the reset key")
}

func testLocations(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	east := time.FixedZone("UTC+5", 5*3600)
	west := time.FixedZone("UTC-7", -7*3600)
	k := newKey(t, "k")
	f.hit(t, k, rule, base.In(east))
	f.wantWait(t, k, base.Add(20*time.Second).In(west), 40*time.Second, "hit in UTC+5, asked in UTC-7")
	if d := f.take(t, k, rule, base.Add(30*time.Second).In(west)); d != 30*time.Second {
		t.Fatalf("Take in UTC-7 = %v, want 30s", d)
	}
}

func testCancelledContext(t *testing.T, f *fixture) {
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	k := newKey(t, "k")
	f.hit(t, k, rule, base) // waits 1m
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	check := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context returned %v, want an error wrapping context.Canceled", method, err)
		}
	}
	_, err := f.l.Wait(ctx, k, base)
	check("Wait", err)
	check("Hit", f.l.Hit(ctx, k, rule, base))
	_, err = f.l.Take(ctx, k, rule, base.Add(time.Minute))
	check("Take", err)
	check("Reset", f.l.Reset(ctx, k))
	// Nothing changed: one hit, so the key waits one minute, and the next
	// Take after it is the second attempt.
	f.wantWait(t, k, base, time.Minute, "after calls with a cancelled context")
	at := base.Add(time.Minute)
	if d := f.take(t, k, rule, at); d != 0 {
		t.Fatalf("Take = %v, want 0", d)
	}
	f.wantWait(t, k, at, rule.Delay(2), "the second counted attempt")
}

func testBoundedMemory(t *testing.T, f *fixture, maxKeys int) {
	if maxKeys <= 0 {
		t.Skip("the limiter claims no bound on its keys (no limitertest.MaxKeys option); skipping")
	}
	sized, ok := f.l.(interface{ Len() int })
	if !ok {
		t.Fatalf("limitertest.MaxKeys(%d) given, but %T has no Len() int method", maxKeys, f.l)
	}
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	var last string
	for i := range 3 * maxKeys {
		last = newKey(t, strconv.Itoa(i))
		f.hit(t, last, rule, base)
		if n := sized.Len(); n > maxKeys {
			t.Fatalf("after %d keys Len() = %d, over the bound %d", i+1, n, maxKeys)
		}
	}
	f.wantWait(t, last, base, time.Minute, "the most recently hit key")
}
