package auth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// jwksGet serves one request to a's JWKSHandler.
func jwksGet(a *auth.Authenticator, method string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/.well-known/jwks.json", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	a.JWKSHandler().ServeHTTP(rec, req)
	return rec
}

func TestJWKSEmptyWithHS256(t *testing.T) {
	a := asymNew(t, memstore.New(), newAsymClock(), nil)
	rec := jwksGet(a, http.MethodGet)
	if rec.Code != 200 || rec.Body.String() != `{"keys":[]}` {
		t.Fatalf("HS256 JWK Set: %d %q, want 200 {\"keys\":[]}", rec.Code, rec.Body)
	}
	for _, secret := range []string{string(asymSecret), base64.StdEncoding.EncodeToString(asymSecret), base64.RawURLEncoding.EncodeToString(asymSecret)} {
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatal("the JWK Set holds the secret")
		}
	}
}

// jwksForbidden are the JWK members of private and symmetric keys (RFC 7518
// §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var jwksForbidden = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

func TestJWKSContent(t *testing.T) {
	ed, ec, rs := asymKey("EdDSA"), asymKey("ES256"), asymKey("RS256")
	a := asymNew(t, memstore.New(), newAsymClock(), ed, ec.Public(), rs.Public(), ed.Public())
	rec := jwksGet(a, http.MethodGet)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	h := rec.Header()
	if h.Get("Content-Type") != "application/jwk-set+json" || h.Get("Cache-Control") != "public, max-age=300" ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
		t.Fatalf("headers %v", h)
	}

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		t.Fatalf("JWK Set %s: %v", rec.Body, err)
	}
	// The signing key first, then the verify keys; the repeated one once.
	want := []struct {
		pub      crypto.PublicKey
		kty, alg string
		members  []string
	}{
		{ed.Public(), "OKP", "EdDSA", []string{"alg", "crv", "kid", "kty", "use", "x"}},
		{ec.Public(), "EC", "ES256", []string{"alg", "crv", "kid", "kty", "use", "x", "y"}},
		{rs.Public(), "RSA", "RS256", []string{"alg", "e", "kid", "kty", "n", "use"}},
	}
	if len(set.Keys) != len(want) {
		t.Fatalf("%d keys, want %d: %s", len(set.Keys), len(want), rec.Body)
	}
	for i, w := range want {
		k := set.Keys[i]
		var names []string
		for name := range k {
			names = append(names, name)
		}
		slices.Sort(names)
		if !slices.Equal(names, w.members) {
			t.Errorf("key %d has members %v, want %v", i, names, w.members)
		}
		for _, name := range jwksForbidden {
			if _, ok := k[name]; ok {
				t.Errorf("key %d has the private or symmetric member %q", i, name)
			}
		}
		if k["kty"] != w.kty || k["alg"] != w.alg || k["use"] != "sig" || k["kid"] != asymKidOf(t, w.pub) {
			t.Errorf("key %d: %v", i, k)
		}
		pub, err := jwksPublicKey(k)
		if err != nil || !publicEqual(pub, w.pub) {
			t.Errorf("key %d does not decode to the configured key: %v", i, err)
		}
	}
	// No private bytes anywhere in the body, in any encoding we use.
	body := rec.Body.String()
	rsaKey := rs.(*rsa.PrivateKey)
	for name, secret := range map[string][]byte{
		"secret":       asymSecret,
		"Ed25519 seed": ed.(ed25519.PrivateKey).Seed(),
		"RSA d":        rsaKey.D.Bytes(),
		"RSA p":        rsaKey.Primes[0].Bytes(),
	} {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.StdEncoding} {
			if strings.Contains(body, enc.EncodeToString(secret)) {
				t.Errorf("the JWK Set holds the %s", name)
			}
		}
	}
	if strings.Contains(body, string(asymSecret)) {
		t.Error("the JWK Set holds the secret")
	}

	// HEAD: the headers without the body; a matching ETag: 304.
	head := jwksGet(a, http.MethodHead)
	if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != rec.Header().Get("Content-Length") {
		t.Errorf("HEAD: %d, %d bytes, headers %v", head.Code, head.Body.Len(), head.Header())
	}
	if r := jwksGet(a, http.MethodGet, "If-None-Match", h.Get("ETag")); r.Code != http.StatusNotModified || r.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d %q", r.Code, r.Body)
	}
	// Other methods: 405 in the contract's error shape.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "TRACE"} {
		r := jwksGet(a, m)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if r.Code != 405 || r.Header().Get("Allow") != "GET, HEAD" || json.Unmarshal(r.Body.Bytes(), &e) != nil || e.Error.Code != "METHOD_NOT_ALLOWED" {
			t.Errorf("%s: %d %v %s", m, r.Code, r.Header(), r.Body)
		}
	}
}

