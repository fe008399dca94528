package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// The tests in this file use the Go API exactly as DESIGN.md writes it,
// from outside the package.

func TestNewRejectsUnsafeConfig(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	valid := func() auth.Config {
		return auth.Config{Users: st, Tokens: st, Secret: testSecret, Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true}}
	}
	cases := []struct {
		name   string
		change func(*auth.Config)
	}{
		{"nil Users", func(c *auth.Config) { c.Users = nil }},
		{"nil Tokens", func(c *auth.Config) { c.Tokens = nil }},
		{"nil stores", func(c *auth.Config) { c.Users, c.Tokens = nil, nil }},
		{"nil secret", func(c *auth.Config) { c.Secret = nil }},
		{"empty secret", func(c *auth.Config) { c.Secret = []byte("") }},
		{"secret of 6 bytes", func(c *auth.Config) { c.Secret = []byte("secret") }},
		{"secret of 31 bytes", func(c *auth.Config) { c.Secret = []byte(strings.Repeat("k", 31)) }},
		{"weak argon2 memory without the flag", func(c *auth.Config) { c.Passwords.InsecureAllowWeakHashing = false }},
		{"one argon2 pass without the flag", func(c *auth.Config) {
			c.Passwords.Argon2, c.Passwords.InsecureAllowWeakHashing = auth.Argon2Params{Memory: 19456, Iterations: 1, Parallelism: 1}, false
		}},
		{"AccessTokenTTL of 2 hours", func(c *auth.Config) { c.AccessTokenTTL = 2 * time.Hour }},
		{"negative AccessTokenTTL", func(c *auth.Config) { c.AccessTokenTTL = -time.Minute }},
		{"SessionLifetime below RefreshTokenTTL", func(c *auth.Config) { c.Sessions.SessionLifetime = 24 * time.Hour }},
		{"Leeway of 10 minutes", func(c *auth.Config) { c.Sessions.Leeway = 10 * time.Minute }},
		{"RefreshReuseWindow over a minute", func(c *auth.Config) { c.Sessions.RefreshReuseWindow = time.Minute + time.Second }},
		{"MinPasswordLength of 6", func(c *auth.Config) { c.Passwords.MinPasswordLength = 6 }},
	}
	for _, c := range cases {
		cfg := valid()
		c.change(&cfg)
		a, err := auth.New(cfg)
		if err == nil || a != nil {
			t.Errorf("%s: New = %v, %v; want an error and no Authenticator", c.name, a, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "auth: ") {
			t.Errorf("%s: error %q does not start with \"auth: \"", c.name, err)
		}
	}

	// The edges on the safe side are accepted.
	for name, change := range map[string]func(*auth.Config){
		"the valid base":            func(*auth.Config) {},
		"secret of 32 bytes":        func(c *auth.Config) { c.Secret = []byte(strings.Repeat("k", 32)) },
		"AccessTokenTTL of an hour": func(c *auth.Config) { c.AccessTokenTTL = time.Hour },
		"default hashing": func(c *auth.Config) {
			c.Passwords.Argon2, c.Passwords.InsecureAllowWeakHashing = auth.Argon2Params{}, false
		},
		"stronger hashing": func(c *auth.Config) {
			c.Passwords.Argon2, c.Passwords.InsecureAllowWeakHashing = auth.Argon2Params{Memory: 47104, Iterations: 2}, false
		},
	} {
		cfg := valid()
		change(&cfg)
		if _, err := auth.New(cfg); err != nil {
			t.Errorf("%s: New: %v", name, err)
		}
	}
}

func TestGoAPIFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	res, err := e.a.Register(ctx, auth.RegisterInput{Email: " Ada@Example.COM ", Password: goodPassword, Name: " Ada "})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	u := res.User
	if !testutil.UUIDRE.MatchString(u.ID) || u.Email != "ada@example.com" || u.Name != "Ada" || u.Role != auth.RoleOwner || !testutil.UUIDRE.MatchString(u.OrganizationID) {
		t.Errorf("Register: user %+v", u)
	}
	if want := testStart.Truncate(time.Millisecond); !u.CreatedAt.Equal(want) || u.CreatedAt.Location() != time.UTC {
		t.Errorf("Register: CreatedAt %v, want %v in UTC", u.CreatedAt, want)
	}
	if b, _ := json.Marshal(res); strings.Contains(string(b), "argon2") || strings.Contains(string(b), goodPassword) {
		t.Errorf("AuthResult serializes the password or its hash: %s", b)
	}

	login, err := e.a.Login(ctx, "ADA@example.com", goodPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if login.User.ID != u.ID {
		t.Errorf("Login: user %q, want %q", login.User.ID, u.ID)
	}
	c, err := e.a.Verify(ctx, login.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.UserID != u.ID || c.OrganizationID != u.OrganizationID || c.Role != u.Role || c.SessionID == "" || c.TokenID == "" {
		t.Errorf("Verify: claims %+v do not describe user %+v", c, u)
	}
	if !c.IssuedAt.Equal(testStart.Truncate(time.Second)) || c.ExpiresAt.Sub(c.IssuedAt) != 15*time.Minute {
		t.Errorf("Verify: issued %v, expires %v; want issued now and 15 minutes of life", c.IssuedAt, c.ExpiresAt)
	}

	pair, err := e.a.Refresh(ctx, login.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if pair.RefreshToken == login.RefreshToken || pair.AccessToken == "" {
		t.Errorf("Refresh: pair %+v did not rotate", pair)
	}
	c2, err := e.a.Verify(ctx, pair.AccessToken)
	if err != nil {
		t.Fatalf("Verify refreshed: %v", err)
	}
	if c2.SessionID != c.SessionID || c2.UserID != u.ID || c2.TokenID == c.TokenID {
		t.Errorf("refreshed claims %+v: want the same session and user, a new token id", c2)
	}

	got, err := e.a.User(ctx, u.ID)
	if err != nil || got.Email != u.Email || got.OrganizationID != u.OrganizationID {
		t.Errorf("User: %+v, %v", got, err)
	}
	if _, err := e.a.User(ctx, "no-such-user"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("User of an unknown id: %v, want ErrNotFound", err)
	}

	if err := e.a.Logout(ctx, pair.AccessToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	for name, err := range map[string]error{
		"Verify after logout":         second(e.a.Verify(ctx, pair.AccessToken)),
		"Verify older access token":   second(e.a.Verify(ctx, login.AccessToken)),
		"Refresh after logout":        second(e.a.Refresh(ctx, pair.RefreshToken)),
		"Logout twice":                e.a.Logout(ctx, pair.AccessToken),
		"Logout with a refresh token": e.a.Logout(ctx, pair.RefreshToken),
	} {
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	// The registration's session is another session and still live.
	if _, err := e.a.Verify(ctx, res.AccessToken); err != nil {
		t.Errorf("Verify of the other session: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestGoAPISentinelErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	res := e.registerAPI(t, "sentinel@example.com")
	sentinels := []error{auth.ErrInvalidCredentials, auth.ErrEmailExists, auth.ErrTokenExpired, auth.ErrInvalidToken, auth.ErrNotFound, auth.ErrValidation}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"Register a taken email in another case", second(e.a.Register(ctx, auth.RegisterInput{Email: "SENTINEL@example.com", Password: goodPassword, Name: "S"})), auth.ErrEmailExists},
		{"Register a bad email", second(e.a.Register(ctx, auth.RegisterInput{Email: "nope", Password: goodPassword, Name: "S"})), auth.ErrValidation},
		{"Register a short password", second(e.a.Register(ctx, auth.RegisterInput{Email: "s2@example.com", Password: "short", Name: "S"})), auth.ErrValidation},
		{"Register without a name", second(e.a.Register(ctx, auth.RegisterInput{Email: "s3@example.com", Password: goodPassword})), auth.ErrValidation},
		{"Login with a wrong password", second(e.a.Login(ctx, "sentinel@example.com", "not the password")), auth.ErrInvalidCredentials},
		{"Login with an unknown email", second(e.a.Login(ctx, "ghost@example.com", goodPassword)), auth.ErrInvalidCredentials},
		{"Verify garbage", second(e.a.Verify(ctx, "garbage")), auth.ErrInvalidToken},
		{"Verify an empty token", second(e.a.Verify(ctx, "")), auth.ErrInvalidToken},
		{"Verify a refresh token", second(e.a.Verify(ctx, res.RefreshToken)), auth.ErrInvalidToken},
		{"Verify a forged token", second(e.a.Verify(ctx, testutil.WithSignatureFlipped(res.AccessToken))), auth.ErrInvalidToken},
		{"Refresh garbage", second(e.a.Refresh(ctx, "garbage")), auth.ErrInvalidToken},
		{"Refresh with an access token", second(e.a.Refresh(ctx, res.AccessToken)), auth.ErrInvalidToken},
		{"Logout with garbage", e.a.Logout(ctx, "garbage"), auth.ErrInvalidToken},
		{"User of an unknown id", second(e.a.User(ctx, "00000000-0000-4000-8000-000000000000")), auth.ErrNotFound},
	}
	for _, c := range cases {
		for _, s := range sentinels {
			if got, want := errors.Is(c.err, s), s == c.want; got != want {
				t.Errorf("%s: errors.Is(%v, %v) = %v, want %v", c.name, c.err, s, got, want)
			}
		}
	}
	// A validation error names its fields and maps to 400.
	_, err := e.a.Register(ctx, auth.RegisterInput{Email: "bad", Password: "short", Name: ""})
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != "VALIDATION_ERROR" {
		t.Fatalf("Register with three bad fields: %#v", err)
	}
	for _, f := range []string{"email", "password", "name"} {
		if ae.Fields[f] == "" {
			t.Errorf("validation error fields %v do not name %q", ae.Fields, f)
		}
	}
	if e.store.createdCount() != 1 {
		t.Errorf("failed calls created users: %d successful CreateUser calls, want 1", e.store.createdCount())
	}
}

func TestOnRegisterHook(t *testing.T) {
	t.Parallel()
	var seen atomic.Int32
	e := newEnv(t, func(c *auth.Config) {
		c.OnRegister = func(ctx context.Context, u *auth.User) error {
			seen.Add(1)
			if u.Email != "invited@example.com" || u.ID == "" || u.Role != auth.RoleOwner || u.OrganizationID == "" {
				t.Errorf("OnRegister saw %+v; want the canonical email and the defaults", u)
			}
			u.OrganizationID = "org-invited-42"
			u.Role = "admin"
			// Changes to other fields do not stick.
			u.ID, u.Email, u.Name = "chosen-id", "other@example.com", "Other"
			return nil
		}
	})
	ctx := context.Background()
	res, err := e.a.Register(ctx, auth.RegisterInput{Email: "Invited@Example.com", Password: goodPassword, Name: "Invitee"})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if seen.Load() != 1 {
		t.Errorf("OnRegister ran %d times, want 1", seen.Load())
	}
	u, err := e.a.User(ctx, res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.OrganizationID != "org-invited-42" || u.Role != "admin" {
		t.Errorf("stored user %+v, want the hook's organization and role", u)
	}
	if u.ID == "chosen-id" || u.Email != "invited@example.com" || u.Name != "Invitee" {
		t.Errorf("stored user %+v: the hook changed more than organization and role", u)
	}
	c, err := e.a.Verify(ctx, res.AccessToken)
	if err != nil || c.OrganizationID != "org-invited-42" || c.Role != "admin" {
		t.Errorf("claims %+v, %v; want the hook's organization and role", c, err)
	}
	r := e.do(http.MethodGet, "/me", nil, bearer(res.AccessToken))
	var me struct {
		User struct{ OrganizationID, Role string }
	}
	if err := json.Unmarshal(r.body, &me); err != nil || me.User.OrganizationID != "org-invited-42" || me.User.Role != "admin" {
		t.Errorf("/me: %s", r.body)
	}

	// RequireRole sees the role.
	var inner atomic.Int32
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	mux := http.NewServeMux()
	mux.Handle("/admin", e.a.Middleware(auth.RequireRole("admin", "superuser")(ok)))
	mux.Handle("/owners", e.a.Middleware(auth.RequireRole("owner")(ok)))
	for _, c := range []struct {
		path, token string
		status      int
		code        string
	}{
		{"/admin", res.AccessToken, http.StatusNoContent, ""},
		{"/owners", res.AccessToken, http.StatusForbidden, "FORBIDDEN"},
		{"/admin", "", http.StatusUnauthorized, "UNAUTHORIZED"},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		got := &httpResult{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
		if c.code == "" {
			if got.status != c.status {
				t.Errorf("%s: status %d, want %d", c.path, got.status, c.status)
			}
			continue
		}
		checkError(t, c.path, got, c.status, c.code)
	}
	if inner.Load() != 1 {
		t.Errorf("protected handler ran %d times, want 1", inner.Load())
	}
}

func TestOnRegisterErrorAbortsRegistration(t *testing.T) {
	t.Parallel()
	var refuse atomic.Int32 // 0: allow, 1: plain error, 2: *auth.Error
	hookErr := errors.New("invitations db: connection reset (secret detail)")
	notInvited := &auth.Error{Code: "VALIDATION_ERROR", Status: http.StatusBadRequest, Message: "Invalid request fields", Fields: map[string]string{"email": "is not invited"}}
	e := newEnv(t, func(c *auth.Config) {
		c.OnRegister = func(ctx context.Context, u *auth.User) error {
			switch refuse.Load() {
			case 1:
				return hookErr
			case 2:
				return notInvited
			}
			return nil
		}
	})
	ctx := context.Background()

	refuse.Store(1)
	if _, err := e.a.Register(ctx, auth.RegisterInput{Email: "hook@example.com", Password: goodPassword, Name: "H"}); !errors.Is(err, hookErr) {
		t.Errorf("Register with a failing hook: %v, want the hook's error", err)
	}
	r := e.postJSON("/register", testutil.RegisterBody("hook@example.com", goodPassword, "H"))
	checkError(t, "register with a failing hook", r, http.StatusInternalServerError, "INTERNAL_ERROR")

	refuse.Store(2)
	r = e.postJSON("/register", testutil.RegisterBody("hook@example.com", goodPassword, "H"))
	if fields := checkError(t, "register refused by the hook", r, http.StatusBadRequest, "VALIDATION_ERROR"); fields["email"] != "is not invited" {
		t.Errorf("fields %v, want the hook's", fields)
	}
	if n := e.store.createdCount(); n != 0 {
		t.Errorf("aborted registrations created %d users", n)
	}
	if _, err := e.a.Login(ctx, "hook@example.com", goodPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("Login after aborted registrations: %v, want ErrInvalidCredentials", err)
	}

	refuse.Store(0)
	e.registerAPI(t, "hook@example.com")
}

func TestInsecureSkipSessionCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.Sessions.InsecureSkipSessionCheck = true })
	ctx := context.Background()
	res := e.registerAPI(t, "stateless@example.com")
	if err := e.a.Logout(ctx, res.AccessToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := e.a.Verify(ctx, res.AccessToken); err != nil {
		t.Errorf("Verify after logout with InsecureSkipSessionCheck: %v, want success until expiry", err)
	}
	if r := e.do(http.MethodGet, "/me", nil, bearer(res.AccessToken)); r.status != http.StatusOK {
		t.Errorf("/me after logout with InsecureSkipSessionCheck: %d, want 200", r.status)
	}
	// Logout and refresh still check the session.
	if err := e.a.Logout(ctx, res.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("second Logout: %v, want ErrInvalidToken", err)
	}
	if _, err := e.a.Refresh(ctx, res.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh after logout: %v, want ErrInvalidToken", err)
	}
	e.clock.Advance(15*time.Minute + time.Second)
	if _, err := e.a.Verify(ctx, res.AccessToken); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("Verify after expiry: %v, want ErrTokenExpired", err)
	}
}

func TestHashConcurrencyBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.Passwords.MaxConcurrentHashes = 2 })
	ctx := context.Background()
	e.registerAPI(t, "bound@example.com")
	// Login looks the user up while it holds its hashing slot (so that the
	// throttle check and the failure count happen under it), which makes
	// the lookups a window on the slots. Slow lookups let them overlap.
	e.store.lookup = func(string) {
		for range 50 {
			runtime.Gosched()
		}
	}
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			email := "bound@example.com"
			if i%5 == 4 {
				email = "unknown@example.com" // the dummy-hash path queues too
			}
			_, errs[i] = e.a.Login(ctx, email, goodPassword)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		want := error(nil)
		if i%5 == 4 {
			want = auth.ErrInvalidCredentials
		}
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("login %d: %v, want %v", i, err, want)
		}
	}
	if n := e.store.maxConcurrentLookups(); n > 2 {
		t.Errorf("%d logins held a hashing slot at once, want at most MaxConcurrentHashes = 2", n)
	}
}

