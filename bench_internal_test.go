package auth

// Benchmarks of unexported steps, beside the baselines in bench_test.go
// (package auth_test, same test binary). See the doc comment there for the
// goals each pair measures.

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// benchNoStore satisfies both store interfaces so that New accepts it; the
// benchmarks here never reach a store, and would panic if they did.
type benchNoStore struct {
	UserStore
	TokenStore
}

// benchInternalAuth returns an Authenticator with the default token
// settings (and weak hashing, which nothing here measures, so that New's
// dummy hash is cheap).
func benchInternalAuth(b *testing.B) *Authenticator {
	b.Helper()
	a, err := New(Config{
		Users:     benchNoStore{},
		Tokens:    benchNoStore{},
		Secret:    []byte("bench-secret-0123456789abcdefghij"),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Passwords: PasswordConfig{Argon2: Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
	})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkIssueAccessToken is the numerator of G4: the library's access
// token issue (claims, jti, typ header, HS256 signature), against
// BenchmarkBaselineGolangJWTSign/HS256.
func BenchmarkIssueAccessToken(b *testing.B) {
	b.Run("HS256", func(b *testing.B) {
		a := benchInternalAuth(b)
		now := time.Now()
		u := &User{
			ID:             "6f1d9c2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
			Email:          "bench@example.com",
			Name:           "Bench User",
			OrganizationID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			Role:           RoleOwner,
		}
		s := &Session{ID: "b1c4b0a2-6d0e-4d55-9a57-3f2f0c1d9e88", UserID: u.ID, ExpiresAt: now.Add(DefaultSessionLifetime)}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.keys.issueAccess(u, s, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRefreshToken measures the refresh token's id generation and the
// hash under which a store looks it up (sanity: each at most 4 allocs).
func BenchmarkRefreshToken(b *testing.B) {
	b.Run("generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newID(32)
		}
	})
	b.Run("hash", func(b *testing.B) {
		id := newID(32)
		b.ReportAllocs()
		for b.Loop() {
			_ = hashTokenID(id)
		}
	})
}
