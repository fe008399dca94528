package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// binary names one of the test binaries the tool builds.
type binary string

const (
	rootBin        binary = "auth"        // the root package, github.com/ingestiq/auth
	integrationBin binary = "integration" // github.com/ingestiq/auth/integration (SQL drivers)
)

// timeClass selects which -benchtime flag a benchmark runs with.
type timeClass int

const (
	fast timeClass = iota // microseconds per op: -benchtime
	hash                  // a password hash per op: -hashtime
	sql                   // a database transaction per op: -sqltime
)

// bench is one benchmark the tool runs: a full name, sub-benchmarks
// included, without the -cpu suffix.
type bench struct {
	bin   binary
	name  string
	class timeClass
}

// row is one line of the goals table. Its value is computed per round from
// the results of its group's benchmarks (in the group's order), or, for a
// test group, taken from the samples the test logged under the row's goal.
type row struct {
	goal    string // "G1"
	variant string // "HS256", "sqlite_mem", ...
	desc    string
	formula string // numerator ÷ denominator
	bound   float64
	atLeast bool // passes when the median is ≥ bound (else ≤ bound)
	// info rows are shown for orientation and not judged.
	info bool
	// format renders a value of this row (a ratio by default).
	format func(float64) string
	// value computes one round's value from the group's results.
	value func(r []result) float64
	// abs describes the absolute figures, from the medians of each of the
	// group's benchmarks, for orientation.
	abs func(m []result) string
}

// key identifies a row in -goals and in test samples.
func (r *row) key() string { return r.goal }

// group is a set of benchmarks that run one after the other in each round
// (A B A B ...), and the rows computed from them; or a test whose logged
// figures make the rows.
type group struct {
	name    string
	benches []bench
	rows    []row
	env     string // an environment variable the group needs (else SKIP)
	mysql   bool   // runs only with -mysql
	test    *testSpec
}

// testSpec is a test, or a benchmark whose figures are logged per
// iteration rather than per op, whose -v output gives the samples of its
// group's rows.
type testSpec struct {
	bin  binary
	name string
	// benchtime, if set, makes name a benchmark run with this -benchtime
	// (and no test).
	benchtime string
	// env adds variables to the test's environment.
	env []string
	// runs is how many rounds run the test (the first ones); 0 means every
	// round.
	runs int
	// parse returns the samples of each row (by goal) found in the output,
	// and an error when the expected lines are missing.
	parse func(out string) (map[string][]float64, map[string]string, error)
	// abs, if set, describes a row's absolute figures from the samples of
	// every run (else parse's description of the last run is shown).
	abs func(goal string, samples map[string][]float64) string
}

// --- value helpers ---------------------------------------------------------

func ratioFmt(v float64) string  { return fmt.Sprintf("%.2f", v) }
func allocsFmt(v float64) string { return fmt.Sprintf("%+.1f", v) }
func bytesFmt(v float64) string  { return fmt.Sprintf("%.0f B", v) }
func stmtsFmt(v float64) string  { return fmt.Sprintf("%.1f", v) }
func rateFmt(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2fk/s", v/1000)
	}
	return fmt.Sprintf("%.0f/s", v)
}