func TestLoginCancelledWhileWaitingForHashSlot(t *testing.T) {
	t.Parallel()
	// One hash slot, taken by a login whose user lookup hangs: Login takes
	// its slot before it looks the user up, so that the throttle check and
	// the failure count happen under the slot, and a slow store holds it.
	e := newEnv(t, func(c *auth.Config) { c.Passwords.MaxConcurrentHashes = 1 })
	ctx := context.Background()
	e.registerAPI(t, "holder@example.com")
	e.registerAPI(t, "queue@example.com")
	held, release := make(chan struct{}), make(chan struct{})
	e.store.lookup = func(email string) {
		if email == "holder@example.com" {
			close(held)
			<-release
		}
	}
	holder := make(chan error, 1)
	go func() {
		_, err := e.a.Login(ctx, "holder@example.com", goodPassword)
		holder <- err
	}()
	<-held
	sessionsBefore := e.store.sessionCalls()

	// A login with a live context waits for the slot.
	waiter := make(chan error, 1)
	go func() {
		_, err := e.a.Login(ctx, "queue@example.com", goodPassword)
		waiter <- err
	}()

	// Cancelled logins stop waiting at once, for a known and an unknown
	// email alike.
	type outcome struct {
		email string
		err   error
	}
	results := make(chan outcome, 2)
	for _, email := range []string{"queue@example.com", "stranger@example.com"} {
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			_, err := e.a.Login(cctx, email, goodPassword)
			results <- outcome{email, err}
		}()
		cancel()
	}
	guard := time.NewTimer(30 * time.Second) // only a hang reaches it
	defer guard.Stop()
