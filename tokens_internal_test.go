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

// TestRefreshFastMatchesParser: refresh tokens, right, expired, for
// another issuer, forged, or signed with the access key, get the same
// answer from the fast path parseRefresh takes as from golang-jwt's
// parser, and the right one is accepted.
func TestRefreshFastMatchesParser(t *testing.T) {
	now := time.Now()
	a, err := New(Config{Users: benchNoStore{}, Tokens: benchNoStore{}, Secret: make([]byte, MinSecretBytes),
		Now: func() time.Time { return now }, Passwords: PasswordConfig{Argon2: Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true}})
	if err != nil {
		t.Fatal(err)
	}
	k := a.keys
	claims := func(iss string, exp time.Time) *refreshClaims {
		return &refreshClaims{
			RegisteredClaims: jose.RegisteredClaims{
				Issuer: iss, Subject: "u1", Audience: jwt.ClaimStrings{k.audience},
				ExpiresAt: jose.NewDate(exp), IssuedAt: jose.NewDate(now.Add(-time.Minute)), ID: "id1",
			},
			SessionID: "s1", SessionExpiresAt: jose.NewDate(now.Add(2 * time.Hour)), AMR: "pwd", AAL: 1,
		}
	}
	var tokens []string
	for _, c := range []*refreshClaims{claims(k.issuer, now.Add(time.Hour)), claims(k.issuer, now.Add(-time.Hour)), claims("evil", now.Add(time.Hour))} {
		for _, key := range [][]byte{k.refreshKey, a.cfg.Secret} {
			tok, err := sign(refreshTokenType, jwt.SigningMethodHS256, key, "", c)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok, tok[:len(tok)-2]+"AA")
		}
	}
	accepted := 0
	for _, tok := range tokens {
		if len(tok) < len(hsRefreshHeader) || tok[:len(hsRefreshHeader)] != hsRefreshHeader {
			t.Fatalf("%q does not start with the refresh header", tok)
		}
		fast, errFast := k.parseRefresh(tok)
		var c refreshClaims
		var slow *refreshClaims
		_, errSlow := k.refreshParser.ParseWithClaims(tok, &c, k.refreshKeyFn)
		if errSlow == nil {
			slow = &c
		} else {
			errSlow = faultErrors[jose.Classify(errSlow)]
		}
		if !errors.Is(errFast, errSlow) || (errFast == nil) != (errSlow == nil) || (fast != nil) != (slow != nil) || (fast != nil && (fast.ID != slow.ID || fast.AMR != slow.AMR || !fast.ExpiresAt.Equal(slow.ExpiresAt.Time))) {
			t.Errorf("%q: fast (%+v, %v), parser (%+v, %v)", tok, fast, errFast, slow, errSlow)
		}
		if errFast == nil {
			accepted++
		}
	}
	if accepted != 1 {
		t.Errorf("%d tokens accepted, want exactly the right one", accepted)
	}
}
