package limitertest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/limitertest"
)

// faultEnv names the fault TestBrokenLimiter runs the suite against.
const faultEnv = "LIMITERTEST_FAULT"

// TestSuiteCatchesBrokenLimiters runs the suite against limiters that each
// break one rule of the contract, and checks that it fails in the subtests
// meant to catch that fault. Each run is a child process running
// TestBrokenLimiter, since a failing suite fails its test.
func TestSuiteCatchesBrokenLimiters(t *testing.T) {
	tests := []struct {
		fault   string
		failing []string // subtests that must fail; none: the suite passes
	}{
		{"none", nil},
		{"TakeNotAtomic", []string{"ConcurrentTake"}},
		{"LosesHits", []string{"ConcurrentHit"}},
		{"NoDoubling", []string{"BackoffArithmetic"}},
		{"NeverNewWindow", []string{"Window"}},
		{"WindowEndsEarly", []string{"Window"}},
		{"TakeCountsRefused", []string{"Take"}},
		{"ShortensDelay", []string{"HitWhileWaiting", "DelayOutlastsWindow"}},
		{"ResetKeepsCount", []string{"Reset"}},
		{"FoldsCase", []string{"KeysIndependent"}},
		{"IgnoresCancellation", []string{"CancelledContext"}},
		{"Unbounded", []string{"BoundedMemory"}},
		{"TruncatesToSeconds", []string{"DelayRunsOut"}},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenLimiter$", "-test.v")
			cmd.Env = append(os.Environ(), faultEnv+"="+tt.fault)
			out, err := cmd.CombinedOutput()
			if tt.failing == nil {
				if err != nil {
					t.Fatalf("the suite failed a correct limiter: %v\n%s", err, out)
				}
				return
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a limiter with fault %s (error %v)\n%s", tt.fault, err, out)
			}
			for _, name := range tt.failing {
				if !bytes.Contains(out, []byte("--- FAIL: TestBrokenLimiter/"+name+" (")) {
					t.Errorf("subtest %s did not fail for fault %s", name, tt.fault)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestBrokenLimiter runs the suite against the faulty limiter named by the
// environment; TestSuiteCatchesBrokenLimiters runs it.
func TestBrokenLimiter(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestSuiteCatchesBrokenLimiters")
	}
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		return &faulty{fault: fault, keys: map[string]*entry{}}
	}, limitertest.MaxKeys(16))
}

// faulty is a small, correct limiter, unless fault names a rule to break.
type faulty struct {
	fault string
	mu    sync.Mutex
	keys  map[string]*entry
	order []string
}

type entry struct {
	start time.Time
	count int
	until time.Time
}

func (f *faulty) key(k string) string {
	if f.fault == "FoldsCase" {
		return string(bytes.ToLower([]byte(k)))
	}
	return k
}

func (f *faulty) ctxErr(ctx context.Context) error {
	if f.fault == "IgnoresCancellation" {
		return nil
	}
	return ctx.Err()
}

func (f *faulty) Wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	if err := f.ctxErr(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.keys[f.key(key)]
	if e == nil {
		return 0, nil
	}
	d := max(e.until.Sub(now), 0)
	if f.fault == "TruncatesToSeconds" {
		d = d.Truncate(time.Second)
	}
	return d, nil
}

func (f *faulty) Hit(ctx context.Context, key string, rule auth.Backoff, now time.Time) error {
	if err := f.ctxErr(ctx); err != nil {
		return err
	}
	if f.fault == "LosesHits" {
		f.mu.Lock()
		var count int
		if e := f.keys[f.key(key)]; e != nil {
			count = e.count
		}
		f.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond) // widen the race this fault is about
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hitLocked(key, rule, now)
		f.keys[f.key(key)].count = count + 1
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hitLocked(key, rule, now)
	return nil
}

func (f *faulty) Take(ctx context.Context, key string, rule auth.Backoff, now time.Time) (time.Duration, error) {
	if f.fault == "TakeNotAtomic" {
		d, err := f.Wait(ctx, key, now)
		if err != nil || d > 0 {
			return d, err
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // widen the race this fault is about
		return 0, f.Hit(ctx, key, rule, now)
	}
	if err := f.ctxErr(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.keys[f.key(key)]; e != nil && e.until.After(now) {
		if f.fault == "TakeCountsRefused" {
			e.count++
		}
		return e.until.Sub(now), nil
	}
	f.hitLocked(key, rule, now)
	return 0, nil
}

func (f *faulty) hitLocked(key string, rule auth.Backoff, now time.Time) {
	k := f.key(key)
	e := f.keys[k]
	if e == nil {
		if f.fault != "Unbounded" && len(f.order) >= 16 {
			delete(f.keys, f.order[0])
			f.order = f.order[1:]
		}
		e = &entry{start: now}
		f.keys[k] = e
		f.order = append(f.order, k)
	}
	window := rule.Window
	if f.fault == "WindowEndsEarly" {
		window /= 2
	}
	if f.fault != "NeverNewWindow" && now.Sub(e.start) >= window {
		e.start, e.count = now, 0
	}
	e.count++
	d := rule.Delay(e.count)
	if f.fault == "NoDoubling" && d > 0 {
		d = min(rule.Base, rule.Max)
	}
	if d > 0 {
		until := now.Add(d)
		if f.fault == "ShortensDelay" || until.After(e.until) {
			e.until = until
		}
	} else if f.fault == "ShortensDelay" {
		e.until = now
	}
}

func (f *faulty) Reset(ctx context.Context, key string) error {
	if err := f.ctxErr(ctx); err != nil {
		return err
	}
	if f.fault == "ResetKeepsCount" {
		f.mu.Lock()
		defer f.mu.Unlock()
		if e := f.keys[f.key(key)]; e != nil {
			e.until = time.Time{}
		}
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, f.key(key))
	for i, k := range f.order {
		if k == f.key(key) {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	return nil
}

func (f *faulty) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}
