package securitytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section E: access-token verification.
func rowsE() []row {
	return []row{
		{id: "E02", name: "missing_bearer_token_is_unauthorized", fn: testUnauthorizedWithoutBearerToken},
		{id: "E03", name: "forged_altered_and_foreign_tokens_refused", fn: testInvalidTokenOverHTTP},
		{id: "E05", name: "asymmetric_algorithms_and_key_confusion_refused", fn: testAsymmetricForgeries},
		{id: "E06", name: "keys_named_in_the_header_never_used", fn: testHeaderKeysIgnored},
		{id: "E07", name: "hostile_kid_refused", fn: testHostileKid},
		{id: "E10", name: "expired_tokens_are_token_expired", fn: testTokenExpiredOverHTTP},
		{id: "E15", name: "claim_type_confusion_refused", fn: testClaimTypeConfusion},
		{id: "E18", name: "other_audience_or_issuer_refused", fn: testIssuerAndAudienceChecked},
		{id: "E20", name: "malformed_tokens_refused", fn: testMalformedTokens},
		{id: "E21", name: "expiry_and_leeway_boundaries", fn: testAccessTokenExpiry},
		{id: "E22", name: "issued_access_token_claims", fn: testAccessTokenClaims},
	}
}

// testUnauthorizedWithoutBearerToken: E02, in the contract's terms: no
// bearer token is 401 UNAUTHORIZED with a bare Bearer challenge.
func testUnauthorizedWithoutBearerToken(t *testing.T, s *suite) {
	e := s.env(t)
	for _, c := range []struct{ method, path string }{{http.MethodGet, "/me"}, {http.MethodPost, "/logout"}} {
		r := e.do(c.method, c.path, nil, nil)
		checkError(t, c.method+" "+c.path, r, http.StatusUnauthorized, "UNAUTHORIZED")
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("%s %s: WWW-Authenticate %q, want Bearer", c.method, c.path, got)
		}
	}
}

