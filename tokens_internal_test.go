package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/jose"
)

// TestRefreshTokenRequiresIat checks that a refresh token must carry iat,
// as an access token must: a genuine one (signed with the refresh key)
// without it is refused, the same token with it accepted.
func TestRefreshTokenRequiresIat(t *testing.T) {
	now := time.Now()
	a, err := New(Config{Users: benchNoStore{}, Tokens: benchNoStore{}, Secret: make([]byte, MinSecretBytes),
		Now: func() time.Time { return now }, Passwords: PasswordConfig{Argon2: Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true}})
	if err != nil {
		t.Fatal(err)
	}
	k := a.keys
	claims := func(iat *jose.NumericDate) *refreshClaims {
		return &refreshClaims{
			RegisteredClaims: jose.RegisteredClaims{
				Issuer: k.issuer, Subject: "u1", Audience: jwt.ClaimStrings{k.audience},
				ExpiresAt: jose.NewDate(now.Add(time.Hour)), IssuedAt: iat, ID: "id1",
			},
			SessionID:        "s1",
			SessionExpiresAt: jose.NewDate(now.Add(2 * time.Hour)),
		}
	}
	with, err := sign(refreshTokenType, jwt.SigningMethodHS256, k.refreshKey, "", claims(jose.NewDate(now)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.parseRefresh(with); err != nil {
		t.Fatalf("a refresh token with iat: %v", err)
	}
	without, err := sign(refreshTokenType, jwt.SigningMethodHS256, k.refreshKey, "", claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.parseRefresh(without); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a refresh token without iat: %v, want ErrInvalidToken", err)
	}
}
