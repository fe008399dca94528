package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Tamper says what the proxy changes in the ID tokens it passes on.
type Tamper string

// The proxy's modes.
const (
	// Faithful re-signs the ID token with the proxy's key, claims
	// unchanged but the issuer (the proxy's): the control case.
	Faithful Tamper = ""
	// OtherAudience makes the token for another client.
	OtherAudience Tamper = "aud"
	// Expired makes the token expired an hour ago.
	Expired Tamper = "exp"
	// WrongNonce replaces the nonce.
	WrongNonce Tamper = "nonce"
	// BadSignature changes a claim after signing.
	BadSignature Tamper = "sig"
)

// Proxy stands in front of a provider as an issuer of its own: it serves
// the provider's discovery document with itself as issuer, its own key
// set, and the provider's token endpoint, re-signing each ID token with
// its own key after changing what Mode says. Authorization and UserInfo
// stay the provider's.
type Proxy struct {
	// URL is the proxy's issuer URL.
	URL string

	mu   sync.Mutex
	mode Tamper
	key  *rsa.PrivateKey
	up   *Provider
}

// NewProxy starts a tampering proxy in front of p for the test.
func NewProxy(t testing.TB, p *Provider) *Proxy {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	x := &Proxy{key: key, up: p}
	srv := httptest.NewServer(http.HandlerFunc(x.serve))
	t.Cleanup(srv.Close)
	x.URL = srv.URL
	return x
}

// SetMode sets what the proxy changes from now on.
func (x *Proxy) SetMode(m Tamper) {
	x.mu.Lock()
	x.mode = m
	x.mu.Unlock()
}

func (x *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		res, err := http.Get(x.up.Issuer + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		var doc map[string]any
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		doc["issuer"] = x.URL
		doc["jwks_uri"] = x.URL + "/jwks"
		doc["token_endpoint"] = x.URL + "/token"
		doc["id_token_signing_alg_values_supported"] = []string{"RS256"}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	case "/jwks":
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &x.key.PublicKey, KeyID: "proxy", Algorithm: "RS256", Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	case "/token":
		x.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (x *Proxy) token(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(http.MethodPost, x.up.Issuer+"/token", strings.NewReader(string(body)))
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var doc map[string]any
	if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &doc) != nil {
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(raw)
		return
	}
	if idt, ok := doc["id_token"].(string); ok {
		doc["id_token"] = x.resign(idt)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

// resign replaces the ID token's issuer, applies the mode and signs it
// with the proxy's key.
func (x *Proxy) resign(idt string) string {
	x.mu.Lock()
	mode := x.mode
	x.mu.Unlock()
	parts := strings.Split(idt, ".")
	if len(parts) != 3 {
		return idt
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return idt
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return idt
	}
	claims["iss"] = x.URL
	switch mode {
	case OtherAudience:
		claims["aud"] = "another-client"
		claims["azp"] = "another-client"
	case Expired:
		claims["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		claims["exp"] = time.Now().Add(-time.Hour).Unix()
	case WrongNonce:
		claims["nonce"] = "not-the-nonce-of-this-sign-in"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: x.key}, (&jose.SignerOptions{}).WithHeader("kid", "proxy").WithType("JWT"))
	if err != nil {
		return idt
	}
	b, _ := json.Marshal(claims)
	obj, err := signer.Sign(b)
	if err != nil {
		return idt
	}
	out, _ := obj.CompactSerialize()
	if mode == BadSignature {
		// Change the claims after signing: a token whose signature does
		// not cover its payload.
		claims["sub"] = "someone-else"
		b, _ := json.Marshal(claims)
		p := strings.Split(out, ".")
		out = p[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + p[2]
	}
	return out
}
