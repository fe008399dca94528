package auth_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// setClock is a clock the fuzz test sets to any instant, forwards or back.
type setClock struct{ ns atomic.Int64 }

func (c *setClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *setClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *setClock) At(d time.Duration)      { c.Set(testStart.Add(d)) }
func (c *setClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// verifyPair is two Authenticators on one store, secret and clock, one with
// the verify cache and one without.
type verifyPair struct {
	clock          *setClock
	plain, cached  *auth.Authenticator
	userID, sessID string
	access         string
}

func newVerifyPair(t testing.TB, cacheSize int) *verifyPair {
	t.Helper()
	p := &verifyPair{clock: &setClock{}}
	p.clock.At(0)
	mem := memstore.New()
	cfg := auth.Config{
		Users: mem, Tokens: mem, Secret: testSecret, Now: p.clock.Now,

		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
		Sessions:  auth.SessionConfig{Leeway: 2 * time.Second},
	}
	var err error
	if p.plain, err = auth.New(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Sessions.VerifyCacheSize = cacheSize
	if p.cached, err = auth.New(cfg); err != nil {
		t.Fatal(err)
	}
	res, err := p.plain.Register(context.Background(), auth.RegisterInput{Email: "fuzz@example.com", Password: "correct horse battery", Name: "F"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.plain.Verify(context.Background(), res.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	p.userID, p.sessID, p.access = c.UserID, c.SessionID, res.AccessToken
	return p
}

// sign signs claims with the test secret as an access token of type typ.
func signWith(t testing.TB, typ string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["typ"] = typ
	s, err := tok.SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seedTokens returns tokens around every edge the cache must respect.
func (p *verifyPair) seedTokens(t testing.TB) []string {
	now := testStart.Unix()
	base := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": auth.DefaultIssuer, "aud": []string{auth.DefaultAudience},
			"sub": p.userID, "sid": p.sessID, "jti": "j-" + time.Now().String(),
			"iat": now, "exp": now + 900, "role": "owner",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tokens := []string{
		p.access,
		signWith(t, "at+jwt", base(nil)),
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["exp"] = now + 1 })),  // near exp
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["exp"] = now - 1 })),  // expired, within leeway
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["exp"] = now - 60 })), // expired
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["iat"] = now + 30 })), // issued in the future
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["nbf"] = now + 10 })), // not yet valid
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["iat"] = now + 1; c["exp"] = now + 3 })),
		signWith(t, "rt+jwt", base(nil)),                                            // wrong typ
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["aud"] = "other" })),   // wrong audience
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { delete(c, "sid") })),     // missing claim
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["sid"] = "no-such" })), // unknown session
		signWith(t, "at+jwt", base(func(c jwt.MapClaims) { c["extra"] = 1 })),       // unknown member
		testutil.WithSignatureFlipped(p.access),                                     // tampered
		p.access[:len(p.access)-1],
		"", "garbage", "a.b.c",
	}
	return tokens
}