// TestJWKSThumbprints checks kids against the RFC examples: RFC 7638 §3.1
// (RSA) and RFC 8037 Appendix A.3 (Ed25519).
func TestJWKSThumbprints(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pub  crypto.PublicKey
		want string
	}{
		{&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{ed25519.PublicKey(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	} {
		if got := asymKidOf(t, tc.pub); got != tc.want {
			t.Errorf("kid of %T = %s, want %s", tc.pub, got, tc.want)
		}
	}
}

// jwksPublicKey decodes a JWK by hand, with crypto/* only, independently
// of the library and of golang-jwt.
func jwksPublicKey(k map[string]any) (crypto.PublicKey, error) {
	field := func(name string) []byte {
		s, _ := k[name].(string)
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		return b
	}
	switch k["kty"] {
	case "OKP":
		if k["crv"] != "Ed25519" || len(field("x")) != ed25519.PublicKeySize {
			return nil, errBadJWK
		}
		return ed25519.PublicKey(field("x")), nil
	case "EC":
		x, y := field("x"), field("y")
		if k["crv"] != "P-256" || len(x) != 32 || len(y) != 32 {
			return nil, errBadJWK
		}
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	case "RSA":
		n, e := field("n"), field("e")
		if len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errBadJWK
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, errBadJWK
}

type jwksError string

func (e jwksError) Error() string { return string(e) }

const errBadJWK = jwksError("bad JWK")

// jwksVerify verifies a compact JWS against a JWK Set by hand: the key is
// the one the kid names, and the signature is checked with crypto/* alone
// under the algorithm the JWK declares. It returns the payload's claims.
func jwksVerify(t testing.TB, setJSON []byte, token string) map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(setJSON, &set); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var header map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(hb, &header); err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	for _, c := range set.Keys {
		if c["kid"] == header["kid"] {
			k = c
		}
	}
	if k == nil {
		t.Fatalf("no key with kid %v in %s", header["kid"], setJSON)
	}
	if header["alg"] != k["alg"] || header["typ"] != "at+jwt" {
		t.Fatalf("header %v for key %v", header, k)
	}
	pub, err := jwksPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	input := []byte(parts[0] + "." + parts[1])
	digest := sha256.Sum256(input)
	ok := false
	switch k["alg"] {
	case "EdDSA":
		ok = ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	case "ES256":
		if len(sig) == 64 {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			ok = ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s)
		}
	case "RS256":
		ok = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig) == nil
	}
	if !ok {
		t.Fatalf("%v signature does not verify", k["alg"])
	}
	var claims map[string]any
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(pb, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// TestJWKSIndependentVerification verifies the library's tokens with the
// published JWK Set and nothing but crypto/*: what a third party's JOSE
// implementation does. scripts/jose-verify.sh does the same with npm jose
// against the reference server.
func TestJWKSIndependentVerification(t *testing.T) {
	for _, alg := range asymAlgs {
		t.Run(alg, func(t *testing.T) {
			clock := newAsymClock()
			// The previous key of another algorithm is published too.
			prev := asymKey(asymAlgs[(slices.Index(asymAlgs, alg)+1)%len(asymAlgs)] + "-2")
			a := asymNew(t, memstore.New(), clock, asymKey(alg), prev.Public())
			res := asymRegister(t, a)
			claims := jwksVerify(t, jwksGet(a, http.MethodGet).Body.Bytes(), res.AccessToken)
			if claims["sub"] != res.User.ID || claims["iss"] != auth.DefaultIssuer || claims["exp"] != float64(clock.Now().Add(auth.DefaultAccessTokenTTL).Unix()) {
				t.Fatalf("claims %v", claims)
			}
			aud, _ := claims["aud"].([]any)
			if len(aud) != 1 || aud[0] != auth.DefaultAudience {
				t.Fatalf("aud %v", claims["aud"])
			}
		})
	}
}

// --- benchmarks ------------------------------------------------------------
//
// The asymmetric rows of spec/performance.md, named apart from the HS256
// ones in bench_test.go:
//
//	G3  BenchmarkVerifyAsymmetric/X ÷ BenchmarkBaselineGolangJWTParseAsymmetric/X ≤ 1.10
//	G17 allocs: BenchmarkVerifyAsymmetric/X ≤ BaselineGolangJWTParseAsymmetric/X + 2
//	G1  (BenchmarkMiddlewareAsymmetric/withAuth/EdDSA − BenchmarkMiddleware/noAuth/HS256)
//	    ÷ BenchmarkBaselineGolangJWTParseAsymmetric/EdDSA                 ≤ 1.25
//	G4  BenchmarkIssueAccessTokenAsymmetric/X ÷ BenchmarkBaselineGolangJWTSignAsymmetric/X
//	    (keys_bench_test.go)                                              ≤ 1.25
//
// for X in EdDSA, ES256 and RS256; the ratios to HS256 are these figures
// over BenchmarkVerify/HS256 and BenchmarkIssueAccessToken/HS256.

// asymBenchEnv is an Authenticator signing with the alg's key on a
// memstore, and the first access token of a registered user.
func asymBenchEnv(b *testing.B, alg string) (*auth.Authenticator, string) {
	b.Helper()
	clock := testutil.NewClock(time.Now())
	st := memstore.New()
	cfg := asymConfig(st, clock, asymKey(alg))
	cfg.Now = nil // the real clock: tokens stay valid throughout
	a, err := auth.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return a, asymRegister(b, a).AccessToken
}

func BenchmarkVerifyAsymmetric(b *testing.B) {
	for _, alg := range asymAlgs {
		b.Run(alg, func(b *testing.B) {
			a, token := asymBenchEnv(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineGolangJWTParseAsymmetric is golang-jwt's strict
// ParseWithClaims of the same library token, with a reused parser pinned to
// the alg and a key function returning the public key.
func BenchmarkBaselineGolangJWTParseAsymmetric(b *testing.B) {
	for _, alg := range asymAlgs {
		b.Run(alg, func(b *testing.B) {
			_, token := asymBenchEnv(b, alg)
			p := jwt.NewParser(
				jwt.WithValidMethods([]string{alg}),
				jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(),
				jwt.WithIssuer(auth.DefaultIssuer),
				jwt.WithAudience(auth.DefaultAudience),
				jwt.WithStrictDecoding(),
			)
			pub := asymKey(alg).Public()
			keyfunc := func(*jwt.Token) (any, error) { return pub, nil }
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.ParseWithClaims(token, new(testutil.BaselineClaims), keyfunc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMiddlewareAsymmetric is the numerator of G1 for EdDSA: the
// middleware in front of a trivial GET /me on a ServeMux.
func BenchmarkMiddlewareAsymmetric(b *testing.B) {
	b.Run("withAuth", func(b *testing.B) {
		b.Run("EdDSA", func(b *testing.B) {
			a, token := asymBenchEnv(b, "EdDSA")
			body := []byte(`{"ok":true}` + "\n")
			mux := http.NewServeMux()
			mux.Handle("GET /me", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = auth.ClaimsFromContext(r.Context())
				_, _ = w.Write(body)
			})))
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	})
}

// ExampleAuthenticator_JWKSHandler signs access tokens with an Ed25519 key
// and publishes its public half for other services.
func ExampleAuthenticator_JWKSHandler() {
	// A fixed key, so that the output below is stable. Load a real one with
	// auth.ParsePrivateKeyPEM (openssl genpkey -algorithm ed25519).
	seed := sha256.Sum256([]byte("example only"))
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users:  st,
		Tokens: st,
		Secret: []byte("example-secret-0123456789abcdefghijklmn"),
		Keys:   auth.KeyConfig{SigningKey: ed25519.NewKeyFromSeed(seed[:])},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/jwks.json", a.JWKSHandler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	fmt.Println(rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	fmt.Println(rec.Body.String())
	// Output:
	// application/jwk-set+json public, max-age=300
	// {"keys":[{"kty":"OKP","crv":"Ed25519","x":"-kNIkg0vS0ZP9qfWuafuu-ow9z0EEAfd2YaXmW0kpiA","kid":"Zx1ul-0oIOc8let60o13o5efQJzDpEsbYFsRGjM2KhQ","alg":"EdDSA","use":"sig"}]}
}
