package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// failures returns why the run failed, or nothing when it passed.
func (r *report) failures() []string {
	var f []string
	if n := r.st.serverErrs; n > 0 {
		f = append(f, fmt.Sprintf("%d responses with a 5xx status", n))
	}
	if n := r.st.transportErrors(); n > 0 {
		f = append(f, fmt.Sprintf("%d transport errors", n))
	}
	if n := r.st.unexpected; n > 0 {
		f = append(f, fmt.Sprintf("%d responses the contract does not allow", n))
	}
	if n := r.lostUsers(); n > 0 {
		f = append(f, fmt.Sprintf("%d lost users", n))
	}
	if n := r.lostSessions(); n > 0 {
		f = append(f, fmt.Sprintf("%d lost sessions", n))
	}
	if n := r.verify.reuseAccepted; n > 0 {
		f = append(f, fmt.Sprintf("%d spent refresh tokens accepted a second time", n))
	}
	if n := r.verify.usersUnverified + r.verify.sessionsUnverified; n > 0 {
		f = append(f, fmt.Sprintf("%d users or sessions could not be verified", n))
	}
	if r.race.failed() {
		f = append(f, fmt.Sprintf("race check: %d of %d sessions had exactly one winner, %d were revoked after the reuse",
			r.race.exactlyOne, r.race.sessions, r.race.revoked))
	}
	return f
}

func (r *report) lostUsers() int    { return r.verify.usersLost }
func (r *report) lostSessions() int { return r.lostDuringRun + r.verify.sessionsLost }

// opCount returns the requests of o in the load phase.
func (r *report) opCount(o op) int { return r.st.count(o) }

// latencies returns the latency summary of o.
func (r *report) latencies(o op) summary { return summarize(r.st.lat[o]) }

// print writes the report.
func (r *report) print(w io.Writer) {
	secs := r.loadTime.Seconds()
	total := 0
	for o := range numLoadOps {
		total += r.opCount(o)
	}
	fmt.Fprintf(w, "\nload phase: %s, %d requests, %.1f req/s", fmtDur(r.loadTime), total, float64(total)/secs)
	if r.interrupt {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)

	const row = "  %-22s %9s %9s %9s %9s %9s %9s %9s\n"
	fmt.Fprintf(w, row, "operation", "requests", "req/s", "p50", "p90", "p99", "max", "mean")
	line := func(name string, n int, s summary) {
		fmt.Fprintf(w, row, name, strconv.Itoa(n), strconv.FormatFloat(float64(n)/secs, 'f', 1, 64),
			fmtDur(s.p50), fmtDur(s.p90), fmtDur(s.p99), fmtDur(s.max), fmtDur(s.avg))
	}
	var all []time.Duration
	for o := range numLoadOps {
		all = append(all, r.st.lat[o]...)
		line(o.String(), r.opCount(o), r.latencies(o))
	}
	line("all", total, summarize(all))

	fmt.Fprintln(w, "\nchecks before and after the load phase:")
	const row2 = "  %-22s %9s %9s %9s %9s %9s\n"
	fmt.Fprintf(w, row2, "operation", "requests", "p50", "p90", "p99", "max")
	for o := opSetup; o <= opVerifyReuse; o++ {
		if n := r.st.count(o); n > 0 {
			s := r.latencies(o)
			fmt.Fprintf(w, row2, o, strconv.Itoa(n), fmtDur(s.p50), fmtDur(s.p90), fmtDur(s.p99), fmtDur(s.max))
		}
	}

	fmt.Fprintln(w, "\nresponses other than the expected one, by status and error code (all phases):")
	if lines := outcomeLines(r.st.outcomes); len(lines) > 0 {
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	} else {
		fmt.Fprintln(w, "  none")
	}
	fmt.Fprintf(w, "  5xx: %d, 429 (throttled): %d, other unexpected: %d\n", r.st.serverErrs, r.st.throttled, r.st.unexpected)
	fmt.Fprintln(w, "transport errors:")
	if lines := outcomeLines(r.st.transport); len(lines) > 0 {
		fmt.Fprintln(w, strings.Join(lines, "\n"))
	} else {
		fmt.Fprintln(w, "  none")
	}
	if r.unknownUsers+r.unknownSessions > 0 {
		fmt.Fprintf(w, "  left in an unknown state, not verified: %d registrations, %d sessions\n", r.unknownUsers, r.unknownSessions)
	}

	if r.race.ran {
		fmt.Fprintf(w, "\nrace check (%s): %d sessions, each refresh token presented by %d goroutines at once\n",
			fmtDur(r.race.elapsed), r.race.sessions, r.race.width)
		fmt.Fprintf(w, "  exactly one 200: %d/%d; the winner's new token then refused (session revoked by the reuse): %d/%d\n",
			r.race.exactlyOne, r.race.sessions, r.race.revoked, r.race.sessions)
	}

	v := r.verify
	fmt.Fprintf(w, "\nverification (%s):\n", fmtDur(v.elapsed))
	fmt.Fprintf(w, "  users: %d registered (%d in setup, %d during the load); %d log in (200, same id), %d lost, %d unverified\n",
		v.users, r.setupUsers, r.registered, v.usersOK, v.usersLost, v.usersUnverified)
	fmt.Fprintf(w, "  sessions: %d live; %d refresh once (200), %d then refused (401 INVALID_TOKEN), %d lost (%d during the load, %d at verification), %d accepted twice, %d unverified\n",
		v.sessions, v.refreshedOnce, v.refusedTwice, r.lostSessions(), r.lostDuringRun, v.sessionsLost, v.reuseAccepted, v.sessionsUnverified)

	if len(r.st.notes) > 0 {
		fmt.Fprintln(w, "\nfailure details (first ones):")
		for _, n := range r.st.notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	if f := r.failures(); len(f) > 0 {
		fmt.Fprintf(w, "\nRESULT: FAIL: %s\n", strings.Join(f, "; "))
		return
	}
	fmt.Fprintf(w, "\nRESULT: PASS: 0 5xx, 0 transport errors, 0 lost users (%d checked), 0 lost sessions (%d checked)\n", v.users, v.sessions)
}