// hs256Sign signs header.payload, both given as JSON text, with HS256 and
// key.
func hs256Sign(t testing.TB, header, payload string, key []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

// testInvalidTokenOverHTTP covers E03 (alg none in every spelling), E04
// (HS384/HS512 with the real secret), E06 (a jku header), E08 (altered
// payload), E09 (altered, removed or borrowed signature), E12 (no exp), E13
// (nbf or iat in the future), E14 (wrong or missing iss and aud), E17 (a
// refresh token as a bearer token), E18 (another Authenticator's token),
// E20 (malformed tokens), G09 and G12 on /refresh, and revoked and reused
// tokens. Every forgery is tried on GET /me and POST /logout; none may end
// or spend the genuine session.
func testInvalidTokenOverHTTP(t *testing.T, s *suite) {
	e := s.env(t)
	alice := e.registerHTTP(t, "alice@example.com")
	bob := e.registerHTTP(t, "bob@example.com")
	at := jwtPart(t, alice.access, 1)
	rt := jwtPart(t, alice.refresh, 1)
	atHeader := jwtPart(t, alice.access, 0)
	rtHeader := jwtPart(t, alice.refresh, 0)
	hs256 := jwt.SigningMethodHS256
	exp := claimInt(t, alice.access, "exp")

	// The harness signs a token the library accepts: the same claims,
	// re-signed with the real secret. Each forgery below changes one thing.
	if r := e.do(http.MethodGet, "/me", nil, bearer(signWith(t, hs256, testSecret, atHeader, at))); r.status != http.StatusOK {
		t.Fatalf("re-signed genuine access token: status %d, body %s; the forgeries below would prove nothing", r.status, r.body)
	}

	other := e.sibling(func(c *auth.Config) { c.Secret = []byte("another-secret-another-secret-another!!") })
	stranger, err := other.Register(context.Background(), auth.RegisterInput{Email: "stranger@example.com", Password: goodPassword, Name: "S"})
	if err != nil {
		t.Fatal(err)
	}
	dot := strings.LastIndexByte(alice.access, '.')

	accessCases := []struct{ name, token string }{
		{"not a JWT", "abc"},
		{"two parts", "a.b"},
		{"three junk parts", "a.b.c"},
		{"four parts", alice.access + ".x"},
		{"padded", alice.access + "="},
		{"signature removed", alice.access[:dot+1]},
		{"no signature part", alice.access[:dot]},
		{"signature flipped", testutil.WithSignatureFlipped(alice.access)},
		{"signature of another token", alice.access[:dot] + bob.access[strings.LastIndexByte(bob.access, '.'):]},
		{"payload changed: sub is bob", withPayload(t, alice.access, edit(at, map[string]any{"sub": bob.userID}))},
		{"payload changed: exp a day later", withPayload(t, alice.access, edit(at, map[string]any{"exp": exp + 86400}))},
		{"header changed: typ", withHeader(t, alice.access, edit(atHeader, map[string]any{"typ": "JWT"}))},
		{"header changed: alg HS512", withHeader(t, alice.access, edit(atHeader, map[string]any{"alg": "HS512"}))},
		{"refresh token as access token", alice.refresh},
		{"token of another Authenticator", stranger.AccessToken},
		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": "at+jwt"}, at)},
		{"alg none, sub bob", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": "at+jwt"}, edit(at, map[string]any{"sub": bob.userID}))},
		{"alg None", unsignedToken(map[string]any{"alg": "None", "typ": "at+jwt"}, at)},
		{"alg NONE", unsignedToken(map[string]any{"alg": "NONE", "typ": "at+jwt"}, at)},
		{"alg nOnE", unsignedToken(map[string]any{"alg": "nOnE", "typ": "at+jwt"}, at)},
		{"alg none with the genuine signature", unsignedToken(map[string]any{"alg": "none", "typ": "at+jwt"}, at) + alice.access[dot+1:]},
		{"alg HS256, empty signature", unsignedToken(atHeader, at)},
		{"HS512 with the real secret", signWith(t, jwt.SigningMethodHS512, testSecret, atHeader, at)},
		{"HS384 with the real secret", signWith(t, jwt.SigningMethodHS384, testSecret, atHeader, at)},
		{"real secret, no typ", signWith(t, hs256, testSecret, map[string]any{"typ": nil}, at)},
		{"real secret, typ rt+jwt", signWith(t, hs256, testSecret, map[string]any{"typ": "rt+jwt"}, at)},
		{"real secret, jku header", signWith(t, hs256, testSecret, edit(atHeader, map[string]any{"jku": "https://evil.example/keys"}), at)},
		{"real secret, no exp", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"exp": nil}))},
		{"real secret, wrong iss", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iss": "evil"}))},
		{"real secret, no iss", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iss": nil}))},
		{"real secret, wrong aud", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"aud": "other"}))},
		{"real secret, no aud", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"aud": nil}))},
		{"real secret, iat in the future", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iat": exp + 3600}))},
		{"real secret, no iat", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iat": nil}))},
		{"real secret, nbf in the future", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"nbf": exp}))},
		{"real secret, empty sub", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sub": ""}))},
		{"real secret, bob in alice's session", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sub": bob.userID}))},
		{"real secret, unknown session", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sid": "00000000-0000-4000-8000-000000000000"}))},
		{"real secret, no sid", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sid": nil}))},
		{"real secret, no jti", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"jti": nil}))},
		{"refresh key, access claims", signWith(t, hs256, []byte("not the refresh key but close enough!!!!"), rtHeader, at)},
	}
	for _, c := range accessCases {
		r := e.do(http.MethodGet, "/me", nil, bearer(c.token))
		checkError(t, "me: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
		if r.status == http.StatusOK {
			continue // already reported; logging out would end alice's session
		}
		r = e.do(http.MethodPost, "/logout", nil, bearer(c.token))
		checkError(t, "logout: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
		if _, err := e.a.Verify(context.Background(), c.token); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify: %s: %v, want ErrInvalidToken", c.name, err)
		}
	}

	refreshCases := []struct{ name, token string }{
		{"empty", ""},
		{"not a JWT", "abc"},
		{"signature flipped", testutil.WithSignatureFlipped(alice.refresh)},
		{"payload changed: sub is bob", withPayload(t, alice.refresh, edit(rt, map[string]any{"sub": bob.userID}))},
		{"payload changed: jti", withPayload(t, alice.refresh, edit(rt, map[string]any{"jti": "x"}))},
		{"access token as refresh token", alice.access},
		{"token of another Authenticator", stranger.RefreshToken},
		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": rtHeader["typ"]}, rt)},
		{"refresh claims signed with the access key", signWith(t, hs256, testSecret, rtHeader, rt)},
		{"HS512 with the access key", signWith(t, jwt.SigningMethodHS512, testSecret, rtHeader, rt)},
		{"over-long", strings.Repeat("a", 10<<10)},
	}
	for _, c := range refreshCases {
		r := e.postJSON("/refresh", testutil.RefreshBody(c.token))
		checkError(t, "refresh: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
	}

	// None of the forgeries spent or ended alice's genuine session.
	if r := e.do(http.MethodGet, "/me", nil, bearer(alice.access)); r.status != http.StatusOK {
		t.Errorf("alice's genuine access token after the forgeries: status %d, body %s", r.status, r.body)
	}
	e.refreshHTTP(t, alice.refresh)

	// Revoked and reused tokens.
	sess := e.loginHTTP(t, "bob@example.com", goodPassword)
	if r := e.do(http.MethodPost, "/logout", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	checkError(t, "me with a revoked session", e.do(http.MethodGet, "/me", nil, bearer(sess.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh with a revoked session", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	sess = e.loginHTTP(t, "bob@example.com", goodPassword)
	_, next := e.refreshHTTP(t, sess.refresh)
	e.refreshHTTP(t, next) // a spent token whose successor is spent is reuse, whatever the window
	checkError(t, "refresh with a spent refresh token", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
}

// attackerKeys are asymmetric keys of every algorithm the library knows,
// none of them configured in any row's environment (PS256 signs with the
// RSA key). They are the shared test keys, generated once per test binary,
// since RSA key generation is slow under the race detector.
func attackerKeys() map[string]crypto.Signer {
	return map[string]crypto.Signer{
		"EdDSA": testutil.Key("EdDSA"), "ES256": testutil.Key("ES256"),
		"RS256": testutil.Key("RS256"), "PS256": testutil.Key("RS256"),
	}
}

// testAsymmetricForgeries: E05. An HS256 deployment refuses tokens signed
// with any asymmetric algorithm; a deployment that signs with a public-key
// algorithm (Config.Keys.SigningKey) refuses an attacker's key of the same
// algorithm and HS256 tokens keyed with its public key in any encoding
// (CVE-2015-9235).
func testAsymmetricForgeries(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "asym@example.com")
	payload := jwtPart(t, sess.access, 1)
	for alg, key := range attackerKeys() {
		tok := signWith(t, jwt.GetSigningMethod(alg), key, map[string]any{"typ": "at+jwt"}, payload)
		checkError(t, alg+" token on an HS256 deployment", e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
	}

	for _, alg := range []string{"EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			var signer crypto.Signer
			var err error
			switch alg {
			case "EdDSA":
				_, signer, err = ed25519.GenerateKey(rand.Reader)
			case "ES256":
				signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			}
			if err != nil {
				t.Fatal(err)
			}
			e := s.env(t, func(c *auth.Config) { c.Keys.SigningKey = signer })
			sess := e.registerHTTP(t, "asym@example.com")
			header := jwtPart(t, sess.access, 0)
			payload := jwtPart(t, sess.access, 1)
			if header["alg"] != alg || header["kid"] == nil {
				t.Fatalf("issued header %v, want alg %s and a kid", header, alg)
			}
			if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
				t.Fatalf("genuine %s token: status %d", alg, r.status)
			}
			der, err := x509.MarshalPKIXPublicKey(signer.Public())
			if err != nil {
				t.Fatal(err)
			}
			encodings := map[string][]byte{
				"PKIX DER": der,
				"PEM":      pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
			}
			if pub, ok := signer.Public().(ed25519.PublicKey); ok {
				encodings["raw"] = pub
			}
			for name, secret := range encodings {
				for _, h := range []map[string]any{header, edit(header, map[string]any{"kid": nil})} {
					tok := signWith(t, jwt.SigningMethodHS256, secret, h, payload)
					checkError(t, "HS256 keyed with the "+name+" public key", e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
				}
			}
			attacker := attackerKeys()[alg]
			tok := signWith(t, jwt.GetSigningMethod(alg), attacker, header, payload)
			checkError(t, "attacker's "+alg+" key under our kid", e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
			tok = signWith(t, jwt.SigningMethodHS256, testSecret, edit(header, map[string]any{"kid": nil}), payload)
			checkError(t, "HS256 with the secret once a signing key is set", e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
			if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
				t.Errorf("genuine %s token after the forgeries: status %d", alg, r.status)
			}
		})
	}
}

// testHeaderKeysIgnored: E06. Keys and key addresses in the header (jwk,
// jku, x5u, x5c) are never used, never fetched, and make even a token
// signed with the real secret invalid.
func testHeaderKeysIgnored(t *testing.T, s *suite) {
	e := s.env(t)
	var fetched atomic.Int32
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		http.Error(w, "no keys here", http.StatusNotFound)
	}))
	defer keyServer.Close()

	sess := e.registerHTTP(t, "jwk@example.com")
	header := jwtPart(t, sess.access, 0)
	payload := jwtPart(t, sess.access, 1)
	attacker := attackerKeys()["EdDSA"]
	pub := attacker.Public().(ed25519.PublicKey)
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}
	octJWK := map[string]any{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString([]byte("attacker-chosen-hmac-key-0123456789abc"))}
	cases := []struct{ name, token string }{
		{"EdDSA with the attacker's key in jwk", signWith(t, jwt.SigningMethodEdDSA, attacker, edit(header, map[string]any{"jwk": jwk}), payload)},
		{"HS256 with the attacker's key in an oct jwk", signWith(t, jwt.SigningMethodHS256, []byte("attacker-chosen-hmac-key-0123456789abc"), edit(header, map[string]any{"jwk": octJWK}), payload)},
		{"EdDSA with jku", signWith(t, jwt.SigningMethodEdDSA, attacker, edit(header, map[string]any{"jku": keyServer.URL + "/jwks.json"}), payload)},
		{"EdDSA with x5u", signWith(t, jwt.SigningMethodEdDSA, attacker, edit(header, map[string]any{"x5u": keyServer.URL + "/cert.pem"}), payload)},
		{"EdDSA with x5c", signWith(t, jwt.SigningMethodEdDSA, attacker, edit(header, map[string]any{"x5c": []string{"MIIBfake"}}), payload)},
	}
	for _, name := range []string{"jwk", "jku", "x5u", "x5c", "crit"} {
		var v any = keyServer.URL + "/" + name
		switch name {
		case "jwk":
			v = jwk
		case "x5c":
			v = []string{"MIIBfake"}
		case "crit":
			v = []string{"exp"}
		}
		cases = append(cases, struct{ name, token string }{"real secret with " + name, signWith(t, jwt.SigningMethodHS256, testSecret, edit(header, map[string]any{name: v}), payload)})
	}
	for _, c := range cases {
		checkError(t, c.name, e.do(http.MethodGet, "/me", nil, bearer(c.token)), http.StatusUnauthorized, "INVALID_TOKEN")
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the library fetched %d keys from addresses in token headers", n)
	}
}

// testHostileKid: E07. A kid is never a file name, a query or a key: tokens
// naming a path to an empty file (and signed with an empty key), an SQL
// injection (signed with the key it would select) or a 10 KB kid are
// refused, never a 500.
func testHostileKid(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "kid@example.com")
	header := jwtPart(t, sess.access, 0)
	payload := testutil.MustJSON(jwtPart(t, sess.access, 1))
	cases := []struct {
		name string
		kid  string
		key  []byte
	}{
		{"path to /dev/null, empty key", "../../../../dev/null", []byte{}},
		{"path to /dev/null, key of NULs", "../../../../../../dev/null", make([]byte, 32)},
		{"SQL union selecting 'k'", "' UNION SELECT 'k'--", []byte("k")},
		{"SQL tautology", "x' OR '1'='1", []byte("")},
		{"10 KB", strings.Repeat("A", 10<<10), testSecret},
	}
	for _, c := range cases {
		h := edit(header, map[string]any{"kid": c.kid})
		tok := hs256Sign(t, testutil.MustJSON(h), payload, c.key)
		checkError(t, "kid "+c.name, e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
		if _, err := e.a.Verify(context.Background(), tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify with kid %s: %v, want ErrInvalidToken", c.name, err)
		}
	}
}

// testTokenExpiredOverHTTP covers E10 (an expired genuine token is
// TOKEN_EXPIRED), E11 (expired and forged is INVALID_TOKEN, never
// TOKEN_EXPIRED) and G07 over HTTP (a refresh token past its 7 days).
func testTokenExpiredOverHTTP(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "exp@example.com")
	other := e.loginHTTP(t, "exp@example.com", goodPassword)

	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Fatalf("fresh token: status %d, body %s", r.status, r.body)
	}
	e.clock.Advance(15*time.Minute + time.Second)
	r := e.do(http.MethodGet, "/me", nil, bearer(sess.access))
	checkError(t, "me with an access token past 15 minutes", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("expired token: WWW-Authenticate %q, want error=\"invalid_token\"", got)
	}
	r = e.do(http.MethodPost, "/logout", nil, bearer(sess.access))
	checkError(t, "logout with an access token past 15 minutes", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	// Expired and forged: never TOKEN_EXPIRED.
	r = e.do(http.MethodGet, "/me", nil, bearer(testutil.WithSignatureFlipped(sess.access)))
	checkError(t, "me with an expired token with a bad signature", r, http.StatusUnauthorized, "INVALID_TOKEN")
	r = e.do(http.MethodGet, "/me", nil, bearer(withPayload(t, sess.access, edit(jwtPart(t, sess.access, 1), map[string]any{"sub": other.userID + "x"}))))
	checkError(t, "me with an expired token with an altered payload", r, http.StatusUnauthorized, "INVALID_TOKEN")

	// A refresh token within its 7 days works; past them it has expired.
	e.refreshHTTP(t, other.refresh)
	e.clock.Advance(7*24*time.Hour - 15*time.Minute)
	r = e.postJSON("/refresh", testutil.RefreshBody(sess.refresh))
	checkError(t, "refresh with a refresh token past 7 days", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	r = e.postJSON("/refresh", testutil.RefreshBody(testutil.WithSignatureFlipped(sess.refresh)))
	checkError(t, "refresh with an expired refresh token with a bad signature", r, http.StatusUnauthorized, "INVALID_TOKEN")
}

// testClaimTypeConfusion: E15 (aud in every form) and E16 (claims of the
// wrong type, an unknown subject). Every token is signed with the real
// secret, so only the library's claim checks stand between it and a 200.
// Only GET /me is used: no case can end alice's session.
func testClaimTypeConfusion(t *testing.T, s *suite) {
	e := s.env(t)
	alice := e.registerHTTP(t, "types@example.com")
	at := jwtPart(t, alice.access, 1)
	header := jwtPart(t, alice.access, 0)
	exp := claimInt(t, alice.access, "exp")
	iat := claimInt(t, alice.access, "iat")
	aud, _ := at["aud"].([]any)
	if len(aud) != 1 {
		t.Fatalf("aud claim %v, want an array of one audience", at["aud"])
	}
	cases := []struct {
		name    string
		changes map[string]any
		ok      bool
	}{
		{"unchanged", nil, true},
		{"aud an array holding ours among others", map[string]any{"aud": []any{"other", aud[0]}}, true},
		{"aud a plain string", map[string]any{"aud": aud[0]}, true},
		{"exp a numeric string", map[string]any{"exp": fmt.Sprint(exp)}, false},
		{"exp a far-future numeric string", map[string]any{"exp": "9999999999"}, false},
		{"iat a numeric string", map[string]any{"iat": fmt.Sprint(iat)}, false},
		{"exp 1e20", map[string]any{"exp": 1e20}, false},
		{"exp -1", map[string]any{"exp": -1}, false},
		{"exp null", map[string]any{"exp": json.RawMessage("null")}, false},
		{"exp true", map[string]any{"exp": true}, false},
		{"sub a number", map[string]any{"sub": 123}, false},
		{"sub an object", map[string]any{"sub": map[string]any{}}, false},
		{"sub empty", map[string]any{"sub": ""}, false},
		{"sub unknown", map[string]any{"sub": "00000000-0000-4000-8000-000000000000"}, false},
		{"sub an array of ours", map[string]any{"sub": []any{alice.userID}}, false},
		{"sid a number", map[string]any{"sid": 123}, false},
		{"aud a number", map[string]any{"aud": 123}, false},
		{"aud an array of a number", map[string]any{"aud": []any{123}}, false},
		{"aud empty", map[string]any{"aud": []any{}}, false},
		{"aud empty string", map[string]any{"aud": ""}, false},
		{"aud ours in another case", map[string]any{"aud": strings.ToUpper(fmt.Sprint(aud[0]))}, false},
		{"aud null", map[string]any{"aud": json.RawMessage("null")}, false},
	}
	for _, c := range cases {
		tok := signWith(t, jwt.SigningMethodHS256, testSecret, header, edit(at, c.changes))
		r := e.do(http.MethodGet, "/me", nil, bearer(tok))
		if c.ok {
			if r.status != http.StatusOK {
				t.Errorf("%s: status %d, want 200; body %s", c.name, r.status, r.body)
			}
			continue
		}
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401; body %s", c.name, r.status, r.body)
		}
	}
}

