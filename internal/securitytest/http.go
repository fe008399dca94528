package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// result is one answer of the handler.
type result struct {
	status int
	header http.Header
	body   []byte
}

// hdr is a list of request headers; a name may repeat.
type hdr [][2]string

// jsonHeaders is the Content-Type of a JSON request.
var jsonHeaders = hdr{{"Content-Type", "application/json"}}

// bearer returns the headers of a request carrying an access token.
func bearer(token string) hdr { return hdr{{"Authorization", "Bearer " + token}} }

// target returns the request target of path: relative to mountPrefix
// unless it starts with "//", which marks a path taken as is (minus one
// slash).
func target(path string) string {
	if strings.HasPrefix(path, "//") {
		return path[1:]
	}
	return mountPrefix + path
}

// readBody reads body whole, for the invariant checks, and returns a
// reader of the same bytes that keeps the original's effect on
// httptest.NewRequest: a length known in advance for the three reader
// types it recognizes, an unknown length for any other.
func readBody(body io.Reader) ([]byte, io.Reader) {
	if body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		panic(err) // in-memory readers only
	}
	switch body.(type) {
	case *bytes.Reader, *bytes.Buffer, *strings.Reader:
		return raw, bytes.NewReader(raw)
	}
	return raw, io.MultiReader(bytes.NewReader(raw))
}

// do serves one request through the mounted routes with a recorder, and
// asserts the global invariants on the answer.
func (e *env) do(method, path string, body io.Reader, headers hdr) *result {
	raw, rd := readBody(body)
	req := httptest.NewRequest(method, target(path), rd)
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	return e.serve(req, raw)
}

// serve serves req, whose body is raw, with a recorder, and asserts the
// global invariants on the answer.
func (e *env) serve(req *http.Request, raw []byte) *result {
	p := e.begin(req, raw)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	r := &result{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
	e.end(p, r)
	return r
}

// postJSON sends body as application/json.
func (e *env) postJSON(path, body string) *result {
	return e.do(http.MethodPost, path, strings.NewReader(body), jsonHeaders)
}

// call makes one request to the env's live server and asserts the global
// invariants on the answer.
func (e *env) call(method, path, body string, headers hdr) (*result, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.server().URL+target(path), rd)
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	return e.roundTrip(req, []byte(body))
}

// roundTrip sends req, whose body is raw, to the env's live server.
func (e *env) roundTrip(req *http.Request, raw []byte) (*result, error) {
	p := e.begin(req, raw)
	resp, err := e.server().Client().Do(req)
	if err != nil {
		e.inflight.Add(-1)
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.inflight.Add(-1)
		return nil, err
	}
	r := &result{status: resp.StatusCode, header: resp.Header, body: b}
	e.end(p, r)
	return r, nil
}

// pending is what the invariant checks note of a request before it is
// served.
type pending struct {
	what     string
	routed   bool
	epoch    int64
	solo     bool
	before   counts
	password string
	// echoed are request values an answer may legitimately contain.
	echoed []string
	// canon is the canonical email of a registration, and existed whether
	// the store held it before.
	canon   string
	existed bool
}

func (e *env) begin(req *http.Request, raw []byte) *pending {
	p := &pending{what: req.Method + " " + req.URL.Path, routed: strings.HasPrefix(req.URL.Path, mountPrefix+"/")}
	p.solo = e.inflight.Add(1) == 1
	p.epoch = e.started.Add(1)
	p.before = e.probe.counts()
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil {
		return p
	}
	email, _ := fields["email"].(string)
	name, _ := fields["name"].(string)
	p.password, _ = fields["password"].(string)
	p.echoed = []string{email, name}
	e.seen.add(email, p.password)
	if req.URL.Path == mountPrefix+"/register" {
		if canon, err := auth.CanonicalEmail(email); err == nil {
			_, err := e.users.UserByEmail(context.Background(), canon)
			p.canon, p.existed = canon, err == nil
		}
	}
	return p
}

func (e *env) end(p *pending, r *result) {
	solo := p.solo && e.inflight.Load() == 1 && e.started.Load() == p.epoch
	e.inflight.Add(-1)
	if !p.routed || r.status/100 == 3 {
		return // answered by the test's own mux, not the library
	}
	what := p.what + " (status " + strconv.Itoa(r.status) + ")"
	e.checkAnswer(what, p, r)
	if r.status/100 != 2 && solo {
		e.checkNoSideEffects(what, p)
	}
}

// leakMarkers must never appear in an error body (INV1): internal detail,
// password hashes and tokens.
var leakMarkers = []string{
	"goroutine", ".go:", "panic", "sql:", "pq:", "SQLSTATE", "sqlite", "mysql", "Error 1062",
	"UNIQUE constraint", "bcrypt:", "$2a$", "$argon2id$", "secret detail", "eyJ",
}

