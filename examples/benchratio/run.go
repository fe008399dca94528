package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is one benchmark's line of output.
type result struct {
	name    string
	ns      float64 // ns/op
	bytes   float64 // B/op
	allocs  float64 // allocs/op
	metrics map[string]float64
	logs    []string // what the benchmark logged (indented lines)
}

// metric returns a custom metric such as refresh/s (0 when absent).
func (r *result) metric(unit string) float64 { return r.metrics[unit] }

// logged returns the first submatch of re in the benchmark's log lines.
func (r *result) logged(re *regexp.Regexp) string {
	for _, l := range r.logs {
		if m := re.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// outcome is how one invocation of a benchmark or test went.
type outcome int

const (
	ok      outcome = iota
	skipped         // the benchmark skipped itself (a DSN not set)
	missing         // no result at all: renamed or removed
	failed          // --- FAIL or a non-zero exit
)

// runner builds the test binaries and runs them.
type runner struct {
	root    string // the repository root
	bindir  string
	cpu     int
	timeout time.Duration
	verbose bool
	raw     *bytes.Buffer // benchmark lines for benchstat, with their headers
	lastPkg string
}

// pkgDir is where a binary's package lives and runs.
func (r *runner) pkgDir(b binary) string {
	if b == integrationBin {
		return filepath.Join(r.root, "integration")
	}
	return r.root
}

func (r *runner) binPath(b binary) string { return filepath.Join(r.bindir, string(b)+".test") }

// build compiles the test binary of b once.
func (r *runner) build(ctx context.Context, b binary) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", r.binPath(b), ".")
	cmd.Dir = r.pkgDir(b)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -c in %s: %v\n%s", cmd.Dir, err, out)
	}
	return nil
}

// benchRegexp returns the -test.bench pattern that selects exactly name:
// each level anchored, as go test splits the pattern on slashes.
func benchRegexp(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// exec runs a test binary with args and the extra environment, and returns
// its combined output and exit error.
func (r *runner) exec(ctx context.Context, b binary, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout+time.Minute)
	defer cancel()
	args = append(args, "-test.timeout="+r.timeout.String())
	cmd := exec.CommandContext(ctx, r.binPath(b), args...)
	cmd.Dir = r.pkgDir(b)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if r.verbose {
		fmt.Fprintf(os.Stderr, "$ %s %s\n%s", filepath.Base(cmd.Path), strings.Join(args, " "), out)
	}
	return string(out), err
}

// runBench runs one benchmark once and returns its result.
func (r *runner) runBench(ctx context.Context, bn bench, benchtime string) (result, outcome, string) {
	out, err := r.exec(ctx, bn.bin, nil,
		"-test.run=^$", "-test.bench="+benchRegexp(bn.name), "-test.benchtime="+benchtime,
		"-test.benchmem", "-test.cpu="+strconv.Itoa(r.cpu), "-test.count=1", "-test.v")
	res, found := parseBench(out, bn.name, r.cpu)
	switch {
	case err != nil || strings.Contains(out, "--- FAIL"):
		return res, failed, fmt.Sprintf("%s failed (%v):\n%s", bn.name, err, tail(out, 15))
	case found:
		r.keepRaw(out, res)
		return res, ok, ""
	}
	if reason, ok := skipReason(out, bn.name); ok {
		return res, skipped, reason
	}
	return res, missing, fmt.Sprintf("benchmark %s (-test.bench '%s') gave no result: renamed or removed?\n%s",
		bn.name, benchRegexp(bn.name), tail(out, 10))
}

