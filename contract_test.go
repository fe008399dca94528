package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
)

// The tests in this file hold the handlers to spec/http-api.md, black-box,
// through the routes mounted under /api/v2/auth on an http.ServeMux.

var createdAtRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestContractHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// POST /register: 201 with exactly user{id,email,name} and two tokens.
	r := e.postJSON("/register", registerBody("  Ada.Lovelace@Example.COM ", goodPassword, "  Ada Lovelace  "))
	if r.status != http.StatusCreated {
		t.Fatalf("register: status %d, want 201; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "register", r.header)
	if bytes.Contains(r.body, []byte("argon2")) || bytes.Contains(r.body, []byte(goodPassword)) {
		t.Errorf("register: body carries the password or its hash: %s", r.body)
	}
	if got, want := keysOf(t, r.body), []string{"accessToken", "refreshToken", "user"}; !equalStrings(got, want) {
		t.Errorf("register: body keys %v, want %v", got, want)
	}
	var reg struct {
		User         json.RawMessage
		AccessToken  string
		RefreshToken string
	}
	if err := json.Unmarshal(r.body, &reg); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, reg.User), []string{"email", "id", "name"}; !equalStrings(got, want) {
		t.Errorf("register: user keys %v, want %v", got, want)
	}
	var regUser struct{ ID, Email, Name string }
	if err := json.Unmarshal(reg.User, &regUser); err != nil {
		t.Fatal(err)
	}
	if !uuidRE.MatchString(regUser.ID) {
		t.Errorf("register: user id %q is not a UUID", regUser.ID)
	}
	if regUser.Email != "ada.lovelace@example.com" {
		t.Errorf("register: email %q, want it trimmed and lower-cased: ada.lovelace@example.com", regUser.Email)
	}
	if regUser.Name != "Ada Lovelace" {
		t.Errorf("register: name %q, want the trimmed name", regUser.Name)
	}
	for name, tok := range map[string]string{"accessToken": reg.AccessToken, "refreshToken": reg.RefreshToken} {
		if !strings.HasPrefix(tok, "eyJhbGciOiJIUzI1NiIs") || strings.Count(tok, ".") != 2 {
			t.Errorf("register: %s %q is not an HS256 JWT", name, tok)
		}
	}

	// POST /login: 200, the same shape, the same user, in any letter case.
	r = e.postJSON("/login", loginBody(" ADA.lovelace@EXAMPLE.com\t", goodPassword))
	if r.status != http.StatusOK {
		t.Fatalf("login: status %d, want 200; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "login", r.header)
	if got, want := keysOf(t, r.body), []string{"accessToken", "refreshToken", "user"}; !equalStrings(got, want) {
		t.Errorf("login: body keys %v, want %v", got, want)
	}
	login := mustSession(t, r, http.StatusOK)
	if login.userID != regUser.ID || login.email != regUser.Email {
		t.Errorf("login: user %q %q, want the registered %q %q", login.userID, login.email, regUser.ID, regUser.Email)
	}
	if login.access == reg.AccessToken || login.refresh == reg.RefreshToken {
		t.Error("login returned the registration's tokens; want a new session's")
	}

	// POST /refresh: 200 with exactly two tokens, the refresh token rotated.
	r = e.postJSON("/refresh", refreshBody(login.refresh))
	if r.status != http.StatusOK {
		t.Fatalf("refresh: status %d, want 200; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "refresh", r.header)
	if got, want := keysOf(t, r.body), []string{"accessToken", "refreshToken"}; !equalStrings(got, want) {
		t.Errorf("refresh: body keys %v, want %v", got, want)
	}
	var pair struct{ AccessToken, RefreshToken string }
	if err := json.Unmarshal(r.body, &pair); err != nil {
		t.Fatal(err)
	}
	if pair.RefreshToken == "" || pair.RefreshToken == login.refresh {
		t.Errorf("refresh: new refresh token %q must differ from the one presented", pair.RefreshToken)
	}
	if pair.AccessToken == "" || pair.AccessToken == login.access {
		t.Errorf("refresh: new access token %q must be a new token", pair.AccessToken)
	}

	// GET /me: 200 with the profile.
	r = e.do(http.MethodGet, "/me", nil, bearer(pair.AccessToken))
	if r.status != http.StatusOK {
		t.Fatalf("me: status %d, want 200; body %s", r.status, r.body)
	}
	checkCommonHeaders(t, "me", r.header)
	if got, want := keysOf(t, r.body), []string{"user"}; !equalStrings(got, want) {
		t.Errorf("me: body keys %v, want %v", got, want)
	}
	var me struct{ User json.RawMessage }
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, me.User), []string{"createdAt", "email", "id", "name", "organizationId", "role"}; !equalStrings(got, want) {
		t.Errorf("me: user keys %v, want %v", got, want)
	}
	var prof struct{ ID, Email, Name, OrganizationID, Role, CreatedAt string }
	if err := json.Unmarshal(me.User, &prof); err != nil {
		t.Fatal(err)
	}
	if prof.ID != regUser.ID || prof.Email != regUser.Email || prof.Name != regUser.Name {
		t.Errorf("me: %+v, want the registered user %+v", prof, regUser)
	}
	if prof.Role != "owner" {
		t.Errorf("me: role %q, want owner", prof.Role)
	}
	if !uuidRE.MatchString(prof.OrganizationID) || prof.OrganizationID == prof.ID {
		t.Errorf("me: organizationId %q, want a fresh UUID", prof.OrganizationID)
	}
	if !createdAtRE.MatchString(prof.CreatedAt) {
		t.Errorf("me: createdAt %q does not match %s", prof.CreatedAt, createdAtRE)
	}
	if want := "2025-01-28T12:00:00.123Z"; prof.CreatedAt != want {
		t.Errorf("me: createdAt %q, want the registration instant %q", prof.CreatedAt, want)
	}

	// A second user gets an organization of its own.
	other := e.registerHTTP(t, "grace@example.com")
	r = e.do(http.MethodGet, "/me", nil, bearer(other.access))
	var me2 struct {
		User struct{ OrganizationID string }
	}
	if err := json.Unmarshal(r.body, &me2); err != nil {
		t.Fatal(err)
	}
	if me2.User.OrganizationID == prof.OrganizationID || !uuidRE.MatchString(me2.User.OrganizationID) {
		t.Errorf("second user's organizationId %q, want a fresh UUID unlike %q", me2.User.OrganizationID, prof.OrganizationID)
	}

	// POST /logout: 200 with the message, exactly.
	r = e.do(http.MethodPost, "/logout", nil, bearer(pair.AccessToken))
	if r.status != http.StatusOK {
		t.Fatalf("logout: status %d, want 200; body %s", r.status, r.body)
	}
	checkCommonHeaders(t, "logout", r.header)
	var msg map[string]any
	if err := json.Unmarshal(r.body, &msg); err != nil || len(msg) != 1 || msg["message"] != "Logged out successfully" {
		t.Errorf("logout: body %s, want {\"message\":\"Logged out successfully\"}", r.body)
	}

	// Nothing secret reached the log.
	logs := e.logs.String()
	for name, secret := range map[string]string{
		"password": goodPassword, "access token": reg.AccessToken, "refresh token": reg.RefreshToken,
		"login access token": login.access, "refreshed refresh token": pair.RefreshToken, "hash": "$argon2id$",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries the %s:\n%s", name, logs)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInvalidCredentialsIndistinguishable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerHTTP(t, "alice@example.com")

	cases := []struct{ name, body string }{
		{"wrong password", loginBody("alice@example.com", "correct horse battery stapler")},
		{"unknown email", loginBody("nobody@example.com", goodPassword)},
		{"unknown email, wrong password", loginBody("nobody@example.com", "correct horse battery stapler")},
		{"password in another case", loginBody("alice@example.com", strings.ToUpper(goodPassword))},
		{"password with surrounding spaces", loginBody("alice@example.com", " "+goodPassword+" ")},
		{"empty password", loginBody("alice@example.com", "")},
		{"malformed email", loginBody("not-an-email", goodPassword)},
		{"password over 1024 bytes", loginBody("alice@example.com", strings.Repeat("p", 2000))},
	}
	var first *httpResult
	for _, c := range cases {
		r := e.postJSON("/login", c.body)
		checkError(t, c.name, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		if first == nil {
			first = r
			continue
		}
		if !bytes.Equal(r.body, first.body) {
			t.Errorf("%s: body %q differs from %s's %q", c.name, r.body, cases[0].name, first.body)
		}
		if !maps.EqualFunc(r.header, first.header, equalStrings) {
			t.Errorf("%s: headers %v differ from %s's %v", c.name, r.header, cases[0].name, first.header)
		}
	}
}

func TestEmailExistsInAnyCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	orig := e.registerHTTP(t, "grace@example.com")

	for _, email := range []string{"grace@example.com", "GRACE@EXAMPLE.COM", "Grace@Example.Com", " grace@example.com\t", "gRaCe@eXaMpLe.cOm"} {
		r := e.postJSON("/register", registerBody(email, "another fine password", "Imposter"))
		checkError(t, "register "+email, r, http.StatusConflict, "EMAIL_EXISTS")
	}
	if n := e.store.userCount(); n != 1 {
		t.Errorf("after duplicate registrations the store holds %d users, want 1", n)
	}
	// The original account is untouched: its password works, the
	// would-be imposter's does not.
	if s := e.loginHTTP(t, "grace@example.com", goodPassword); s.userID != orig.userID {
		t.Errorf("login answered user %q, want %q", s.userID, orig.userID)
	}
	r := e.postJSON("/login", loginBody("grace@example.com", "another fine password"))
	checkError(t, "login with the imposter's password", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

func TestTokenExpiredOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "exp@example.com")
	other := e.loginHTTP(t, "exp@example.com", goodPassword)

	if r := e.do(http.MethodGet, "/me", nil, bearer(s.access)); r.status != http.StatusOK {
		t.Fatalf("fresh token: status %d, body %s", r.status, r.body)
	}
	e.clock.Advance(15*time.Minute + time.Second)
	r := e.do(http.MethodGet, "/me", nil, bearer(s.access))
	checkError(t, "me with an access token past 15 minutes", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	r = e.do(http.MethodPost, "/logout", nil, bearer(s.access))
	checkError(t, "logout with an access token past 15 minutes", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	// Expired and forged: never TOKEN_EXPIRED.
	r = e.do(http.MethodGet, "/me", nil, bearer(withSignatureFlipped(s.access)))
	checkError(t, "me with an expired token with a bad signature", r, http.StatusUnauthorized, "INVALID_TOKEN")

	// A refresh token within its 7 days works; past them it has expired.
	e.refreshHTTP(t, other.refresh)
	e.clock.Advance(7*24*time.Hour - 15*time.Minute)
	r = e.postJSON("/refresh", refreshBody(s.refresh))
	checkError(t, "refresh with a refresh token past 7 days", r, http.StatusUnauthorized, "TOKEN_EXPIRED")
	r = e.postJSON("/refresh", refreshBody(withSignatureFlipped(s.refresh)))
	checkError(t, "refresh with an expired refresh token with a bad signature", r, http.StatusUnauthorized, "INVALID_TOKEN")
}

// signWith signs claims with the given method and key and sets the given
// header fields, except alg, which is always the method's; a nil header
// value removes the field.
func signWith(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	for k, v := range header {
		if k == "alg" {
			continue
		}
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// unsignedToken builds a compact JWT with the given header and claims and
// an empty signature.
func unsignedToken(header, claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(mustJSON(header))) + "." + enc([]byte(mustJSON(claims))) + "."
}

// edit returns a copy of claims with the given changes; a nil value removes
// the claim.
func edit(claims map[string]any, changes map[string]any) map[string]any {
	c := maps.Clone(claims)
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func TestInvalidTokenOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.registerHTTP(t, "alice@example.com")
	bob := e.registerHTTP(t, "bob@example.com")
	at := jwtPart(t, alice.access, 1)
	rt := jwtPart(t, alice.refresh, 1)
	atHeader := jwtPart(t, alice.access, 0)
	rtHeader := jwtPart(t, alice.refresh, 0)
	hs256 := jwt.SigningMethodHS256
	exp, _ := at["exp"].(json.Number).Int64()

	// The harness signs a token the library accepts: the same claims,
	// re-signed with the real secret. Each forgery below changes one thing.
	if r := e.do(http.MethodGet, "/me", nil, bearer(signWith(t, hs256, testSecret, atHeader, at))); r.status != http.StatusOK {
		t.Fatalf("re-signed genuine access token: status %d, body %s; the forgeries below would prove nothing", r.status, r.body)
	}

	other := newEnv(t, func(c *auth.Config) { c.Secret = []byte("another-secret-another-secret-another!!") })
	stranger := other.registerHTTP(t, "alice@example.com")

	accessCases := []struct{ name, token string }{
		{"not a JWT", "abc"},
		{"two parts", "a.b"},
		{"three junk parts", "a.b.c"},
		{"four parts", alice.access + ".x"},
		{"padded", alice.access + "="},
		{"signature removed", alice.access[:strings.LastIndexByte(alice.access, '.')+1]},
		{"signature flipped", withSignatureFlipped(alice.access)},
		{"signature of another token", alice.access[:strings.LastIndexByte(alice.access, '.')] + bob.access[strings.LastIndexByte(bob.access, '.'):]},
		{"payload changed: sub is bob", withPayload(t, alice.access, edit(at, map[string]any{"sub": bob.userID}))},
		{"payload changed: exp a day later", withPayload(t, alice.access, edit(at, map[string]any{"exp": exp + 86400}))},
		{"header changed: typ", withHeader(t, alice.access, edit(atHeader, map[string]any{"typ": "JWT"}))},
		{"refresh token as access token", alice.refresh},
		{"token of another Authenticator", stranger.access},
		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": "at+jwt"}, at)},
		{"alg NONE", unsignedToken(map[string]any{"alg": "NONE", "typ": "at+jwt"}, at)},
		{"alg nOnE", unsignedToken(map[string]any{"alg": "nOnE", "typ": "at+jwt"}, at)},
		{"HS512 with the real secret", signWith(t, jwt.SigningMethodHS512, testSecret, atHeader, at)},
		{"HS384 with the real secret", signWith(t, jwt.SigningMethodHS384, testSecret, atHeader, at)},
		{"real secret, no typ", signWith(t, hs256, testSecret, map[string]any{"typ": nil}, at)},
		{"real secret, typ rt+jwt", signWith(t, hs256, testSecret, map[string]any{"typ": "rt+jwt"}, at)},
		{"real secret, jku header", signWith(t, hs256, testSecret, edit(atHeader, map[string]any{"jku": "https://evil.example/keys"}), at)},
		{"real secret, no exp", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"exp": nil}))},
		{"real secret, wrong iss", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iss": "evil"}))},
		{"real secret, wrong aud", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"aud": "other"}))},
		{"real secret, no aud", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"aud": nil}))},
		{"real secret, iat in the future", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"iat": exp + 3600}))},
		{"real secret, nbf in the future", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"nbf": exp}))},
		{"real secret, empty sub", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sub": ""}))},
		{"real secret, bob in alice's session", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sub": bob.userID}))},
		{"real secret, unknown session", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sid": "00000000-0000-4000-8000-000000000000"}))},
		{"real secret, no sid", signWith(t, hs256, testSecret, atHeader, edit(at, map[string]any{"sid": nil}))},
	}
	for _, c := range accessCases {
		r := e.do(http.MethodGet, "/me", nil, bearer(c.token))
		checkError(t, "me: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
		if r.status == http.StatusOK {
			continue // already reported; logging out would end alice's session
		}
		r = e.do(http.MethodPost, "/logout", nil, bearer(c.token))
		checkError(t, "logout: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
	}

	refreshCases := []struct{ name, token string }{
		{"empty", ""},
		{"not a JWT", "abc"},
		{"signature flipped", withSignatureFlipped(alice.refresh)},
		{"payload changed: sub is bob", withPayload(t, alice.refresh, edit(rt, map[string]any{"sub": bob.userID}))},
		{"payload changed: jti", withPayload(t, alice.refresh, edit(rt, map[string]any{"jti": "x"}))},
		{"access token as refresh token", alice.access},
		{"token of another Authenticator", stranger.refresh},
		{"alg none", signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"typ": rtHeader["typ"]}, rt)},
		{"refresh claims signed with the access key", signWith(t, hs256, testSecret, rtHeader, rt)},
		{"HS512 with the access key", signWith(t, jwt.SigningMethodHS512, testSecret, rtHeader, rt)},
		{"over-long", strings.Repeat("a", 10<<10)},
	}
	for _, c := range refreshCases {
		r := e.postJSON("/refresh", refreshBody(c.token))
		checkError(t, "refresh: "+c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
	}

	// None of the forgeries spent or ended alice's genuine session.
	if r := e.do(http.MethodGet, "/me", nil, bearer(alice.access)); r.status != http.StatusOK {
		t.Errorf("alice's genuine access token after the forgeries: status %d, body %s", r.status, r.body)
	}
	e.refreshHTTP(t, alice.refresh)

	// Revoked and reused tokens.
	s := e.loginHTTP(t, "bob@example.com", goodPassword)
	if r := e.do(http.MethodPost, "/logout", nil, bearer(s.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	checkError(t, "me with a revoked session", e.do(http.MethodGet, "/me", nil, bearer(s.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh with a revoked session", e.postJSON("/refresh", refreshBody(s.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	s = e.loginHTTP(t, "bob@example.com", goodPassword)
	e.refreshHTTP(t, s.refresh)
	checkError(t, "refresh with a spent refresh token", e.postJSON("/refresh", refreshBody(s.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
}

// withHeader returns token with its header replaced by the JSON of h,
// keeping payload and signature.
func withHeader(t testing.TB, token string, h map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(h))) + "." + parts[1] + "." + parts[2]
}

func TestUnauthorizedWithoutBearerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ method, path string }{{http.MethodGet, "/me"}, {http.MethodPost, "/logout"}} {
		r := e.do(c.method, c.path, nil, nil)
		checkError(t, c.method+" "+c.path, r, http.StatusUnauthorized, "UNAUTHORIZED")
		if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("%s %s: WWW-Authenticate %q, want Bearer", c.method, c.path, got)
		}
	}
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("xY7!", 256) + "z" // 1025 bytes
	cases := []struct {
		name   string
		body   string
		fields []string // fields that must be named
	}{
		{"empty object", `{}`, []string{"email", "password", "name"}},
		{"missing email", `{"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"missing password", `{"email":"a@x.io","name":"A"}`, []string{"password"}},
		{"missing name", `{"email":"a@x.io","password":"correct horse battery staple"}`, []string{"name"}},
		{"null fields", `{"email":null,"password":null,"name":null}`, []string{"email", "password", "name"}},
		{"empty strings", `{"email":"","password":"","name":""}`, []string{"email", "password", "name"}},
		{"email a number", `{"email":123,"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"email an array", `{"email":["a@x.io"],"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"email an object", `{"email":{"$ne":null},"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"password a boolean", `{"email":"a@x.io","password":true,"name":"A"}`, []string{"password"}},
		{"password a number", `{"email":"a@x.io","password":12345678,"name":"A"}`, []string{"password"}},
		{"name a number", `{"email":"a@x.io","password":"correct horse battery staple","name":7}`, []string{"name"}},
		{"password of 7 characters", registerBody("a@x.io", "k9#mQz2", "A"), []string{"password"}},
		{"password of 7 two-byte code points", registerBody("a@x.io", "ééééééé", "A"), []string{"password"}},
		{"password of 7 four-byte code points", registerBody("a@x.io", "😀😀😀😀😀😀😀", "A"), []string{"password"}},
		{"password over 1024 bytes", registerBody("a@x.io", long, "A"), []string{"password"}},
		{"common password", registerBody("a@x.io", "password", "A"), []string{"password"}},
		{"name of spaces", registerBody("a@x.io", goodPassword, "   "), []string{"name"}},
		{"name over 200 characters", registerBody("a@x.io", goodPassword, strings.Repeat("é", 201)), []string{"name"}},
		{"name with NUL", registerBody("a@x.io", goodPassword, "Ada\x00Lovelace"), []string{"name"}},
		{"name with newline", registerBody("a@x.io", goodPassword, "Ada\nLovelace"), []string{"name"}},
		{"name with escape", registerBody("a@x.io", goodPassword, "Ada\x1b[31mLovelace"), []string{"name"}},
		{"name with DEL", registerBody("a@x.io", goodPassword, "Ada\x7f"), []string{"name"}},
		{"email plainaddress", registerBody("plainaddress", goodPassword, "A"), []string{"email"}},
		{"email a@", registerBody("a@", goodPassword, "A"), []string{"email"}},
		{"email @x.io", registerBody("@x.io", goodPassword, "A"), []string{"email"}},
		{"email a@b@c.io", registerBody("a@b@c.io", goodPassword, "A"), []string{"email"}},
		{"email with display name", registerBody("Alice <alice@example.com>", goodPassword, "A"), []string{"email"}},
		{"email in angle brackets", registerBody("<alice@example.com>", goodPassword, "A"), []string{"email"}},
		{"email with comment", registerBody("alice@example.com (work)", goodPassword, "A"), []string{"email"}},
		{"email with NUL", registerBody("a@x.io\u0000", goodPassword, "A"), []string{"email"}},
		{"email with space in domain", registerBody("a@exa mple.com", goodPassword, "A"), []string{"email"}},
		{"email of spaces", registerBody("   ", goodPassword, "A"), []string{"email"}},
		{"email over 254 bytes", registerBody(strings.Repeat("a", 64)+"@"+strings.Repeat("b", 63)+"."+strings.Repeat("c", 63)+"."+strings.Repeat("d", 63)+".io", goodPassword, "A"), []string{"email"}},
		{"email with Kelvin sign", registerBody("\u212Aate@example.com", goodPassword, "A"), []string{"email"}},
	}
	for _, c := range cases {
		r := e.postJSON("/register", c.body)
		fields := checkError(t, c.name, r, http.StatusBadRequest, "VALIDATION_ERROR")
		for _, f := range c.fields {
			if fields[f] == "" {
				t.Errorf("%s: fields %v do not name %q", c.name, fields, f)
			}
		}
	}
	if n := e.store.createdCount(); n != 0 {
		t.Errorf("failed registrations created %d users, want 0", n)
	}

	// The boundaries on the other side are accepted.
	accepted := []struct{ name, email, password, userName string }{
		{"8 multibyte code points", "cyr@example.com", "пароль12", "A"},
		{"8 CJK code points", "cjk@example.com", "密码密码密码密码", "A"},
		{"1024-byte password", "long@example.com", long[:1024], "A"},
		{"200-character name", "name@example.com", goodPassword, strings.Repeat("é", 200)},
		{"password with NUL", "nul@example.com", "abc\x00defghij", "A"},
		{"8 ASCII characters", "eight@example.com", "zq8vNw3p", "A"},
		{"password of spaces around one letter", "spaces@example.com", "        x       ", "A"},
		{"email of exactly 254 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61), goodPassword, "A"},
	}
	for _, c := range accepted {
		r := e.postJSON("/register", registerBody(c.email, c.password, c.userName))
		if r.status != http.StatusCreated {
			t.Errorf("%s: status %d, want 201; body %s", c.name, r.status, r.body)
			continue
		}
		// The password is used exactly as given.
		e.loginHTTP(t, c.email, c.password)
	}
	checkError(t, "login with the part before a NUL", e.postJSON("/login", loginBody("nul@example.com", "abc")), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

func TestLoginAndRefreshValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		path, body, field string
	}{
		{"/login", `{"email":"a@x.io"}`, "password"},
		{"/login", `{"password":"correct horse battery staple"}`, "email"},
		{"/login", `{"email":null,"password":"x"}`, "email"},
		{"/login", `{}`, "email"},
		{"/login", `{"email":123,"password":"correct horse battery staple"}`, "email"},
		{"/login", `{"email":"a@x.io","password":["x"]}`, "password"},
		{"/refresh", `{}`, "refreshToken"},
		{"/refresh", `{"refreshToken":null}`, "refreshToken"},
		{"/refresh", `{"refreshToken":123}`, "refreshToken"},
		{"/refresh", `{"refresh_token":"x"}`, "refreshToken"},
	}
	for _, c := range cases {
		r := e.postJSON(c.path, c.body)
		fields := checkError(t, c.path+" "+c.body, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if fields[c.field] == "" {
			t.Errorf("%s %s: fields %v do not name %q", c.path, c.body, fields, c.field)
		}
	}
}

func TestInvalidRequestBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "body@example.com")
	// Each route gets a body that would succeed on its own, so that a
	// decoder that reads only part of the input would answer 2xx.
	routes := []struct{ path, valid, key string }{
		{"/register", registerBody("fresh@example.com", goodPassword, "Fresh"), "email"},
		{"/login", loginBody("body@example.com", goodPassword), "email"},
		{"/refresh", refreshBody(s.refresh), "refreshToken"},
	}
	for _, rt := range routes {
		cases := []struct{ name, body string }{
			{"truncated", rt.valid[:len(rt.valid)/2]},
			{"empty", ""},
			{"white space", " \n "},
			{"null", "null"},
			{"empty array", "[]"},
			{"array of the object", "[" + rt.valid + "]"},
			{"string", `"x"`},
			{"number", "123"},
			{"boolean", "true"},
			{"two objects", rt.valid + rt.valid},
			{"object then empty object", rt.valid + "{}"},
			{"trailing junk", rt.valid + " junk"},
			{"trailing comma", rt.valid[:len(rt.valid)-1] + ",}"},
			{"duplicate key", `{"` + rt.key + `":"dup@example.com",` + rt.valid[1:]},
			{"duplicate key in another case", `{"` + strings.ToUpper(rt.key) + `":"dup@example.com",` + rt.valid[1:]},
			{"invalid UTF-8", `{"junk":"` + "\xff\xfe" + `",` + rt.valid[1:]},
		}
		for _, c := range cases {
			r := e.postJSON(rt.path, c.body)
			checkError(t, rt.path+": "+c.name, r, http.StatusBadRequest, "INVALID_REQUEST")
		}
	}
	if n := e.store.createdCount(); n != 1 {
		t.Errorf("store saw %d successful CreateUser calls, want 1 (the setup's)", n)
	}
	// The refresh token was never spent by the rejected bodies.
	e.refreshHTTP(t, s.refresh)
	// Unknown fields are ignored; they never bind to identity or role.
	r := e.postJSON("/register", `{"email":"extra@example.com","password":"correct horse battery staple","name":"X","role":"admin","id":"00000000-0000-4000-8000-000000000000","organizationId":"org"}`)
	reg := mustSession(t, r, http.StatusCreated)
	r = e.do(http.MethodGet, "/me", nil, bearer(reg.access))
	var me struct {
		User struct{ ID, Role, OrganizationID string }
	}
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	if me.User.Role != "owner" || me.User.ID == "00000000-0000-4000-8000-000000000000" || me.User.OrganizationID == "org" {
		t.Errorf("unknown fields bound to the new user: %s", r.body)
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "media@example.com")
	routes := []struct{ path, valid string }{
		{"/register", registerBody("media2@example.com", goodPassword, "M")},
		{"/login", loginBody("media@example.com", goodPassword)},
		{"/refresh", refreshBody(s.refresh)},
	}
	types := []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json"}
	for _, rt := range routes {
		for _, ct := range types {
			var h hdr
			if ct != "" {
				h = hdr{{"Content-Type", ct}}
			}
			r := e.do(http.MethodPost, rt.path, strings.NewReader(rt.valid), h)
			checkError(t, rt.path+" with Content-Type "+ct, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		}
		r := e.do(http.MethodPost, rt.path, strings.NewReader("email=media%40example.com&password=x"), hdr{{"Content-Type", "application/x-www-form-urlencoded"}})
		checkError(t, rt.path+" with a form", r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	}
	if n := e.store.createdCount(); n != 1 {
		t.Errorf("store saw %d successful CreateUser calls, want 1", n)
	}

	// Media types compare without regard to case, and the UTF-8 charset is
	// fine.
	for i, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8", "APPLICATION/JSON; Charset=\"utf-8\""} {
		email := fmt.Sprintf("accepted%d@example.com", i)
		r := e.do(http.MethodPost, "/register", strings.NewReader(registerBody(email, goodPassword, "A")), hdr{{"Content-Type", ct}})
		if r.status != http.StatusCreated {
			t.Errorf("register with Content-Type %q: status %d, want 201; body %s", ct, r.status, r.body)
		}
		r = e.do(http.MethodPost, "/login", strings.NewReader(loginBody(email, goodPassword)), hdr{{"Content-Type", ct}})
		if r.status != http.StatusOK {
			t.Errorf("login with Content-Type %q: status %d, want 200; body %s", ct, r.status, r.body)
		}
	}
}

func TestPayloadTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// bodyOf returns a register body of exactly n bytes.
	bodyOf := func(n int) string {
		head, tail := `{"email":"big@example.com","password":"correct horse battery staple","name":"`, `"}`
		return head + strings.Repeat("n", n-len(head)-len(tail)) + tail
	}
	over, limit := bodyOf(64<<10+1), bodyOf(64<<10)
	for _, path := range []string{"/register", "/login", "/refresh"} {
		r := e.postJSON(path, over)
		checkError(t, path+" with 64 KiB + 1 (Content-Length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		// Without a Content-Length the cap applies while reading.
		r = e.do(http.MethodPost, path, io.MultiReader(strings.NewReader(over)), jsonHeaders)
		checkError(t, path+" with 64 KiB + 1 (no length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		r = e.do(http.MethodPost, path, io.MultiReader(strings.NewReader(over+strings.Repeat(" ", 1<<20))), jsonHeaders)
		checkError(t, path+" with 1 MiB more (no length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	}
	// Exactly 64 KiB is read and judged on its fields.
	r := e.postJSON("/register", limit)
	fields := checkError(t, "register with exactly 64 KiB", r, http.StatusBadRequest, "VALIDATION_ERROR")
	if fields["name"] == "" {
		t.Errorf("register with exactly 64 KiB: fields %v, want name named", fields)
	}
	if n := e.store.createdCount(); n != 0 {
		t.Errorf("store saw %d successful CreateUser calls, want 0", n)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "method@example.com")
	cases := []struct{ method, path, allow string }{
		{http.MethodGet, "/register", "POST"},
		{http.MethodPut, "/register", "POST"},
		{http.MethodPatch, "/register", "POST"},
		{http.MethodGet, "/login", "POST"},
		{http.MethodDelete, "/login", "POST"},
		{http.MethodGet, "/refresh", "POST"},
		{http.MethodPut, "/refresh", "POST"},
		{http.MethodGet, "/logout", "POST"},
		{http.MethodDelete, "/logout", "POST"},
		{http.MethodPost, "/me", "GET"},
		{http.MethodPut, "/me", "GET"},
		{http.MethodPatch, "/me", "GET"},
		{"TRACE", "/me", "GET"},
		{"TRACE", "/login", "POST"},
	}
	for _, c := range cases {
		h := append(hdr{{"Authorization", "Bearer " + s.access}}, jsonHeaders...)
		r := e.do(c.method, c.path, strings.NewReader(loginBody("method@example.com", goodPassword)), h)
		checkError(t, c.method+" "+c.path, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		if got := r.header.Get("Allow"); !strings.Contains(got, c.allow) {
			t.Errorf("%s %s: Allow %q, want it to list %s", c.method, c.path, got, c.allow)
		}
	}
	// GET /logout did not log out.
	if r := e.do(http.MethodGet, "/me", nil, bearer(s.access)); r.status != http.StatusOK {
		t.Errorf("after GET /logout, /me answered %d; the session must be live", r.status)
	}
}

func TestInternalErrorHidesDetail(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: SQLSTATE 23505 secret detail at store.go:42")
	cases := []struct {
		method string
		// call makes the request that runs into the failing method.
		call func(e *testEnv, s session) *httpResult
	}{
		{"CreateUser", func(e *testEnv, s session) *httpResult {
			return e.postJSON("/register", registerBody("new@example.com", goodPassword, "N"))
		}},
		{"CreateSession", func(e *testEnv, s session) *httpResult {
			return e.postJSON("/register", registerBody("new@example.com", goodPassword, "N"))
		}},
		{"UserByEmail", func(e *testEnv, s session) *httpResult {
			return e.postJSON("/login", loginBody("int@example.com", goodPassword))
		}},
		{"UserByID", func(e *testEnv, s session) *httpResult {
			return e.do(http.MethodGet, "/me", nil, bearer(s.access))
		}},
		{"Session", func(e *testEnv, s session) *httpResult {
			return e.do(http.MethodGet, "/me", nil, bearer(s.access))
		}},
		{"RotateRefreshToken", func(e *testEnv, s session) *httpResult {
			return e.postJSON("/refresh", refreshBody(s.refresh))
		}},
		{"RevokeSession", func(e *testEnv, s session) *httpResult {
			return e.do(http.MethodPost, "/logout", nil, bearer(s.access))
		}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			s := e.registerHTTP(t, "int@example.com")
			before := e.store.userCount()
			e.store.setFail(c.method, cause)
			r := c.call(e, s)
			checkError(t, "with "+c.method+" failing", r, http.StatusInternalServerError, "INTERNAL_ERROR")
			if strings.Contains(string(r.body), "23505") {
				t.Errorf("body carries the cause: %s", r.body)
			}
			if !strings.Contains(e.logs.String(), "secret detail") {
				t.Errorf("the log did not receive the cause; log:\n%s", e.logs)
			}
			if n := e.store.userCount(); n != before {
				t.Errorf("users: %d after the failure, want %d", n, before)
			}
			// The service goes on once the store recovers.
			e.store.setFail(c.method, nil)
			if r := e.do(http.MethodGet, "/me", nil, bearer(s.access)); r.status != http.StatusOK {
				t.Errorf("after recovery /me answered %d, body %s", r.status, r.body)
			}
		})
	}
}

func TestFailedRegisterLeavesNoUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.store.setFail("CreateSession", errors.New("disk full"))
	r := e.postJSON("/register", registerBody("undo@example.com", goodPassword, "U"))
	checkError(t, "register with CreateSession failing", r, http.StatusInternalServerError, "INTERNAL_ERROR")
	if e.store.createdCount() != 1 {
		t.Fatalf("CreateUser succeeded %d times, want 1 (the test needs the undo path)", e.store.createdCount())
	}
	if n := e.store.userCount(); n != 0 {
		t.Errorf("after a failed registration the store holds %d users, want 0", n)
	}
	e.store.setFail("CreateSession", nil)
	checkError(t, "login after the failed registration", e.postJSON("/login", loginBody("undo@example.com", goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	e.registerHTTP(t, "undo@example.com")
}

func TestAuthorizationHeaderVariants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "hdr@example.com")
	tok := s.access
	// An empty code accepts either 401 code.
	cases := []struct {
		name   string
		values []string // one Authorization header per value; nil for none
		status int
		code   string
	}{
		{"Bearer T", []string{"Bearer " + tok}, 200, ""},
		{"bearer T", []string{"bearer " + tok}, 200, ""},
		{"BEARER T", []string{"BEARER " + tok}, 200, ""},
		{"two spaces", []string{"Bearer  " + tok}, 200, ""},
		{"trailing space", []string{"Bearer " + tok + " "}, 200, ""},
		{"missing", nil, 401, "UNAUTHORIZED"},
		{"empty", []string{""}, 401, "UNAUTHORIZED"},
		{"Bearer alone", []string{"Bearer"}, 401, "UNAUTHORIZED"},
		{"Bearer and a space", []string{"Bearer "}, 401, "UNAUTHORIZED"},
		{"Basic", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("hdr@example.com:"+goodPassword))}, 401, "UNAUTHORIZED"},
		{"Token T", []string{"Token " + tok}, 401, "UNAUTHORIZED"},
		{"JWT T", []string{"JWT " + tok}, 401, "UNAUTHORIZED"},
		{"raw T", []string{tok}, 401, "UNAUTHORIZED"},
		{"BearerT", []string{"Bearer" + tok}, 401, ""},
		{"Bearer T extra", []string{"Bearer " + tok + " extra"}, 401, ""},
		{"quoted T", []string{`Bearer "` + tok + `"`}, 401, ""},
		{"tab", []string{"Bearer\t" + tok}, 401, ""},
		{"two tokens in one header", []string{"Bearer " + tok + ",Bearer " + tok}, 401, ""},
		{"token pasted twice", []string{"Bearer " + tok + tok}, 401, ""},
		{"control character", []string{"Bearer " + tok + "\x01"}, 401, ""},
		{"two headers, both valid", []string{"Bearer " + tok, "Bearer " + tok}, 401, "INVALID_TOKEN"},
		{"two headers, junk first", []string{"Bearer junk", "Bearer " + tok}, 401, "INVALID_TOKEN"},
		{"two headers, junk second", []string{"Bearer " + tok, "Bearer junk"}, 401, "INVALID_TOKEN"},
	}
	for _, c := range cases {
		var h hdr
		for _, v := range c.values {
			h = append(h, [2]string{"Authorization", v})
		}
		r := e.do(http.MethodGet, "/me", nil, h)
		if c.status == http.StatusOK {
			if r.status != http.StatusOK {
				t.Errorf("%s: status %d, want 200; body %s", c.name, r.status, r.body)
			}
			continue
		}
		code := c.code
		if code == "" {
			code = "INVALID_TOKEN"
			if strings.Contains(string(r.body), "UNAUTHORIZED") {
				code = "UNAUTHORIZED"
			}
		}
		checkError(t, c.name, r, http.StatusUnauthorized, code)
	}

	// A huge header is refused without parsing it.
	start := time.Now()
	r := e.do(http.MethodGet, "/me", nil, bearer(strings.Repeat(".", 1<<20)))
	elapsed := time.Since(start)
	checkError(t, "1 MiB of dots", r, http.StatusUnauthorized, "INVALID_TOKEN")
	if elapsed > time.Second {
		t.Errorf("1 MiB of dots took %v to refuse", elapsed)
	}
}

// serverCall makes one request to a live test server.
func serverCall(c *http.Client, method, url, body string, headers hdr) (*httpResult, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &httpResult{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// burst runs n copies of call at once over a live server and returns their
// results in order.
func burst(t *testing.T, n int, call func(i int) (*httpResult, error)) []*httpResult {
	t.Helper()
	results := make([]*httpResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = call(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return results
}

func TestConcurrentRefreshOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	for round := range 3 {
		r, err := serverCall(srv.Client(), http.MethodPost, srv.URL+mountPrefix+"/register", registerBody(fmt.Sprintf("race%d@example.com", round), goodPassword, "R"), jsonHeaders)
		if err != nil {
			t.Fatal(err)
		}
		s := mustSession(t, r, http.StatusCreated)
		results := burst(t, 16, func(int) (*httpResult, error) {
			return serverCall(srv.Client(), http.MethodPost, srv.URL+mountPrefix+"/refresh", refreshBody(s.refresh), jsonHeaders)
		})
		ok := 0
		for i, r := range results {
			if r.status == http.StatusOK {
				ok++
				checkTokenHeaders(t, "winning refresh", r.header)
				continue
			}
			checkError(t, fmt.Sprintf("losing refresh %d", i), r, http.StatusUnauthorized, "INVALID_TOKEN")
		}
		if ok != 1 {
			t.Errorf("round %d: %d of 16 concurrent refreshes of one token succeeded, want exactly 1", round, ok)
		}
	}
}

func TestConcurrentRegistrationOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	const email = "contended.user@example.com"
	results := burst(t, 16, func(i int) (*httpResult, error) {
		// Each request spells the address in its own mix of cases.
		b := []byte(email)
		for j := range b {
			if i>>(j%4)&1 == 1 && 'a' <= b[j] && b[j] <= 'z' {
				b[j] -= 'a' - 'A'
			}
		}
		return serverCall(srv.Client(), http.MethodPost, srv.URL+mountPrefix+"/register", registerBody(string(b), goodPassword, "C"), jsonHeaders)
	})
	created := 0
	for _, r := range results {
		if r.status == http.StatusCreated {
			created++
			continue
		}
		checkError(t, "losing registration", r, http.StatusConflict, "EMAIL_EXISTS")
	}
	if created != 1 {
		t.Errorf("%d of 16 concurrent registrations of one email succeeded, want exactly 1", created)
	}
	if n := e.store.userCount(); n != 1 {
		t.Errorf("store holds %d users, want 1", n)
	}
}

func TestConcurrentLoginsAllSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling) // default MaxConcurrentHashes and throttling
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	e.registerHTTP(t, "busy@example.com")
	results := burst(t, 64, func(int) (*httpResult, error) {
		return serverCall(srv.Client(), http.MethodPost, srv.URL+mountPrefix+"/login", loginBody("Busy@Example.com", goodPassword), jsonHeaders)
	})
	sids := map[string]bool{}
	for i, r := range results {
		if r.status != http.StatusOK {
			t.Errorf("login %d: status %d, body %s", i, r.status, r.body)
			continue
		}
		sids[claimString(t, mustSession(t, r, http.StatusOK).access, "sid")] = true
	}
	if len(sids) != 64 {
		t.Errorf("64 logins opened %d distinct sessions, want 64", len(sids))
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "reuse@example.com")
	otherDevice := e.loginHTTP(t, "reuse@example.com", goodPassword)

	at2, rt2 := e.refreshHTTP(t, s.refresh)
	at3, rt3 := e.refreshHTTP(t, rt2)
	if r := e.do(http.MethodGet, "/me", nil, bearer(at3)); r.status != http.StatusOK {
		t.Fatalf("me with the newest access token: status %d", r.status)
	}
	// Replaying the first refresh token is theft: the session ends.
	checkError(t, "replay of RT1", e.postJSON("/refresh", refreshBody(s.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT3 after the replay", e.postJSON("/refresh", refreshBody(rt3)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT2 after the replay", e.postJSON("/refresh", refreshBody(rt2)), http.StatusUnauthorized, "INVALID_TOKEN")
	for name, at := range map[string]string{"AT1": s.access, "AT2": at2, "AT3": at3} {
		checkError(t, name+" after the replay", e.do(http.MethodGet, "/me", nil, bearer(at)), http.StatusUnauthorized, "INVALID_TOKEN")
	}
	// The user's other session is untouched.
	if r := e.do(http.MethodGet, "/me", nil, bearer(otherDevice.access)); r.status != http.StatusOK {
		t.Errorf("other device's access token: status %d, want 200", r.status)
	}
	e.refreshHTTP(t, otherDevice.refresh)
}

func TestLogoutRevokesOnlyItsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.registerHTTP(t, "logout@example.com")
	second := e.loginHTTP(t, "logout@example.com", goodPassword)

	if r := e.do(http.MethodPost, "/logout", nil, bearer(first.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	checkError(t, "me after logout", e.do(http.MethodGet, "/me", nil, bearer(first.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh after logout", e.postJSON("/refresh", refreshBody(first.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "second logout", e.do(http.MethodPost, "/logout", nil, bearer(first.access)), http.StatusUnauthorized, "INVALID_TOKEN")

	if r := e.do(http.MethodGet, "/me", nil, bearer(second.access)); r.status != http.StatusOK {
		t.Errorf("other session's access token after logout: status %d, want 200", r.status)
	}
	at, _ := e.refreshHTTP(t, second.refresh)
	if r := e.do(http.MethodGet, "/me", nil, bearer(at)); r.status != http.StatusOK {
		t.Errorf("other session's refreshed access token: status %d, want 200", r.status)
	}
}

func TestPathVariantsNeverServe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerHTTP(t, "path@example.com")
	for _, p := range []string{
		"//api/v2/auth/login/",
		"//API/V2/AUTH/LOGIN",
		"//api/v2/auth/LOGIN",
		"//Api/v2/auth/login",
		"//api/v2/auth/./login",
		"//api/v2/auth//login",
		"//api/v2/auth/login/x",
		"//api/v2/auth/login.json",
		"//api/v2/login",
		"//login",
	} {
		r := e.do(http.MethodPost, p, strings.NewReader(loginBody("path@example.com", goodPassword)), jsonHeaders)
		if r.status/100 == 2 || bytes.Contains(r.body, []byte("eyJ")) {
			t.Errorf("POST %s: status %d, body %s; want no success on an alternate path", p[1:], r.status, r.body)
		}
	}
}

func TestClaimTypeConfusion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.registerHTTP(t, "types@example.com")
	at := jwtPart(t, alice.access, 1)
	header := jwtPart(t, alice.access, 0)
	exp, _ := at["exp"].(json.Number).Int64()
	iat, _ := at["iat"].(json.Number).Int64()
	aud, _ := at["aud"].([]any)
	if len(aud) != 1 {
		t.Fatalf("aud claim %v, want an array of one audience", at["aud"])
	}
	// Every token below is signed with the real secret, so only the
	// library's claim checks stand between it and a 200. Only GET /me is
	// used: no case can end alice's session.
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
		{"sub a number", map[string]any{"sub": 123}, false},
		{"sub an object", map[string]any{"sub": map[string]any{}}, false},
		{"sid a number", map[string]any{"sid": 123}, false},
		{"aud a number", map[string]any{"aud": 123}, false},
		{"aud an array of a number", map[string]any{"aud": []any{123}}, false},
		{"aud empty", map[string]any{"aud": []any{}}, false},
		{"aud empty string", map[string]any{"aud": ""}, false},
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

func TestCredentialsNeverTakenFromURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "url@example.com")
	q := "?email=url%40example.com&password=" + strings.ReplaceAll(goodPassword, " ", "+")
	fields := checkError(t, "login with credentials in the query", e.postJSON("/login"+q, `{}`), http.StatusBadRequest, "VALIDATION_ERROR")
	if fields["email"] == "" || fields["password"] == "" {
		t.Errorf("fields %v, want email and password named", fields)
	}
	checkError(t, "me with the token in the query", e.do(http.MethodGet, "/me?access_token="+s.access, nil, nil), http.StatusUnauthorized, "UNAUTHORIZED")
	checkError(t, "refresh with the token in the query", e.postJSON("/refresh?refreshToken="+s.refresh, `{}`), http.StatusBadRequest, "VALIDATION_ERROR")
}

func TestDeletedUserTokensRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.registerHTTP(t, "gone@example.com")
	if err := e.mem.DeleteUser(context.Background(), s.userID); err != nil {
		t.Fatal(err)
	}
	checkError(t, "me of a deleted user", e.do(http.MethodGet, "/me", nil, bearer(s.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh of a deleted user", e.postJSON("/refresh", refreshBody(s.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "login of a deleted user", e.postJSON("/login", loginBody("gone@example.com", goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

func TestRateLimitedLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withThrottling)
	e.registerHTTP(t, "victim@example.com")
	e.registerHTTP(t, "carol@example.com")

	// failuresUntilThrottled sends wrong passwords for the emails in turn
	// until the answer is 429, and returns how many failures it took and
	// the 429 answer.
	failuresUntilThrottled := func(emails ...string) (int, *httpResult) {
		for i := range 100 {
			r := e.postJSON("/login", loginBody(emails[i%len(emails)], "wrong password, attempt "+fmt.Sprint(i)))
			if r.status == http.StatusTooManyRequests {
				return i, r
			}
			checkError(t, "failed login", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
		}
		t.Fatalf("100 failed logins for %v were never throttled", emails)
		return 0, nil
	}
	n, limited := failuresUntilThrottled("victim@example.com")
	checkError(t, "throttled login", limited, http.StatusTooManyRequests, "RATE_LIMITED")
	retry, err := strconv.Atoi(limited.header.Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After %q, want a whole number of seconds", limited.header.Get("Retry-After"))
	}
	// While throttled, the right password gets the same answer as a wrong
	// one: the throttle is no oracle.
	right := e.postJSON("/login", loginBody("victim@example.com", goodPassword))
	if right.status != limited.status || !bytes.Equal(right.body, limited.body) || !maps.EqualFunc(right.header, limited.header, equalStrings) {
		t.Errorf("throttled login with the right password: %d %v %s; with a wrong one: %d %v %s",
			right.status, right.header, right.body, limited.status, limited.header, limited.body)
	}
	// An unknown email is throttled after as many failures, and spellings
	// of one address share one count.
	if m, _ := failuresUntilThrottled("ghost@example.com"); m != n {
		t.Errorf("unknown email throttled after %d failures, a known one after %d", m, n)
	}
	if m, _ := failuresUntilThrottled("carol@example.com", "CAROL@example.com", " Carol@Example.COM "); m != n {
		t.Errorf("spellings of one email throttled after %d failures, one spelling after %d", m, n)
	}

	// Once the wait is over, the right password works and the count starts
	// afresh.
	e.clock.Advance(time.Duration(retry) * time.Second)
	e.loginHTTP(t, "victim@example.com", goodPassword)
	checkError(t, "one failure after a success", e.postJSON("/login", loginBody("victim@example.com", "wrong again")), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}
