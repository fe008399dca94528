package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyFiles writes a fresh key of the algorithm as PKCS#8 and PKIX PEM
// files, as openssl genpkey and openssl pkey -pubout would, and returns
// their paths.
func keyFiles(t *testing.T, alg string) (privPath, pubPath string) {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case "EdDSA":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "ES256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	privPath, pubPath = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		t.Fatal(err)
	}
	return privPath, pubPath
}

type jwkSet struct {
	Keys []map[string]string `json:"keys"`
}

// fetchJWKS gets the server's JWK Set and checks its headers.
func fetchJWKS(t *testing.T, srv *testServer) jwkSet {
	t.Helper()
	resp, err := http.Get(srv.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jwk-set+json" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("GET /.well-known/jwks.json: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var set jwkSet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWK Set %s: %v", body, err)
	}
	return set
}

// tokenHeader decodes a JWT's header.
func tokenHeader(t *testing.T, token string) map[string]string {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]string
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("header %s: %v", raw, err)
	}
	return h
}

func TestSigningKeyFlag(t *testing.T) {
	env := map[string]string{"AUTH_SECRET": testSecret}
	for _, alg := range []string{"EdDSA", "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			priv, _ := keyFiles(t, alg)
			srv := start(t, env, "-db", "memory", "-signing-key", priv)
			api := srv.url + "/api/v2/auth"
			var reg authResult
			expect(t, 201, "POST", api+"/register", "", map[string]string{"email": uniqueEmail(), "password": password, "name": "John Doe"}, &reg)
			h := tokenHeader(t, reg.AccessToken)
			set := fetchJWKS(t, srv)
			if len(set.Keys) != 1 || set.Keys[0]["kid"] != h["kid"] || set.Keys[0]["alg"] != alg || h["alg"] != alg {
				t.Fatalf("token header %v, JWK Set %v", h, set)
			}
			if _, ok := set.Keys[0]["d"]; ok {
				t.Fatal("the JWK Set publishes the private key")
			}
			expect(t, 200, "GET", api+"/me", reg.AccessToken, nil, nil)
			expect(t, 200, "GET", srv.url+"/api/v2/whoami", reg.AccessToken, nil, nil)
			expectError(t, 405, "METHOD_NOT_ALLOWED", "POST", srv.url+"/.well-known/jwks.json", "", map[string]string{})
		})
	}
}

func TestJWKSEmptyByDefault(t *testing.T) {
	srv := start(t, map[string]string{"AUTH_SECRET": testSecret}, "-db", "memory")
	if set := fetchJWKS(t, srv); len(set.Keys) != 0 {
		t.Fatalf("HS256 server publishes %v", set)
	}
}

// TestKeyRotationRestart is the rotation procedure on the reference
// server: restarted with a new signing key and the old one as a verify
// key, it keeps accepting the tokens issued before, and new tokens carry
// the new kid; restarted without the old key, its tokens fail.
func TestKeyRotationRestart(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	env := map[string]string{"AUTH_SECRET": testSecret}
	oldPriv, oldPub := keyFiles(t, "EdDSA")
	newPriv, newPub := keyFiles(t, "ES256")
	email := uniqueEmail()

	first := start(t, env, "-db", db, "-signing-key", oldPriv)
	var reg authResult
	expect(t, 201, "POST", first.url+"/api/v2/auth/register", "", map[string]string{"email": email, "password": password, "name": "John Doe"}, &reg)
	oldKid := tokenHeader(t, reg.AccessToken)["kid"]
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	// Publish first: the old key signs, the new one is announced.
	second := start(t, env, "-db", db, "-signing-key", oldPriv, "-verify-key", newPub)
	if set := fetchJWKS(t, second); len(set.Keys) != 2 || set.Keys[0]["kid"] != oldKid {
		t.Fatalf("while publishing: %v", set)
	}
	expect(t, 200, "GET", second.url+"/api/v2/auth/me", reg.AccessToken, nil, nil)
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}

	// The new key takes over; the old one still verifies.
	third := start(t, env, "-db", db, "-signing-key", newPriv, "-verify-key", oldPub)
	api := third.url + "/api/v2/auth"
	expect(t, 200, "GET", api+"/me", reg.AccessToken, nil, nil)
	var login authResult
	expect(t, 200, "POST", api+"/login", "", map[string]string{"email": email, "password": password}, &login)
	newKid := tokenHeader(t, login.AccessToken)["kid"]
	if newKid == oldKid || tokenHeader(t, login.AccessToken)["alg"] != "ES256" {
		t.Fatalf("new token header %v, old kid %s", tokenHeader(t, login.AccessToken), oldKid)
	}
	var pair tokenPair
	expect(t, 200, "POST", api+"/refresh", "", map[string]string{"refreshToken": reg.RefreshToken}, &pair)
	if tokenHeader(t, pair.AccessToken)["kid"] != newKid {
		t.Fatal("a refreshed token does not carry the new kid")
	}
	if set := fetchJWKS(t, third); len(set.Keys) != 2 || set.Keys[0]["kid"] != newKid || set.Keys[1]["kid"] != oldKid {
		t.Fatalf("during the rotation: %v", set)
	}
	if err := third.stop(); err != nil {
		t.Fatal(err)
	}

	// The old key is retired.
	fourth := start(t, env, "-db", db, "-signing-key", newPriv)
	expectError(t, 401, "INVALID_TOKEN", "GET", fourth.url+"/api/v2/auth/me", reg.AccessToken, nil)
	expect(t, 200, "GET", fourth.url+"/api/v2/auth/me", login.AccessToken, nil, nil)
	if set := fetchJWKS(t, fourth); len(set.Keys) != 1 || set.Keys[0]["kid"] != newKid {
		t.Fatalf("after the rotation: %v", set)
	}
}

func TestKeyFlagErrors(t *testing.T) {
	getenv := func(string) string { return testSecret }
	priv, pub := keyFiles(t, "EdDSA")
	dir := t.TempDir()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(weak)
	weakPath := filepath.Join(dir, "weak.pem")
	if err := os.WriteFile(weakPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-signing-key", filepath.Join(dir, "missing.pem")}, "-signing-key: open"},
		{[]string{"-signing-key", pub}, "not a private key"},
		{[]string{"-signing-key", weakPath}, "1024 bits is too weak"},
		{[]string{"-verify-key", priv}, "pass only its public half"},
		{[]string{"-signing-key", priv, "-verify-key", pub, "-verify-key", filepath.Join(dir, "missing.pem")}, "-verify-key: open"},
	} {
		err := run(t.Context(), append([]string{"-db", "memory", "-addr", "127.0.0.1:0"}, tc.args...), getenv, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
