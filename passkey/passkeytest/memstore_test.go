package passkeytest_test

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/passkey/passkeytest"
)

func TestPasskeys(t *testing.T) {
	passkeytest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
		s := memstore.New()
		return s, s
	})
}
