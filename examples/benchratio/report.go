package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// line is one row of the table, computed.
type line struct {
	goal, variant, desc, formula string
	bound                        string
	value                        string // median [min–max]
	n                            int
	abs                          string
	verdict                      string // PASS, FAIL, SKIP, ERROR, info, smoke
}

// report computes every selected row from the collected rounds.
func report(states []*state, o *options) []line {
	var lines []line
	for _, st := range states {
		var meds []result
		if st.g.test == nil && len(st.rounds) > 0 {
			for i := range st.g.benches {
				col := make([]result, len(st.rounds))
				for j, rd := range st.rounds {
					col[j] = rd[i]
				}
				meds = append(meds, medianResult(col))
			}
		}
		for _, rw := range st.g.rows {
			if o.goals != nil && !o.goals[strings.ToUpper(rw.key())] {
				continue
			}
			format := rw.format
			if format == nil {
				format = ratioFmt
			}
			cmp := "≤"
			if rw.atLeast {
				cmp = "≥"
			}
			info := rw.info
			note := ""
			if st.g.name == "footprint" && !o.footprint {
				info, note = true, " (not judged below 1M users: run with -footprint)"
			}
			l := line{goal: rw.goal, variant: rw.variant, desc: rw.desc + note, formula: rw.formula}
			switch {
			case info && rw.bound == 0:
				l.bound = "—"
			case info:
				l.bound = "(" + cmp + " " + format(rw.bound) + ")"
			default:
				l.bound = cmp + " " + format(rw.bound)
			}

			var vals []float64
			if st.g.test != nil {
				vals = st.samples[rw.key()]
				l.abs = st.testAbs[rw.key()]
				if st.g.test.abs != nil && len(vals) > 0 {
					l.abs = st.g.test.abs(rw.key(), st.samples)
				}
			} else {
				for _, rd := range st.rounds {
					vals = append(vals, rw.value(rd))
				}
				if len(meds) > 0 && rw.abs != nil {
					l.abs = rw.abs(meds)
				}
			}
			l.n = len(vals)
			if len(vals) > 0 {
				med := median(vals)
				l.value = fmt.Sprintf("%s [%s–%s]", format(med), format(slices.Min(vals)), format(slices.Max(vals)))
				pass := med <= rw.bound
				if rw.atLeast {
					pass = med >= rw.bound
				}
				switch {
				case math.IsNaN(med) || math.IsInf(med, 0):
					l.verdict = "ERROR"
				case o.quick:
					l.verdict = "smoke"
				case info:
					l.verdict = "info"
				case pass:
					l.verdict = "PASS"
				default:
					l.verdict = "FAIL"
				}
			}
			switch {
			case len(st.errs) > 0:
				l.verdict = "ERROR"
				if l.abs == "" {
					l.abs = firstLine(st.errs[0])
				}
			case st.skip != "" && len(vals) == 0:
				l.verdict, l.abs = "SKIP", st.skip
			case len(vals) == 0:
				l.verdict = "ERROR"
			}
			lines = append(lines, l)
		}
	}
	return lines
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// header writes the table's title, the machine and the run's settings.
func header(w io.Writer, o *options, mach string, took time.Duration, interrupted bool) {
	fmt.Fprintf(w, "### Performance goals (spec/performance.md)\n\n")
	fmt.Fprintf(w, "Machine: %s.\n\n", mach)
	mode := fmt.Sprintf("%d rounds, each goal's benchmarks interleaved (A B A B ...), one process per benchmark, -cpu=%d; -benchtime %s (JWT, HTTP), %s (password hashing), %s (SQL); G8/G8b over the bursts of %d run(s) of BenchmarkLoginBurst",
		o.rounds, o.cpu, o.benchtime, o.hashtime, o.sqltime, o.g8runs)
	if o.quick {
		mode = "QUICK SMOKE RUN (-quick: 1 round at -benchtime=1x): the figures are meaningless, only that every benchmark ran is checked"
	}
	if interrupted {
		mode += "; INTERRUPTED, partial"
	}
	fmt.Fprintf(w, "Run: %s; took %s. Value: median per-round ratio [min–max] over n rounds.\n\n", mode, took)
}

// writeTable writes the lines as a markdown table.
func writeTable(w io.Writer, lines []line) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	fmt.Fprintln(w, "| goal | description | numerator ÷ denominator | bound | median [min–max] | n | absolute figures (medians) | verdict |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, l := range lines {
		v := l.verdict
		if v == "PASS" || v == "FAIL" || v == "ERROR" {
			v = "**" + v + "**"
		}
		fmt.Fprintf(w, "| %s %s | %s | %s | %s | %s | %d | %s | %s |\n",
			l.goal, esc(l.variant), esc(l.desc), esc(l.formula), l.bound, l.value, l.n, esc(l.abs), v)
	}
	counts := map[string]int{}
	for _, l := range lines {
		counts[l.verdict]++
	}
	var parts []string
	for _, v := range []string{"PASS", "FAIL", "ERROR", "SKIP", "info", "smoke"} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	fmt.Fprintf(w, "\n%s.\n", strings.Join(parts, ", "))
}
