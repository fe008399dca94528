package integration

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/passkey/passkeytest"
)

// TestPasskeys runs the passkey scenarios and the W rows of the security
// catalogue on sqlstore, on every database.
func TestPasskeys(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			skipUnconfigured(t, tg)
			passkeytest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
				st := newEnv(t, tg).migrated(t)
				return st, st
			})
		})
	}
}
