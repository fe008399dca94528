package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// user is an account the load test registered, with what it needs to log
// in.
type user struct {
	email, password, id string
}

// session is a live session: the latest tokens the server issued for it.
type session struct {
	user     *user
	access   string
	accessAt time.Time // when access was issued
	refresh  string
}

// accessMaxAge is how old an access token may be before a worker refreshes
// its session instead of using it: well within the server's default
// lifetime of 15 minutes, so that runs longer than that see no expired
// tokens.
const accessMaxAge = 10 * time.Minute

// worker sends one request after another. It owns its users and sessions:
// no other goroutine touches them until it has finished.
type worker struct {
	id    int
	runID string
	c     *client
	mix   mix
	rng   *mrand.Rand
	st    *stats
	seq   int // numbers the worker's new users

	users    []*user
	sessions []*session // live sessions

	registered      int // users registered during the load phase
	lostSessions    int // sessions the server refused during the load phase
	unknownUsers    int // registrations whose outcome is unknown
	unknownSessions int // sessions whose state is unknown
}

// newUser returns a user no other worker or run will register.
func (w *worker) newUser() *user {
	w.seq++
	var pw [12]byte
	for i := range pw {
		pw[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[w.rng.IntN(36)]
	}
	return &user{
		email:    fmt.Sprintf("lt-%s-w%d-%d@example.com", w.runID, w.id, w.seq),
		password: "Lt-" + string(pw[:]),
	}
}

// register registers a new user, counting the request as o, and adds the
// user and its first session.
func (w *worker) register(ctx context.Context, o op) bool {
	u := w.newUser()
	r := w.c.register(ctx, u.email, u.password, fmt.Sprintf("Load Tester %d", w.id))
	if !w.st.record(o, u.email, r, http.StatusCreated) {
		if r.err != nil || r.status >= 500 {
			// The user may exist or not.
			w.unknownUsers++
		}
		return false
	}
	b, err := decodeAuth(r)
	if err == nil && b.User.Email != u.email {
		err = fmt.Errorf("registered %s, answered user %s", u.email, b.User.Email)
	}
	if err != nil {
		w.st.bad(o, "%v", err)
		w.unknownUsers++
		return false
	}
	u.id = b.User.ID
	w.users = append(w.users, u)
	w.sessions = append(w.sessions, &session{user: u, access: b.AccessToken, accessAt: time.Now(), refresh: b.RefreshToken})
	if o == opRegister {
		w.registered++
	}
	return true
}

// login logs one of the worker's users in and adds the new session.
func (w *worker) login(ctx context.Context) {
	if len(w.users) == 0 {
		w.register(ctx, opRegister)
		return
	}
	u := w.users[w.rng.IntN(len(w.users))]
	r := w.c.login(ctx, u.email, u.password)
	if !w.st.record(opLogin, u.email, r, http.StatusOK) {
		// A failed login changes nothing we rely on; a lost user shows in
		// the verification.
		return
	}
	b, err := decodeAuth(r)
	if err == nil && b.User.ID != u.id {
		err = fmt.Errorf("logged in %s (%s), answered user %s", u.email, u.id, b.User.ID)
	}
	if err != nil {
		w.st.bad(opLogin, "%v", err)
		return
	}
	w.sessions = append(w.sessions, &session{user: u, access: b.AccessToken, accessAt: time.Now(), refresh: b.RefreshToken})
}

// me asks who the access token of one of the worker's sessions belongs to.
func (w *worker) me(ctx context.Context) {
	if len(w.sessions) == 0 {
		w.login(ctx)
		return
	}
	i := w.rng.IntN(len(w.sessions))
	s := w.sessions[i]
	if time.Since(s.accessAt) > accessMaxAge {
		w.refreshSession(ctx, i)
		return
	}
	r := w.c.me(ctx, s.access)
	if !w.st.record(opMe, s.user.email, r, http.StatusOK) {
		if r.status == http.StatusUnauthorized {
			// The session is live as far as we know: the server lost it.
			w.lostSessions++
			w.drop(i)
		}
		return
	}
	b, err := decodeMe(r)
	if err == nil && b.User.ID != s.user.id {
		err = fmt.Errorf("the session of %s (%s) answered user %q", s.user.email, s.user.id, b.User.ID)
	}
	if err != nil {
		w.st.bad(opMe, "%v", err)
	}
}

// refresh rotates the refresh token of one of the worker's sessions.
func (w *worker) refresh(ctx context.Context) {
	if len(w.sessions) == 0 {
		w.login(ctx)
		return
	}
	w.refreshSession(ctx, w.rng.IntN(len(w.sessions)))
}

func (w *worker) refreshSession(ctx context.Context, i int) {
	s := w.sessions[i]
	r := w.c.refresh(ctx, s.refresh)
	if !w.st.record(opRefresh, s.user.email, r, http.StatusOK) {
		switch {
		case r.status == http.StatusTooManyRequests:
			// Throttled before the token was looked at: still live.
		case r.status == http.StatusUnauthorized:
			w.lostSessions++
			w.drop(i)
		default:
			// The token may have been spent or not.
			w.unknownSessions++
			w.drop(i)
		}
		return
	}
	b, err := decodePair(r)
	if err != nil {
		w.st.bad(opRefresh, "%v", err)
		w.unknownSessions++
		w.drop(i)
		return
	}
	s.access, s.accessAt, s.refresh = b.AccessToken, time.Now(), b.RefreshToken
}

// drop forgets session i.
func (w *worker) drop(i int) {
	last := len(w.sessions) - 1
	w.sessions[i] = w.sessions[last]
	w.sessions[last] = nil
	w.sessions = w.sessions[:last]
}

// loop sends requests until the deadline passes or ctx is done, counting
// each in done.
func (w *worker) loop(ctx context.Context, deadline time.Time, done *atomic.Int64) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		switch w.mix.pick(w.rng) {
		case opRegister:
			w.register(ctx, opRegister)
		case opLogin:
			w.login(ctx)
		case opMe:
			w.me(ctx)
		case opRefresh:
			w.refresh(ctx)
		}
		done.Add(1)
	}
}