// testIssuerAndAudienceChecked: E18 (and E14). Two Authenticators share the
// secret and the store; only the audience, or the issuer, differs. Neither
// accepts the other's tokens, access or refresh.
func testIssuerAndAudienceChecked(t *testing.T, s *suite) {
	base := s.env(t)
	ctx := context.Background()
	for name, change := range map[string]func(*auth.Config){
		"audience": func(c *auth.Config) { c.Audience = "billing-service" },
		"issuer":   func(c *auth.Config) { c.Issuer = "https://other.example" },
	} {
		other := base.sibling(change)
		var cfg auth.Config
		change(&cfg)
		res, err := other.Register(ctx, auth.RegisterInput{Email: name + "@example.com", Password: goodPassword, Name: "O"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Verify(ctx, res.AccessToken); err != nil {
			t.Errorf("%s: own token: %v", name, err)
		}
		if _, err := base.a.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: token of another %s accepted: %v", name, name, err)
		}
		if _, err := base.a.Refresh(ctx, res.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: refresh token of another %s accepted: %v", name, name, err)
		}
		checkError(t, name+": GET /me with another "+name+"'s token", base.do(http.MethodGet, "/me", nil, bearer(res.AccessToken)), http.StatusUnauthorized, "INVALID_TOKEN")
		mine := base.registerAPI(t, "mine-"+name+"@example.com")
		if _, err := other.Verify(ctx, mine.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: the other %s accepted our token: %v", name, name, err)
		}
		if c := jwtPart(t, res.AccessToken, 1); c["iss"] != cfg.Issuer && name == "issuer" {
			t.Errorf("iss %v, want %q", c["iss"], cfg.Issuer)
		}
	}
}

// testMalformedTokens: E20. Malformed bearer tokens are 401 INVALID_TOKEN,
// never a 500 or a panic, on GET /me, POST /logout and POST /refresh.
func testMalformedTokens(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "malformed@example.com")
	parts := strings.Split(sess.access, ".")
	enc := base64.RawURLEncoding.EncodeToString
	cases := []struct{ name, token string }{
		{"abc", "abc"},
		{"a.b", "a.b"},
		{"a.b.c.d", "a.b.c.d"},
		{"dots", "..."},
		{"padded header", parts[0] + "==." + parts[1] + "." + parts[2]},
		{"padded signature", sess.access + "=="},
		{"percent-encoded", strings.Replace(sess.access, ".", "%2E", 1)},
		{"header not JSON", enc([]byte("not json")) + "." + parts[1] + "." + parts[2]},
		{"header a JSON array", enc([]byte(`["HS256"]`)) + "." + parts[1] + "." + parts[2]},
		{"payload a JSON array, signed", hs256Sign(t, `{"alg":"HS256","typ":"at+jwt"}`, `["sub"]`, testSecret)},
		{"payload a string, signed", hs256Sign(t, `{"alg":"HS256","typ":"at+jwt"}`, `"sub"`, testSecret)},
		{"payload null, signed", hs256Sign(t, `{"alg":"HS256","typ":"at+jwt"}`, `null`, testSecret)},
		{"payload with a duplicate sub, signed", hs256Sign(t, `{"alg":"HS256","typ":"at+jwt"}`, `{"sub":"x","sub":"y"}`, testSecret)},
		{"standard base64", strings.NewReplacer("-", "+", "_", "/").Replace(sess.access) + "+/"},
		{"pasted twice", sess.access + sess.access},
		{"pasted twice with a dot", sess.access + "." + sess.access},
		{"bit twin of the last character", bitTwin(sess.access)},
		{"JSON serialization", `{"payload":"` + parts[1] + `"}`},
	}
	for _, c := range cases {
		checkError(t, "me: "+c.name, e.do(http.MethodGet, "/me", nil, bearer(c.token)), http.StatusUnauthorized, "INVALID_TOKEN")
		checkError(t, "logout: "+c.name, e.do(http.MethodPost, "/logout", nil, bearer(c.token)), http.StatusUnauthorized, "INVALID_TOKEN")
		checkError(t, "refresh: "+c.name, e.postJSON("/refresh", testutil.RefreshBody(c.token)), http.StatusUnauthorized, "INVALID_TOKEN")
		if _, err := e.a.Verify(context.Background(), c.token); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify: %s: %v, want ErrInvalidToken", c.name, err)
		}
	}
	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Errorf("the genuine token after the malformed ones: status %d", r.status)
	}
}

