package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/sqlstore"
)

const (
	testSecret = "test-secret-0123456789abcdef0123456789abcdef"
	password   = "securepassword123"
)

// syncBuffer is a bytes.Buffer safe for concurrent use: the server logs
// from its connection goroutines while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a server started by run in the background.
type testServer struct {
	url  string
	logs *syncBuffer
	stop func() error
}

// start runs the server with the given flags, listening on a free port of
// 127.0.0.1, and waits until it accepts connections. The server is
// stopped at the end of the test unless stop was called before.
func start(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	go func() { done <- run(ctx, args, getenv, logs, func(addr string) { ready <- addr }) }()

	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\nlogs:\n%s", err, logs)
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs)
		}
	})
	return &testServer{url: "http://" + addr, logs: logs, stop: stop}
}

// call sends a request with an optional bearer token and JSON body, and
// returns the status and the body.
func call(t *testing.T, method, url, bearer string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, data
}

// expect calls and checks the status, then decodes the body into out
// (when not nil).
func expect(t *testing.T, want int, method, url, bearer string, body, out any) {
	t.Helper()
	got, data := call(t, method, url, bearer, body)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, url, got, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, url, data, err)
		}
	}
}

// expectError checks that a call fails with the given status and code.
func expectError(t *testing.T, status int, code, method, url, bearer string, body any) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	expect(t, status, method, url, bearer, body, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s %s: error %+v, want code %s with a message", method, url, e.Error, code)
	}
}

type authResult struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

type tokenPair struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

type meResult struct {
	User struct {
		ID             string `json:"id"`
		Email          string `json:"email"`
		Name           string `json:"name"`
		OrganizationID string `json:"organizationId"`
		Role           string `json:"role"`
		CreatedAt      string `json:"createdAt"`
	} `json:"user"`
}