// report is the outcome of a load test.
type report struct {
	runID      string
	seed       uint64
	setupUsers int
	setupTime  time.Duration
	loadTime   time.Duration
	st         *stats // every request of every phase
	interrupt  bool   // the load phase was cut short by a signal

	registered      int
	lostDuringRun   int
	unknownUsers    int
	unknownSessions int

	race   raceResult
	verify verifyResult
}

// runLoad runs the setup, the load phase, the race check and the
// verification, printing progress to out.
func runLoad(ctx context.Context, cfg *config, out io.Writer) (*report, error) {
	target, err := checkTarget(cfg.url, cfg.allowRemote)
	if err != nil {
		return nil, err
	}
	c := newClient(target, cfg.concurrency, cfg.timeout, cfg.allowRemote)
	defer c.close()

	var id [4]byte
	_, _ = rand.Read(id[:]) // never fails (Go 1.24+)
	rep := &report{runID: hex.EncodeToString(id[:]), seed: cfg.seed, st: newStats()}
	if rep.seed == 0 {
		rep.seed = mrand.Uint64()
	}
	fmt.Fprintf(out, "loadtest: run %s against %s\n", rep.runID, target)
	fmt.Fprintf(out, "  workers %d, duration %s, seed %d, mix %s\n", cfg.concurrency, cfg.duration, rep.seed, &cfg.mix)

	workers := make([]*worker, cfg.concurrency)
	for i := range workers {
		workers[i] = &worker{
			id: i, runID: rep.runID, c: c, mix: cfg.mix, st: newStats(),
			rng: mrand.New(mrand.NewPCG(rep.seed, uint64(i))),
		}
	}

	// Setup: each worker registers its share of the users.
	start := time.Now()
	var wg sync.WaitGroup
	for i, w := range workers {
		n := cfg.users / cfg.concurrency
		if i < cfg.users%cfg.concurrency {
			n++
		}
		wg.Go(func() {
			for range n {
				if ctx.Err() != nil {
					return
				}
				w.register(ctx, opSetup)
			}
		})
	}
	wg.Wait()
	rep.setupTime = time.Since(start)
	setup := newStats()
	for _, w := range workers {
		rep.setupUsers += len(w.users)
		setup.merge(w.st)
		w.st = newStats()
	}
	rep.st.merge(setup)
	if rep.setupUsers < cfg.users {
		msg := fmt.Sprintf("setup: only %d of %d users registered", rep.setupUsers, cfg.users)
		if len(setup.notes) > 0 {
			msg += "; first failure: " + setup.notes[0]
		}
		if setup.throttled > 0 {
			msg += " (throttled: is the server running with -no-throttle?)"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	fmt.Fprintf(out, "setup: registered %d users in %s\n", rep.setupUsers, fmtDur(rep.setupTime))

	// Load.
	fmt.Fprintf(out, "load: %d workers for %s ...\n", cfg.concurrency, cfg.duration)
	var done atomic.Int64
	start = time.Now()
	deadline := start.Add(cfg.duration)
	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.progress > 0 {
		progress.Go(func() {
			t := time.NewTicker(cfg.progress)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case now := <-t.C:
					el := now.Sub(start)
					fmt.Fprintf(out, "  %5.0fs  %d requests, %.1f req/s\n", el.Seconds(), done.Load(), float64(done.Load())/el.Seconds())
				}
			}
		})
	}
	for _, w := range workers {
		wg.Go(func() { w.loop(ctx, deadline, &done) })
	}
	wg.Wait()
	close(stopProgress)
	progress.Wait()
	rep.loadTime = time.Since(start)
	rep.interrupt = ctx.Err() != nil
	for _, w := range workers {
		rep.st.merge(w.st)
		w.st = newStats()
		rep.registered += w.registered
		rep.lostDuringRun += w.lostSessions
		rep.unknownUsers += w.unknownUsers
		rep.unknownSessions += w.unknownSessions
	}

	// The checks go on after an interrupt: a second one ends the program.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.verifyTimeout)
	defer cancel()
	if cfg.raceSessions > 0 {
		fmt.Fprintf(out, "race check ...\n")
		rep.race = raceCheck(cctx, c, workers, cfg.raceSessions, min(max(cfg.concurrency, 2), 8), rep.st)
	}
	fmt.Fprintf(out, "verification ...\n")
	rep.verify = verify(cctx, c, workers, cfg.concurrency, rep.st)
	return rep, nil
}