// testAccessTokenExpiry: E21 and E10 through the Go API. A token is
// accepted up to its expiry plus the leeway and TOKEN_EXPIRED after; a
// forged one is never merely expired; Logout checks expiry too.
func testAccessTokenExpiry(t *testing.T, s *suite) {
	type step struct {
		at   time.Duration
		want error
	}
	cases := []struct {
		name   string
		leeway time.Duration
		steps  []step
	}{
		{"no leeway", 0, []step{{0, nil}, {14*time.Minute + 59*time.Second, nil}, {15*time.Minute + time.Second, auth.ErrTokenExpired}, {time.Hour, auth.ErrTokenExpired}}},
		{"30s leeway", 30 * time.Second, []step{{15*time.Minute + 20*time.Second, nil}, {15*time.Minute + 29*time.Second, nil}, {15*time.Minute + 31*time.Second, auth.ErrTokenExpired}}},
	}
	for _, c := range cases {
		e := s.env(t, func(cfg *auth.Config) { cfg.Sessions.Leeway = c.leeway })
		res := e.registerAPI(t, "expiry@example.com")
		elapsed := time.Duration(0)
		for _, st := range c.steps {
			e.clock.Advance(st.at - elapsed)
			elapsed = st.at
			_, err := e.a.Verify(context.Background(), res.AccessToken)
			if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
				t.Errorf("%s: Verify at +%v: %v, want %v", c.name, st.at, err, st.want)
			}
			if st.want != nil {
				// A forged token is never reported as merely expired.
				if _, err := e.a.Verify(context.Background(), testutil.WithSignatureFlipped(res.AccessToken)); !errors.Is(err, auth.ErrInvalidToken) {
					t.Errorf("%s: forged token at +%v: %v, want ErrInvalidToken", c.name, st.at, err)
				}
				if err := e.a.Logout(context.Background(), res.AccessToken); !errors.Is(err, auth.ErrTokenExpired) {
					t.Errorf("%s: Logout at +%v: %v, want ErrTokenExpired", c.name, st.at, err)
				}
			}
		}
	}
}

