package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// mountPrefix is where the tests mount the library's routes, as the
// reference server does.
const mountPrefix = "/api/v2/auth"

// testSecret is the HS256 secret of every test Authenticator unless a test
// needs another: 40 bytes, above the 32-byte minimum.
var testSecret = []byte("test-secret-0123456789-abcdefghijklmnopq")

// fastArgon2 makes hashing cheap enough for the race detector; it is only
// accepted together with InsecureAllowWeakHashing.
var fastArgon2 = auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}

// testStart is the instant every test clock starts at. Its millisecond part
// is non-zero so that createdAt shows three meaningful fractional digits.
var testStart = time.Date(2025, 1, 28, 12, 0, 0, 123_000_000, time.UTC)

// newTestClock returns a controllable clock starting at testStart.
func newTestClock() *testutil.Clock { return testutil.NewClock(testStart) }

// testEnv is one Authenticator on a fresh memstore, with a controllable
// clock, a captured log, and its routes mounted under mountPrefix.
type testEnv struct {
	a     *auth.Authenticator
	mem   *memstore.Store
	store *hookStore
	clock *testutil.Clock
	logs  *testutil.LogSink
	mux   *http.ServeMux
}

// newEnv builds a testEnv with fast hashing. Each option may change the
// Config before New is called.
func newEnv(t testing.TB, opts ...func(*auth.Config)) *testEnv {
	t.Helper()
	mem := memstore.New()
	e := &testEnv{mem: mem, store: newHookStore(mem), clock: newTestClock(), logs: &testutil.LogSink{}}
	cfg := auth.Config{
		Users:  e.store,
		Tokens: e.store,
		Secret: testSecret,
		Now:    e.clock.Now,
		Logger: slog.New(e.logs.Handler()),
		// Throttling has tests of its own; these send many requests from
		// one address. withThrottling turns it back on.
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.a = a
	e.mux = http.NewServeMux()
	e.mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))
	return e
}

// withThrottling restores the default throttling, for tests that check the
// contract under the configuration a deployment runs.
func withThrottling(c *auth.Config) { c.Throttle.InsecureDisableThrottling = false }

// hookStore wraps a memstore. It counts the users it creates and the
// sessions it is asked to open, and can report UserByEmail calls.
type hookStore struct {
	*memstore.Store

	mu       sync.Mutex
	created  int
	sessions int // CreateSession calls, failed or not
	// lookups and maxLookups count UserByEmail calls in progress now and
	// at most.
	lookups, maxLookups int
	// lookup, when set, is called with the email of every UserByEmail
	// call before the call is served. Set it before the store is shared.
	lookup func(email string)
}

func newHookStore(m *memstore.Store) *hookStore {
	return &hookStore{Store: m}
}

// createdCount returns how many CreateUser calls succeeded.
func (s *hookStore) createdCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created
}

func (s *hookStore) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return err
	}
	s.mu.Lock()
	s.created++
	s.mu.Unlock()
	return nil
}

func (s *hookStore) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	s.mu.Lock()
	s.lookups++
	s.maxLookups = max(s.maxLookups, s.lookups)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.lookups--
		s.mu.Unlock()
	}()
	if s.lookup != nil {
		s.lookup(email)
	}
	return s.Store.UserByEmail(ctx, email)
}

// maxConcurrentLookups returns the most UserByEmail calls that were ever
// in progress at once.
func (s *hookStore) maxConcurrentLookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxLookups
}

// sessionCalls returns how many times CreateSession was called.
func (s *hookStore) sessionCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

func (s *hookStore) CreateSession(ctx context.Context, sess *auth.Session, first *auth.RefreshToken) error {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return s.Store.CreateSession(ctx, sess, first)
}

