package main

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

const sampleBench = `goos: linux
goarch: amd64
pkg: github.com/ingestiq/auth/integration
cpu: AMD EPYC
BenchmarkRefresh
BenchmarkRefresh/sqlite_mem
BenchmarkRefresh/sqlite_mem-2         	     100	    442015 ns/op	      2262 refresh/s	         3.000 stmts/op	   28767 B/op	     320 allocs/op
--- BENCH: BenchmarkRefresh/sqlite_mem-2
    bench_test.go:245: sqlite_mem: statements of one refresh: SELECT UPDATE INSERT
PASS
`

func TestParseBench(t *testing.T) {
	r, found := parseBench(sampleBench, "BenchmarkRefresh/sqlite_mem", 2)
	if !found {
		t.Fatal("result line not found")
	}
	if r.ns != 442015 || r.bytes != 28767 || r.allocs != 320 {
		t.Errorf("ns %v B %v allocs %v", r.ns, r.bytes, r.allocs)
	}
	if r.metric("refresh/s") != 2262 || r.metric("stmts/op") != 3 {
		t.Errorf("metrics %v", r.metrics)
	}
	if got := r.logged(stmtsLine); got != "SELECT UPDATE INSERT" {
		t.Errorf("logged statements %q", got)
	}
	if _, found := parseBench(sampleBench, "BenchmarkRefresh/sqlite", 2); found {
		t.Error("a prefix of the name matched")
	}
	if _, found := parseBench(sampleBench, "BenchmarkRefresh/sqlite_mem", 4); found {
		t.Error("the wrong -cpu suffix matched")
	}
}

func TestSkipReason(t *testing.T) {
	out := `BenchmarkBaselinePGRotationTx
    bench_test.go:126: AUTH_TEST_POSTGRES_DSN not set; skipping the postgres benchmark
--- SKIP: BenchmarkBaselinePGRotationTx
PASS
`
	reason, ok := skipReason(out, "BenchmarkBaselinePGRotationTx")
	if !ok || !strings.Contains(reason, "AUTH_TEST_POSTGRES_DSN not set") {
		t.Errorf("skipReason = %q, %v", reason, ok)
	}
	if _, ok := skipReason(out, "BenchmarkBaselinePGRotationTxParallel"); ok {
		t.Error("another benchmark's skip counted")
	}
	test := "=== RUN   TestX\n--- SKIP: TestX (0.00s)\n    x_test.go:1: short\n"
	if reason, ok := skipReason(test, "TestX"); !ok || reason != "x_test.go:1: short" {
		t.Errorf("test skip = %q, %v", reason, ok)
	}
}

func TestBenchRegexp(t *testing.T) {
	got := benchRegexp("BenchmarkBaselineHasher/argon2id_19M/Verify")
	if want := "^BenchmarkBaselineHasher$/^argon2id_19M$/^Verify$"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, part := range strings.Split(got, "/") {
		if _, err := regexp.Compile(part); err != nil {
			t.Error(err)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("even median %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestParseHashBound(t *testing.T) {
	out := `=== RUN   BenchmarkLoginBurst
    hashbound_test.go:82: burst 1: 100 concurrent logins, GOMAXPROCS=2: peak HeapAlloc 61.2 MiB above a baseline of 1.1 MiB = 1.61 × GOMAXPROCS × m (G8 bound 3.5, within: true)
    hashbound_test.go:84: burst 1: 61.0 logins/s; bare parallel argon2id 66.4 hashes/s; ratio 0.92 (G8b bound ≥ 0.8)
    hashbound_test.go:82: burst 2: 100 concurrent logins, GOMAXPROCS=2: peak HeapAlloc 80.0 MiB above a baseline of 1.1 MiB = 3.50 × GOMAXPROCS × m (G8 bound 3.5, within: false)
    hashbound_test.go:84: burst 2: 64.0 logins/s; bare parallel argon2id 66.4 hashes/s; ratio 0.96 (G8b bound ≥ 0.8)
BenchmarkLoginBurst-2   3   1334000000 ns/op   1.61 peak/GOMAXPROCS×m   0.92 burst/bare
`
	s, _, err := parseHashBound(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s["G8"]) != 2 || s["G8"][0] != 1.61 || len(s["G8b"]) != 2 || s["G8b"][0] != 0.92 {
		t.Errorf("samples %v", s)
	}
	if s["G8"][1] <= 3.5 {
		t.Errorf("a burst over the exact bound reads %v, not above 3.5", s["G8"][1])
	}
	if _, _, err := parseHashBound("=== RUN   BenchmarkLoginBurst\n--- PASS\n"); err == nil {
		t.Error("no error without burst lines")
	}
}

func TestParseFootprint(t *testing.T) {
	out := `    footprint_test.go:102: G14: 1000000 users: 456 B/user (bound 512)
    footprint_test.go:103: G15: 1000000 refresh records over 100000 sessions: 268 B/record (bound 320); 589 B per session with its first record
`
	s, _, err := parseFootprint(out)
	if err != nil {
		t.Fatal(err)
	}
	if s["G14"][0] != 456 || s["G15"][0] != 268 {
		t.Errorf("samples %v", s)
	}
}

// TestPlan checks that the plan's rows compute from as many results as
// their group has benchmarks, and that every goal of the spec is there.
func TestPlan(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range plan() {
		if (g.test == nil) == (len(g.benches) == 0) {
			t.Errorf("group %s: want either benchmarks or a test", g.name)
		}
		res := make([]result, len(g.benches))
		for i := range res {
			res[i] = result{ns: float64(i + 1), allocs: 1, metrics: map[string]float64{"refresh/s": 1, "rotations/s": 1, "stmts/op": 1}}
		}
		for _, r := range g.rows {
			seen[r.goal] = true
			if g.test == nil {
				_ = r.value(res) // must not index out of range
				if r.abs != nil {
					_ = r.abs(res)
				}
			}
		}
	}
	for _, goal := range []string{"G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G8b", "G9", "G10", "G11", "G12", "G13", "G14", "G15", "G16", "G17"} {
		if !seen[goal] {
			t.Errorf("goal %s has no row", goal)
		}
	}
}
