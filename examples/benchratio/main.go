// Command benchratio measures the performance goals G1-G17 of
// spec/performance.md the way the spec judges them: every goal is a ratio
// between two benchmarks of the same run, run interleaved (A B A B ...) at
// -cpu=2 for several rounds, and a goal passes on the median of its
// per-round ratios.
//
// It compiles the test binaries of the root package and of ./integration
// once (go test -c), then, in each round, runs each goal's benchmarks one
// after the other, one process per benchmark:
//
//	auth.test -test.run '^$' -test.bench '^BenchmarkX$/^sub$' -test.benchtime=T \
//	    -test.benchmem -test.cpu=2 -test.count=1 -test.v
//
// parses ns/op, B/op, allocs/op and the custom metrics (refresh/s,
// stmts/op, ...), and computes the goal's value for the round. G8 and G8b
// come from the b.Logf lines of BenchmarkLoginBurst, G14 and G15 from
// those of BenchmarkMemstoreFootprint. It prints a table of each goal's bound,
// median [min–max] and verdict, with the absolute figures for orientation.
//
// A benchmark the tool expects that gives no result (renamed or removed)
// or fails is an ERROR, and the tool exits with status 2; a goal outside
// its bound makes it exit 1 (not with -quick, whose one tiny round only
// checks that every benchmark still runs). Benchmarks that skip themselves
// (PostgreSQL without AUTH_TEST_POSTGRES_DSN) are SKIP.
//
// Usage, from anywhere in the repository (scripts/bench wraps it):
//
//	go run ./examples/benchratio [-rounds 10] [-goals G1,G10] [-out perf.md] [-quick]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

var nan = math.NaN()

type options struct {
	root      string
	rounds    int
	benchtime string
	hashtime  string
	sqltime   string
	cpu       int
	goals     map[string]bool // upper-cased goal ids; nil = all
	out       string
	raw       string
	quick     bool
	footprint bool
	g8runs    int
	mysql     bool
	list      bool
	verbose   bool
	note      string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		if code == 0 {
			code = 2
		}
	}
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("benchratio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.root, "root", "", "the repository `dir` (default: found upwards from the working directory)")
	fs.IntVar(&o.rounds, "rounds", 10, "interleaved `rounds` per goal")
	fs.StringVar(&o.benchtime, "benchtime", "500ms", "-benchtime of the microsecond benchmarks (JWT, middleware, refresh)")
	fs.StringVar(&o.hashtime, "hashtime", "30x", "-benchtime of the password-hashing benchmarks")
	fs.StringVar(&o.sqltime, "sqltime", "1s", "-benchtime of the SQL benchmarks")
	fs.IntVar(&o.cpu, "cpu", 2, "the -cpu (GOMAXPROCS) of every run; the spec's figures are at 2")
	goals := fs.String("goals", "", "comma-separated `goals` to run, such as G1,G5,G10 (default all)")
	fs.StringVar(&o.out, "out", "", "write the markdown table to `file`")
	fs.StringVar(&o.raw, "raw", "", "write every benchmark result line to `file` (benchstat input)")
	fs.BoolVar(&o.quick, "quick", false, "smoke run: 1 round, -benchtime=1x everywhere, no verdicts; checks every benchmark still exists and runs")
	fs.BoolVar(&o.footprint, "footprint", false, "judge G14/G15 at AUTH_FOOTPRINT_N=1000000 (about a minute and 1-2 GiB); without it they are logged at 20000")
	fs.IntVar(&o.g8runs, "g8runs", 3, "how many rounds run BenchmarkLoginBurst (3 bursts each)")
	fs.BoolVar(&o.mysql, "mysql", false, "also run the MySQL/MariaDB rows (AUTH_TEST_MYSQL_DSN), which the spec has no goal for")
	fs.BoolVar(&o.list, "list", false, "print the goals and their benchmarks, and exit")
	fs.BoolVar(&o.verbose, "v", false, "print every command and its output")
	fs.StringVar(&o.note, "note", "", "free `text` for the table's header, such as which tree was measured")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *goals != "" {
		o.goals = map[string]bool{}
		for g := range strings.SplitSeq(*goals, ",") {
			if g = strings.ToUpper(strings.TrimSpace(g)); g != "" {
				o.goals[g] = true
			}
		}
	}
	if o.quick {
		o.rounds, o.benchtime, o.hashtime, o.sqltime, o.g8runs = 1, "1x", "1x", "1x", 1
	}
	if o.rounds < 1 {
		return nil, fmt.Errorf("-rounds %d: want at least 1", o.rounds)
	}
	return o, nil
}

