package auth_test

// Tests of asymmetric access tokens: each algorithm, key rotation,
// algorithm confusion and kid injection, and key loading. The JWK Set and
// its independent verification are in jwks_test.go.

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// asymAlgs are the asymmetric algorithms, in the order tests run them.
var asymAlgs = []string{"EdDSA", "ES256", "RS256"}

// asymKey returns a test key: "EdDSA", "ES256" or "RS256", or a second one
// of the algorithm, "EdDSA-2" and so on.
func asymKey(name string) crypto.Signer { return testutil.Key(name) }

// asymSecret is the HS256 secret of the authenticators in these tests.
var asymSecret = []byte("asym-test-secret-0123456789abcdefghijklmnop")

// asymNew returns an Authenticator on st with the given keys, cheap
// hashing and no throttling.
func asymNew(t testing.TB, st *memstore.Store, clock *testutil.Clock, signing crypto.Signer, verify ...crypto.PublicKey) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(asymConfig(st, clock, signing, verify...))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func asymConfig(st *memstore.Store, clock *testutil.Clock, signing crypto.Signer, verify ...crypto.PublicKey) auth.Config {
	return auth.Config{
		Users:     st,
		Tokens:    st,
		Secret:    asymSecret,
		Now:       clock.Now,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Keys:      auth.KeyConfig{SigningKey: signing, VerifyKeys: verify},
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
}

func newAsymClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// asymRegister registers a fresh user and returns its first tokens.
func asymRegister(t testing.TB, a *auth.Authenticator) *auth.AuthResult {
	t.Helper()
	email := "asym-" + strings.ToLower(rand.Text()[:10]) + "@example.com"
	res, err := a.Register(context.Background(), auth.RegisterInput{Email: email, Password: "correct horse battery staple", Name: "Asym User"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// asymUnsupportedKeys generates keys of types and sizes the library
// refuses: RSA of 1024 bits, ECDSA on P-384, and X25519.
func asymUnsupportedKeys(t testing.TB) (rsa1024 *rsa.PrivateKey, p384 *ecdsa.PrivateKey, x25519 *ecdh.PrivateKey) {
	t.Helper()
	var err error
	if rsa1024, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		t.Fatal(err)
	}
	if p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if x25519, err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return rsa1024, p384, x25519
}

// asymHeader decodes a token's JOSE header.
func asymHeader(t testing.TB, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("header of %q: %v", token, err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("header %s: %v", raw, err)
	}
	return h
}

// asymForge builds a compact JWS from a raw header (any bytes, so that
// tests can write duplicate keys and odd layouts), the payload segment of
// a genuine token, and a signature made with m and key.
func asymForge(t testing.TB, header, payload string, m jwt.SigningMethod, key any) string {
	t.Helper()
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + payload
	sig, err := m.Sign(input, key)
	if err != nil {
		t.Fatalf("sign %s: %v", m.Alg(), err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func asymPayload(token string) string {
	parts := strings.Split(token, ".")
	return parts[1]
}

// asymKidOf returns the kid the library gives a public key, read from the
// JWK Set of an Authenticator that only publishes it.
func asymKidOf(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	st := memstore.New()
	a := asymNew(t, st, newAsymClock(), nil, pub)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	rec := httptest.NewRecorder()
	a.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWK Set %s: %v", rec.Body, err)
	}
	return set.Keys[0].Kid
}

func asymWantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestAsymmetricRoundTrip(t *testing.T) {
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			st, clock := memstore.New(), newAsymClock()
			key := asymKey(alg)
			a := asymNew(t, st, clock, key)
			res := asymRegister(t, a)

			h := asymHeader(t, res.AccessToken)
			if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != asymKidOf(t, key.Public()) || len(h) != 3 {
				t.Fatalf("access token header %v, want alg %s, typ at+jwt and the key's kid", h, alg)
			}
			// Refresh tokens stay HS256 with the derived key, and name no key.
			if rh := asymHeader(t, res.RefreshToken); rh["alg"] != "HS256" || rh["typ"] != "rt+jwt" || rh["kid"] != nil {
				t.Fatalf("refresh token header %v, want HS256 rt+jwt without kid", rh)
			}
			c, err := a.Verify(ctx, res.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.UserID != res.User.ID || c.SessionID == "" || c.TokenID == "" || c.Role != auth.RoleOwner {
				t.Fatalf("claims %+v", c)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt); got != auth.DefaultAccessTokenTTL {
				t.Fatalf("lifetime %v", got)
			}

			pair, err := a.Refresh(ctx, res.RefreshToken)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if _, err := a.Verify(ctx, pair.AccessToken); err != nil {
				t.Fatalf("Verify refreshed token: %v", err)
			}

			// The middleware accepts it; a tampered copy is refused.
			mw := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c, ok := auth.ClaimsFromContext(r.Context()); !ok || c.UserID != res.User.ID {
					t.Errorf("claims in context: %+v, %v", c, ok)
				}
			}))
			for _, tc := range []struct {
				token string
				want  int
			}{{pair.AccessToken, 200}, {pair.AccessToken[:len(pair.AccessToken)-6] + "AAAAAA", 401}} {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", "Bearer "+tc.token)
				rec := httptest.NewRecorder()
				mw.ServeHTTP(rec, req)
				if rec.Code != tc.want {
					t.Errorf("middleware: status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
				}
			}

			// Expiry: genuine tokens are TOKEN_EXPIRED, forged ones are not.
			clock.Advance(auth.DefaultAccessTokenTTL + time.Second)
			_, err = a.Verify(ctx, pair.AccessToken)
			asymWantErr(t, "expired", err, auth.ErrTokenExpired)
			forged := asymForge(t, `{"alg":"`+alg+`","kid":"`+asymKidOf(t, key.Public())+`","typ":"at+jwt"}`, asymPayload(pair.AccessToken), jwt.GetSigningMethod(alg), asymKey(alg+"-2"))
			_, err = a.Verify(ctx, forged)
			asymWantErr(t, "expired and forged", err, auth.ErrInvalidToken)
			clock.Advance(-auth.DefaultAccessTokenTTL - time.Second)

			// Logout still revokes the session's access tokens at once.
			if err := a.Logout(ctx, pair.AccessToken); err != nil {
				t.Fatalf("Logout: %v", err)
			}
			_, err = a.Verify(ctx, pair.AccessToken)
			asymWantErr(t, "after logout", err, auth.ErrInvalidToken)
		})
	}
}

// TestKeyRotation runs the rotation procedure on one store: publish the
// new key, let it sign with the old one still accepted, then retire the
// old one. No session is lost on the way; once the old key is removed its
// tokens stop verifying.
func TestKeyRotation(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"EdDSA", "EdDSA-2"}, {"ES256", "ES256-2"}, {"RS256", "RS256-2"}, {"RS256", "EdDSA"}, {"EdDSA", "ES256"},
	} {
		t.Run(tc.from+"_to_"+tc.to, func(t *testing.T) {
			ctx := context.Background()
			st, clock := memstore.New(), newAsymClock()
			oldKey, newKey := asymKey(tc.from), asymKey(tc.to)
			oldKid, newKid := asymKidOf(t, oldKey.Public()), asymKidOf(t, newKey.Public())

			// Before: the old key signs.
			before := asymNew(t, st, clock, oldKey)
			res := asymRegister(t, before)

			// Step 1: publish the new key; the old one still signs.
			publish := asymNew(t, st, clock, oldKey, newKey.Public())
			if kid := asymHeader(t, asymRegister(t, publish).AccessToken)["kid"]; kid != oldKid {
				t.Fatalf("while publishing, tokens carry kid %v, want the old %s", kid, oldKid)
			}
			if _, err := publish.Verify(ctx, res.AccessToken); err != nil {
				t.Fatalf("step 1: old token: %v", err)
			}

			// Step 2: the new key signs; the old one only verifies.
			during := asymNew(t, st, clock, newKey, oldKey.Public())
			if _, err := during.Verify(ctx, res.AccessToken); err != nil {
				t.Fatalf("step 2: token of the old key: %v", err)
			}
			pair, err := during.Refresh(ctx, res.RefreshToken)
			if err != nil {
				t.Fatalf("step 2: refresh a session opened under the old key: %v", err)
			}
			if kid := asymHeader(t, pair.AccessToken)["kid"]; kid != newKid {
				t.Fatalf("new tokens carry kid %v, want %s", kid, newKid)
			}
			if _, err := during.Verify(ctx, pair.AccessToken); err != nil {
				t.Fatalf("step 2: token of the new key: %v", err)
			}

			// Step 3: the old key is retired.
			after := asymNew(t, st, clock, newKey)
			_, err = after.Verify(ctx, res.AccessToken)
			asymWantErr(t, "old-key token after retirement", err, auth.ErrInvalidToken)
			if _, err := after.Verify(ctx, pair.AccessToken); err != nil {
				t.Fatalf("step 3: token of the new key: %v", err)
			}
			// Not TOKEN_EXPIRED either, once it has expired: its key is gone.
			clock.Advance(auth.DefaultAccessTokenTTL + time.Second)
			_, err = after.Verify(ctx, res.AccessToken)
			asymWantErr(t, "expired old-key token after retirement", err, auth.ErrInvalidToken)
		})
	}
}

