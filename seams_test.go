package auth_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// magicEnv is an Authenticator with a throwaway way in, POST /magic, which
// opens a session for the user named by the X-Magic-Email header through
// the session core and answers through the transport. It is mounted with
// the route extension point, beside the built-in routes.
func magicEnv(t *testing.T, setup func(*auth.Authenticator)) (*auth.Authenticator, http.Handler) {
	t.Helper()
	st := memstore.New()
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: testSecret, Now: newTestClock().Now,
		Logger:    slog.New((&testutil.LogSink{}).Handler()),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true}})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(a)
	}
	if _, err := a.Register(t.Context(), auth.RegisterInput{Email: "magic@example.com", Password: "correct horse battery", Name: "M"}); err != nil {
		t.Fatal(err)
	}
	a.Handle("/magic", a.Route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		u, err := st.UserByEmail(r.Context(), r.Header.Get("X-Magic-Email"))
		if err != nil {
			return auth.ErrInvalidCredentials
		}
		res, err := a.OpenSession(r.Context(), u, []string{"test"})
		if err != nil {
			return err
		}
		a.WriteAuthResult(w, r, http.StatusOK, res)
		return nil
	}))
	return a, a.Handler()
}

func serve(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestSeamWayIn adds a way in through the session core (OpenSession with
// amr ["test"]) and the route extension point: its tokens carry that amr at
// assurance level 1, are answered as a login's, and work on the built-in
// routes; the built-in routes still answer beside it, and its errors take
// the contract's shape.
func TestSeamWayIn(t *testing.T) {
	a, h := magicEnv(t, nil)
	rec := serve(h, http.MethodPost, "/magic", http.Header{"X-Magic-Email": {"magic@example.com"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /magic = %d %s", rec.Code, rec.Body)
	}
	var body struct {
		User         struct{ Email string }
		AccessToken  string
		RefreshToken string
		DeviceToken  string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.User.Email != "magic@example.com" || body.AccessToken == "" || body.RefreshToken == "" || body.DeviceToken == "" {
		t.Fatalf("POST /magic answered %s", rec.Body)
	}
	c, err := a.Verify(t.Context(), body.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AMR, []string{"test"}) || c.AAL != 1 {
		t.Errorf("claims amr %v aal %d, want [test] 1", c.AMR, c.AAL)
	}
	if rec := serve(h, http.MethodGet, "/me", http.Header{"Authorization": {"Bearer " + body.AccessToken}}); rec.Code != http.StatusOK {
		t.Errorf("GET /me with the magic token = %d %s", rec.Code, rec.Body)
	}
	if rec := serve(h, http.MethodGet, "/magic", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET /magic = %d Allow %q, want 405 POST", rec.Code, rec.Header().Get("Allow"))
	}
	if rec := serve(h, http.MethodPost, "/magic", http.Header{"X-Magic-Email": {"nobody@example.com"}}); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST /magic for nobody = %d %s", rec.Code, rec.Body)
	}
	if _, err := a.OpenSession(t.Context(), &auth.User{ID: "x"}, []string{"two words"}); err == nil {
		t.Error("OpenSession accepted an amr with a space")
	}
	defer func() {
		if recover() == nil {
			t.Error("Handle after Handler did not panic")
		}
	}()
	a.Handle("/late", http.NotFoundHandler())
}

// TestSeamTransport replaces the transport with one that carries tokens in
// headers: the way in's tokens leave the body for the headers, and the
// built-in routes and the middleware read the access token from the
// transport's header alone.
func TestSeamTransport(t *testing.T) {
	tr := auth.HeaderTransport{AccessHeader: "X-Token", IssuedAccessHeader: "X-Issued-Access", IssuedRefreshHeader: "X-Issued-Refresh"}
	a, h := magicEnv(t, func(a *auth.Authenticator) { auth.SetTransport(a, tr) })
	rec := serve(h, http.MethodPost, "/magic", http.Header{"X-Magic-Email": {"magic@example.com"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /magic = %d %s", rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	access := rec.Header().Get("X-Issued-Access")
	if access == "" || rec.Header().Get("X-Issued-Refresh") == "" || body["refreshToken"] != nil || body["accessToken"] != "" {
		t.Fatalf("tokens not moved to the headers: %v %s", rec.Header(), rec.Body)
	}
	if rec := serve(h, http.MethodGet, "/me", http.Header{"X-Token": {access}}); rec.Code != http.StatusOK {
		t.Errorf("GET /me with X-Token = %d %s", rec.Code, rec.Body)
	}
	if rec := serve(h, http.MethodGet, "/me", http.Header{"Authorization": {"Bearer " + access}}); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /me with a bearer header the transport does not read = %d", rec.Code)
	}
	mw := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	if rec := serve(mw, http.MethodGet, "/app", http.Header{"X-Token": {access}}); rec.Code != http.StatusTeapot {
		t.Errorf("middleware with X-Token = %d", rec.Code)
	}
}

// TestSeamWayInSecondStep: a way in with a single method stops half-way
// for an account with a second factor, as a password login does, and the
// second step opens a session whose amr adds "otp" to the way in's.
func TestSeamWayInSecondStep(t *testing.T) {
	e := newEnv(t)
	s, secret, _ := e.enrolled(t, "magic2fa@example.com")
	u, err := e.a.User(t.Context(), s.userID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.a.OpenSession(t.Context(), u, []string{"test"})
	var mfa *auth.Error
	if !errors.As(err, &mfa) || !errors.Is(err, auth.ErrMFARequired) || mfa.Ticket == "" {
		t.Fatalf("OpenSession for an MFA account = %v, want MFA_REQUIRED with a ticket", err)
	}
	res, err := e.a.VerifyMFA(t.Context(), mfa.Ticket, e.code(t, secret, 0), "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.a.Verify(t.Context(), res.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.AMR, []string{"test", "otp"}) || c.AAL != 2 {
		t.Errorf("claims amr %v aal %d, want [test otp] 2", c.AMR, c.AAL)
	}
	if _, err := e.a.OpenSession(t.Context(), u, []string{"test", "hwk"}); err != nil {
		t.Errorf("a two-method way in was held back: %v", err)
	}
}

// TestSeamHandleConflict: a route that collides with a built-in one is
// refused when it is added, not when Handler is built.
func TestSeamHandleConflict(t *testing.T) {
	for _, pattern := range []string{"/login", "/", "/sessions/{id}"} {
		e := newEnvNoHandler(t)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", pattern)
				}
			}()
			e.Handle(pattern, http.NotFoundHandler())
		}()
	}
}

func newEnvNoHandler(t *testing.T) *auth.Authenticator {
	st := memstore.New()
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: testSecret, Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSeamWayInUnverifiedEmail: under RequireVerifiedEmail a way in cannot
// open a session for a user whose email is not verified, as a password
// login cannot, and opens none; once verified, it can.
func TestSeamWayInUnverifiedEmail(t *testing.T) {
	e := newEnv(t, func(c *auth.Config) { c.Mail.Mailer, c.Mail.RequireVerifiedEmail = nopMailer{}, true })
	res, err := e.a.Register(t.Context(), auth.RegisterInput{Email: "unverified@example.com", Password: "correct horse battery", Name: "U"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.a.User(t.Context(), res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.a.Sessions(t.Context(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.OpenSession(t.Context(), u, []string{"test"}); !errors.Is(err, auth.ErrEmailNotVerified) {
		t.Fatalf("OpenSession for an unverified user = %v, want EMAIL_NOT_VERIFIED", err)
	}
	after, err := e.a.Sessions(t.Context(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("sessions %d after the refused way in, want %d", len(after), len(before))
	}
	if err := e.mem.SetEmailVerified(t.Context(), u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if u, err = e.a.User(t.Context(), u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.OpenSession(t.Context(), u, []string{"test"}); err != nil {
		t.Fatalf("OpenSession for the verified user: %v", err)
	}
}