// sameOutcome verifies token with both Authenticators at the pair's clock
// and fails unless they agree exactly.
func (p *verifyPair) sameOutcome(t *testing.T, token string) {
	t.Helper()
	ctx := context.Background()
	c0, err0 := p.plain.Verify(ctx, token)
	c1, err1 := p.cached.Verify(ctx, token)
	if !sameErr(err0, err1) || !reflect.DeepEqual(c0, c1) {
		t.Fatalf("at %v, token %q:\nuncached %+v, %v\ncached   %+v, %v", p.clock.Now(), token, c0, err0, c1, err1)
	}
	if c1 != nil {
		c1.Role = "tampered by the caller" // must not reach the next caller
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	for _, e := range []error{auth.ErrInvalidToken, auth.ErrTokenExpired, auth.ErrUnauthorized} {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return a.Error() == b.Error()
}

// FuzzVerifyCache checks that Verify with the verify cache accepts and
// refuses exactly the tokens Verify without it does, with the same claims,
// at each of a series of instants of a driven clock (forwards and back,
// around exp, iat, nbf and the leeway). The seed corpus runs in every
// `go test`.
func FuzzVerifyCache(f *testing.F) {
	p := newVerifyPair(f, 8) // a small cache, so that eviction runs too
	offsets := [][3]int64{
		{0, 0, 0}, {0, 1_000, 2_000}, {0, 2_999, 3_000}, {3_000, 0, 3_001}, {-5_000, 0, -1},
		{899_000, 901_999, 902_000}, {0, 902_001, 0}, {10_000, 7_999, 8_000}, {31_000, 27_999, 28_000},
		{-3_600_000, 3_600_000, -1}, {1, -1, 1},
	}
	for _, tok := range p.seedTokens(f) {
		for _, o := range offsets {
			f.Add(tok, o[0], o[1], o[2])
		}
	}
	f.Fuzz(func(t *testing.T, token string, d1, d2, d3 int64) {
		for _, d := range []int64{d1, d2, d3, d1} {
			p.clock.At(time.Duration(d%7_200_000) * time.Millisecond)
			p.sameOutcome(t, token)
		}
	})
}

// TestVerifyCacheRevocation checks that a cached token stops passing as
// soon as its session is revoked through the Authenticator.
func TestVerifyCacheRevocation(t *testing.T) {
	p := newVerifyPair(t, 100)
	ctx := context.Background()
	if _, err := p.cached.Verify(ctx, p.access); err != nil {
		t.Fatal(err)
	}
	if err := p.cached.Logout(ctx, p.access); err != nil {
		t.Fatal(err)
	}
	if _, err := p.cached.Verify(ctx, p.access); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Verify after Logout: %v; want ErrInvalidToken", err)
	}
}

// TestVerifyCacheSizeConfig checks the bounds of Config.Sessions.VerifyCacheSize.
func TestVerifyCacheSizeConfig(t *testing.T) {
	mem := memstore.New()
	for _, n := range []int{-1, auth.MaxVerifyCacheSize + 1} {
		if _, err := auth.New(auth.Config{Users: mem, Tokens: mem, Secret: testSecret, Sessions: auth.SessionConfig{VerifyCacheSize: n}}); err == nil {
			t.Errorf("VerifyCacheSize %d accepted", n)
		}
	}
}

// TestVerifyCacheMany verifies many distinct tokens through a small cache,
// each several times, interleaved, at advancing instants: every answer
// matches the uncached one.
func TestVerifyCacheMany(t *testing.T) {
	p := newVerifyPair(t, 20)
	var tokens []string
	for i := range 200 {
		tokens = append(tokens, signWith(t, "at+jwt", jwt.MapClaims{
			"iss": auth.DefaultIssuer, "aud": []string{auth.DefaultAudience},
			"sub": p.userID, "sid": p.sessID, "jti": string(rune('a'+i%26)) + time.Duration(i).String(),
			"iat": testStart.Unix(), "exp": testStart.Unix() + int64(i),
		}))
	}
	for round := range 5 {
		for i := range tokens {
			p.clock.At(time.Duration(round*40+i%7) * time.Second)
			p.sameOutcome(t, tokens[(i*37+round)%len(tokens)])
		}
	}
}

// TestVerifyCacheRandom is a deterministic stand-in for a fuzzing session:
// the seed tokens, some with a byte changed, at random instants forwards
// and back.
func TestVerifyCacheRandom(t *testing.T) {
	p := newVerifyPair(t, 8)
	tokens := p.seedTokens(t)
	rng := rand.New(rand.NewPCG(19, 3))
	for range 3000 {
		tok := tokens[rng.IntN(len(tokens))]
		if len(tok) > 0 && rng.IntN(4) == 0 {
			b := []byte(tok)
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			tok = string(b)
		}
		p.clock.At(time.Duration(rng.Int64N(1_900_000)-900_000) * time.Millisecond)
		p.sameOutcome(t, tok)
	}
}

// TestVerifyCacheSignatureTransplant: the cache finds an entry by the hash
// of the token's signature, so it must compare the rest. A cached token's
// signature under another genuine token's header and claims, or under its
// own claims with one byte changed, is refused as without the cache, and
// the genuine token still passes afterwards.
func TestVerifyCacheSignatureTransplant(t *testing.T) {
	p := newVerifyPair(t, 100)
	other := signWith(t, "at+jwt", jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": []string{auth.DefaultAudience},
		"sub": p.userID, "sid": p.sessID, "jti": "another", "iat": testStart.Unix(), "exp": testStart.Unix() + 600,
	})
	p.sameOutcome(t, p.access)
	p.sameOutcome(t, other)
	sig := p.access[strings.LastIndexByte(p.access, '.'):]
	signed := p.access[:strings.LastIndexByte(p.access, '.')]
	changed := []byte(signed)
	changed[len(changed)-2] ^= 0x01
	for _, forged := range []string{
		other[:strings.LastIndexByte(other, '.')] + sig,
		string(changed) + sig,
		sig[1:],                      // the signature alone
		signed + "." + sig[1:] + ".", // an extra segment
	} {
		if _, err := p.cached.Verify(context.Background(), forged); err == nil {
			t.Errorf("the cached path accepted %q", forged)
		}
		p.sameOutcome(t, forged)
	}
	p.sameOutcome(t, p.access)
	if _, err := p.cached.Verify(context.Background(), p.access); err != nil {
		t.Fatalf("the genuine token after the forgeries: %v", err)
	}
}

// TestVerifyCacheAsymmetric: with a SigningKey the cache gives the answers
// of the uncached path too, for an Ed25519 key and a 4096-bit RSA key
// (whose 683-character signature is hashed beyond the stack buffer): the
// genuine token, then forgeries made of its parts, then the genuine token
// again, each checked twice so that the second is a cache hit.
func TestVerifyCacheAsymmetric(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(crand.Reader, 4096)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"EdDSA": edKey, "RS256-4096": rsaKey} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mem := memstore.New()
			cfg := auth.Config{
				Users: mem, Tokens: mem, Secret: testSecret,
				Keys:      auth.KeyConfig{SigningKey: key},
				Logger:    slog.New(slog.DiscardHandler),
				Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
				Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
			}
			plain, err := auth.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Sessions.VerifyCacheSize = 100
			cached, err := auth.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			one, err := plain.Register(ctx, auth.RegisterInput{Email: "one@example.com", Password: goodPassword, Name: "One"})
			if err != nil {
				t.Fatal(err)
			}
			two, err := plain.Login(ctx, "one@example.com", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			a, b := one.AccessToken, two.AccessToken
			cut := func(s string) (string, string) { i := strings.LastIndexByte(s, '.'); return s[:i], s[i:] }
			aSigned, aSig := cut(a)
			bSigned, _ := cut(b)
			for _, tok := range []string{a, b, bSigned + aSig, aSigned + aSig[:len(aSig)-2], aSig[1:], a + ".", testutil.WithSignatureFlipped(a), a} {
				for range 2 {
					c0, err0 := plain.Verify(ctx, tok)
					c1, err1 := cached.Verify(ctx, tok)
					if !sameErr(err0, err1) || !reflect.DeepEqual(c0, c1) {
						t.Fatalf("token %.40q…: uncached %+v, %v; cached %+v, %v", tok, c0, err0, c1, err1)
					}
				}
			}
			if _, err := cached.Verify(ctx, bSigned+aSig); err == nil {
				t.Error("a signature moved onto another token's claims verified")
			}
		})
	}
}