var (
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	createdAtRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// jwtPrefix is how the documentation's tokens begin: {"alg":"HS256",...
const jwtPrefix = "eyJhbGciOiJIUzI1NiIs"

// uniqueEmail returns an address no other test run uses, for databases
// that outlive the test.
func uniqueEmail() string {
	return "user-" + strings.ToLower(rand.Text()[:12]) + "@example.com"
}

// docFlow runs the documentation's flow against the server at base and
// checks every answer the contract names.
func docFlow(t *testing.T, srv *testServer, email string) {
	api := srv.url + "/api/v2/auth"

	var health map[string]string
	expect(t, 200, "GET", srv.url+"/healthz", "", nil, &health)
	if health["status"] != "ok" {
		t.Fatalf("healthz = %v, want status ok", health)
	}

	// register, as in the documentation.
	var reg authResult
	expect(t, 201, "POST", api+"/register", "", map[string]string{"email": email, "password": password, "name": "John Doe"}, &reg)
	if !uuidRE.MatchString(reg.User.ID) || reg.User.Email != email || reg.User.Name != "John Doe" {
		t.Fatalf("register: user %+v", reg.User)
	}
	if !strings.HasPrefix(reg.AccessToken, jwtPrefix) || !strings.HasPrefix(reg.RefreshToken, jwtPrefix) {
		t.Fatalf("register: tokens %q, %q do not look like the documentation's", reg.AccessToken, reg.RefreshToken)
	}
	expectError(t, 409, "EMAIL_EXISTS", "POST", api+"/register", "", map[string]string{"email": strings.ToUpper(email), "password": password, "name": "Jane Doe"})

	// login opens a second session.
	expectError(t, 401, "INVALID_CREDENTIALS", "POST", api+"/login", "", map[string]string{"email": email, "password": "wrong-password"})
	var login authResult
	expect(t, 200, "POST", api+"/login", "", map[string]string{"email": email, "password": password}, &login)
	if login.User.ID != reg.User.ID || login.AccessToken == "" || login.RefreshToken == "" {
		t.Fatalf("login: %+v", login)
	}

	// me, in the documented shape.
	var me meResult
	expect(t, 200, "GET", api+"/me", login.AccessToken, nil, &me)
	u := me.User
	if u.ID != reg.User.ID || u.Email != email || u.Name != "John Doe" || u.Role != "owner" || !uuidRE.MatchString(u.OrganizationID) {
		t.Fatalf("me: %+v", u)
	}
	if !createdAtRE.MatchString(u.CreatedAt) {
		t.Fatalf("me: createdAt %q is not like 2024-01-28T12:00:00.000Z", u.CreatedAt)
	}
	if created, err := time.Parse(time.RFC3339, u.CreatedAt); err != nil || time.Since(created) > time.Hour || time.Until(created) > time.Minute {
		t.Fatalf("me: createdAt %q is not about now (%v)", u.CreatedAt, err)
	}
	expectError(t, 401, "UNAUTHORIZED", "GET", api+"/me", "", nil)

	// The application's own route behind the middleware.
	var who map[string]string
	expect(t, 200, "GET", srv.url+"/api/v2/whoami", login.AccessToken, nil, &who)
	if who["userId"] != u.ID || who["organizationId"] != u.OrganizationID || who["role"] != "owner" {
		t.Fatalf("whoami = %v", who)
	}
	expectError(t, 401, "UNAUTHORIZED", "GET", srv.url+"/api/v2/whoami", "", nil)

	// refresh rotates; presenting the spent token again within the reuse
	// window gets the same successor, but once that successor is spent too
	// it is reuse and revokes the session.
	var pair, retry tokenPair
	expect(t, 200, "POST", api+"/refresh", "", map[string]string{"refreshToken": login.RefreshToken}, &pair)
	if pair.AccessToken == "" || pair.RefreshToken == "" || pair.RefreshToken == login.RefreshToken {
		t.Fatalf("refresh: %+v", pair)
	}
	expect(t, 200, "GET", api+"/me", pair.AccessToken, nil, nil)
	expect(t, 200, "POST", api+"/refresh", "", map[string]string{"refreshToken": login.RefreshToken}, &retry)
	expect(t, 200, "POST", api+"/refresh", "", map[string]string{"refreshToken": retry.RefreshToken}, nil)
	expectError(t, 401, "INVALID_TOKEN", "POST", api+"/refresh", "", map[string]string{"refreshToken": login.RefreshToken})
	expectError(t, 401, "INVALID_TOKEN", "POST", api+"/refresh", "", map[string]string{"refreshToken": pair.RefreshToken})
	expectError(t, 401, "INVALID_TOKEN", "GET", api+"/me", pair.AccessToken, nil)

	// logout ends the registration's session, which reuse did not touch.
	expect(t, 200, "GET", api+"/me", reg.AccessToken, nil, nil)
	var out map[string]string
	expect(t, 200, "POST", api+"/logout", reg.AccessToken, nil, &out)
	if out["message"] != "Logged out successfully" {
		t.Fatalf("logout = %v", out)
	}
	expectError(t, 401, "INVALID_TOKEN", "POST", api+"/logout", reg.AccessToken, nil)
	expectError(t, 401, "INVALID_TOKEN", "GET", api+"/me", reg.AccessToken, nil)
	expectError(t, 401, "INVALID_TOKEN", "POST", api+"/refresh", "", map[string]string{"refreshToken": reg.RefreshToken})

	// Nothing secret reaches the log.
	logs := srv.logs.String()
	for _, secret := range []string{password, reg.AccessToken, reg.RefreshToken, login.AccessToken, login.RefreshToken, pair.AccessToken, pair.RefreshToken, testSecret} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds a password, token or secret:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "path=/api/v2/auth/register status=201") {
		t.Errorf("the log has no line for the registration:\n%s", logs)
	}
}

// testStores are the -db values the server-level tests run on: memory and
// SQLite always, PostgreSQL and MySQL when their DSN variables are set
// (postgresURL and mysqlURL skip otherwise).
var testStores = []struct {
	name string
	db   func(t *testing.T) string
}{
	{"memory", func(*testing.T) string { return "memory" }},
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "auth.db") }},
	{"postgres", postgresURL},
	{"mysql", mysqlURL},
}

