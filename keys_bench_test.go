package auth

// Signing benchmarks of the asymmetric algorithms (G4 of
// spec/performance.md), beside BenchmarkIssueAccessToken/HS256 in
// bench_internal_test.go; the issuing method is unexported, hence package
// auth. The verification side is in jwks_test.go.

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/testutil"
)

var keysBenchUser = &User{
	ID:             "6f1d9c2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
	Email:          "bench@example.com",
	Name:           "Bench User",
	OrganizationID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
	Role:           RoleOwner,
}

const keysBenchSession = "b1c4b0a2-6d0e-4d55-9a57-3f2f0c1d9e88"

// keysBenchID returns a jti as the library makes one: 16 random bytes,
// base64url-encoded.
func keysBenchID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var keysBenchAlgs = []string{"EdDSA", "ES256", "RS256"}

// BenchmarkIssueAccessTokenAsymmetric is the numerator of G4 per
// algorithm: claims, jti, typ and kid headers, signature.
func BenchmarkIssueAccessTokenAsymmetric(b *testing.B) {
	for _, alg := range keysBenchAlgs {
		b.Run(alg, func(b *testing.B) {
			a, err := New(Config{
				Users:     benchNoStore{},
				Tokens:    benchNoStore{},
				Secret:    []byte("bench-secret-0123456789abcdefghij"),
				Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
				Keys:      KeyConfig{SigningKey: testutil.Key(alg)},
				Passwords: PasswordConfig{Argon2: Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
			})
			if err != nil {
				b.Fatal(err)
			}
			s := &Session{ID: keysBenchSession, UserID: keysBenchUser.ID, ExpiresAt: time.Now().Add(DefaultSessionLifetime)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.keys.issueAccess(keysBenchUser, s, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineGolangJWTSignAsymmetric is the denominator of G4 per
// algorithm: golang-jwt's SignedString of the same claims and headers, jti
// generation included, as an application would write it.
func BenchmarkBaselineGolangJWTSignAsymmetric(b *testing.B) {
	for _, alg := range keysBenchAlgs {
		b.Run(alg, func(b *testing.B) {
			key := testutil.Key(alg)
			method := jwt.GetSigningMethod(alg)
			kid := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" // a thumbprint's length
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				t := jwt.NewWithClaims(method, &testutil.BaselineClaims{
					RegisteredClaims: jwt.RegisteredClaims{
						Issuer:    DefaultIssuer,
						Subject:   keysBenchUser.ID,
						Audience:  jwt.ClaimStrings{DefaultAudience},
						ExpiresAt: jwt.NewNumericDate(now.Add(DefaultAccessTokenTTL)),
						IssuedAt:  jwt.NewNumericDate(now),
						ID:        keysBenchID(),
					},
					SessionID:      keysBenchSession,
					OrganizationID: keysBenchUser.OrganizationID,
					Role:           keysBenchUser.Role,
				})
				t.Header["typ"] = "at+jwt"
				t.Header["kid"] = kid
				if _, err := t.SignedString(key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
