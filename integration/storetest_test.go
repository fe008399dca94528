package integration

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/storetest"
)

// TestConformance runs the store conformance suite on sqlstore, on every
// database: each subtest gets a fresh SQLite file or, on the servers, its
// own table prefix.
func TestConformance(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			skipUnconfigured(t, tg)
			storetest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
				st := newEnv(t, tg).migrated(t)
				return st, st
			})
		})
	}
}
