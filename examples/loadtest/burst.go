package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// burstResult is the outcome of the burst mode.
type burstResult struct {
	url     string
	n       int
	ok      int // 200 with the account's id
	elapsed time.Duration
	st      *stats
	lat     summary
}

// runBurst registers one account and fires cfg.burst logins of it at once.
func runBurst(ctx context.Context, cfg *config, out io.Writer) (*burstResult, error) {
	target, err := checkTarget(cfg.url, cfg.allowRemote)
	if err != nil {
		return nil, err
	}
	n := cfg.burst
	c := newClient(target, n, cfg.timeout, cfg.allowRemote)
	defer c.close()
	res := &burstResult{url: target.String(), n: n, st: newStats()}

	var id [4]byte
	_, _ = rand.Read(id[:]) // never fails (Go 1.24+)
	email := fmt.Sprintf("burst-%s@example.com", hex.EncodeToString(id[:]))
	password := "Burst-" + hex.EncodeToString(id[:]) + "-pw"
	r := c.register(ctx, email, password, "Burst Tester")
	if !res.st.record(opBurstRegister, email, r, http.StatusCreated) {
		if r.err != nil {
			return nil, fmt.Errorf("registering %s: %v", email, r.err)
		}
		return nil, fmt.Errorf("registering %s: HTTP %d %s", email, r.status, r.code)
	}
	acct, err := decodeAuth(r)
	if err != nil {
		return nil, fmt.Errorf("registering %s: %v", email, err)
	}
	fmt.Fprintf(out, "burst: registered %s; firing %d concurrent logins at %s\n", email, n, target)

	resps := make([]response, n)
	gate := make(chan struct{})
	var ready, wg sync.WaitGroup
	ready.Add(n)
	for i := range resps {
		wg.Go(func() {
			ready.Done()
			<-gate
			resps[i] = c.login(ctx, email, password)
		})
	}
	ready.Wait()
	start := time.Now()
	close(gate)
	wg.Wait()
	res.elapsed = time.Since(start)

	for _, r := range resps {
		if !res.st.record(opBurstLogin, "", r, http.StatusOK, http.StatusTooManyRequests) {
			continue
		}
		if r.status == http.StatusTooManyRequests {
			res.st.throttled++
			if r.code != "RATE_LIMITED" || r.retryAfter == "" {
				res.st.bad(opBurstLogin, "429 with code %q and Retry-After %q, want RATE_LIMITED with Retry-After", r.code, r.retryAfter)
			}
			continue
		}
		b, err := decodeAuth(r)
		if err == nil && b.User.ID != acct.User.ID {
			err = fmt.Errorf("logged in as %q, registered as %q", b.User.ID, acct.User.ID)
		}
		if err != nil {
			res.st.bad(opBurstLogin, "%v", err)
			continue
		}
		res.ok++
	}
	res.lat = summarize(res.st.lat[opBurstLogin])
	return res, nil
}

// failed reports whether any login answered other than 200 or a clean 429,
// or not at all.
func (b *burstResult) failed() bool {
	return b.st.serverErrs > 0 || b.st.unexpected > 0 || b.st.transportErrors() > 0
}

// statusLine returns the counts of each status and error code of the
// logins, such as "200 x198, 429 RATE_LIMITED x2".
func (b *burstResult) statusLine() string {
	parts := []string{}
	if b.ok > 0 {
		parts = append(parts, fmt.Sprintf("200 x%d", b.ok))
	}
	if b.st.throttled > 0 {
		parts = append(parts, fmt.Sprintf("429 RATE_LIMITED x%d", b.st.throttled))
	}
	keys := slices.SortedFunc(maps.Keys(b.st.outcomes), func(x, y outcome) int {
		return cmp.Or(cmp.Compare(x.status, y.status), strings.Compare(x.code, y.code))
	})
	for _, k := range keys {
		if k.op == opBurstLogin {
			parts = append(parts, fmt.Sprintf("%d %s x%d", k.status, k.code, b.st.outcomes[k]))
		}
	}
	for k, v := range b.st.transport {
		parts = append(parts, fmt.Sprintf("transport error %q x%d", k.code, v))
	}
	return strings.Join(parts, ", ")
}

// print writes the burst report.
func (b *burstResult) print(w io.Writer) {
	secs := b.elapsed.Seconds()
	fmt.Fprintf(w, "burst: %d concurrent logins of one account\n", b.n)
	fmt.Fprintf(w, "  statuses: %s\n", b.statusLine())
	fmt.Fprintf(w, "  total time %s: %.1f logins/s answered, %.1f logins/s successful\n",
		fmtDur(b.elapsed), float64(b.n)/secs, float64(b.ok)/secs)
	fmt.Fprintf(w, "  latency p50 %s, p90 %s, p99 %s, max %s\n", fmtDur(b.lat.p50), fmtDur(b.lat.p90), fmtDur(b.lat.p99), fmtDur(b.lat.max))
	if len(b.st.notes) > 0 {
		fmt.Fprintln(w, "  failure details (first ones):")
		for _, n := range b.st.notes {
			fmt.Fprintln(w, "    "+n)
		}
	}
	if b.failed() {
		fmt.Fprintf(w, "RESULT: FAIL: %d 5xx, %d other unexpected, %d transport errors\n",
			b.st.serverErrs, b.st.unexpected, b.st.transportErrors())
		return
	}
	fmt.Fprintf(w, "RESULT: PASS: every login answered 200 (%d) or a clean 429 (%d)\n", b.ok, b.st.throttled)
}
