package verifier_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/verifier"
)

var algs = []string{"EdDSA", "ES256", "RS256"}

// key returns a test key: "EdDSA", "ES256" or "RS256", or a second one of
// the algorithm, "EdDSA-2" and so on.
func key(name string) crypto.Signer { return testutil.Key(name) }

var secret = []byte("verifier-test-secret-0123456789abcdefghij")

// newClock returns a settable clock, safe for concurrent use.
func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

var discard = slog.New(slog.DiscardHandler)

// newAuth returns an auth service on st signing with signing and also
// accepting verify.
func newAuth(t testing.TB, st *memstore.Store, c *testutil.Clock, signing crypto.Signer, verify ...crypto.PublicKey) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Config{
		Users:     st,
		Tokens:    st,
		Secret:    secret,
		Now:       c.Now,
		Logger:    discard,
		Keys:      auth.KeyConfig{SigningKey: signing, VerifyKeys: verify},
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func register(t testing.TB, a *auth.Authenticator) *auth.AuthResult {
	t.Helper()
	email := "v-" + strings.ToLower(rand.Text()[:10]) + "@example.com"
	res, err := a.Register(context.Background(), auth.RegisterInput{Email: email, Password: "correct horse battery staple", Name: "V User"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// jwksServer serves an auth service's JWK Set, counts the requests, and
// can be switched to another service, made to fail, or given other
// headers or bodies.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	handler      http.Handler
	cacheControl string // replaces the handler's when set
	body         []byte // replaces the handler's when set
	status       int    // answers this status when set
}

func newJWKSServer(t testing.TB, a *auth.Authenticator) *jwksServer {
	s := &jwksServer{handler: a.JWKSHandler()}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		h, cc, body, status := s.handler, s.cacheControl, s.body, s.status
		s.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		if body != nil {
			w.Header().Del("Content-Length")
			_, _ = w.Write(body)
			return
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newVerifier(t testing.TB, url string, c *testutil.Clock, opts ...func(*verifier.Config)) *verifier.Verifier {
	t.Helper()
	cfg := verifier.Config{JWKSURL: url, Now: c.Now, Logger: discard}
	for _, o := range opts {
		o(&cfg)
	}
	v, err := verifier.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// forge builds a compact JWS from a raw header, the payload of a genuine
// token, and a signature with m and k.
func forge(t testing.TB, header, genuine string, m jwt.SigningMethod, k any) string {
	t.Helper()
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + strings.Split(genuine, ".")[1]
	sig, err := m.Sign(input, k)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func kidOf(t testing.TB, token string) string {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(seg)
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.Kid == "" {
		t.Fatalf("no kid in %s", raw)
	}
	return h.Kid
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestVerify(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			st, c := memstore.New(), newClock()
			a := newAuth(t, st, c, key(alg))
			srv := newJWKSServer(t, a)
			v := newVerifier(t, srv.URL, c)
			res := register(t, a)

			got, err := v.Verify(ctx, res.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want, err := a.Verify(ctx, res.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, *want) {
				t.Fatalf("claims %+v, the library's %+v", got, want)
			}
			if srv.hits.Load() != 1 {
				t.Fatalf("%d fetches, want 1", srv.hits.Load())
			}

			// Tampering and forgery.
			forged := forge(t, `{"alg":"`+alg+`","kid":"`+kidOf(t, res.AccessToken)+`","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg+"-2"))
			_, err = v.Verify(ctx, forged)
			wantErr(t, "forged", err, auth.ErrInvalidToken)
			parts := strings.Split(res.AccessToken, ".")
			_, err = v.Verify(ctx, parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else"}`))+"."+parts[2])
			wantErr(t, "payload swapped", err, auth.ErrInvalidToken)

			// Expiry, with the same rule as the library: TOKEN_EXPIRED
			// only for a genuine token.
			c.Advance(auth.DefaultAccessTokenTTL + time.Second)
			_, err = v.Verify(ctx, res.AccessToken)
			wantErr(t, "expired", err, auth.ErrTokenExpired)
			_, err = v.Verify(ctx, forged)
			wantErr(t, "expired and forged", err, auth.ErrInvalidToken)

			// Another issuer or audience.
			other := newVerifier(t, srv.URL, newClock(), func(cfg *verifier.Config) { cfg.Audience = "another-service" })
			_, err = other.Verify(ctx, res.AccessToken)
			wantErr(t, "wrong audience", err, auth.ErrInvalidToken)
			other = newVerifier(t, srv.URL, newClock(), func(cfg *verifier.Config) { cfg.Issuer = "another-issuer" })
			_, err = other.Verify(ctx, res.AccessToken)
			wantErr(t, "wrong issuer", err, auth.ErrInvalidToken)
		})
	}
}

// TestVerifyDoesNotCheckSessions documents the package's limit: after
// logout the library refuses the token at once, the verifier until it
// expires.
func TestVerifyDoesNotCheckSessions(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	v := newVerifier(t, newJWKSServer(t, a).URL, c)
	res := register(t, a)
	if err := a.Logout(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	_, err := a.Verify(ctx, res.AccessToken)
	wantErr(t, "library after logout", err, auth.ErrInvalidToken)
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatalf("verifier after logout: %v (it cannot see sessions)", err)
	}
	c.Advance(auth.DefaultAccessTokenTTL + time.Second)
	_, err = v.Verify(ctx, res.AccessToken)
	wantErr(t, "verifier once expired", err, auth.ErrTokenExpired)
}

// recordingTransport records every request the verifier makes.
type recordingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.String())
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestVerifyRejectsConfusion(t *testing.T) {
	ctx := context.Background()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			st, c := memstore.New(), newClock()
			var others []crypto.PublicKey
			for _, o := range algs {
				if o != alg {
					others = append(others, key(o).Public())
				}
			}
			a := newAuth(t, st, c, key(alg), others...)
			srv := newJWKSServer(t, a)
			var evilHits atomic.Int64
			evil := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { evilHits.Add(1) }))
			defer evil.Close()
			rt := &recordingTransport{}
			v := newVerifier(t, srv.URL, c, func(cfg *verifier.Config) { cfg.HTTPClient = &http.Client{Transport: rt} })
			res := register(t, a)
			kid := kidOf(t, res.AccessToken)
			if _, err := v.Verify(ctx, res.AccessToken); err != nil {
				t.Fatal(err)
			}

			der, _ := x509.MarshalPKIXPublicKey(key(alg).Public())
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			bad := map[string]string{
				"HS256 with the public key PEM as secret": forge(t, `{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodHS256, pemKey),
				"HS256 with the public key DER as secret": forge(t, `{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodHS256, der),
				"HS256 with the auth secret, no kid":      forge(t, `{"alg":"HS256","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodHS256, secret),
				"HS256 with the auth secret and a kid":    forge(t, `{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodHS256, secret),
				"alg none":                                base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+kid+`","typ":"at+jwt"}`)) + "." + strings.Split(res.AccessToken, ".")[1] + ".",
				"no kid":                                  forge(t, `{"alg":"`+alg+`","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"wrong typ":                               forge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"rt+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"refresh token":                           res.RefreshToken,
				"jku":                                     forge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"at+jwt","jku":"`+evil.URL+`"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"x5u":                                     forge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"at+jwt","x5u":"`+evil.URL+`"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"x5c":                                     forge(t, `{"alg":"`+alg+`","kid":"`+kid+`","typ":"at+jwt","x5c":["MIIB"]}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"embedded jwk of the attacker": forge(t, `{"alg":"EdDSA","kid":"attacker","typ":"at+jwt","jwk":{"kty":"OKP","crv":"Ed25519","x":"`+
					base64.RawURLEncoding.EncodeToString(key("EdDSA-2").Public().(ed25519.PublicKey))+`"}}`, res.AccessToken, jwt.SigningMethodEdDSA, key("EdDSA-2")),
				"kid path traversal": forge(t, `{"alg":"`+alg+`","kid":"../../dev/null","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"kid SQL":            forge(t, `{"alg":"`+alg+`","kid":"' OR '1'='1","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"kid 10 KB":          forge(t, `{"alg":"`+alg+`","kid":"`+strings.Repeat("k", 10<<10)+`","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"kid number":         forge(t, `{"alg":"`+alg+`","kid":42,"typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
				"duplicate kid":      forge(t, `{"alg":"`+alg+`","kid":"`+kid+`","kid":"x","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(alg), key(alg)),
			}
			for _, o := range algs {
				if o != alg {
					bad[o+" token naming the "+alg+" key"] = forge(t, `{"alg":"`+o+`","kid":"`+kid+`","typ":"at+jwt"}`, res.AccessToken, jwt.GetSigningMethod(o), key(o))
				}
			}
			if alg == "RS256" {
				bad["PS256 with the RS256 key"] = forge(t, `{"alg":"PS256","kid":"`+kid+`","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodPS256, key(alg))
			}
			for name, tok := range bad {
				_, err := v.Verify(ctx, tok)
				wantErr(t, name, err, auth.ErrInvalidToken)
			}
			if evilHits.Load() != 0 {
				t.Errorf("the verifier fetched a URL named by a token")
			}
			rt.mu.Lock()
			for _, u := range rt.urls {
				if u != srv.URL {
					t.Errorf("the verifier fetched %s", u)
				}
			}
			rt.mu.Unlock()
		})
	}
}

// TestOutage: with the auth service down the verifier keeps verifying with
// the keys it has, also past their max-age, and says so when it never had
// any.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("ES256"))
	srv := newJWKSServer(t, a)
	v := newVerifier(t, srv.URL, c, func(cfg *verifier.Config) { cfg.Timeout = 2 * time.Second })
	res := register(t, a)
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}

	srv.Close()
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatalf("with the auth service down: %v", err)
	}
	// Past the set's max-age (300 s): a refresh is tried, fails, and the
	// keys held are still used; and again a while later.
	for range 3 {
		c.Advance(10 * time.Minute)
		late := register(t, a)
		if _, err := v.Verify(ctx, late.AccessToken); err != nil {
			t.Fatalf("past max-age with the auth service down: %v", err)
		}
	}
	// An unknown kid cannot be looked up: invalid, not an internal error.
	junk := forge(t, `{"alg":"ES256","kid":"unknown","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodES256, key("ES256-2"))
	_, err := v.Verify(ctx, junk)
	wantErr(t, "unknown kid during the outage", err, auth.ErrInvalidToken)

	// A verifier that never reached the service cannot say anything.
	fresh := newVerifier(t, srv.URL, c)
	_, err = fresh.Verify(ctx, res.AccessToken)
	wantErr(t, "no key set ever", err, verifier.ErrKeySetUnavailable)
	if errors.Is(err, auth.ErrInvalidToken) {
		t.Error("no key set ever: reported as an invalid token")
	}
	if err := fresh.Refresh(ctx); err == nil {
		t.Error("Refresh with the service down succeeded")
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+res.AccessToken)
	fresh.Middleware(http.NotFoundHandler()).ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"INTERNAL_ERROR"`) {
		t.Errorf("middleware with no key set: %d %s", rec.Code, rec.Body)
	}
}

// TestOutageStatus: an auth service that answers errors is an outage too.
func TestOutageStatus(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	srv := newJWKSServer(t, a)
	v := newVerifier(t, srv.URL, c)
	res := register(t, a)
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(s *jwksServer){
		func(s *jwksServer) { s.status = http.StatusServiceUnavailable },
		func(s *jwksServer) { s.status = 0; s.body = []byte("<html>maintenance</html>") },
		func(s *jwksServer) {
			// The genuine key, and another under the same kid: either could
			// be meant, so the set is refused.
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			_ = json.Unmarshal([]byte(jwksBody(a)), &set)
			other := map[string]any{}
			for n, v := range set.Keys[0] {
				other[n] = v
			}
			other["x"] = base64.RawURLEncoding.EncodeToString(key("EdDSA-2").Public().(ed25519.PublicKey))
			set.Keys = append(set.Keys, other)
			s.body, _ = json.Marshal(set)
		},
		func(s *jwksServer) { s.body = bytes.Repeat([]byte(" "), 2<<20) },
	} {
		srv.set(f)
		c.Advance(10 * time.Minute)
		before := srv.hits.Load()
		if _, err := v.Verify(ctx, register(t, a).AccessToken); err != nil {
			t.Fatalf("with a failing key set response: %v", err)
		}
		if srv.hits.Load() != before+1 {
			t.Fatalf("no refresh was tried")
		}
	}
}

func jwksBody(a *auth.Authenticator) string {
	rec := httptest.NewRecorder()
	a.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Body.String()
}

// TestRotation follows the auth service through a rotation: a token of a
// key published since the last fetch makes the verifier fetch again; a
// retired key is dropped at the next refresh.
func TestRotation(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	oldKey, newKey := key("EdDSA"), key("EdDSA-2")
	before := newAuth(t, st, c, oldKey)
	srv := newJWKSServer(t, before)
	v := newVerifier(t, srv.URL, c)
	old := register(t, before)
	if _, err := v.Verify(ctx, old.AccessToken); err != nil {
		t.Fatal(err)
	}

	// The new key signs before the verifier's cached set has it (the
	// publish-first step skipped): the unknown kid triggers one fetch.
	during := newAuth(t, st, c, newKey, oldKey.Public())
	srv.set(func(s *jwksServer) { s.handler = during.JWKSHandler() })
	c.Advance(2 * time.Minute) // past MinRefreshInterval, within max-age
	hits := srv.hits.Load()
	fresh := register(t, during)
	if kidOf(t, fresh.AccessToken) == kidOf(t, old.AccessToken) {
		t.Fatal("the new key's tokens carry the old kid")
	}
	if _, err := v.Verify(ctx, fresh.AccessToken); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if srv.hits.Load() != hits+1 {
		t.Fatalf("%d fetches for the new kid, want 1", srv.hits.Load()-hits)
	}
	if _, err := v.Verify(ctx, old.AccessToken); err != nil {
		t.Fatalf("token of the old key during the rotation: %v", err)
	}

	// The old key is retired: its tokens fail once the set is refreshed.
	after := newAuth(t, st, c, newKey)
	srv.set(func(s *jwksServer) { s.handler = after.JWKSHandler() })
	c.Advance(auth.JWKSCacheMaxAge*time.Second + time.Second)
	again := register(t, after)
	_, err := v.Verify(ctx, again.AccessToken)
	if err != nil {
		t.Fatalf("token of the new key after the rotation: %v", err)
	}
	old2, err := before.Login(ctx, asEmail(t, st, old.User.ID), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, old2.AccessToken)
	wantErr(t, "token of the retired key", err, auth.ErrInvalidToken)
}

func asEmail(t testing.TB, st *memstore.Store, id string) string {
	t.Helper()
	u, err := st.UserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}

// TestUnknownKidFlood: a flood of tokens with made-up kids, from many
// goroutines, makes at most one fetch per MinRefreshInterval.
func TestUnknownKidFlood(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	srv := newJWKSServer(t, a)
	v := newVerifier(t, srv.URL, c)
	res := register(t, a)
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	junk := make([]string, 50)
	for i := range junk {
		junk[i] = forge(t, fmt.Sprintf(`{"alg":"EdDSA","kid":"junk-%d-%s","typ":"at+jwt"}`, i, rand.Text()), res.AccessToken, jwt.SigningMethodEdDSA, key("EdDSA-2"))
	}
	flood := func() {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for _, tok := range junk {
					if _, err := v.Verify(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
						t.Errorf("junk kid: %v", err)
					}
				}
			})
		}
		wg.Wait()
	}
	for round := range 4 {
		before := srv.hits.Load()
		flood()
		if n := srv.hits.Load() - before; n > 1 {
			t.Fatalf("round %d: %d fetches for 1000 unknown kids, want at most 1", round, n)
		}
		c.Advance(verifier.DefaultMinRefreshInterval / 2)
	}
	if n := srv.hits.Load(); n > 3 {
		t.Fatalf("%d fetches over two minutes of flood, want at most 3", n)
	}
	// The genuine token still verifies, without a fetch.
	before := srv.hits.Load()
	if _, err := v.Verify(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	if srv.hits.Load() != before {
		t.Fatal("a known kid caused a fetch")
	}
}

// TestCacheControl: the set is used for its max-age, within
// [MinRefreshInterval, MaxCacheAge], and 5 minutes without one.
func TestCacheControl(t *testing.T) {
	for _, tc := range []struct {
		header string
		age    time.Duration
	}{
		{"public, max-age=300", 300 * time.Second},
		{"max-age=1200", 1200 * time.Second},
		{"max-age=5", time.Minute},             // not below MinRefreshInterval
		{"no-store", time.Minute},              // likewise
		{"no-cache, max-age=600", time.Minute}, // no-cache wins
		{"max-age=999999999", verifier.MaxCacheAge},
		{"", verifier.DefaultCacheAge},
		{"max-age=junk", verifier.DefaultCacheAge},
	} {
		t.Run(tc.header, func(t *testing.T) {
			ctx := context.Background()
			st, c := memstore.New(), newClock()
			a := newAuth(t, st, c, key("EdDSA"))
			srv := newJWKSServer(t, a)
			srv.set(func(s *jwksServer) { s.cacheControl = tc.header })
			if tc.header == "" {
				srv.set(func(s *jwksServer) {
					h := s.handler
					s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, r)
						_, _ = w.Write(rec.Body.Bytes())
					})
				})
			}
			v := newVerifier(t, srv.URL, c)
			// The token expires during the test; its key is looked up all
			// the same, which is what is counted.
			res := register(t, a)
			if _, err := v.Verify(ctx, res.AccessToken); err != nil {
				t.Fatal(err)
			}
			c.Advance(tc.age - time.Second)
			_, _ = v.Verify(ctx, res.AccessToken)
			if n := srv.hits.Load(); n != 1 {
				t.Fatalf("%d fetches just before the age, want 1", n)
			}
			c.Advance(2 * time.Second)
			_, _ = v.Verify(ctx, res.AccessToken)
			if n := srv.hits.Load(); n != 2 {
				t.Fatalf("%d fetches just after the age, want 2", n)
			}
		})
	}
}

// TestKeySetParsing: only asymmetric signature keys of the accepted types
// are used; anything else in the set is skipped.
func TestKeySetParsing(t *testing.T) {
	ctx := context.Background()
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	res := register(t, a)
	srv := newJWKSServer(t, a)
	genuine := srv.URL

	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	rec := httptest.NewRecorder()
	a.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	good := set.Keys[0]
	with := func(changes map[string]any) string {
		k := map[string]any{}
		for n, v := range good {
			k[n] = v
		}
		for n, v := range changes {
			if v == nil {
				delete(k, n)
			} else {
				k[n] = v
			}
		}
		b, _ := json.Marshal(map[string]any{"keys": []any{k}})
		return string(b)
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"as published", with(nil), true},
		{"no alg or use", with(map[string]any{"alg": nil, "use": nil}), true},
		{"key_ops verify", with(map[string]any{"key_ops": []string{"verify"}}), true},
		{"use enc", with(map[string]any{"use": "enc"}), false},
		{"key_ops sign only", with(map[string]any{"key_ops": []string{"sign"}}), false},
		{"alg Ed25519", with(map[string]any{"alg": "Ed25519"}), false},
		{"alg HS256", with(map[string]any{"alg": "HS256"}), false},
		{"alg none", with(map[string]any{"alg": "none"}), false},
		{"with a private d", with(map[string]any{"d": "AAAA"}), false},
		{"no kid", with(map[string]any{"kid": nil}), false},
		{"crv X25519", with(map[string]any{"crv": "X25519"}), false},
		{"x padded", with(map[string]any{"x": good["x"].(string) + "="}), false},
		{"x short", with(map[string]any{"x": "AAAA"}), false},
		{"kty oct", `{"keys":[{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(secret) + `","kid":"` + good["kid"].(string) + `","alg":"HS256"}]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.set(func(s *jwksServer) { s.body = []byte(tc.body) })
			v := newVerifier(t, genuine, c)
			_, err := v.Verify(ctx, res.AccessToken)
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok {
				wantErr(t, tc.name, err, auth.ErrInvalidToken)
			}
		})
	}
	// An HS256 token whose kid names an oct key in the set is still refused.
	srv.set(func(s *jwksServer) {
		s.body = []byte(`{"keys":[{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(secret) + `","kid":"hmac","alg":"HS256"}]}`)
	})
	v := newVerifier(t, genuine, c)
	hs := forge(t, `{"alg":"HS256","kid":"hmac","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodHS256, secret)
	_, err := v.Verify(ctx, hs)
	wantErr(t, "HS256 with an oct key in the set", err, auth.ErrInvalidToken)

	// EC and RSA keys with bad parameters.
	for _, tc := range []struct{ name, jwk string }{
		{"EC point off the curve", `{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 43) + `","y":"` + strings.Repeat("A", 43) + `","kid":"k"}`},
		{"EC P-384", `{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA","kid":"k"}`},
		{"RSA 1024", `{"kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 128)) + `","e":"AQAB","kid":"k"}`},
		{"RSA even exponent", `{"kty":"RSA","n":"` + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 256)) + `","e":"AQAA","kid":"k"}`},
	} {
		srv.set(func(s *jwksServer) { s.body = []byte(`{"keys":[` + tc.jwk + `]}`) })
		v := newVerifier(t, genuine, c)
		tok := forge(t, `{"alg":"ES256","kid":"k","typ":"at+jwt"}`, res.AccessToken, jwt.SigningMethodES256, key("ES256"))
		_, err := v.Verify(ctx, tok)
		wantErr(t, tc.name, err, auth.ErrInvalidToken)
	}
}

// TestMiddlewareMatchesLibrary: the verifier's middleware answers exactly
// as the library's does, and hands the same claims on.
func TestMiddlewareMatchesLibrary(t *testing.T) {
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("RS256"))
	v := newVerifier(t, newJWKSServer(t, a).URL, c)
	res := register(t, a)

	var got []*auth.Claims
	var mu sync.Mutex
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cl, ok := auth.ClaimsFromContext(r.Context())
		if !ok {
			t.Error("no claims in the context")
		}
		mu.Lock()
		got = append(got, cl)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	})
	lib, ver := a.Middleware(next), v.Middleware(next)

	c.Advance(-auth.DefaultAccessTokenTTL - time.Minute)
	old := register(t, a)
	c.Advance(auth.DefaultAccessTokenTTL + time.Minute)

	cases := []struct {
		name    string
		headers []string
	}{
		{"valid", []string{"Bearer " + res.AccessToken}},
		{"lower-case scheme", []string{"bearer " + res.AccessToken}},
		{"none", nil},
		{"empty", []string{""}},
		{"Bearer only", []string{"Bearer"}},
		{"Basic", []string{"Basic dXNlcjpwYXNz"}},
		{"tab", []string{"Bearer\t" + res.AccessToken}},
		{"garbage", []string{"Bearer Z2FyYmFnZQ.Z2FyYmFnZQ.Z2FyYmFnZQ"}},
		{"not b64token", []string{"Bearer a.b.c%"}},
		{"too long", []string{"Bearer " + strings.Repeat("a", auth.MaxTokenLength+1)}},
		{"two headers", []string{"Bearer " + res.AccessToken, "Bearer " + res.AccessToken}},
		{"expired", []string{"Bearer " + old.AccessToken}},
		{"refresh token", []string{"Bearer " + res.RefreshToken}},
	}
	for _, tc := range cases {
		var recs [2]*httptest.ResponseRecorder
		for i, h := range []http.Handler{lib, ver} {
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			for _, v := range tc.headers {
				req.Header.Add("Authorization", v)
			}
			recs[i] = httptest.NewRecorder()
			h.ServeHTTP(recs[i], req)
		}
		l, r := recs[0], recs[1]
		if l.Code != r.Code || l.Body.String() != r.Body.String() {
			t.Errorf("%s: library %d %q, verifier %d %q", tc.name, l.Code, l.Body, r.Code, r.Body)
		}
		if fmt.Sprint(l.Header()) != fmt.Sprint(r.Header()) {
			t.Errorf("%s: headers: library %v, verifier %v", tc.name, l.Header(), r.Header())
		}
	}
	if len(got) != 4 || !reflect.DeepEqual(*got[0], *got[1]) {
		t.Fatalf("claims handed on: %+v", got)
	}

	// RequireRole works behind the verifier's middleware.
	guarded := v.Middleware(auth.RequireRole("admin")(next))
	req := httptest.NewRequest(http.MethodGet, "/admin", nil)
	req.Header.Set("Authorization", "Bearer "+res.AccessToken)
	rec := httptest.NewRecorder()
	guarded.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("RequireRole(admin) for an owner: %d", rec.Code)
	}
}

func TestNewConfig(t *testing.T) {
	for _, cfg := range []verifier.Config{
		{},
		{JWKSURL: "auth.internal/jwks.json"},
		{JWKSURL: "file:///etc/jwks.json"},
		{JWKSURL: "https://"},
		{JWKSURL: "https://a/j", Timeout: -1},
		{JWKSURL: "https://a/j", MinRefreshInterval: 2 * time.Hour},
		{JWKSURL: "https://a/j", Leeway: time.Hour},
	} {
		if _, err := verifier.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "verifier: ") {
			t.Errorf("New(%+v) = %v, want an error", cfg, err)
		}
	}
	if _, err := verifier.New(verifier.Config{JWKSURL: "https://auth.internal/.well-known/jwks.json"}); err != nil {
		t.Fatal(err)
	}
}

// TestFetchTimeout: a fetch from an auth service that does not answer
// gives up by itself (after Timeout), though the caller's context never
// ends: the server answers only once the test is over. How long it took is
// not asserted; a fetch that did not give up would hang the test.
func TestFetchTimeout(t *testing.T) {
	st, c := memstore.New(), newClock()
	a := newAuth(t, st, c, key("EdDSA"))
	res := register(t, a)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	v := newVerifier(t, slow.URL, c, func(cfg *verifier.Config) { cfg.Timeout = 300 * time.Millisecond })
	_, err := v.Verify(context.Background(), res.AccessToken)
	wantErr(t, "slow auth service", err, verifier.ErrKeySetUnavailable)
}