// TestHS256ToAsymmetric checks the two directions between the default and
// a signing key: HS256 tokens carry no kid; once a key signs, the secret no
// longer verifies access tokens; rolling back with the key among
// VerifyKeys keeps its tokens valid.
func TestHS256ToAsymmetric(t *testing.T) {
	ctx := context.Background()
	st, clock := memstore.New(), newAsymClock()
	key := asymKey("EdDSA")

	hs := asymNew(t, st, clock, nil)
	hsRes := asymRegister(t, hs)
	if h := asymHeader(t, hsRes.AccessToken); h["alg"] != "HS256" || h["kid"] != nil {
		t.Fatalf("HS256 header %v", h)
	}

	ed := asymNew(t, st, clock, key)
	_, err := ed.Verify(ctx, hsRes.AccessToken)
	asymWantErr(t, "HS256 token once a key signs", err, auth.ErrInvalidToken)
	// Refresh tokens are still keyed by the secret: the session goes on.
	pair, err := ed.Refresh(ctx, hsRes.RefreshToken)
	if err != nil {
		t.Fatalf("refresh across the switch: %v", err)
	}

	back := asymNew(t, st, clock, nil, key.Public())
	if _, err := back.Verify(ctx, pair.AccessToken); err != nil {
		t.Fatalf("EdDSA token after rolling back with the key in VerifyKeys: %v", err)
	}
	again := asymRegister(t, back)
	if _, err := back.Verify(ctx, again.AccessToken); err != nil {
		t.Fatalf("HS256 token beside VerifyKeys: %v", err)
	}
	// With public keys configured, an HS256 token that names a kid is not
	// the secret's.
	withKid := asymForge(t, `{"alg":"HS256","kid":"x","typ":"at+jwt"}`, asymPayload(again.AccessToken), jwt.SigningMethodHS256, asymSecret)
	_, err = back.Verify(ctx, withKid)
	asymWantErr(t, "HS256 token with a kid", err, auth.ErrInvalidToken)
	// Beside the secret, the public key is no HMAC secret either.
	kid := asymKidOf(t, key.Public())
	for name, secret := range asymPublicEncodings(t, key.Public()) {
		for _, header := range []string{`{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`, `{"alg":"HS256","typ":"at+jwt"}`} {
			_, err := back.Verify(ctx, asymForge(t, header, asymPayload(again.AccessToken), jwt.SigningMethodHS256, secret))
			asymWantErr(t, "HS256 with the public key ("+name+") beside the secret", err, auth.ErrInvalidToken)
		}
	}
}

