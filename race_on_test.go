//go:build race

package auth_test

// raceEnabled reports whether the test binary was built with the race
// detector. There is no API for it, and a build constraint on the race tag
// is the standard way to tell; it selects test parameters only, never
// library code. TestMemoryLimiterCannotBeFlushed uses it to keep its flood of
// limiter calls, ten times slower under the detector, from dominating
// the package's `go test -race` run.
const raceEnabled = true
