package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// burstLogins returns the number of concurrent logins in one burst of
// TestHasherConcurrencyBound: the spec's 100, or 32 under the race
// detector, which makes each argon2id hash several times slower (a burst of
// 100 took 9 to 15 s there, and the test runs two or three). 32 logins are
// still sixteen times the hash bound on two cores and span many GC cycles,
// so the peak is the same; the detector adds nothing to a memory
// measurement, and other tests race the hasher's concurrency.
func burstLogins() int {
	if raceEnabled {
		return 32
	}
	return 100
}

// TestHasherConcurrencyBound checks goals G8 and G8b of spec/performance.md:
// a burst of concurrent logins with the default argon2id parameters
// (m = 19 MiB) must queue on the library's hash bound rather than allocate
// m per request at once.
//
// During each burst of 100 logins through Handler (fewer under the race
// detector: see burstLogins), a goroutine samples
// runtime.MemStats.HeapAlloc about every millisecond. A burst is within
// the bound when
//
//	peak HeapAlloc ≤ baseline + 3.5 × GOMAXPROCS × m
//
// where baseline is HeapAlloc after a GC just before the burst (its
// requests already built), GOMAXPROCS × m is what the hashes running at
// once may hold live (the bound defaults to GOMAXPROCS), and the factor 3.5
// leaves room for finished hashes' memory that the GC has not collected
// yet.
// Without a bound the peak is about 100 × m (1.9 GiB).
//
// The spec passes a goal on its median over rounds, and this one needs it:
// HeapAlloc moves in steps of m, and at GOMAXPROCS=2 a burst where the GC
// pacer lets a seventh block in lands on 3.5 × GOMAXPROCS × m exactly, plus
// the logins' own few kilobytes (about one burst in ten or twenty on a
// loaded 2-core machine). So the test runs bursts until two are within the
// bound (pass) or two are not (fail): the median of three, decided early.
// A burst takes 1.2 to 2.5 s on two cores, depending on their load.
//
// G8b (burst rate ≥ 0.8 × the rate of bare parallel argon2id) is logged,
// not asserted: it is a timing ratio on a noisy machine, and benchmarks, not
// tests, gate timing.
func TestHasherConcurrencyBound(t *testing.T) {
	if testing.Short() {
		t.Skip("bursts of 100 argon2id logins take seconds; skipped with -short")
	}
	const m = benchArgonMemory << 10 // bytes
	procs := runtime.GOMAXPROCS(0)
	limit := uint64(3.5 * float64(procs) * m)

	st := memstore.New()
	a := benchNew(t, benchConfig(st, st, false)) // default argon2id
	if _, err := a.Register(context.Background(), auth.RegisterInput{Email: benchEmail, Password: benchPassword, Name: benchName}); err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	bare := bareArgon2Rate(procs)

	var within, over int
	for round := 1; within < 2 && over < 2; round++ {
		n := burstLogins()
		peak, baseline, elapsed := loginBurst(t, h, n)
		ratio := float64(peak-min(peak, baseline)) / float64(uint64(procs)*m)
		rate := float64(n) / elapsed.Seconds()
		ok := peak <= baseline+limit
		if ok {
			within++
		} else {
			over++
		}
		t.Logf("burst %d: %d concurrent logins, GOMAXPROCS=%d: peak HeapAlloc %.1f MiB above a baseline of %.1f MiB = %.2f × GOMAXPROCS × m (G8 bound 3.5, within: %t)",
			round, n, procs, float64(peak-min(peak, baseline))/(1<<20), float64(baseline)/(1<<20), ratio, ok)
		t.Logf("burst %d: %.1f logins/s; bare parallel argon2id %.1f hashes/s; ratio %.2f (G8b bound ≥ 0.8, not asserted)",
			round, rate, bare, rate/bare)
	}
	if over >= 2 {
		t.Errorf("peak HeapAlloc exceeded baseline + 3.5 × %d × %d B in %d bursts out of %d: concurrent hashes are not bounded",
			procs, m, over, over+within)
	}
}

// loginBurst sends n concurrent logins to h and returns the peak HeapAlloc
// sampled during the burst, HeapAlloc after a GC just before it, and how long
// the burst took. Every login must succeed.
func loginBurst(t *testing.T, h http.Handler, n int) (peak, baseline uint64, elapsed time.Duration) {
	t.Helper()
	// The burst's goroutines build their requests, then wait for start.
	start := make(chan struct{})
	codes := make([]int, n)
	var ready, wg sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			req := benchPost("/login", benchLoginBody)
			rec := httptest.NewRecorder()
			ready.Done()
			<-start
			h.ServeHTTP(rec, req)
			codes[i] = rec.Code
		})
	}
	ready.Wait()

	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseline = ms.HeapAlloc

	stop := make(chan struct{})
	peakc := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				peakc <- peak
				return
			case <-tick.C:
			}
		}
	}()

	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed = time.Since(t0)
	close(stop)
	peak = <-peakc

	for i, code := range codes {
		if code != http.StatusOK {
			t.Fatalf("login %d of the burst: status %d, want 200", i, code)
		}
	}
	return peak, baseline, elapsed
}

// bareArgon2Rate returns how many default argon2id hashes per second procs
// goroutines compute together: G8b's denominator.
func bareArgon2Rate(procs int) float64 {
	const perG = 3
	pw := []byte(benchPassword)
	salt, key := benchArgon2Hash(pw)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range procs {
		wg.Go(func() {
			for range perG {
				benchArgon2Verify(pw, salt, key)
			}
		})
	}
	wg.Wait()
	return float64(procs*perG) / time.Since(t0).Seconds()
}