// asymPublicEncodings are the forms of a public key an attacker may use as
// an HMAC secret: PEM (the classic attack), DER, the raw key and its JWK.
func asymPublicEncodings(t testing.TB, pub crypto.PublicKey) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{
		"PEM":         pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"PEM-no-nl":   []byte(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))),
		"DER":         der,
		"kid-as-text": []byte(asymKidOf(t, pub)),
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		out["raw"] = k
	case *ecdsa.PublicKey:
		out["raw"], _ = k.Bytes()
	case *rsa.PublicKey:
		out["raw"] = k.N.Bytes()
	}
	return out
}

func TestAlgorithmConfusion(t *testing.T) {
	ctx := context.Background()
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			st, clock := memstore.New(), newAsymClock()
			key := asymKey(alg)
			kid := asymKidOf(t, key.Public())
			// The other algorithms' keys are accepted too, so that a token
			// can name a real key of another algorithm.
			var others []crypto.PublicKey
			otherKid := map[string]string{}
			for _, o := range asymAlgs {
				if o != alg {
					others = append(others, asymKey(o).Public())
					otherKid[o] = asymKidOf(t, asymKey(o).Public())
				}
			}
			a := asymNew(t, st, clock, key, others...)
			res := asymRegister(t, a)
			payload := asymPayload(res.AccessToken)
			method := jwt.GetSigningMethod(alg)

			// Sanity: the forging helper makes tokens that verify.
			for _, o := range asymAlgs {
				k := kid
				if o != alg {
					k = otherKid[o]
				}
				good := asymForge(t, `{"alg":"`+o+`","kid":"`+k+`","typ":"at+jwt"}`, payload, jwt.GetSigningMethod(o), asymKey(o))
				if _, err := a.Verify(ctx, good); err != nil {
					t.Fatalf("control token of %s: %v", o, err)
				}
			}

			// An HS256 token with the public key as its secret, in every
			// encoding, with and without the key's kid.
			for name, secret := range asymPublicEncodings(t, key.Public()) {
				for _, header := range []string{
					`{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`,
					`{"alg":"HS256","typ":"at+jwt"}`,
				} {
					tok := asymForge(t, header, payload, jwt.SigningMethodHS256, secret)
					_, err := a.Verify(ctx, tok)
					asymWantErr(t, "HS256 with the public key ("+name+") as secret, header "+header, err, auth.ErrInvalidToken)
				}
			}

			// A token whose alg disagrees with the key its kid names, signed
			// correctly with the key of the alg it claims.
			for _, o := range asymAlgs {
				if o == alg {
					continue
				}
				tok := asymForge(t, `{"alg":"`+o+`","kid":"`+kid+`","typ":"at+jwt"}`, payload, jwt.GetSigningMethod(o), asymKey(o))
				_, err := a.Verify(ctx, tok)
				asymWantErr(t, o+" token naming the "+alg+" key", err, auth.ErrInvalidToken)
			}
			// Same key, sibling algorithm: the RSA key is bound to RS256
			// alone, so a PS256 or RS512 signature made with it fails.
			if alg == "RS256" {
				for _, sibling := range []jwt.SigningMethod{jwt.SigningMethodPS256, jwt.SigningMethodRS512} {
					tok := asymForge(t, `{"alg":"`+sibling.Alg()+`","kid":"`+kid+`","typ":"at+jwt"}`, payload, sibling, key)
					_, err := a.Verify(ctx, tok)
					asymWantErr(t, sibling.Alg()+" token with the RS256 key", err, auth.ErrInvalidToken)
				}
			}

			// alg none in its spellings, with an empty or a real signature.
			for _, none := range []string{"none", "None", "NONE", "nOnE"} {
				input := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"`+none+`","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + payload
				real := strings.Split(res.AccessToken, ".")[2]
				for _, tok := range []string{input + ".", input + "." + real} {
					_, err := a.Verify(ctx, tok)
					asymWantErr(t, "alg "+none, err, auth.ErrInvalidToken)
				}
			}

			// An attacker's key of the same algorithm, naming our kid, or its
			// own.
			attacker := asymKey(alg + "-2")
			for _, k := range []string{kid, asymKidOf(t, attacker.Public())} {
				tok := asymForge(t, `{"alg":"`+alg+`","kid":"`+k+`","typ":"at+jwt"}`, payload, method, attacker)
				_, err := a.Verify(ctx, tok)
				asymWantErr(t, "attacker key, kid "+k, err, auth.ErrInvalidToken)
			}

			// Keys and key addresses in the header are never trusted, even
			// beside a valid kid and signature.
			jwkJSON := `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`
			for _, extra := range []string{
				`"jku":"https://evil.example/jwks.json"`,
				`"x5u":"https://evil.example/cert.pem"`,
				`"jwk":` + jwkJSON,
				`"x5c":["MIIB"]`,
				`"crit":["exp"]`,
			} {
				tok := asymForge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"at+jwt",`+extra+`}`, payload, method, key)
				_, err := a.Verify(ctx, tok)
				asymWantErr(t, "header with "+extra, err, auth.ErrInvalidToken)
			}

			// No kid at all: asymmetric tokens must name their key, and the
			// secret no longer signs access tokens.
			tok := asymForge(t, `{"alg":"`+alg+`","typ":"at+jwt"}`, payload, method, key)
			_, err := a.Verify(ctx, tok)
			asymWantErr(t, "no kid", err, auth.ErrInvalidToken)
			tok = asymForge(t, `{"alg":"HS256","typ":"at+jwt"}`, payload, jwt.SigningMethodHS256, asymSecret)
			_, err = a.Verify(ctx, tok)
			asymWantErr(t, "HS256 with the secret", err, auth.ErrInvalidToken)

			// The refresh token is never an access token.
			_, err = a.Verify(ctx, res.RefreshToken)
			asymWantErr(t, "refresh token", err, auth.ErrInvalidToken)
			// Wrong kind, right key.
			tok = asymForge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"rt+jwt"}`, payload, method, key)
			_, err = a.Verify(ctx, tok)
			asymWantErr(t, "typ rt+jwt", err, auth.ErrInvalidToken)
		})
	}
}