// state is what the rounds collected for one group.
type state struct {
	g       *group
	rounds  [][]result           // per complete round, the results in benches order
	samples map[string][]float64 // test groups: per goal
	testAbs map[string]string
	skip    string   // why the group was skipped
	errs    []string // failures and missing benchmarks
	stopped bool     // do not run again (missing, skipped)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0, nil
		}
		return 2, err
	}
	groups := selectGroups(o)
	if len(groups) == 0 {
		return 2, fmt.Errorf("-goals matches no goal")
	}
	if o.list {
		printPlan(stdout, groups, o)
		return 0, nil
	}
	if o.root == "" {
		if o.root, err = findRoot(); err != nil {
			return 2, err
		}
	}
	if strings.Contains(os.Getenv("GOFLAGS"), "-race") {
		fmt.Fprintln(stderr, "benchratio: warning: GOFLAGS has -race; the figures will mean little")
	}

	bindir, err := os.MkdirTemp("", "benchratio-")
	if err != nil {
		return 2, err
	}
	defer os.RemoveAll(bindir)
	r := &runner{root: o.root, bindir: bindir, cpu: o.cpu, timeout: 10 * time.Minute, verbose: o.verbose}
	if o.raw != "" {
		r.raw = new(bytes.Buffer)
	}

	states := make([]*state, len(groups))
	need := map[binary]bool{}
	for i, g := range groups {
		states[i] = &state{g: g, samples: map[string][]float64{}}
		if g.env != "" && os.Getenv(g.env) == "" {
			states[i].skip, states[i].stopped = g.env+" is not set", true
			continue
		}
		for _, b := range g.benches {
			need[b.bin] = true
		}
		if g.test != nil {
			need[g.test.bin] = true
			if g.name == "footprint" && o.footprint {
				g.test.env = append(g.test.env, "AUTH_FOOTPRINT_N=1000000")
			}
			if g.name == "hashbound" {
				g.test.runs = o.g8runs
				if o.quick {
					g.test.benchtime = "1x"
				}
			}
		}
	}
	start := time.Now()
	for _, b := range []binary{rootBin, integrationBin} {
		if need[b] {
			fmt.Fprintf(stderr, "benchratio: building the %s test binary\n", b)
			if err := r.build(ctx, b); err != nil {
				return 2, err
			}
		}
	}
	mach := machine(ctx, o.root)
	if o.note != "" {
		mach += " (" + o.note + ")"
	}
	fmt.Fprintf(stderr, "benchratio: %s\n", mach)

	interrupted := false
rounds:
	for round := 1; round <= o.rounds; round++ {
		t0 := time.Now()
		for _, st := range states {
			if ctx.Err() != nil {
				interrupted = true
				break rounds
			}
			if st.stopped {
				continue
			}
			fmt.Fprintf(stderr, "[round %d/%d %s] %s\n", round, o.rounds, time.Since(start).Round(time.Second), st.g.name)
			if st.g.test != nil {
				runTestGroup(ctx, r, st, round, stderr)
			} else {
				runBenchGroup(ctx, r, o, st, stderr)
			}
		}
		if round == 1 && o.rounds > 1 {
			fmt.Fprintf(stderr, "benchratio: round 1 took %s; about %s to go\n",
				time.Since(t0).Round(time.Second), (time.Since(t0) * time.Duration(o.rounds-1)).Round(time.Second))
		}
	}
	if ctx.Err() != nil {
		interrupted = true
	}
	took := time.Since(start).Round(time.Second)
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			mach += "; " + strings.Join(f[:3], " ") + " at end"
		}
	}

	rep := report(states, o)
	var md bytes.Buffer
	header(&md, o, mach, took, interrupted)
	writeTable(&md, rep)
	fmt.Fprint(stdout, "\n"+md.String())
	if o.out != "" {
		if err := os.WriteFile(o.out, md.Bytes(), 0o644); err != nil {
			return 2, err
		}
	}
	if r.raw != nil {
		if err := os.WriteFile(o.raw, r.raw.Bytes(), 0o644); err != nil {
			return 2, err
		}
	}

	code := 0
	var errs []string
	for _, st := range states {
		for _, e := range st.errs {
			errs = append(errs, st.g.name+": "+e)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "\nbenchratio: %d ERROR(S): the benchmarks below did not run as expected\n", len(errs))
		for _, e := range errs {
			fmt.Fprintln(stderr, "ERROR:", e)
		}
		code = 2
	}
	if interrupted {
		fmt.Fprintln(stderr, "benchratio: interrupted; the table covers the rounds that finished")
		return 2, nil
	}
	if code == 0 && !o.quick {
		for _, l := range rep {
			if l.verdict == "FAIL" {
				code = 1
			}
		}
	}
	return code, nil
}