// httpResult is one answer of the handler.
type httpResult struct {
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

// do serves one request through the mounted routes with a recorder. path is
// relative to mountPrefix unless it starts with "//", which marks a path
// taken as is (minus one slash).
func (e *testEnv) do(method, path string, body io.Reader, headers hdr) *httpResult {
	target := mountPrefix + path
	if strings.HasPrefix(path, "//") {
		target = path[1:]
	}
	req := httptest.NewRequest(method, target, body)
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return &httpResult{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}

// postJSON sends body as application/json.
func (e *testEnv) postJSON(path, body string) *httpResult {
	return e.do(http.MethodPost, path, strings.NewReader(body), jsonHeaders)
}

// session is what a successful register or login answered.
type session struct {
	userID, email, access, refresh string
}

// goodPassword is a password every policy accepts.
const goodPassword = "correct horse battery staple"

// registerHTTP registers through the handler and fails the test unless it
// answers 201.
func (e *testEnv) registerHTTP(t testing.TB, email string) session {
	t.Helper()
	r := e.postJSON("/register", testutil.RegisterBody(email, goodPassword, "Test User"))
	return mustSession(t, r, http.StatusCreated)
}

// refreshHTTP refreshes through the handler and fails the test unless it
// answers 200.
func (e *testEnv) refreshHTTP(t testing.TB, refresh string) (access, next string) {
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
func (e *testEnv) registerAPI(t testing.TB, email string) *auth.AuthResult {
	t.Helper()
	res, err := e.a.Register(context.Background(), auth.RegisterInput{Email: email, Password: goodPassword, Name: "Test User"})
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return res
}

func mustSession(t testing.TB, r *httpResult, status int) session {
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

// checkCommonHeaders checks the headers every answer carries.
func checkCommonHeaders(t testing.TB, what string, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type = %q, want application/json; charset=utf-8", what, got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", what, got)
	}
}

// leakMarkers must never appear in an error body.
var leakMarkers = []string{
	"goroutine", ".go:", "panic", "sql:", "pq:", "SQLSTATE", "sqlite", "mysql", "Error 1062",
	"UNIQUE constraint", "bcrypt:", "$2a$", "$argon2id$", "secret detail", "eyJ",
}

// checkError checks that r is the contract's error answer with the given
// status and code, and returns its fields (for VALIDATION_ERROR).
func checkError(t testing.TB, what string, r *httpResult, status int, code string) map[string]string {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (body %s)", what, r.status, status, r.body)
	}
	checkCommonHeaders(t, what, r.header)
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &top); err != nil {
		t.Errorf("%s: body %q is not a JSON object: %v", what, r.body, err)
		return nil
	}
	if len(top) != 1 || top["error"] == nil {
		t.Errorf("%s: body %s: want exactly one key, \"error\"", what, r.body)
		return nil
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &inner); err != nil {
		t.Errorf("%s: error member %s is not an object: %v", what, top["error"], err)
		return nil
	}
	for k := range inner {
		if k != "code" && k != "message" && !(k == "fields" && code == "VALIDATION_ERROR") {
			t.Errorf("%s: error member has unexpected key %q: %s", what, k, r.body)
		}
	}
	var gotCode, msg string
	if err := json.Unmarshal(inner["code"], &gotCode); err != nil || gotCode != code {
		t.Errorf("%s: code %s, want %q (body %s)", what, inner["code"], code, r.body)
	}
	if err := json.Unmarshal(inner["message"], &msg); err != nil || msg == "" {
		t.Errorf("%s: message %s, want a non-empty string", what, inner["message"])
	}
	for _, m := range leakMarkers {
		if bytes.Contains(r.body, []byte(m)) {
			t.Errorf("%s: error body contains %q: %s", what, m, r.body)
		}
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 with WWW-Authenticate %q, want a Bearer challenge", what, r.header.Get("WWW-Authenticate"))
	}
	if status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
		t.Errorf("%s: 405 without an Allow header", what)
	}
	var fields map[string]string
	if raw, ok := inner["fields"]; ok {
		if err := json.Unmarshal(raw, &fields); err != nil || len(fields) == 0 {
			t.Errorf("%s: fields %s, want a non-empty object of strings", what, raw)
		}
	}
	return fields
}
