package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// countingSessions counts TokenStore.Session reads.
type countingSessions struct {
	*memstore.Store
	reads atomic.Int64
}

func (s *countingSessions) Session(ctx context.Context, id string) (*auth.Session, error) {
	s.reads.Add(1)
	return s.Store.Session(ctx, id)
}

// TestSessionCache checks the optional session-liveness cache: it saves
// store reads, a logout through the same Authenticator takes effect at
// once, and a logout through another instance takes effect within the
// documented staleness bound, SessionCacheTTL.
func TestSessionCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &countingSessions{Store: memstore.New()}
	clock := newTestClock()
	newAuth := func(ttl time.Duration) *auth.Authenticator {
		a, err := auth.New(auth.Config{
			Users: st, Tokens: st, Secret: testSecret, Now: clock.Now,

			Logger:    slog.New(slog.DiscardHandler),
			Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
			Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
			Sessions:  auth.SessionConfig{SessionCacheTTL: ttl},
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	const ttl = 10 * time.Second
	cached, other := newAuth(ttl), newAuth(0)

	res, err := cached.Register(ctx, auth.RegisterInput{Email: "cache@example.com", Password: goodPassword, Name: "C"})
	if err != nil {
		t.Fatal(err)
	}
	before := st.reads.Load()
	for range 5 {
		if _, err := cached.Verify(ctx, res.AccessToken); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	if got := st.reads.Load() - before; got != 1 {
		t.Fatalf("5 verifications read the session %d times, want 1", got)
	}

	// Logout on another instance: stale here for at most the TTL.
	if err := other.Logout(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("uncached instance after logout: %v, want ErrInvalidToken", err)
	}
	if _, err := cached.Verify(ctx, res.AccessToken); err != nil {
		t.Fatalf("cached instance within the staleness bound: %v (the cache should still vouch)", err)
	}
	clock.Advance(ttl)
	if _, err := cached.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("cached instance after SessionCacheTTL: %v, want ErrInvalidToken", err)
	}

	// Logout through the caching instance itself takes effect at once.
	l, err := cached.Login(ctx, "cache@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Verify(ctx, l.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := cached.Logout(ctx, l.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Verify(ctx, l.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after logout on the caching instance: %v, want ErrInvalidToken at once", err)
	}

	// Reuse detection through the caching instance evicts too.
	l, err = cached.Login(ctx, "cache@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Verify(ctx, l.AccessToken); err != nil {
		t.Fatal(err)
	}
	p, err := cached.Refresh(ctx, l.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Refresh(ctx, p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	// The grandparent: reuse whatever the window.
	if _, err := cached.Refresh(ctx, l.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := cached.Verify(ctx, l.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after reuse detection on the caching instance: %v, want ErrInvalidToken at once", err)
	}

	if _, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: testSecret, Sessions: auth.SessionConfig{SessionCacheTTL: 2 * time.Minute}}); err == nil {
		t.Fatal("New accepted a SessionCacheTTL over one minute")
	}
}

// blockingSessions lets a test hold one TokenStore.Session read after it
// has read the session and before it returns, to interleave other calls.
type blockingSessions struct {
	*memstore.Store
	read    chan struct{} // receives once the held read has read
	release chan struct{} // closed to let the held read return
	armed   atomic.Bool   // the next Session call is held
}

func (s *blockingSessions) Session(ctx context.Context, id string) (*auth.Session, error) {
	sess, err := s.Store.Session(ctx, id)
	if s.armed.CompareAndSwap(true, false) {
		s.read <- struct{}{}
		<-s.release
	}
	return sess, err
}

// TestSessionCacheEvictionWins checks that a verification that read a
// session before a logout through the same Authenticator cannot put the
// session back into the cache after the logout evicted it: the next
// verification must see the logout at once.
func TestSessionCacheEvictionWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		revoke func(a *auth.Authenticator, res *auth.AuthResult) error
	}{
		{"Logout", func(a *auth.Authenticator, res *auth.AuthResult) error { return a.Logout(ctx, res.AccessToken) }},
		{"LogoutAll", func(a *auth.Authenticator, res *auth.AuthResult) error {
			_, err := a.LogoutAll(ctx, res.User.ID, "")
			return err
		}},
		{"EndSession", func(a *auth.Authenticator, res *auth.AuthResult) error {
			c, err := a.Verify(ctx, res.AccessToken)
			if err != nil {
				return err
			}
			return a.EndSession(ctx, res.User.ID, c.SessionID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &blockingSessions{Store: memstore.New(), read: make(chan struct{}), release: make(chan struct{})}
			clock := newTestClock()
			a, err := auth.New(auth.Config{
				Users: st, Tokens: st, Secret: testSecret, Now: clock.Now,

				Logger:    slog.New(slog.DiscardHandler),
				Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
				Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
				Sessions:  auth.SessionConfig{SessionCacheTTL: 10 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Register(ctx, auth.RegisterInput{Email: "evict@example.com", Password: goodPassword, Name: "E"})
			if err != nil {
				t.Fatal(err)
			}
			st.armed.Store(true)
			done := make(chan error, 1)
			go func() {
				_, err := a.Verify(ctx, res.AccessToken)
				done <- err
			}()
			<-st.read // the verification has read the session live
			if err := tc.revoke(a, res); err != nil {
				t.Fatalf("revoke: %v", err)
			}
			close(st.release)
			if err := <-done; err != nil {
				t.Fatalf("the held verification: %v (it read the session before the logout)", err)
			}
			if _, err := a.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify after the logout: %v, want ErrInvalidToken (the held verification put the session back)", err)
			}
		})
	}
}