// benignText holds the words the library's answers are made of: a
// password found in it proves nothing when found in an answer.
const benignText = "invalid email or password. is required. must be at least 8 characters. " +
	"must be at most 1024 bytes. must be valid utf-8 text. is too common. " +
	"must not be based on the email address. must be a valid email address. " +
	"email password name refreshtoken accesstoken"

// checkAnswer asserts A17, INV1 and INV3 on an answer of the library.
func (e *env) checkAnswer(what string, p *pending, r *result) {
	t := e.t
	checkCommonHeaders(t, what, r.header)
	var top map[string]json.RawMessage
	_ = json.Unmarshal(r.body, &top)
	if top["accessToken"] != nil || top["refreshToken"] != nil {
		if r.status/100 != 2 {
			t.Errorf("INV2: %s: a failed answer carries tokens: %s", what, r.body)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("INV3: %s: token answer with Cache-Control %q, want no-store", what, got)
		}
		if got := r.header.Get("Pragma"); got != "no-cache" {
			t.Errorf("INV3: %s: token answer with Pragma %q, want no-cache", what, got)
		}
	}
	for _, m := range []string{"$argon2id$", "$2a$", "$2b$", "$2y$", "passwordHash", "password_hash"} {
		if bytes.Contains(r.body, []byte(m)) {
			t.Errorf("INV1: %s: the answer carries %q: %s", what, m, r.body)
		}
	}
	if pw := p.password; len(strings.TrimSpace(pw)) >= 8 && !strings.Contains(benignText, strings.ToLower(pw)) && !containsAny(p.echoed, pw) &&
		bytes.Contains(r.body, []byte(pw)) {
		t.Errorf("INV1: %s: the answer carries the submitted password %q: %s", what, pw, r.body)
	}
	if r.status >= 400 {
		checkErrorShape(t, what, r)
	}
}

func containsAny(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// checkErrorShape asserts INV1 on an error answer: exactly
// {"error":{"code","message"}} (with "fields" for VALIDATION_ERROR), no
// internal detail, and the headers its status calls for. It returns the
// code and the fields.
func checkErrorShape(t testing.TB, what string, r *result) (code string, fields map[string]string) {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Errorf("INV1: %s: body %q is not a JSON object: %v", what, r.body, err)
		return "", nil
	}
	if len(top) != 1 || top["error"] == nil {
		t.Errorf("INV1: %s: body %s: want exactly one key, \"error\"", what, r.body)
		return "", nil
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &inner); err != nil {
		t.Errorf("INV1: %s: error member %s is not an object: %v", what, top["error"], err)
		return "", nil
	}
	var msg string
	if err := json.Unmarshal(inner["code"], &code); err != nil || code == "" {
		t.Errorf("INV1: %s: code %s, want a non-empty string", what, inner["code"])
	}
	if err := json.Unmarshal(inner["message"], &msg); err != nil || msg == "" {
		t.Errorf("INV1: %s: message %s, want a non-empty string", what, inner["message"])
	}
	for k := range inner {
		if k != "code" && k != "message" && !(k == "fields" && code == "VALIDATION_ERROR") &&
			!((k == "ticket" || k == "methods") && code == "MFA_REQUIRED") {
			t.Errorf("INV1: %s: error member has unexpected key %q: %s", what, k, r.body)
		}
	}
	if raw, ok := inner["fields"]; ok {
		if err := json.Unmarshal(raw, &fields); err != nil || len(fields) == 0 {
			t.Errorf("INV1: %s: fields %s, want a non-empty object of strings", what, raw)
		}
	}
	for _, m := range leakMarkers {
		if bytes.Contains(r.body, []byte(m)) {
			t.Errorf("INV1: %s: error body contains %q: %s", what, m, r.body)
		}
	}
	switch r.status {
	case http.StatusUnauthorized:
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: 401 with WWW-Authenticate %q, want a Bearer challenge", what, r.header.Get("WWW-Authenticate"))
		}
	case http.StatusMethodNotAllowed:
		if r.header.Get("Allow") == "" {
			t.Errorf("%s: 405 without an Allow header", what)
		}
	case http.StatusTooManyRequests:
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("%s: 429 with Retry-After %q, want a positive number of seconds", what, r.header.Get("Retry-After"))
		}
	}
	return code, fields
}