// dur renders nanoseconds for people.
func dur(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// ns returns the ns/op of result i, allocs its allocs/op.
func ns(r []result, i int) float64     { return r[i].ns }
func allocs(r []result, i int) float64 { return r[i].allocs }

// nsRatio is ns(a) ÷ ns(b).
func nsRatio(a, b int) func([]result) float64 {
	return func(r []result) float64 { return ns(r, a) / ns(r, b) }
}

// absPair describes two benchmarks' ns/op and allocs/op.
func absPair(a, b string) func([]result) string {
	return func(m []result) string {
		return fmt.Sprintf("%s %s (%.0f allocs) vs %s %s (%.0f allocs)", a, dur(m[0].ns), m[0].allocs, b, dur(m[1].ns), m[1].allocs)
	}
}

// --- the plan --------------------------------------------------------------

// asymAlgs are the asymmetric algorithms of the *Asymmetric benchmarks.
var asymAlgs = []string{"EdDSA", "ES256", "RS256"}

// plan returns the groups of spec/performance.md's goals G1-G17, and of
// issue #19's G18 (verify cache, realistic mix), G19 (cold verify) and
// G20 (refresh ≥ 0.8 × the raw rotation tx, 1 and 8 clients, per SQL store).
func plan() []*group {
	var gs []*group

	// G1 and G2: the middleware's overhead over a bare ServeMux, against a
	// strict golang-jwt parse.
	g1 := func(r []result) float64 { return (ns(r, 1) - ns(r, 0)) / ns(r, 2) }
	g2 := func(r []result) float64 { return allocs(r, 1) - allocs(r, 0) - allocs(r, 2) }
	g1abs := func(m []result) string {
		return fmt.Sprintf("withAuth %s − noAuth %s = %s vs parse %s; allocs %.0f − %.0f vs %.0f",
			dur(m[1].ns), dur(m[0].ns), dur(m[1].ns-m[0].ns), dur(m[2].ns), m[1].allocs, m[0].allocs, m[2].allocs)
	}
	gs = append(gs, &group{
		name: "middleware/HS256",
		benches: []bench{
			{rootBin, "BenchmarkMiddleware/noAuth/HS256", fast},
			{rootBin, "BenchmarkMiddleware/withAuth/HS256", fast},
			{rootBin, "BenchmarkBaselineGolangJWTParse/HS256", fast},
		},
		rows: []row{
			{goal: "G1", variant: "HS256", desc: "Middleware verify overhead",
				formula: "(Middleware/withAuth − noAuth) ÷ GolangJWTParse", bound: 1.25, value: g1, abs: g1abs},
			{goal: "G2", variant: "HS256", desc: "Middleware allocations",
				formula: "allocs withAuth − noAuth − GolangJWTParse", bound: 4, format: allocsFmt, value: g2, abs: g1abs},
		},
	}, &group{
		name: "middleware/EdDSA",
		benches: []bench{
			{rootBin, "BenchmarkMiddleware/noAuth/HS256", fast},
			{rootBin, "BenchmarkMiddlewareAsymmetric/withAuth/EdDSA", fast},
			{rootBin, "BenchmarkBaselineGolangJWTParseAsymmetric/EdDSA", fast},
		},
		rows: []row{
			{goal: "G1", variant: "EdDSA", desc: "Middleware verify overhead",
				formula: "(MiddlewareAsymmetric/withAuth − Middleware/noAuth) ÷ GolangJWTParseAsymmetric", bound: 1.25, value: g1, abs: g1abs},
			{goal: "G2", variant: "EdDSA", desc: "Middleware allocations",
				formula: "allocs withAuth − noAuth − GolangJWTParseAsymmetric", bound: 4, format: allocsFmt, value: g2, abs: g1abs},
		},
	})

	// G3 and G17: the library's Verify against the strict parse.
	g17 := func(r []result) float64 { return allocs(r, 0) - allocs(r, 1) }
	verifyRows := func(alg string) []row {
		return []row{
			{goal: "G3", variant: alg, desc: "Library token verify",
				formula: "Verify ÷ GolangJWTParse", bound: 1.10, value: nsRatio(0, 1), abs: absPair("Verify", "parse")},
			{goal: "G17", variant: alg, desc: "No per-request key work",
				formula: "allocs Verify − GolangJWTParse", bound: 2, format: allocsFmt, value: g17, abs: absPair("Verify", "parse")},
		}
	}
	gs = append(gs, &group{
		name: "verify/HS256",
		benches: []bench{
			{rootBin, "BenchmarkVerify/HS256", fast},
			{rootBin, "BenchmarkBaselineGolangJWTParse/HS256", fast},
		},
		rows: verifyRows("HS256"),
	})
	for _, alg := range asymAlgs {
		gs = append(gs, &group{
			name: "verify/" + alg,
			benches: []bench{
				{rootBin, "BenchmarkVerifyAsymmetric/" + alg, fast},
				{rootBin, "BenchmarkBaselineGolangJWTParseAsymmetric/" + alg, fast},
			},
			rows: verifyRows(alg),
		})
	}

	// G4: issuing an access token against golang-jwt's SignedString.
	issueRow := func(alg string) row {
		return row{goal: "G4", variant: alg, desc: "Access-token issue",
			formula: "IssueAccessToken ÷ GolangJWTSign", bound: 1.25, value: nsRatio(0, 1), abs: absPair("issue", "sign")}
	}
	gs = append(gs, &group{
		name: "issue/HS256",
		benches: []bench{
			{rootBin, "BenchmarkIssueAccessToken/HS256", fast},
			{rootBin, "BenchmarkBaselineGolangJWTSign/HS256", fast},
		},
		rows: []row{issueRow("HS256")},
	})
	for _, alg := range asymAlgs {
		gs = append(gs, &group{
			name: "issue/" + alg,
			benches: []bench{
				{rootBin, "BenchmarkIssueAccessTokenAsymmetric/" + alg, fast},
				{rootBin, "BenchmarkBaselineGolangJWTSignAsymmetric/" + alg, fast},
			},
			rows: []row{issueRow(alg)},
		})
	}

	// G5: a login costs its hash.
	gs = append(gs, &group{
		name: "login/argon2id_19M",
		benches: []bench{
			{rootBin, "BenchmarkLogin/memstore/argon2id_19M", hash},
			{rootBin, "BenchmarkBaselineHasher/argon2id_19M/Verify", hash},
		},
		rows: []row{{goal: "G5", variant: "argon2id_19M", desc: "Login = hash cost",
			formula: "Login ÷ Hasher/Verify", bound: 1.05, value: nsRatio(0, 1), abs: absPair("login", "verify")}},
	}, &group{
		name: "login/bcrypt10",
		benches: []bench{
			{rootBin, "BenchmarkLogin/memstore/bcrypt10", hash},
			{rootBin, "BenchmarkBaselineHasher/bcrypt10/Verify", hash},
			{rootBin, "BenchmarkBaselineHasher/argon2id_19M/Hash", hash},
		},
		rows: []row{
			{goal: "G5", variant: "bcrypt10", desc: "Login = hash cost (as written: the login also rehashes to argon2id)",
				formula: "Login ÷ Hasher/bcrypt10/Verify", bound: 1.05, value: nsRatio(0, 1),
				abs: func(m []result) string {
					return fmt.Sprintf("login %s vs bcrypt verify %s", dur(m[0].ns), dur(m[1].ns))
				}},
			{goal: "G5", variant: "bcrypt10+upgrade", desc: "Login = hash cost, counting the argon2id upgrade hash",
				formula: "Login ÷ (bcrypt10/Verify + argon2id_19M/Hash)", bound: 1.05,
				value: func(r []result) float64 { return ns(r, 0) / (ns(r, 1) + ns(r, 2)) },
				abs: func(m []result) string {
					return fmt.Sprintf("login %s vs bcrypt verify %s + argon2id hash %s", dur(m[0].ns), dur(m[1].ns), dur(m[2].ns))
				}},
		},
	})

	// G6: login throughput, i.e. the inverse ratio of ns/op under RunParallel.
	perSec := func(ns float64) string { return rateFmt(1e9 / ns) }
	gs = append(gs, &group{
		name: "loginParallel/argon2id_19M",
		benches: []bench{
			{rootBin, "BenchmarkLoginParallel/memstore/argon2id_19M", hash},
			{rootBin, "BenchmarkBaselineHasher/argon2id_19M/VerifyParallel", hash},
		},
		rows: []row{{goal: "G6", variant: "argon2id_19M", desc: "Login throughput",
			formula: "logins/s (LoginParallel) ÷ verifies/s (Hasher/VerifyParallel)", bound: 0.95, atLeast: true,
			value: nsRatio(1, 0),
			abs: func(m []result) string {
				return fmt.Sprintf("%s logins vs %s verifies", perSec(m[0].ns), perSec(m[1].ns))
			}}},
	}, &group{
		name: "loginParallel/bcrypt10",
		benches: []bench{
			{rootBin, "BenchmarkLoginParallel/memstore/bcrypt10", hash},
			{rootBin, "BenchmarkBaselineHasher/bcrypt10/VerifyParallel", hash},
			{rootBin, "BenchmarkBaselineHasher/argon2id_19M/VerifyParallel", hash},
		},
		rows: []row{
			{goal: "G6", variant: "bcrypt10", desc: "Login throughput (as written: the login also rehashes to argon2id)",
				formula: "logins/s ÷ bcrypt10 verifies/s", bound: 0.95, atLeast: true, value: nsRatio(1, 0),
				abs: func(m []result) string {
					return fmt.Sprintf("%s logins vs %s bcrypt verifies", perSec(m[0].ns), perSec(m[1].ns))
				}},
			{goal: "G6", variant: "bcrypt10+upgrade", desc: "Login throughput, counting the argon2id upgrade hash",
				formula: "logins/s ÷ 1/(bcrypt10 + argon2id_19M per op, parallel)", bound: 0.95, atLeast: true,
				value: func(r []result) float64 { return (ns(r, 1) + ns(r, 2)) / ns(r, 0) },
				abs: func(m []result) string {
					return fmt.Sprintf("%s logins vs %s (bcrypt %s + argon2id %s per op)", perSec(m[0].ns), perSec(m[1].ns+m[2].ns), dur(m[1].ns), dur(m[2].ns))
				}},
		},
	})

	// G7: a registration costs its hash.
	gs = append(gs, &group{
		name: "register/argon2id_19M",
		benches: []bench{
			{rootBin, "BenchmarkRegister/memstore/argon2id_19M", hash},
			{rootBin, "BenchmarkBaselineHasher/argon2id_19M/Hash", hash},
		},
		rows: []row{{goal: "G7", variant: "argon2id_19M", desc: "Register = hash cost",
			formula: "Register ÷ Hasher/Hash", bound: 1.05, value: nsRatio(0, 1), abs: absPair("register", "hash")}},
	})

	// G8 and G8b: BenchmarkLoginBurst's logged bursts, three per run.
	gs = append(gs, &group{
		name: "hashbound",
		test: &testSpec{bin: rootBin, name: "BenchmarkLoginBurst", benchtime: "3x", parse: parseHashBound, abs: hashBoundAbs},
		rows: []row{
			{goal: "G8", variant: "argon2id_19M", desc: "Hash memory is bounded (100 concurrent logins)",
				formula: "peak HeapAlloc above baseline ÷ (GOMAXPROCS × m), per burst", bound: 3.5},
			{goal: "G8b", variant: "argon2id_19M", desc: "Burst throughput",
				formula: "burst logins/s ÷ bare parallel argon2id/s, per burst", bound: 0.8, atLeast: true},
		},
	})

	// G9: refresh in memory against the least work a rotation can do.
	gs = append(gs, &group{
		name: "refresh/memstore",
		benches: []bench{
			{rootBin, "BenchmarkRefresh/memstore", fast},
			{rootBin, "BenchmarkBaselineRefreshFloor", fast},
			{rootBin, "BenchmarkRefreshReplay/memstore", fast},
		},
		rows: []row{
			{goal: "G9", variant: "memstore", desc: "Refresh in memory",
				formula: "Refresh/memstore ÷ BaselineRefreshFloor", bound: 3.5, value: nsRatio(0, 1), abs: absPair("refresh", "floor")},
			// Issue #12: a replay in the reuse window costs no more than a
			// refresh (it signs the same two tokens and stores nothing).
			{goal: "G9", variant: "memstore replay", desc: "Refresh replayed in the reuse window vs a refresh",
				formula: "RefreshReplay/memstore ÷ Refresh/memstore", bound: 1.05, value: nsRatio(2, 0), abs: absPair("replay", "refresh")},
		},
	})

	// G10-G13 per database configuration.
	type sqlCfg struct {
		name     string  // the sub-benchmark of BenchmarkStoreRotate and BenchmarkRefresh
		baseline string  // the raw rotation transaction
		floor    float64 // G11/G12's floor, refresh/s
		specRaw  float64 // the spec's reference raw tx/s on this machine (the middle of its range)
		env      string
		mysql    bool
	}
	for _, c := range []sqlCfg{
		{"sqlite_mem", "BenchmarkBaselineSQLiteRotationTx/mem", 18000, 35000, "", false},
		{"sqlite_wal_normal", "BenchmarkBaselineSQLiteRotationTx/wal_normal", 9000, 13250, "", false},
		{"sqlite_wal_full", "BenchmarkBaselineSQLiteRotationTx/wal_full", 2500, 3900, "", false},
		{"postgres", "BenchmarkBaselinePGRotationTx", 900, 1200, "AUTH_TEST_POSTGRES_DSN", false},
		{"mysql", "BenchmarkBaselineMySQLRotationTx", 0, 0, "AUTH_TEST_MYSQL_DSN", true},
	} {
		g := &group{
			name:  "sql/" + c.name,
			env:   c.env,
			mysql: c.mysql,
			benches: []bench{
				{integrationBin, "BenchmarkStoreRotate/" + c.name, sql},
				{integrationBin, c.baseline, sql},
				{integrationBin, "BenchmarkRefresh/" + c.name, sql},
			},
		}
		g.rows = append(g.rows, row{goal: "G10", variant: c.name, desc: "Refresh on SQL: store overhead",
			formula: "StoreRotate ÷ raw rotation tx", bound: 1.25, value: nsRatio(0, 1),
			abs: func(m []result) string {
				return fmt.Sprintf("Rotate %s vs raw tx %s (%s)", dur(m[0].ns), dur(m[1].ns), rateFmt(1e9/m[1].ns))
			}})
		refreshAbs := func(m []result) string {
			return fmt.Sprintf("%s per refresh; raw tx %s; refresh/raw tx %.2f", dur(m[2].ns), rateFmt(m[1].metric("rotations/s")),
				m[2].metric("refresh/s")/m[1].metric("rotations/s"))
		}
		refreshRate := func(r []result) float64 { return r[2].metric("refresh/s") }
		switch {
		case c.mysql:
			g.rows = append(g.rows, row{goal: "G12", variant: c.name + " serial", desc: "Refresh on MySQL/MariaDB (no goal; orientation)",
				formula: "end-to-end /refresh", info: true, format: rateFmt, value: refreshRate, abs: refreshAbs})
		case c.env != "":
			g.rows = append(g.rows, row{goal: "G12", variant: c.name + " serial", desc: "Refresh on PostgreSQL, absolute floor",
				formula: "end-to-end /refresh (Refresh/postgres refresh/s)", bound: c.floor, atLeast: true, format: rateFmt,
				value: refreshRate, abs: refreshAbs})
		default:
			g.rows = append(g.rows, row{goal: "G11", variant: c.name, desc: "Refresh on SQLite, absolute floor",
				formula: "end-to-end /refresh (Refresh/" + c.name + " refresh/s)", bound: c.floor, atLeast: true, format: rateFmt,
				value: refreshRate, abs: refreshAbs})
		}
		if !c.mysql {
			g.rows = append(g.rows, scaledFloor(g.rows[len(g.rows)-1].goal, c.name, c.floor, c.specRaw, 2, 1))
		}
		g.rows = append(g.rows, row{goal: "G20", variant: c.name + " 1 client", desc: "Refresh on SQL ≥ 0.8 × the raw rotation tx",
			formula: "refresh/s (Refresh) ÷ rotations/s (raw tx), same schema", bound: 0.8, atLeast: true, value: nsRatio(1, 2),
			abs: func(m []result) string {
				return fmt.Sprintf("%s refreshes vs %s raw tx", rateFmt(1e9/m[2].ns), rateFmt(1e9/m[1].ns))
			}})
		shape := "one transaction: "
		if c.name == "postgres" {
			shape = "one statement, no BEGIN/COMMIT: "
		}
		g.rows = append(g.rows, row{goal: "G13", variant: c.name, desc: "Round trips",
			formula: "statements per refresh (stmts/op, BEGIN/COMMIT apart)", bound: 2, format: stmtsFmt,
			value: func(r []result) float64 { return r[2].metric("stmts/op") },
			abs: func(m []result) string {
				if s := m[2].logged(stmtsLine); s != "" {
					return shape + s
				}
				return ""
			}})
		if c.name == "postgres" {
			// sqlstore rotates in one statement on PostgreSQL; the raw
			// transaction stays G10's and G20's denominator, and the raw
			// single statement is shown beside it.
			g.benches = append(g.benches, bench{integrationBin, "BenchmarkBaselinePGRotationCTE", sql})
			g.rows = append(g.rows, row{goal: "G10", variant: "postgres vs raw CTE", desc: "Rotation vs the raw single-statement rotation (orientation)",
				formula: "StoreRotate ÷ raw rotation CTE", info: true, value: nsRatio(0, 3),
				abs: func(m []result) string {
					return fmt.Sprintf("Rotate %s vs raw CTE %s vs raw tx %s", dur(m[0].ns), dur(m[3].ns), dur(m[1].ns))
				}})
		}
		gs = append(gs, g)
		if c.name != "sqlite_mem" && c.name != "sqlite_wal_full" {
			par := &group{
				name:  "sql/" + c.name + "/parallel",
				env:   c.env,
				mysql: c.mysql,
				benches: []bench{
					{integrationBin, "BenchmarkRefreshParallel/" + c.name, sql},
					{integrationBin, "BenchmarkBaselineRotationTxParallel/" + c.name, sql},
				},
			}
			parAbs := func(m []result) string {
				return fmt.Sprintf("%.0f clients; %s refreshes vs %s raw tx", m[0].metric("clients"),
					rateFmt(m[0].metric("refresh/s")), rateFmt(m[1].metric("rotations/s")))
			}
			if c.name == "postgres" {
				par.rows = append(par.rows, row{goal: "G12", variant: "postgres 8 clients", desc: "Refresh on PostgreSQL, absolute floor",
					formula: "end-to-end /refresh (RefreshParallel/postgres refresh/s)", bound: 3500, atLeast: true, format: rateFmt,
					value: func(r []result) float64 { return r[0].metric("refresh/s") }, abs: parAbs},
					scaledFloor("G12", "postgres 8 clients", 3500, 4500, 0, 1))
			}
			par.rows = append(par.rows, row{goal: "G20", variant: c.name + " 8 clients", desc: "Refresh on SQL ≥ 0.8 × the raw rotation tx",
				formula: "refresh/s (RefreshParallel) ÷ rotations/s (raw tx, as many clients)", bound: 0.8, atLeast: true,
				value: nsRatio(1, 0), abs: parAbs})
			gs = append(gs, par)
		}
	}

	// G18 and G19: the verify cache (Config.Sessions.VerifyCacheSize) on a realistic
	// mix, and on a token's first sight.
	gs = append(gs, &group{
		name: "verifycache/HS256",
		benches: []bench{
			{rootBin, "BenchmarkMiddleware/noAuth/HS256", fast},
			{rootBin, "BenchmarkVerifyCache/mix/HS256", fast},
			{rootBin, "BenchmarkBaselineGolangJWTParse/HS256", fast},
			{rootBin, "BenchmarkVerifyCache/cold/HS256", fast},
		},
		rows: []row{
			{goal: "G18", variant: "HS256 mix", desc: "Middleware overhead with the verify cache (1,000 tokens × 100, random order)",
				formula: "(VerifyCache/mix − Middleware/noAuth) ÷ GolangJWTParse", bound: 0.2,
				value: func(r []result) float64 { return (ns(r, 1) - ns(r, 0)) / ns(r, 2) },
				abs: func(m []result) string {
					return fmt.Sprintf("mix %s − noAuth %s = %s vs parse %s; allocs %.0f − %.0f",
						dur(m[1].ns), dur(m[0].ns), dur(m[1].ns-m[0].ns), dur(m[2].ns), m[1].allocs, m[0].allocs)
				}},
			{goal: "G19", variant: "HS256 cold", desc: "Verify of a token's first sight, with the verify cache",
				formula: "VerifyCache/cold ÷ GolangJWTParse", bound: 1.0, value: nsRatio(3, 2),
				abs: func(m []result) string {
					return fmt.Sprintf("cold Verify %s (%.0f allocs) vs parse %s (%.0f allocs)", dur(m[3].ns), m[3].allocs, dur(m[2].ns), m[2].allocs)
				}},
		},
	})

	// G14 and G15: BenchmarkMemstoreFootprint (at 1M users with -footprint).
	gs = append(gs, &group{
		name: "footprint",
		test: &testSpec{bin: rootBin, name: "BenchmarkMemstoreFootprint", benchtime: "1x", runs: 1, parse: parseFootprint},
		rows: []row{
			{goal: "G14", variant: "memstore", desc: "memstore footprint per user",
				formula: "bytes/user after GC (bound = 1.2 × naive 427 B)", bound: 512, format: bytesFmt},
			{goal: "G15", variant: "memstore", desc: "memstore refresh records",
				formula: "bytes/refresh record after GC", bound: 320, format: bytesFmt},
		},
	})

	// G16: cheap rejection of a garbage token.
	gs = append(gs, &group{
		name: "reject/garbage",
		benches: []bench{
			{rootBin, "BenchmarkMiddlewareReject/garbage", fast},
			{rootBin, "BenchmarkBaselineGolangJWTReject/garbage", fast},
			{rootBin, "BenchmarkMiddleware/noAuth/HS256", fast},
		},
		rows: []row{
			{goal: "G16", variant: "garbage", desc: "Cheap rejection (the whole 401 through ServeMux and a recorder)",
				formula: "MiddlewareReject/garbage ÷ GolangJWTReject/garbage", bound: 2.0, value: nsRatio(0, 1), abs: absPair("reject", "golang-jwt")},
			{goal: "G16", variant: "garbage, middleware share", desc: "Cheap rejection, net of the HTTP harness (as G1 nets it)",
				formula: "(MiddlewareReject/garbage − Middleware/noAuth) ÷ GolangJWTReject/garbage", bound: 2.0, info: true,
				value: func(r []result) float64 { return (ns(r, 0) - ns(r, 2)) / ns(r, 1) },
				abs: func(m []result) string {
					return fmt.Sprintf("reject %s − noAuth 200 %s = %s vs golang-jwt %s", dur(m[0].ns), dur(m[2].ns), dur(m[0].ns-m[2].ns), dur(m[1].ns))
				}},
		},
	})
	// Shared throttling (no goal of spec/performance.md; orientation): a
	// login's and a refresh's cost with the database's and Redis's limiter
	// against the in-memory one, on one PostgreSQL store.
	for i, op := range []string{"Login", "Refresh"} {
		g := &group{
			name: "limiter/" + strings.ToLower(op),
			env:  "AUTH_TEST_POSTGRES_DSN",
			benches: []bench{
				{integrationBin, "BenchmarkLimiter" + op + "/memory", sql},
				{integrationBin, "BenchmarkLimiter" + op + "/db", sql},
				{integrationBin, "BenchmarkLimiter" + op + "/redis", sql},
			},
		}
		for j, kind := range []string{"db", "redis"} {
			g.rows = append(g.rows, row{goal: "LIM" + strconv.Itoa(i+1), variant: kind,
				desc:    op + " with the " + kind + " limiter vs the memory limiter (PostgreSQL store; orientation)",
				formula: "Limiter" + op + "/" + kind + " ÷ Limiter" + op + "/memory", info: true, value: nsRatio(j+1, 0),
				abs: func(m []result) string {
					return fmt.Sprintf("%s %s vs memory %s", kind, dur(m[j+1].ns), dur(m[0].ns))
				}})
		}
		gs = append(gs, g)
	}
	return gs
}

// scaledFloor is the info row beside an absolute refresh floor: the same
// round's refresh/s ÷ raw-transaction/s, against the floor ÷ the spec's
// reference raw rate, which is what the floor asks of the library on a
// machine as loaded as the one the spec measured. refresh and raw index
// the group's benchmarks.
func scaledFloor(goal, variant string, floor, specRaw float64, refresh, raw int) row {
	return row{goal: goal, variant: variant + ", scaled", info: true, atLeast: true,
		desc:    "the floor scaled by this run's raw transaction rate",
		formula: fmt.Sprintf("refresh/s ÷ raw tx/s (the spec's floor %s ÷ its raw tx %s)", rateFmt(floor), rateFmt(specRaw)),
		bound:   floor / specRaw, value: nsRatio(raw, refresh),
		abs: func(m []result) string {
			return fmt.Sprintf("%s refreshes vs %s raw tx", rateFmt(1e9/m[refresh].ns), rateFmt(1e9/m[raw].ns))
		}}
}

// stmtsLine is what the integration benchmarks log about G13.
var stmtsLine = regexp.MustCompile(`statements of one refresh: (.*)$`)

// hashBurstRe and hashRateRe match BenchmarkLoginBurst's b.Logf lines for
// G8 and G8b.
var (
	hashBurstRe = regexp.MustCompile(`burst \d+: .*= ([0-9.]+) × GOMAXPROCS × m`)
	hashRateRe  = regexp.MustCompile(`burst \d+: ([0-9.]+) logins/s; bare parallel argon2id ([0-9.]+) hashes/s; ratio ([0-9.]+)`)
)

// parseHashBound reads the G8 and G8b samples of each burst.
func parseHashBound(out string) (map[string][]float64, map[string]string, error) {
	s := map[string][]float64{}
	var logins, bare []float64
	for line := range strings.Lines(out) {
		if m := hashBurstRe.FindStringSubmatch(line); m != nil {
			v := atof(m[1])
			if strings.Contains(line, "within: false") {
				// The benchmark compares exact bytes; the logged ratio
				// is rounded, and a burst just over 3.5 × GOMAXPROCS × m
				// reads 3.50. Count it as over.
				v = max(v, 3.5+1e-9)
				s["G8.over"] = append(s["G8.over"], 1)
			}
			s["G8"] = append(s["G8"], v)
		}
		if m := hashRateRe.FindStringSubmatch(line); m != nil {
			logins = append(logins, atof(m[1]))
			bare = append(bare, atof(m[2]))
			s["G8b"] = append(s["G8b"], atof(m[3]))
		}
	}
	if len(s["G8"]) == 0 || len(s["G8b"]) == 0 {
		return nil, nil, fmt.Errorf("no burst lines in the output of BenchmarkLoginBurst: did its b.Logf format change? (want %q and %q)", hashBurstRe, hashRateRe)
	}
	s["G8b.logins"], s["G8b.bare"] = logins, bare
	return s, nil, nil
}

// hashBoundAbs describes the bursts of every run of BenchmarkLoginBurst.
func hashBoundAbs(goal string, s map[string][]float64) string {
	if goal == "G8" {
		return fmt.Sprintf("%d bursts of 100 logins, %d over the exact bound", len(s["G8"]), len(s["G8.over"]))
	}
	return fmt.Sprintf("burst %.0f logins/s vs bare %.0f hashes/s", median(s["G8b.logins"]), median(s["G8b.bare"]))
}

var (
	footUserRe   = regexp.MustCompile(`G14: (\d+) users: ([0-9.]+) B/user`)
	footRecordRe = regexp.MustCompile(`G15: (\d+) refresh records .*: ([0-9.]+) B/record`)
)

// parseFootprint reads BenchmarkMemstoreFootprint's G14 and G15 lines.
func parseFootprint(out string) (map[string][]float64, map[string]string, error) {
	u := footUserRe.FindStringSubmatch(out)
	r := footRecordRe.FindStringSubmatch(out)
	if u == nil || r == nil {
		return nil, nil, fmt.Errorf("no G14/G15 lines in the output of BenchmarkMemstoreFootprint: did its b.Logf format change? (want %q and %q)", footUserRe, footRecordRe)
	}
	return map[string][]float64{"G14": {atof(u[2])}, "G15": {atof(r[2])}},
		map[string]string{"G14": u[1] + " users", "G15": r[1] + " records"}, nil
}
