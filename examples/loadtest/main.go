// Command loadtest drives a running reference server (examples/server) with
// a mix of register, login, me and refresh requests at a chosen concurrency
// for a chosen time, then checks that no data was lost.
//
// Start a server with throttling off (the load test registers many users
// from one address), then point the load test at it:
//
//	AUTH_SECRET="$(openssl rand -base64 48)" go run ./examples/server -addr 127.0.0.1:3000 -no-throttle -db sqlite:/tmp/lt.db &
//	go run ./examples/loadtest -c 16 -d 60s
//
// scripts/loadtest.sh does both.
//
// # What it does
//
//  1. Setup: registers -users users (default: one per worker), shared out
//     among the workers.
//  2. Load: -c workers each send one request after another for -d, choosing
//     each operation at random with the -mix weights. Each worker owns its
//     users and sessions: it logs in only its own users and refreshes only
//     its own sessions, so no two workers ever rotate the same refresh token
//     and every refresh is expected to succeed. A register adds a user and a
//     session, a login adds a session, me reads a session's user, and a
//     refresh rotates a session's refresh token.
//  3. Race check: the refresh tokens of -race-sessions sessions are each
//     presented by several goroutines at once; exactly one may succeed, and
//     the reuse must revoke the session (the winner's new refresh token is
//     refused too). This and the second presentation of step 4 expect
//     strict single use: run the server with its reuse window off
//     (examples/server -reuse-window 0, Config.Sessions.RefreshReuseWindow < 0).
//  4. Verification: every user the run registered (setup included) must log
//     in (200, same user id), and the latest refresh token of every live
//     session must refresh exactly once: 200, then 401 INVALID_TOKEN when it
//     is presented a second time.
//
// The report gives the requests and throughput per operation, latency
// percentiles (p50, p90, p99, max; exact, from every latency kept),
// responses other than the expected one by status and error code, transport
// errors, and the verification's counts. The exit status is 0 when every
// check passed, 1 when any did (any 5xx, any transport error, any response
// the contract does not allow, any lost user or session, a failed race
// check), and 2 for bad flags. 429 RATE_LIMITED answers are reported but are
// not failures: they leave the user's data as it was.
//
// An interrupt (Ctrl-C) ends the load phase early; the race check and the
// verification still run, and a second interrupt ends the program.
//
// # Burst mode
//
// With -burst N the program instead registers one account and fires N
// logins of it at the same moment, then reports their statuses, latencies,
// the total time and logins per second. It fails on anything but 200 and
// 429. scripts/login-burst.sh runs it while it samples the server's memory.
//
// # Safety
//
// The program talks to the host of -url only: it follows no redirects,
// ignores proxy settings, and, unless -allow-remote is given, refuses a host
// that is not a loopback address and refuses to connect anywhere but to a
// loopback address.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second signal ends the program at once.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	url           string
	concurrency   int
	duration      time.Duration
	users         int
	mix           mix
	seed          uint64
	timeout       time.Duration
	raceSessions  int
	verifyTimeout time.Duration
	progress      time.Duration
	allowRemote   bool
	burst         int
}

// defaultURL is where the reference server serves the auth routes when run
// with -addr 127.0.0.1:3000.
const defaultURL = "http://127.0.0.1:3000/api/v2/auth"

// parseFlags parses args into a config, writing usage and errors to w.
func parseFlags(args []string, w io.Writer) (*config, error) {
	cfg := &config{mix: defaultMix}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&cfg.url, "url", defaultURL, "the `URL` the auth routes are served under")
	fs.IntVar(&cfg.concurrency, "c", 16, "how many workers send requests at once")
	fs.DurationVar(&cfg.duration, "d", 60*time.Second, "how long the load phase runs")
	var users optionalInt
	fs.Var(&users, "users", "how many users (`N`) to register before the load phase (default: the value of -c)")
	fs.Var(&cfg.mix, "mix", "the `weights` of the operations, as register=5,login=10,me=60,refresh=25 or 5,10,60,25")
	fs.Uint64Var(&cfg.seed, "seed", 0, "the seed of the operation sequence (0: a random one, printed)")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "the time limit of each request")
	fs.IntVar(&cfg.raceSessions, "race-sessions", 8, "how many sessions the concurrent-refresh check uses (0: skip it)")
	fs.DurationVar(&cfg.verifyTimeout, "verify-timeout", 10*time.Minute, "the time limit of the verification")
	fs.DurationVar(&cfg.progress, "progress", 10*time.Second, "how often to print progress during the load phase (0: never)")
	fs.BoolVar(&cfg.allowRemote, "allow-remote", false, "allow a -url host that is not a loopback address")
	fs.IntVar(&cfg.burst, "burst", 0, "instead of the load test, fire `N` concurrent logins of one new account")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		// The flag package has printed the error and the usage.
		return nil, errReported
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.users = cfg.concurrency
	if users.set {
		cfg.users = users.n
	}
	switch {
	case cfg.concurrency < 1:
		return nil, errors.New("-c must be at least 1")
	case cfg.duration <= 0:
		return nil, errors.New("-d must be positive")
	case cfg.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case cfg.verifyTimeout <= 0:
		return nil, errors.New("-verify-timeout must be positive")
	case cfg.raceSessions < 0:
		return nil, errors.New("-race-sessions must not be negative")
	case cfg.progress < 0:
		return nil, errors.New("-progress must not be negative")
	case cfg.users < 0:
		return nil, errors.New("-users must not be negative")
	case cfg.burst < 0:
		return nil, errors.New("-burst must not be negative")
	}
	if _, err := checkTarget(cfg.url, cfg.allowRemote); err != nil {
		return nil, err
	}
	return cfg, nil
}

// errReported is a flag error that was already printed.
var errReported = errors.New("bad flags")

// run runs the program with the given arguments and returns its exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	if cfg.burst > 0 {
		res, err := runBurst(ctx, cfg, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest:", err)
			return 1
		}
		res.print(stdout)
		if res.failed() {
			return 1
		}
		return 0
	}
	rep, err := runLoad(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	rep.print(stdout)
	if len(rep.failures()) > 0 {
		return 1
	}
	return 0
}

// optionalInt is an integer flag that knows whether it was given.
type optionalInt struct {
	n   int
	set bool
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

func (o *optionalInt) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return errors.New("not a whole number")
	}
	o.n, o.set = n, true
	return nil
}