func TestDocumentationFlow(t *testing.T) {
	env := map[string]string{"AUTH_SECRET": testSecret}
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, env, "-db", st.db(t))
			docFlow(t, srv, uniqueEmail())
			if err := srv.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if logs := srv.logs.String(); !strings.Contains(logs, "msg=stopped") {
				t.Errorf("no clean shutdown in the log:\n%s", logs)
			}
		})
	}
}

// postgresURL returns AUTH_TEST_POSTGRES_DSN as a -db flag, or skips.
func postgresURL(t *testing.T) string {
	dsn := os.Getenv("AUTH_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("SKIP: AUTH_TEST_POSTGRES_DSN is not set; set it (postgres://...) to run the flow on PostgreSQL")
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		t.Skip("SKIP: AUTH_TEST_POSTGRES_DSN is not a postgres:// URL, which -db needs")
	}
	return dsn
}

// mysqlURL returns AUTH_TEST_MYSQL_DSN, a go-sql-driver/mysql DSN, as a
// mysql:// -db flag, or skips.
func mysqlURL(t *testing.T) string {
	dsn := os.Getenv("AUTH_TEST_MYSQL_DSN")
	if dsn == "" {
		t.Skip("SKIP: AUTH_TEST_MYSQL_DSN is not set; set it (user:pass@tcp(host:3306)/db) to run the flow on MySQL/MariaDB")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.Net != "tcp" {
		t.Skipf("SKIP: AUTH_TEST_MYSQL_DSN is not a tcp DSN the -db flag can express (%v)", err)
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(cfg.User, cfg.Passwd), Host: cfg.Addr, Path: "/" + cfg.DBName}
	if cfg.Passwd == "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

// TestRestart checks that users and live sessions survive a restart on
// SQLite, and that tokens do only as long as AUTH_SECRET stays the same.
func TestRestart(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	env := map[string]string{"AUTH_SECRET": testSecret}
	email := uniqueEmail()

	first := start(t, env, "-db", db)
	var reg authResult
	expect(t, 201, "POST", first.url+"/api/v2/auth/register", "", map[string]string{"email": email, "password": password, "name": "John Doe"}, &reg)
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	second := start(t, env, "-db", db)
	api := second.url + "/api/v2/auth"
	var me meResult
	expect(t, 200, "GET", api+"/me", reg.AccessToken, nil, &me)
	if me.User.ID != reg.User.ID || me.User.Email != email {
		t.Fatalf("me after restart: %+v", me.User)
	}
	var login authResult
	expect(t, 200, "POST", api+"/login", "", map[string]string{"email": email, "password": password}, &login)
	if login.User.ID != reg.User.ID {
		t.Fatalf("login after restart: user %+v", login.User)
	}
	expect(t, 200, "POST", api+"/refresh", "", map[string]string{"refreshToken": reg.RefreshToken}, nil)
	if err := second.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// Another secret: the users are there, the old tokens are not valid.
	third := start(t, map[string]string{"AUTH_SECRET": strings.Repeat("x", 32)}, "-db", db)
	expectError(t, 401, "INVALID_TOKEN", "GET", third.url+"/api/v2/auth/me", login.AccessToken, nil)
	expectError(t, 409, "EMAIL_EXISTS", "POST", third.url+"/api/v2/auth/register", "", map[string]string{"email": email, "password": password, "name": "John Doe"})
}

func TestSecret(t *testing.T) {
	t.Run("too short", func(t *testing.T) {
		err := run(t.Context(), []string{"-db", "memory"}, func(string) string { return "short" }, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), "AUTH_SECRET must be at least 32 bytes") {
			t.Fatalf("run = %v, want an error about AUTH_SECRET", err)
		}
	})
	t.Run("unset", func(t *testing.T) {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		a, err := loadSecret(func(string) string { return "" }, log)
		if err != nil {
			t.Fatal(err)
		}
		b, err := loadSecret(func(string) string { return "" }, log)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 32 || bytes.Equal(a, b) {
			t.Fatalf("random secrets %x and %x", a, b)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "will not survive a restart") {
			t.Fatalf("no warning logged:\n%s", logs.String())
		}
	})
	t.Run("set", func(t *testing.T) {
		got, err := loadSecret(func(k string) string { return map[string]string{"AUTH_SECRET": testSecret}[k] }, slog.New(slog.DiscardHandler))
		if err != nil || string(got) != testSecret {
			t.Fatalf("loadSecret = %q, %v", got, err)
		}
	})
}

func TestParseDB(t *testing.T) {
	pragmas := "?" + sqlitePragmas
	tests := []struct {
		spec    string
		driver  string
		dialect sqlstore.Dialect
		dsn     string
		display string
	}{
		{"memory", "", 0, "", "memory"},
		{"sqlite:auth.db", "sqlite", sqlstore.SQLite, "file:auth.db" + pragmas, "sqlite:auth.db"},
		{"sqlite:/var/lib/a b/auth.db", "sqlite", sqlstore.SQLite, "file:/var/lib/a b/auth.db" + pragmas, "sqlite:/var/lib/a b/auth.db"},
		{"sqlite:odd?#%.db", "sqlite", sqlstore.SQLite, "file:odd%3f%23%25.db" + pragmas, "sqlite:odd?#%.db"},
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", "pgx", sqlstore.Postgres, "postgres://app:s3cret@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"postgresql://app@db/app", "pgx", sqlstore.Postgres, "postgresql://app@db/app", "postgresql://app@db/app"},
		{"mysql://root:pw@127.0.0.1:3306/test", "mysql", sqlstore.MySQL, "root:pw@tcp(127.0.0.1:3306)/test", "mysql://root:xxxxx@127.0.0.1:3306/test"},
		{"mysql://root@db/test", "mysql", sqlstore.MySQL, "root@tcp(db:3306)/test", "mysql://root@db/test"},
		{"mysql://u:p%40ss@db:3307/app?tls=skip-verify", "mysql", sqlstore.MySQL, "u:p@ss@tcp(db:3307)/app?tls=skip-verify", "mysql://u:xxxxx@db:3307/app?tls=skip-verify"},
	}
	for _, tt := range tests {
		got, err := parseDB(tt.spec)
		if err != nil {
			t.Errorf("parseDB(%q): %v", tt.spec, err)
			continue
		}
		want := dbConfig{driver: tt.driver, dialect: tt.dialect, dsn: tt.dsn, display: tt.display}
		if got != want {
			t.Errorf("parseDB(%q) =\n  %+v, want\n  %+v", tt.spec, got, want)
		}
	}

	for _, spec := range []string{"", "sqlite:", "sqlite::memory:", "auth.db", "postgres", "mysql://root:pw@db", "mysql://root:pw@/test", "mysql://root:pw@db/test?timeout=soon", "redis://:s3cret@db"} {
		_, err := parseDB(spec)
		if err == nil {
			t.Errorf("parseDB(%q) succeeded, want an error", spec)
		} else if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("parseDB(%q): the error %q shows the password", spec, err)
		}
	}
}

func TestFlags(t *testing.T) {
	getenv := func(string) string { return testSecret }
	for _, args := range [][]string{{"-db", "nosuch"}, {"-db", "memory", "extra"}, {"-nosuchflag"}, {"-db", "memory", "-reuse-window", "2m"}, {"-db", "memory", "-reuse-window", "soon"}} {
		if err := run(t.Context(), args, getenv, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
	if err := run(t.Context(), []string{"-h"}, getenv, io.Discard, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
	}
}

// TestSweep checks that the periodic sweep deletes expired sessions, with
// the clock driven through Config.Now.
func TestSweep(t *testing.T) {
	ctx := t.Context()
	st := memstore.New()
	past := time.Now().Add(-2 * auth.DefaultSessionLifetime)
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: []byte(testSecret), Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Register(ctx, auth.RegisterInput{Email: "old@example.com", Password: password, Name: "Old"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, res.AccessToken); err != nil {
		t.Fatalf("Verify before the sweep, at the past clock: %v", err)
	}

	var logs bytes.Buffer
	sweep(ctx, st, time.Now(), slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "deleted expired sessions and refresh tokens") {
		t.Errorf("the sweep logged:\n%s", logs.String())
	}
	if _, err := a.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Verify after the sweep = %v, want ErrInvalidToken (session deleted)", err)
	}
}
