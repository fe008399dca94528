// Package securitytest is the adversarial test suite of the library: the
// catalogue of spec/security.md, section 6 (rows A01 to I10), run through
// the HTTP handlers and the Go API of an [auth.Authenticator] built over the
// stores a test opens. The root package runs it on memstore, and the
// integration module on sqlstore with SQLite, PostgreSQL and MySQL, so that
// every row holds on every store (row I01):
//
//	func TestSecurity(t *testing.T) {
//		securitytest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
//			s := memstore.New()
//			return s, s
//		})
//	}
//
// Subtests are named by section and row id, "B/B03_...", and ROWS.md maps
// every row of the catalogue to the subtest that covers it, or says why it
// does not apply. Where the catalogue and spec/http-api.md name a different
// code or status, the contract wins, as the note at the top of
// spec/security.md says.
//
// Every request a row makes goes through one helper that asserts the global
// invariants on the answer: INV1 (the error body's shape and headers, no
// internal detail, no password or token in it), INV2 (a failed call creates
// no user, session or refresh token, checked through the stores), INV3
// (token answers are not cacheable) and A17 (JSON with charset and nosniff
// on every answer). When a row ends, INV4 (no password, token or hash in
// the log) and INV5 (a new user can still register and GET /me) are
// asserted too.
//
// The Authenticators use cheap argon2id parameters, no throttling (except
// in the rows about it) and a clock that moves only when a row advances it.
package securitytest

import (
	"testing"

	"github.com/ingestiq/auth"
)

// opener opens a fresh, empty pair of stores for one row.
type opener func(t *testing.T) (auth.UserStore, auth.TokenStore)

// suite is what every row needs from Run.
type suite struct {
	open opener
}

// row is one test of the catalogue.
type row struct {
	// id is the catalogue's id, or the first of the ids the row covers.
	id string
	// name says what the row checks, in a few words.
	name string
	// serial rows do not run in parallel with others: they time requests,
	// count goroutines, or race many requests against each other.
	serial bool
	fn     func(t *testing.T, s *suite)
}

// Run runs the suite against the stores returned by open, one subtest per
// section ("A" to "I" of the catalogue, and the project's own "K" for
// browser mode) and one per row within it. Open is called at least
// once per row, from subtests that may run in parallel, and must return a
// fresh, empty store each time; the [auth.UserStore] and the
// [auth.TokenStore] it returns may be the same value, and must share their
// data. Open may register clean-up with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) (auth.UserStore, auth.TokenStore)) {
	s := &suite{open: open}
	sections := []struct {
		name string
		rows []row
	}{
		{"A", rowsA()},
		{"B", rowsB()},
		{"C", rowsC()},
		{"D", rowsD()},
		{"E", rowsE()},
		{"F", rowsF()},
		{"G", rowsG()},
		{"H", rowsH()},
		{"I", rowsI()},
		{"M", rowsM()},
		{"K", rowsK()},
		{"R", rowsR()},
		{"O", rowsO()},
	}
	for _, sec := range sections {
		t.Run(sec.name, func(t *testing.T) {
			for _, r := range sec.rows {
				t.Run(r.id+"_"+r.name, func(t *testing.T) {
					if !r.serial {
						t.Parallel()
					}
					r.fn(t, s)
				})
			}
		})
	}
}
