//go:build !race

package auth_test

// raceEnabled reports whether the test binary was built with the race
// detector; see race_on_test.go.
const raceEnabled = false
