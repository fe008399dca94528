package auth_test

import (
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/limitertest"
)

// TestMemoryLimiterConformance runs the Limiter conformance suite against
// MemoryLimiter, with its default bound and with a small one the suite
// checks.
func TestMemoryLimiterConformance(t *testing.T) {
	t.Parallel()
	t.Run("Default", func(t *testing.T) {
		limitertest.Run(t, func(*testing.T) auth.Limiter { return auth.NewMemoryLimiter(0) })
	})
	t.Run("Bounded", func(t *testing.T) {
		limitertest.Run(t, func(*testing.T) auth.Limiter { return auth.NewMemoryLimiter(64) }, limitertest.MaxKeys(64))
	})
}
