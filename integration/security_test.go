package integration

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/securitytest"
)

// TestSecurity runs the adversarial suite of spec/security.md on sqlstore,
// on every database: each row gets a fresh SQLite file or, on the servers,
// its own table prefix.
func TestSecurity(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			skipUnconfigured(t, tg)
			securitytest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
				st := newEnv(t, tg).migrated(t)
				return st, st
			})
		})
	}
}