wait:
	for range 2 {
		select {
		case o := <-results:
			if !errors.Is(o.err, context.Canceled) {
				t.Errorf("cancelled login of %s: %v, want an error wrapping context.Canceled", o.email, o.err)
			}
		case <-guard.C:
			t.Error("a cancelled login is still waiting for the hash slot held by another login")
			break wait
		}
	}
	if n := e.store.sessionCalls(); n != sessionsBefore {
		t.Errorf("%d logins opened a session while the only hash slot was held", n-sessionsBefore)
	}

	close(release)
	if err := <-holder; err != nil {
		t.Errorf("the login holding the slot: %v", err)
	}
	if err := <-waiter; err != nil {
		t.Errorf("the login waiting for the slot: %v", err)
	}
	if n := e.store.sessionCalls(); n != sessionsBefore+2 {
		t.Errorf("CreateSession calls after release: %d, want %d (the cancelled logins must not open sessions)", n, sessionsBefore+2)
	}
}

func TestMiddlewareClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.registerAPI(t, "mw@example.com")
	var got *auth.Claims
	h := e.a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.ClaimsFromContext(r.Context())
		if !ok {
			t.Error("ClaimsFromContext in a protected handler: no claims")
		}
		got = c
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(headers hdr) *httpResult {
		req := httptest.NewRequest(http.MethodGet, "/projects", nil)
		for _, kv := range headers {
			req.Header.Add(kv[0], kv[1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return &httpResult{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
	}
	if r := serve(bearer(res.AccessToken)); r.status != http.StatusNoContent || got == nil || got.UserID != res.User.ID {
		t.Errorf("valid token: status %d, claims %+v", r.status, got)
	}
	got = nil
	checkError(t, "no token", serve(nil), http.StatusUnauthorized, "UNAUTHORIZED")
	checkError(t, "refresh token", serve(bearer(res.RefreshToken)), http.StatusUnauthorized, "INVALID_TOKEN")
	if err := e.a.Logout(context.Background(), res.AccessToken); err != nil {
		t.Fatal(err)
	}
	checkError(t, "after logout", serve(bearer(res.AccessToken)), http.StatusUnauthorized, "INVALID_TOKEN")
	if got != nil {
		t.Error("the protected handler ran for a rejected request")
	}
	if _, ok := auth.ClaimsFromContext(context.Background()); ok {
		t.Error("ClaimsFromContext of an empty context reported claims")
	}
	// RequireRole without the middleware in front refuses.
	rec := httptest.NewRecorder()
	auth.RequireRole("owner")(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("RequireRole without claims: %d, want 401", rec.Code)
	}
}
