package integration

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/lifecycletest"
)

// TestLifecycle runs the account-lifecycle suite (sessions, logout
// everywhere, password change and reset, email verification, account
// deletion) over HTTP on sqlstore, on every database.
func TestLifecycle(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			skipUnconfigured(t, tg)
			lifecycletest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
				st := newEnv(t, tg).migrated(t)
				return st, st
			})
		})
	}
}
