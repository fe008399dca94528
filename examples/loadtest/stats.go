package main

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// op is a kind of request, for counting.
type op int

// The operations of the load phase, then those of the checks after it.
const (
	opRegister op = iota
	opLogin
	opMe
	opRefresh
	opSetup         // registrations before the load phase
	opRace          // concurrent refreshes of one token
	opRaceAfter     // the race winner's new token
	opVerifyLogin   // logins of every user
	opVerifyRefresh // the first refresh of every session's token
	opVerifyReuse   // the second presentation of that token
	opBurstRegister // the burst mode's account
	opBurstLogin    // the burst mode's logins
	numOps

	// numLoadOps is how many operations the -mix chooses among: the first
	// ones.
	numLoadOps = opRefresh + 1
)

var opNames = [numOps]string{
	opRegister:      "register",
	opLogin:         "login",
	opMe:            "me",
	opRefresh:       "refresh",
	opSetup:         "setup register",
	opRace:          "race refresh",
	opRaceAfter:     "race successor refresh",
	opVerifyLogin:   "verify login",
	opVerifyRefresh: "verify refresh",
	opVerifyReuse:   "verify reuse",
	opBurstRegister: "burst register",
	opBurstLogin:    "burst login",
}

func (o op) String() string { return opNames[o] }

// outcome is a response status and error code.
type outcome struct {
	op     op
	status int
	code   string
}

// stats counts the requests of one goroutine; merge adds them up. Every
// latency of a request that got a response is kept, so percentiles are
// exact.
type stats struct {
	lat        [numOps][]time.Duration
	outcomes   map[outcome]int // responses other than the expected ones
	transport  map[outcome]int // transport errors; code holds the kind
	serverErrs int             // 5xx responses
	throttled  int             // 429 responses
	unexpected int             // other responses the contract does not allow here
	// notes are details of failures, a few of each kind, for the report.
	notes []string
}

func newStats() *stats {
	return &stats{outcomes: map[outcome]int{}, transport: map[outcome]int{}}
}

// maxNotes caps how many failure details are kept.
const maxNotes = 20

// note keeps a failure detail.
func (s *stats) note(format string, args ...any) {
	if len(s.notes) < maxNotes {
		s.notes = append(s.notes, fmt.Sprintf(format, args...))
	}
}

// record counts r as an answer to o, where the statuses in want are the
// expected ones. It reports whether r is one of them. A 429 counts as
// throttled, a 5xx as a server error, anything else unexpected. who, when
// not empty, names the user concerned in the failure details.
func (s *stats) record(o op, who string, r response, want ...int) bool {
	what := o.String()
	if who != "" {
		what += " (" + who + ")"
	}
	if r.err != nil {
		s.transport[outcome{op: o, code: transportKind(r.err)}]++
		s.note("%s: %v", what, r.err)
		return false
	}
	s.lat[o] = append(s.lat[o], r.latency)
	if slices.Contains(want, r.status) {
		return true
	}
	s.outcomes[outcome{o, r.status, r.code}]++
	switch {
	case r.status >= 500:
		s.serverErrs++
		s.note("%s: HTTP %d %s", what, r.status, r.code)
	case r.status == 429:
		s.throttled++
	default:
		s.unexpected++
		s.note("%s: HTTP %d %s", what, r.status, r.code)
	}
	return false
}

// bad counts a response whose status was right but whose body was not, such
// as another user's id.
func (s *stats) bad(o op, format string, args ...any) {
	s.unexpected++
	s.outcomes[outcome{o, 0, "bad body"}]++
	s.note("%s: %s", o, fmt.Sprintf(format, args...))
}

// merge adds t's counts to s.
func (s *stats) merge(t *stats) {
	for i := range s.lat {
		s.lat[i] = append(s.lat[i], t.lat[i]...)
	}
	for k, v := range t.outcomes {
		s.outcomes[k] += v
	}
	for k, v := range t.transport {
		s.transport[k] += v
	}
	s.serverErrs += t.serverErrs
	s.throttled += t.throttled
	s.unexpected += t.unexpected
	for _, n := range t.notes {
		if len(s.notes) < maxNotes {
			s.notes = append(s.notes, n)
		}
	}
}

// transportErrors returns how many transport errors s counted.
func (s *stats) transportErrors() int {
	n := 0
	for _, v := range s.transport {
		n += v
	}
	return n
}

// count returns how many requests of o got a response or a transport
// error.
func (s *stats) count(o op) int {
	n := len(s.lat[o])
	for k, v := range s.transport {
		if k.op == o {
			n += v
		}
	}
	return n
}

// summary is the latency distribution of one operation.
type summary struct {
	n                       int
	p50, p90, p99, max, avg time.Duration
}

// summarize sorts lat in place and returns its percentiles, by the
// nearest-rank method: the p-th percentile is the smallest latency that at
// least p percent of the latencies do not exceed.
func summarize(lat []time.Duration) summary {
	if len(lat) == 0 {
		return summary{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return summary{
		n:   len(lat),
		p50: percentile(lat, 50),
		p90: percentile(lat, 90),
		p99: percentile(lat, 99),
		max: lat[len(lat)-1],
		avg: sum / time.Duration(len(lat)),
	}
}

// percentile returns the p-th percentile of the sorted, non-empty sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// fmtDur formats d with three significant digits in a unit that suits it.
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 1, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

// outcomeLines returns the counts of m as sorted lines, "op status code n".
func outcomeLines(m map[outcome]int) []string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b outcome) int {
		return cmp.Or(cmp.Compare(a.op, b.op), cmp.Compare(a.status, b.status), strings.Compare(a.code, b.code))
	})
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		status := strconv.Itoa(k.status)
		if k.status == 0 {
			status = "-"
		}
		lines = append(lines, fmt.Sprintf("  %-22s %-4s %-28s %d", k.op, status, k.code, m[k]))
	}
	return lines
}
