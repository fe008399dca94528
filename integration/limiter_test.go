package integration

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/limitertest"
)

// TestLimiterConformance runs the limiter conformance suite on sqlstore's
// Limiter, on every database.
func TestLimiterConformance(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			skipUnconfigured(t, tg)
			limitertest.Run(t, func(t *testing.T) auth.Limiter {
				return newEnv(t, tg).migrated(t)
			})
		})
	}
}

// TestLimiterAcrossPools checks that the limiter's Take is atomic across
// processes: 32 concurrent Takes of one key, half through each of two
// separate connection pools, let exactly the rule's Free attempts through,
// and the counts of Hits through both pools add up.
func TestLimiterAcrossPools(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		a := e.migrated(t)
		b := e.store(t, e.open(t))
		ctx := t.Context()
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		rule := auth.Backoff{Free: 5, Base: time.Hour, Max: time.Hour, Window: time.Hour}
		var (
			passed atomic.Int32
			wg     sync.WaitGroup
			start  = make(chan struct{})
		)
		for i := range 32 {
			l := auth.Limiter(a)
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				<-start
				d, err := l.Take(ctx, "take", rule, now)
				if err != nil {
					t.Errorf("Take: %v", err)
				} else if d == 0 {
					passed.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := passed.Load(); got != int32(rule.Free) {
			t.Fatalf("%d of 32 Takes across two pools passed, want %d", got, rule.Free)
		}

		hits := auth.Backoff{Free: 10, Base: time.Second, Max: 24 * time.Hour, Window: time.Hour}
		start = make(chan struct{})
		for i := range 32 {
			l := auth.Limiter(a)
			if i%2 == 1 {
				l = b
			}
			wg.Go(func() {
				<-start
				if err := l.Hit(ctx, "hit", hits, now); err != nil {
					t.Errorf("Hit: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if d, err := b.Wait(ctx, "hit", now); err != nil || d != hits.Delay(32) {
			t.Fatalf("after 32 Hits across two pools Wait = %v, %v; want %v", d, err, hits.Delay(32))
		}
	})
}

// TestLimiterRowsSwept checks that DeleteExpired removes a limiter row once
// both its window and its delay have ended, and no sooner.
func TestLimiterRowsSwept(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		st := e.migrated(t)
		ctx := t.Context()
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		rule := auth.Backoff{Free: 1, Base: 2 * time.Hour, Max: 2 * time.Hour, Window: time.Hour}
		if err := st.Hit(ctx, "k", rule, now); err != nil {
			t.Fatal(err)
		}
		db := e.open(t)
		if n, err := st.DeleteExpired(ctx, now.Add(2*time.Hour)); err != nil || n != 0 {
			t.Fatalf("DeleteExpired at the end of the delay = %d, %v; want 0 (not before it)", n, err)
		}
		if c := e.count(t, db, "limiter_keys"); c != 1 {
			t.Fatalf("%d limiter rows, want 1", c)
		}
		if n, err := st.DeleteExpired(ctx, now.Add(2*time.Hour+time.Millisecond)); err != nil || n != 1 {
			t.Fatalf("DeleteExpired after the delay = %d, %v; want 1", n, err)
		}
		if c := e.count(t, db, "limiter_keys"); c != 0 {
			t.Fatalf("%d limiter rows after the sweep, want 0", c)
		}
	})
}