// testAccessTokenClaims: E22. The issued access token names its algorithm
// and kind, carries iss aud sub sid iat exp jti (and org and role), lives
// 900 s, and carries no secret; the refresh token is of another kind, of
// the same user and session, with an id of its own.
func testAccessTokenClaims(t *testing.T, s *suite) {
	e := s.env(t)
	res := e.registerAPI(t, "claims@example.com")

	h := jwtPart(t, res.AccessToken, 0)
	if h["alg"] != "HS256" || h["typ"] != "at+jwt" {
		t.Errorf("access token header %v, want alg HS256 and typ at+jwt", h)
	}
	c := jwtPart(t, res.AccessToken, 1)
	for _, k := range []string{"iss", "aud", "sub", "sid", "iat", "exp", "jti", "org", "role"} {
		if _, ok := c[k]; !ok {
			t.Errorf("access token claims %v lack %q", c, k)
		}
	}
	if c["sub"] != res.User.ID || c["org"] != res.User.OrganizationID || c["role"] != "owner" {
		t.Errorf("claims %v do not name user %+v", c, res.User)
	}
	if c["iss"] != auth.DefaultIssuer {
		t.Errorf("iss %v, want %q", c["iss"], auth.DefaultIssuer)
	}
	if aud := c["aud"]; aud != auth.DefaultAudience && !(func() bool { a, ok := aud.([]any); return ok && len(a) == 1 && a[0] == auth.DefaultAudience })() {
		t.Errorf("aud %v, want %q", aud, auth.DefaultAudience)
	}
	iat := claimInt(t, res.AccessToken, "iat")
	exp := claimInt(t, res.AccessToken, "exp")
	if exp-iat != 900 || iat != testStart.Unix() {
		t.Errorf("iat %d, exp %d: want iat = now (%d) and exp - iat = 900", iat, exp, testStart.Unix())
	}
	payload := strings.Split(res.AccessToken, ".")[1]
	if raw, _ := base64.RawURLEncoding.DecodeString(payload); strings.Contains(string(raw), "argon2") || strings.Contains(string(raw), goodPassword) {
		t.Errorf("access token payload carries a secret: %s", raw)
	}

	rh := jwtPart(t, res.RefreshToken, 0)
	if rh["alg"] != "HS256" || rh["typ"] == nil || rh["typ"] == h["typ"] {
		t.Errorf("refresh token header %v, want HS256 and a typ other than the access token's %v", rh, h["typ"])
	}
	rc := jwtPart(t, res.RefreshToken, 1)
	if rc["sub"] != res.User.ID || rc["sid"] != c["sid"] || rc["jti"] == c["jti"] {
		t.Errorf("refresh claims %v: want the user and session of the access token and an id of its own", rc)
	}
	// The session it names is in the store, live, and the user's.
	sess, err := e.tokens.Session(context.Background(), fmt.Sprint(c["sid"]))
	if err != nil || sess.UserID != res.User.ID || !sess.RevokedAt.IsZero() {
		t.Errorf("store: Session(%v) = %+v, %v; want the user's live session", c["sid"], sess, err)
	}
}
