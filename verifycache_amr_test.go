package auth_test

import (
	"context"
	"testing"

	"github.com/ingestiq/auth"
)

// TestVerifyCacheClaimsNotShared: with the verify cache on, each caller gets
// claims of its own, the AMR list included, so that one caller changing
// them changes nothing for the next.
func TestVerifyCacheClaimsNotShared(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.Sessions.VerifyCacheSize = 16 })
	s := e.registerHTTP(t, "amr@example.com")
	ctx := context.Background()
	first, err := e.a.Verify(ctx, s.access)
	if err != nil || len(first.AMR) == 0 {
		t.Fatalf("Verify: %+v, %v", first, err)
	}
	want := first.AMR[0]
	first.AMR[0] = "tampered"
	for range 2 {
		c, err := e.a.Verify(ctx, s.access)
		if err != nil {
			t.Fatal(err)
		}
		if c.AMR[0] != want {
			t.Fatalf("a cached verification returned AMR %v after another caller changed its copy", c.AMR)
		}
		c.AMR[0] = "tampered again"
	}
}