// runTest runs a test (or a testSpec's benchmark) with -v and returns its
// output.
func (r *runner) runTest(ctx context.Context, ts *testSpec) (string, outcome, string) {
	sel := []string{"-test.run=^" + regexp.QuoteMeta(ts.name) + "$"}
	if ts.benchtime != "" {
		sel = []string{"-test.run=^$", "-test.bench=^" + regexp.QuoteMeta(ts.name) + "$", "-test.benchtime=" + ts.benchtime}
	}
	out, err := r.exec(ctx, ts.bin, ts.env, append(sel, "-test.cpu="+strconv.Itoa(r.cpu), "-test.count=1", "-test.v")...)
	if !strings.Contains(out, "=== RUN   "+ts.name) && !strings.Contains(out, ts.name+"-") {
		return out, missing, fmt.Sprintf("test %s did not run: renamed or removed?\n%s", ts.name, tail(out, 10))
	}
	if reason, ok := skipReason(out, ts.name); ok {
		return out, skipped, reason
	}
	if err != nil {
		// A failing test still logs its figures; the verdict comes from them.
		return out, failed, fmt.Sprintf("%s failed (%v):\n%s", ts.name, err, tail(out, 15))
	}
	return out, ok, ""
}

// parseBench finds the result line of name in a benchmark run's output.
// Result lines read "BenchmarkX/sub-CPU  N  V unit  V unit ...".
func parseBench(out, name string, cpu int) (result, bool) {
	res := result{name: name, metrics: map[string]float64{}}
	found := false
	suffix := "-" + strconv.Itoa(cpu)
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark") && strings.TrimSuffix(f[0], suffix) == name {
			if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
				continue
			}
			found = true
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				switch f[i+1] {
				case "ns/op":
					res.ns = v
				case "B/op":
					res.bytes = v
				case "allocs/op":
					res.allocs = v
				default:
					res.metrics[f[i+1]] = v
				}
			}
			continue
		}
		// One benchmark per run: its log lines, which -test.v prints as
		// they come, before or after the result line, are all indented.
		if strings.HasPrefix(line, "    ") {
			res.logs = append(res.logs, strings.TrimSpace(line))
		}
	}
	return res, found
}

// skipReason reports whether name, or one of its parents, skipped, and the
// message it logged.
func skipReason(out, name string) (string, bool) {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "--- SKIP: ")
		if !ok {
			continue
		}
		skippedName := strings.Fields(rest)[0]
		if skippedName == name || strings.HasPrefix(name, skippedName+"/") {
			var msg []string
			for _, l := range lines[i+1:] {
				if !strings.HasPrefix(l, "    ") {
					break
				}
				msg = append(msg, strings.TrimSpace(l))
			}
			if len(msg) == 0 {
				// Benchmarks print their skip message above the SKIP line.
				for j := i - 1; j >= 0 && strings.HasPrefix(lines[j], "    "); j-- {
					msg = append([]string{strings.TrimSpace(lines[j])}, msg...)
				}
			}
			return strings.Join(msg, " "), true
		}
	}
	return "", false
}

// keepRaw keeps the result line, and the header lines benchstat groups by,
// for the -raw file.
func (r *runner) keepRaw(out string, res result) {
	if r.raw == nil {
		return
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "pkg:":
			if line != r.lastPkg {
				r.raw.WriteString(line)
				r.lastPkg = line
			}
		case strings.HasPrefix(f[0], "Benchmark") && len(f) >= 4:
			r.raw.WriteString(line)
		}
	}
}

// tail returns the last n lines of s, indented.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}

func atof(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// median returns the median of vs (the mean of the middle two for an even
// count), or NaN for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return nan
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianResult returns a result whose every figure is the median of rs's.
func medianResult(rs []result) result {
	if len(rs) == 0 {
		return result{metrics: map[string]float64{}}
	}
	pick := func(f func(result) float64) float64 {
		vs := make([]float64, len(rs))
		for i, r := range rs {
			vs[i] = f(r)
		}
		return median(vs)
	}
	m := result{
		name:    rs[0].name,
		ns:      pick(func(r result) float64 { return r.ns }),
		bytes:   pick(func(r result) float64 { return r.bytes }),
		allocs:  pick(func(r result) float64 { return r.allocs }),
		metrics: map[string]float64{},
		logs:    rs[0].logs,
	}
	for unit := range rs[0].metrics {
		m.metrics[unit] = pick(func(r result) float64 { return r.metrics[unit] })
	}
	return m
}
