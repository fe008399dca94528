package auth_test

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/securitytest"
	"github.com/ingestiq/auth/memstore"
)

// TestSecurity runs the adversarial suite of spec/security.md on memstore.
// The integration module runs it on sqlstore with every database.
func TestSecurity(t *testing.T) {
	securitytest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
		s := memstore.New()
		return s, s
	})
}