// runBenchGroup runs one round of a group's benchmarks, in order.
func runBenchGroup(ctx context.Context, r *runner, o *options, st *state, stderr io.Writer) {
	res := make([]result, len(st.g.benches))
	for i, b := range st.g.benches {
		bt := map[timeClass]string{fast: o.benchtime, hash: o.hashtime, sql: o.sqltime}[b.class]
		out, oc, msg := r.runBench(ctx, b, bt)
		switch oc {
		case skipped:
			st.skip, st.stopped = msg, true
			fmt.Fprintf(stderr, "    SKIP %s: %s\n", b.name, msg)
			return
		case missing:
			st.errs, st.stopped = append(st.errs, msg), true
			fmt.Fprintf(stderr, "ERROR: %s\n", msg)
			return
		case failed:
			if ctx.Err() == nil {
				st.errs = append(st.errs, msg)
				fmt.Fprintf(stderr, "ERROR: %s\n", msg)
			}
			return
		}
		res[i] = out
	}
	st.rounds = append(st.rounds, res)
}

// runTestGroup runs a test group's test, if this round is one of its runs.
func runTestGroup(ctx context.Context, r *runner, st *state, round int, stderr io.Writer) {
	ts := st.g.test
	if ts.runs > 0 && round > ts.runs {
		return
	}
	out, oc, msg := r.runTest(ctx, ts)
	switch oc {
	case skipped:
		st.skip, st.stopped = msg, true
		return
	case missing:
		st.errs, st.stopped = append(st.errs, msg), true
		fmt.Fprintf(stderr, "ERROR: %s\n", msg)
		return
	case failed:
		// The test asserts its own bound: a failure is a FAIL of the goal
		// if its figures were logged, an error if they were not.
		fmt.Fprintf(stderr, "    %s\n", strings.SplitN(msg, "\n", 2)[0])
	}
	samples, abs, err := ts.parse(out)
	if err != nil {
		if ctx.Err() == nil {
			st.errs, st.stopped = append(st.errs, err.Error()+"\n"+tail(out, 10)), true
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
		}
		return
	}
	for k, v := range samples {
		st.samples[k] = append(st.samples[k], v...)
	}
	st.testAbs = abs
}

// selectGroups returns the plan's groups that -goals and -mysql select.
func selectGroups(o *options) []*group {
	var gs []*group
	for _, g := range plan() {
		if g.mysql && !o.mysql {
			continue
		}
		if o.goals != nil {
			keep := false
			for _, r := range g.rows {
				keep = keep || o.goals[strings.ToUpper(r.key())]
			}
			if !keep {
				continue
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// findRoot walks up from the working directory to the go.mod of module
// github.com/ingestiq/auth.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && slices.Contains(strings.Split(string(data), "\n"), "module github.com/ingestiq/auth") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the github.com/ingestiq/auth repository; pass -root")
		}
		dir = parent
	}
}

// machine names the machine: CPUs, CPU model, go version, date and load.
func machine(ctx context.Context, root string) string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	gov := runtime.Version()
	cmd := exec.CommandContext(ctx, "go", "version")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		gov = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	load := ""
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			load = ", load average " + strings.Join(f[:3], " ") + " at start"
		}
	}
	return fmt.Sprintf("nproc %d, %s, %s, %s, %s%s", runtime.NumCPU(), model, gov, revision(ctx, root), time.Now().UTC().Format("2006-01-02 15:04 MST"), load)
}

// revision names the commit the binaries were built from, and whether
// tracked files differed from it.
func revision(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "commit unknown"
	}
	rev := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

// printPlan lists the goals and their benchmarks.
func printPlan(w io.Writer, groups []*group, o *options) {
	for _, g := range groups {
		var goals []string
		for _, r := range g.rows {
			goals = append(goals, r.goal+" "+r.variant)
		}
		fmt.Fprintf(w, "%s: %s\n", g.name, strings.Join(goals, ", "))
		for _, b := range g.benches {
			fmt.Fprintf(w, "    %s.test -test.bench '%s'\n", b.bin, benchRegexp(b.name))
		}
		if g.test != nil && g.test.benchtime != "" {
			fmt.Fprintf(w, "    %s.test -test.run '^$' -test.bench '^%s$' -test.benchtime=%s -test.v\n", g.test.bin, g.test.name, g.test.benchtime)
		} else if g.test != nil {
			fmt.Fprintf(w, "    %s.test -test.run '^%s$' -test.v\n", g.test.bin, g.test.name)
		}
		if g.env != "" {
			fmt.Fprintf(w, "    (needs %s)\n", g.env)
		}
	}
}
