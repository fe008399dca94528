package verifier_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/verifier"
)

// TestStaleKeyUsesNewestSet checks that a verification holding a stale key
// set uses the set another verification has just fetched, rather than a
// key that set no longer has: here the other verification fetches the set
// (which has dropped the old key) between this one's look at its cached
// set and its own refresh attempt, which the rate limit then refuses.
func TestStaleKeyUsesNewestSet(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	oldKey, newKey := key("EdDSA"), key("EdDSA-2")
	before := newAuth(t, st, c, oldKey)
	srv := newJWKSServer(t, before)

	var (
		armed  atomic.Bool
		v      *verifier.Verifier
		newTok string
	)
	v = newVerifier(t, srv.URL, c, func(cfg *verifier.Config) {
		cfg.Now = func() time.Time {
			if armed.CompareAndSwap(true, false) {
				// Another request, with a token of the new key, fetches
				// the new set in the middle of this verification.
				if _, err := v.Verify(ctx, newTok); err != nil {
					t.Errorf("token of the new key: %v", err)
				}
			}
			return c.Now()
		}
	})
	if _, err := v.Verify(ctx, register(t, before).AccessToken); err != nil {
		t.Fatal(err)
	}

	// The old key is retired; the verifier's set goes stale.
	after := newAuth(t, st, c, newKey)
	srv.set(func(s *jwksServer) { s.handler = after.JWKSHandler() })
	c.Advance(auth.JWKSCacheMaxAge*time.Second + time.Second)
	oldTok := register(t, before).AccessToken
	newTok = register(t, after).AccessToken

	armed.Store(true)
	_, err := v.Verify(ctx, oldTok)
	if armed.Load() {
		t.Fatal("the test's hook did not run")
	}
	if srv.hits.Load() != 2 {
		t.Fatalf("%d fetches, want 2 (the first and the other request's)", srv.hits.Load())
	}
	wantErr(t, "token of a key the newest set has dropped", err, auth.ErrInvalidToken)
}