// checkNoSideEffects asserts INV2 after a failed call that overlapped no
// other: no user, session or refresh token was stored, and a registration
// left its email free.
func (e *env) checkNoSideEffects(what string, p *pending) {
	t := e.t
	after := e.probe.counts()
	b := p.before
	if after.usersCreated-after.usersDeleted != b.usersCreated-b.usersDeleted {
		t.Errorf("INV2: %s: the failed call changed the number of users by %d", what,
			(after.usersCreated-after.usersDeleted)-(b.usersCreated-b.usersDeleted))
	}
	if after.sessions != b.sessions {
		t.Errorf("INV2: %s: the failed call opened %d sessions", what, after.sessions-b.sessions)
	}
	if after.rotations != b.rotations {
		t.Errorf("INV2: %s: the failed call stored %d refresh tokens", what, after.rotations-b.rotations)
	}
	if p.canon != "" && !p.existed {
		if _, err := e.users.UserByEmail(context.Background(), p.canon); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("INV2: %s: after the failed registration UserByEmail(%q) = %v, want ErrNotFound", what, p.canon, err)
		}
	}
}

// checkCommonHeaders checks the headers every answer carries (A17).
func checkCommonHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("A17: %s: Content-Type = %q, want application/json; charset=utf-8", what, got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("A17: %s: X-Content-Type-Options = %q, want nosniff", what, got)
	}
}

// checkTokenHeaders checks the headers of an answer carrying tokens.
func checkTokenHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	checkCommonHeaders(t, what, h)
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, got)
	}
	if got := h.Get("Pragma"); got != "no-cache" {
		t.Errorf("%s: Pragma = %q, want no-cache", what, got)
	}
}

// checkError checks that r is the contract's error answer with the given
// status and code, and returns its fields (for VALIDATION_ERROR). The shape
// of the body and its headers are INV1, asserted on every answer.
func checkError(t testing.TB, what string, r *result, status int, code string) map[string]string {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (body %s)", what, r.status, status, r.body)
	}
	got, fields := checkErrorShape(t, what, r)
	if got != code {
		t.Errorf("%s: code %q, want %q (body %s)", what, got, code, r.body)
	}
	return fields
}

// session is what a successful register or login answered.
type session struct {
	userID, email, access, refresh string
}

// goodPassword is a password every policy accepts.
const goodPassword = "correct horse battery staple"

// registerHTTP registers through the handler and fails the test unless it
// answers 201.
func (e *env) registerHTTP(t testing.TB, email string) session {
	t.Helper()
	r := e.postJSON("/register", testutil.RegisterBody(email, goodPassword, "Test User"))
	return mustSession(t, r, http.StatusCreated)
}

// loginHTTP logs in through the handler and fails the test unless it
// answers 200.
func (e *env) loginHTTP(t testing.TB, email, password string) session {
	t.Helper()
	r := e.postJSON("/login", testutil.LoginBody(email, password))
	return mustSession(t, r, http.StatusOK)
}

// refreshHTTP refreshes through the handler and fails the test unless it
// answers 200.
func (e *env) refreshHTTP(t testing.TB, refresh string) (access, next string) {
	t.Helper()
	r := e.postJSON("/refresh", testutil.RefreshBody(refresh))
	if r.status != http.StatusOK {
		t.Fatalf("POST /refresh: status %d, body %s", r.status, r.body)
	}
	var body struct{ AccessToken, RefreshToken string }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("POST /refresh: body %s: %v", r.body, err)
	}
	return body.AccessToken, body.RefreshToken
}

// registerAPI registers through the Go API and fails the test on error.
func (e *env) registerAPI(t testing.TB, email string) *auth.AuthResult {
	t.Helper()
	res, err := e.register(email, goodPassword)
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return res
}

// register registers through the Go API, noting the password for INV4.
func (e *env) register(email, password string) (*auth.AuthResult, error) {
	e.seen.add(email, password)
	return e.a.Register(context.Background(), auth.RegisterInput{Email: email, Password: password, Name: "Test User"})
}

// login logs in through the Go API, noting the password for INV4.
func (e *env) login(email, password string) (*auth.AuthResult, error) {
	e.seen.add(email, password)
	return e.a.Login(context.Background(), email, password)
}

func mustSession(t testing.TB, r *result, status int) session {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var body struct {
		User                      struct{ ID, Email string }
		AccessToken, RefreshToken string
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return session{userID: body.User.ID, email: body.User.Email, access: body.AccessToken, refresh: body.RefreshToken}
}

// burst runs n copies of call at once and returns their results in order.
func burst(t *testing.T, n int, call func(i int) (*result, error)) []*result {
	t.Helper()
	results := make([]*result, n)
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

// storeLegacyUser puts a user with the given password hash straight into
// the store, as an import from another system would.
func (e *env) storeLegacyUser(t testing.TB, email, hash string) {
	t.Helper()
	err := e.users.CreateUser(context.Background(), &auth.User{
		ID: uuid.NewString(), Email: email, Name: "Legacy", OrganizationID: uuid.NewString(), Role: "owner",
		PasswordHash: hash, CreatedAt: testStart,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// storedHash returns the password hash the store holds for email.
func (e *env) storedHash(t testing.TB, email string) string {
	t.Helper()
	u, err := e.users.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash
}