// TestKidInjection signs tokens correctly with the real key but names it
// by a hostile or malformed kid. The kid is only ever a map key, so each
// is simply unknown: INVALID_TOKEN, never a panic or an internal error.
func TestKidInjection(t *testing.T) {
	ctx := context.Background()
	st, clock := memstore.New(), newAsymClock()
	key := asymKey("EdDSA")
	kid := asymKidOf(t, key.Public())
	a := asymNew(t, st, clock, key)
	res := asymRegister(t, a)
	payload := asymPayload(res.AccessToken)

	escapedKid := `\u00` + strings.ToLower(big.NewInt(int64(kid[0])).Text(16)) + kid[1:]
	for _, tc := range []struct {
		name, kidJSON string
	}{
		{"path traversal", `"../../dev/null"`},
		{"deep path traversal", `"../../../../../../etc/passwd"`},
		{"SQL", `"' OR '1'='1"`},
		{"SQL union", `"' UNION SELECT 'k'--"`},
		{"command", `"$(reboot)"`},
		{"URL", `"https://evil.example/key"`},
		{"empty", `""`},
		{"NUL", `"\u0000"`},
		{"our kid with a NUL", `"` + kid + `\u0000"`},
		{"our kid escaped", `"` + escapedKid + `"`},
		{"our kid with a space", `" ` + kid + `"`},
		{"our kid in upper case", `"` + strings.ToUpper(kid) + `"`},
		{"1 KB", `"` + strings.Repeat("A", 1024) + `"`},
		{"10 KB", `"` + strings.Repeat("../", 3414) + `"`},
		{"number", `123`},
		{"null", `null`},
		{"array", `["` + kid + `"]`},
		{"object", `{"kid":"` + kid + `"}`},
		{"bool", `true`},
	} {
		tok := asymForge(t, `{"alg":"EdDSA","kid":`+tc.kidJSON+`,"typ":"at+jwt"}`, payload, jwt.SigningMethodEdDSA, key)
		_, err := a.Verify(ctx, tok)
		asymWantErr(t, "kid "+tc.name, err, auth.ErrInvalidToken)
	}

	// Duplicate kid members: one is ours, the other not. Whichever one a
	// parser keeps, the two disagree and the token is refused.
	for _, header := range []string{
		`{"alg":"EdDSA","kid":"` + kid + `","kid":"../../dev/null","typ":"at+jwt"}`,
		`{"alg":"EdDSA","kid":"../../dev/null","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"EdDSA","kid":"` + kid + `","KID":"x","typ":"at+jwt"}`,
	} {
		tok := asymForge(t, header, payload, jwt.SigningMethodEdDSA, key)
		_, err := a.Verify(ctx, tok)
		if header == `{"alg":"EdDSA","kid":"`+kid+`","KID":"x","typ":"at+jwt"}` {
			// "KID" is another member name; the header is fine.
			if err != nil {
				t.Errorf("header %s: %v", header, err)
			}
			continue
		}
		asymWantErr(t, "header "+header, err, auth.ErrInvalidToken)
	}

	// Layouts a JSON encoder other than ours may produce: they verify.
	for _, header := range []string{
		` { "typ" : "at+jwt" , "alg" : "EdDSA" , "kid" : "` + kid + `" } `,
		"{\n\t\"kid\":\"" + kid + "\",\r\n\"alg\":\"EdDSA\",\"typ\":\"at+jwt\"}",
		`{"x":{"kid":"nested","y":["}",{"kid":"z"}]},"s":"\"kid\":\"no\"","n":-1.5e3,"t":true,"alg":"EdDSA","typ":"at+jwt","kid":"` + kid + `"}`,
	} {
		tok := asymForge(t, header, payload, jwt.SigningMethodEdDSA, key)
		if _, err := a.Verify(ctx, tok); err != nil {
			t.Errorf("header %s: %v", header, err)
		}
	}

	// Malformed headers around a valid signature.
	for _, header := range []string{
		`{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt"`,
		`["alg","EdDSA"]`,
		`{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt"}garbage`,
		`{"alg":"EdDSA","kid" "` + kid + `","typ":"at+jwt"}`,
		`{"alg":"EdDSA","typ":"at+jwt","pad":"` + strings.Repeat("x", 600) + `","kid":"` + kid + `"}`,
	} {
		tok := asymForge(t, header, payload, jwt.SigningMethodEdDSA, key)
		_, err := a.Verify(ctx, tok)
		asymWantErr(t, "header "+header[:min(len(header), 60)], err, auth.ErrInvalidToken)
	}
}

