package main

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// raceResult is the outcome of the concurrent-refresh check.
type raceResult struct {
	ran        bool
	sessions   int // sessions raced
	width      int // concurrent refreshes per token
	exactlyOne int // sessions where exactly one refresh succeeded
	revoked    int // sessions whose winner's new token was then refused
	elapsed    time.Duration
}

func (r raceResult) failed() bool {
	return r.ran && (r.exactlyOne != r.sessions || r.revoked != r.sessions)
}

// raceCheck takes up to n live sessions away from the workers, which have
// finished, and presents the refresh token of each from width goroutines at
// once. Exactly one may succeed: rotation is atomic. The others present a
// spent token, which is reuse, so the session must then be revoked: the
// winner's new refresh token is refused as well.
func raceCheck(ctx context.Context, c *client, workers []*worker, n, width int, st *stats) raceResult {
	res := raceResult{ran: true, width: width}
	start := time.Now()
	var picked []*session
	for len(picked) < n {
		took := false
		for _, w := range workers {
			if len(picked) < n && len(w.sessions) > 0 {
				picked = append(picked, w.sessions[len(w.sessions)-1])
				w.drop(len(w.sessions) - 1)
				took = true
			}
		}
		if !took {
			break
		}
	}
	res.sessions = len(picked)
	for _, s := range picked {
		if ctx.Err() != nil {
			break
		}
		resps := make([]response, width)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range resps {
			wg.Go(func() {
				<-gate
				resps[i] = c.refresh(ctx, s.refresh)
			})
		}
		close(gate)
		wg.Wait()
		wins := 0
		var next string
		for _, r := range resps {
			if !st.record(opRace, s.user.email, r, http.StatusOK, http.StatusUnauthorized) {
				continue
			}
			if r.status == http.StatusUnauthorized {
				if r.code != "INVALID_TOKEN" {
					st.bad(opRace, "a losing refresh answered 401 %s, want INVALID_TOKEN", r.code)
				}
				continue
			}
			wins++
			if b, err := decodePair(r); err != nil {
				st.bad(opRace, "%v", err)
			} else {
				next = b.RefreshToken
			}
		}
		if wins != 1 {
			st.note("race: %d of %d concurrent refreshes of one token succeeded, want exactly 1", wins, width)
			continue
		}
		res.exactlyOne++
		if next == "" {
			continue
		}
		r := c.refresh(ctx, next)
		if st.record(opRaceAfter, s.user.email, r, http.StatusUnauthorized) {
			if r.code == "INVALID_TOKEN" {
				res.revoked++
			} else {
				st.bad(opRaceAfter, "the winner's new refresh token answered 401 %s after the reuse, want INVALID_TOKEN", r.code)
			}
		}
	}
	res.elapsed = time.Since(start)
	return res
}

// verifyResult is the outcome of the verification.
type verifyResult struct {
	users           int // users registered by the run
	usersOK         int // users who logged in with the right id
	usersLost       int // users refused as unknown (401 INVALID_CREDENTIALS)
	usersUnverified int // users whose login failed otherwise or was not tried

	sessions           int // live sessions
	refreshedOnce      int // sessions whose token refreshed (200)
	refusedTwice       int // and was then refused (401 INVALID_TOKEN)
	sessionsLost       int // sessions whose token was refused (401)
	reuseAccepted      int // sessions whose spent token was accepted again
	sessionsUnverified int // sessions whose check failed otherwise or was not tried

	elapsed time.Duration
}

// verify checks, with conc goroutines, that every user of the workers logs
// in and that every live session's latest refresh token refreshes exactly
// once.
func verify(ctx context.Context, c *client, workers []*worker, conc int, st *stats) verifyResult {
	var res verifyResult
	start := time.Now()
	type job struct {
		u *user
		s *session
	}
	jobs := make(chan job)
	results := make(chan verifyResult)
	stats := make([]*stats, conc)
	var wg sync.WaitGroup
	for i := range conc {
		stats[i] = newStats()
		vs := stats[i]
		wg.Go(func() {
			var r verifyResult
			for j := range jobs {
				if j.s != nil {
					verifySession(ctx, c, j.s, vs, &r)
				} else {
					verifyUser(ctx, c, j.u, vs, &r)
				}
			}
			results <- r
		})
	}
	// Sessions first: their refreshes are cheap, the logins are not.
	go func() {
		for _, w := range workers {
			for _, s := range w.sessions {
				jobs <- job{s: s}
			}
		}
		for _, w := range workers {
			for _, u := range w.users {
				jobs <- job{u: u}
			}
		}
		close(jobs)
	}()
	for range conc {
		r := <-results
		res.usersOK += r.usersOK
		res.usersLost += r.usersLost
		res.usersUnverified += r.usersUnverified
		res.refreshedOnce += r.refreshedOnce
		res.refusedTwice += r.refusedTwice
		res.sessionsLost += r.sessionsLost
		res.reuseAccepted += r.reuseAccepted
		res.sessionsUnverified += r.sessionsUnverified
	}
	wg.Wait()
	for _, vs := range stats {
		st.merge(vs)
	}
	for _, w := range workers {
		res.users += len(w.users)
		res.sessions += len(w.sessions)
	}
	res.elapsed = time.Since(start)
	return res
}

// verifyUser checks that u logs in as itself.
func verifyUser(ctx context.Context, c *client, u *user, st *stats, res *verifyResult) {
	if ctx.Err() != nil {
		res.usersUnverified++
		return
	}
	r := c.login(ctx, u.email, u.password)
	if !st.record(opVerifyLogin, u.email, r, http.StatusOK) {
		if r.status == http.StatusUnauthorized && r.code == "INVALID_CREDENTIALS" {
			res.usersLost++
		} else {
			res.usersUnverified++
		}
		return
	}
	b, err := decodeAuth(r)
	if err == nil && b.User.ID != u.id {
		st.note("lost user: %s logged in as %q, registered as %q", u.email, b.User.ID, u.id)
		res.usersLost++
		return
	}
	if err != nil {
		st.bad(opVerifyLogin, "%v", err)
		res.usersUnverified++
		return
	}
	res.usersOK++
}

// verifySession checks that the latest refresh token of s refreshes once
// and is then refused as spent.
func verifySession(ctx context.Context, c *client, s *session, st *stats, res *verifyResult) {
	if ctx.Err() != nil {
		res.sessionsUnverified++
		return
	}
	r := c.refresh(ctx, s.refresh)
	if !st.record(opVerifyRefresh, s.user.email, r, http.StatusOK) {
		if r.status == http.StatusUnauthorized {
			res.sessionsLost++
		} else {
			res.sessionsUnverified++
		}
		return
	}
	if _, err := decodePair(r); err != nil {
		st.bad(opVerifyRefresh, "%v", err)
		res.sessionsUnverified++
		return
	}
	res.refreshedOnce++
	r = c.refresh(ctx, s.refresh)
	switch {
	case !st.record(opVerifyReuse, s.user.email, r, http.StatusUnauthorized):
		if r.status == http.StatusOK {
			res.reuseAccepted++
		} else {
			res.sessionsUnverified++
		}
	case r.code != "INVALID_TOKEN":
		st.bad(opVerifyReuse, "a spent refresh token answered 401 %s, want INVALID_TOKEN", r.code)
		res.sessionsUnverified++
	default:
		res.refusedTwice++
	}
}