// asymPEM encodes DER bytes as a PEM block of the given type.
func asymPEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func asymPKCS8(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return asymPEM("PRIVATE KEY", der)
}

func asymPKIX(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return asymPEM("PUBLIC KEY", der)
}

func TestParseKeyPEM(t *testing.T) {
	for _, alg := range asymAlgs {
		key := asymKey(alg)
		priv, err := auth.ParsePrivateKeyPEM(asymPKCS8(t, key))
		if err != nil {
			t.Fatalf("%s private key: %v", alg, err)
		}
		if !publicEqual(priv.Public(), key.Public()) {
			t.Fatalf("%s private key parsed to another key", alg)
		}
		pub, err := auth.ParsePublicKeyPEM(asymPKIX(t, key.Public()))
		if err != nil {
			t.Fatalf("%s public key: %v", alg, err)
		}
		if !publicEqual(pub, key.Public()) {
			t.Fatalf("%s public key parsed to another key", alg)
		}
		// A private key followed by its own public key is fine.
		both := append(asymPKCS8(t, key), asymPKIX(t, key.Public())...)
		if _, err := auth.ParsePrivateKeyPEM(both); err != nil {
			t.Fatalf("%s private key with its public key: %v", alg, err)
		}
		if _, err := auth.New(asymConfig(memstore.New(), newAsymClock(), priv, pub)); err != nil {
			t.Fatalf("%s keys from PEM: New: %v", alg, err)
		}
	}

	rsa1024, p384, x25519 := asymUnsupportedKeys(t)
	ecKey := asymKey("ES256").(*ecdsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := asymCert(t, asymKey("EdDSA"))

	privateCases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM block"},
		{"not PEM", []byte("-----BEGIN NOTHING"), "no PEM block"},
		{"public key", asymPKIX(t, asymKey("EdDSA").Public()), `"PUBLIC KEY", not a private key`},
		{"certificate", cert, `"CERTIFICATE", not a private key`},
		{"PKCS#1 RSA", asymPEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(asymKey("RS256").(*rsa.PrivateKey))), "convert it to PKCS#8"},
		{"SEC 1 EC", asymPEM("EC PRIVATE KEY", sec1), "convert it to PKCS#8"},
		{"encrypted", asymPEM("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), "encrypted"},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), "headers"},
		{"corrupt", asymPEM("PRIVATE KEY", []byte("not DER")), "parse PKCS#8"},
		{"other block", asymPEM("OPENSSH PRIVATE KEY", []byte{1}), `unexpected PEM block "OPENSSH PRIVATE KEY"`},
		{"RSA 1024", asymPKCS8(t, rsa1024), "RSA key of 1024 bits is too weak"},
		{"P-384", asymPKCS8(t, p384), "curve P-384 is not supported"},
		{"X25519", asymPKCS8(t, x25519), "unsupported private key type"},
		{"mismatched pair", append(asymPKCS8(t, asymKey("EdDSA")), asymPKIX(t, asymKey("EdDSA-2").Public())...), "mismatched key pair"},
		{"mismatched pair across types", append(asymPKCS8(t, asymKey("RS256")), asymPKIX(t, asymKey("ES256").Public())...), "mismatched key pair"},
		{"two private keys", append(asymPKCS8(t, asymKey("EdDSA")), asymPKCS8(t, asymKey("EdDSA"))...), "only its own"},
	}
	for _, tc := range privateCases {
		_, err := auth.ParsePrivateKeyPEM(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("ParsePrivateKeyPEM(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	publicCases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no PEM block"},
		{"private key", asymPKCS8(t, asymKey("EdDSA")), "pass only its public half"},
		{"PKCS#1 RSA public", asymPEM("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(asymKey("RS256").Public().(*rsa.PublicKey))), "convert it to PKIX"},
		{"certificate", cert, `unexpected PEM block "CERTIFICATE"`},
		{"corrupt", asymPEM("PUBLIC KEY", []byte("not DER")), "parse PKIX"},
		{"RSA 1024", asymPKIX(t, rsa1024.Public()), "RSA key of 1024 bits is too weak"},
		{"P-384", asymPKIX(t, p384.Public()), "curve P-384 is not supported"},
		{"X25519", asymPKIX(t, x25519.Public()), "unsupported key type"},
		{"two keys", append(asymPKIX(t, asymKey("EdDSA").Public()), asymPKIX(t, asymKey("ES256").Public())...), "one public key per file"},
	}
	for _, tc := range publicCases {
		_, err := auth.ParsePublicKeyPEM(tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("ParsePublicKeyPEM(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func publicEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// asymCert returns a self-signed certificate of key, PEM-encoded.
func asymCert(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return asymPEM("CERTIFICATE", der)
}

// opaqueSigner hides the concrete type of a key behind crypto.Signer, as
// an HSM or KMS client would.
type opaqueSigner struct{ crypto.Signer }

// mismatchedSigner pairs a private key with another key's public half.
type mismatchedSigner struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (m mismatchedSigner) Public() crypto.PublicKey { return m.pub }

func TestNewRejectsBadKeys(t *testing.T) {
	rsa1024, p384, x25519 := asymUnsupportedKeys(t)
	ed := asymKey("EdDSA").(ed25519.PrivateKey)
	// An Ed25519 private key whose public half is another key's.
	edMismatch := append(ed25519.PrivateKey(nil), ed[:32]...)
	edMismatch = append(edMismatch, asymKey("EdDSA-2").Public().(ed25519.PublicKey)...)

	for _, tc := range []struct {
		name    string
		signing crypto.Signer
		verify  []crypto.PublicKey
		want    string
	}{
		{"RSA 1024", rsa1024, nil, "Config.Keys.SigningKey: auth: RSA key of 1024 bits is too weak"},
		{"P-384", p384, nil, "curve P-384 is not supported"},
		{"opaque ES256 signer", opaqueSigner{asymKey("ES256")}, nil, "not supported for ES256"},
		{"mismatched Ed25519", edMismatch, nil, "does not match"},
		{"mismatched signer", mismatchedSigner{asymKey("EdDSA"), asymKey("EdDSA-2").Public()}, nil, "does not match"},
		{"verify key RSA 1024", nil, []crypto.PublicKey{rsa1024.Public()}, "Config.Keys.VerifyKeys[0]"},
		{"verify key P-384", asymKey("EdDSA"), []crypto.PublicKey{asymKey("ES256").Public(), p384.Public()}, "Config.Keys.VerifyKeys[1]: auth: ECDSA curve P-384"},
		{"verify key X25519", nil, []crypto.PublicKey{x25519.Public()}, "unsupported key type *ecdh.PublicKey"},
		{"verify key is a secret", nil, []crypto.PublicKey{[]byte("0123456789abcdef0123456789abcdef")}, "unsupported key type []uint8"},
		{"verify key is private", nil, []crypto.PublicKey{asymKey("EdDSA")}, "unsupported key type ed25519.PrivateKey"},
		{"verify key nil", nil, []crypto.PublicKey{nil}, "nil public key"},
		{"verify key nil ECDSA", nil, []crypto.PublicKey{(*ecdsa.PublicKey)(nil)}, "empty ECDSA public key"},
		{"verify key nil RSA", nil, []crypto.PublicKey{(*rsa.PublicKey)(nil)}, "empty RSA public key"},
		{"signing key nil ECDSA", (*ecdsa.PrivateKey)(nil), nil, "Config.Keys.SigningKey is an empty key"},
		{"signing key empty Ed25519", ed25519.PrivateKey(nil), nil, "Config.Keys.SigningKey is an empty key"},
		{"signing key empty RSA", &rsa.PrivateKey{}, nil, "Config.Keys.SigningKey"},
		{"verify key short Ed25519", nil, []crypto.PublicKey{ed25519.PublicKey{1, 2, 3}}, "Ed25519 public key of 3 bytes"},
	} {
		cfg := asymConfig(memstore.New(), newAsymClock(), tc.signing, tc.verify...)
		_, err := auth.New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	// An opaque Ed25519 signer is fine: golang-jwt signs EdDSA with any
	// crypto.Signer. The same key listed again among VerifyKeys is too.
	a, err := auth.New(asymConfig(memstore.New(), newAsymClock(), opaqueSigner{asymKey("EdDSA")}, asymKey("EdDSA").Public()))
	if err != nil {
		t.Fatalf("opaque Ed25519 signer: %v", err)
	}
	if _, err := a.Verify(context.Background(), asymRegister(t, a).AccessToken); err != nil {
		t.Fatalf("token of an opaque Ed25519 signer: %v", err)
	}
}

// FuzzAsymmetricHeader signs arbitrary headers with the real key and
// checks that a token is accepted only when its header, as encoding/json
// reads it, names the key by its exact kid, with its algorithm and the
// access-token typ, and nothing else that names a key. It guards the
// allocation-free kid scan that picks the key.
func FuzzAsymmetricHeader(f *testing.F) {
	key := asymKey("EdDSA")
	st, clock := memstore.New(), newAsymClock()
	a := asymNew(f, st, clock, key)
	res := asymRegister(f, a)
	payload := asymPayload(res.AccessToken)
	kid := asymKidOf(f, key.Public())
	for _, h := range []string{
		`{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt"}`,
		` {"typ":"at+jwt", "x":[1,{"kid":"a"}], "alg":"EdDSA","kid":"` + kid + `"}`,
		`{"alg":"EdDSA","kid":"` + kid + `","kid":"x","typ":"at+jwt"}`,
		`{"alg":"EdDSA","k\u0069d":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","jku":"x"}`,
		`{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`,
		`{"alg":"EdDSA","kid":"` + kid + `\"","typ":"at+jwt"}`,
	} {
		f.Add(h)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, header string) {
		input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + payload
		sig, err := jwt.SigningMethodEdDSA.Sign(input, key)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Verify(ctx, input+"."+base64.RawURLEncoding.EncodeToString(sig))
		if err == nil {
			var h map[string]any
			if json.Unmarshal([]byte(header), &h) != nil || h["kid"] != kid || h["alg"] != "EdDSA" || h["typ"] != "at+jwt" {
				t.Fatalf("accepted header %q", header)
			}
			for _, name := range []string{"jku", "jwk", "x5u", "x5c", "crit"} {
				if _, ok := h[name]; ok {
					t.Fatalf("accepted header %q", header)
				}
			}
		} else if !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("header %q: %v", header, err)
		}
	})
}
