package auth_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// TestDeleteAccountWithoutPassword: an account made by a provider sign-in
// has no password; DELETE /me with {"password":""} deletes it when its
// session is fresh, refuses a stale session with FRESH_LOGIN_REQUIRED, and
// an account with a password still needs it.
func TestDeleteAccountWithoutPassword(t *testing.T) {
	ctx := t.Context()
	clock := newTestClock()
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users: st, Tokens: st, Secret: testSecret, Now: clock.Now,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	del := func(token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodDelete, "/me", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	u, err := a.SignInExternal(ctx, auth.ExternalUser{Issuer: "https://idp.example", Subject: "s1", Email: "ext@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.OpenSession(ctx, u, []string{"oidc"})
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(10 * time.Minute) // past MFA.FreshLogin (5 minutes), before the access token expires
	if w := del(res.AccessToken, `{"password":""}`); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "FRESH_LOGIN_REQUIRED") {
		t.Errorf("a stale session: %d %s; want 403 FRESH_LOGIN_REQUIRED", w.Code, w.Body)
	}
	if _, err := a.User(ctx, u.ID); err != nil {
		t.Fatalf("the refused deletion removed the user: %v", err)
	}

	fresh, err := a.OpenSession(ctx, u, []string{"oidc"})
	if err != nil {
		t.Fatal(err)
	}
	if w := del(fresh.AccessToken, `{"password":""}`); w.Code != http.StatusOK {
		t.Fatalf("a fresh session: %d %s; want 200", w.Code, w.Body)
	}
	if _, err := a.User(ctx, u.ID); err == nil {
		t.Error("the user is still there")
	}
	if _, err := a.Verify(ctx, fresh.AccessToken); err == nil {
		t.Error("the deleted account's token still verifies")
	}

	pw, err := a.Register(ctx, auth.RegisterInput{Email: "pw@example.com", Password: "correct horse battery", Name: "Pw"})
	if err != nil {
		t.Fatal(err)
	}
	if w := del(pw.AccessToken, `{"password":""}`); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "INVALID_CREDENTIALS") {
		t.Errorf("an account with a password and an empty one: %d %s; want 401 INVALID_CREDENTIALS", w.Code, w.Body)
	}
	if err := a.DeleteAccountFresh(ctx, mustVerify(t, a, pw.AccessToken)); err != auth.ErrInvalidCredentials {
		t.Errorf("DeleteAccountFresh of an account with a password: %v; want ErrInvalidCredentials", err)
	}
	if _, err := a.User(ctx, pw.User.ID); err != nil {
		t.Errorf("the account with a password was deleted: %v", err)
	}
}

func mustVerify(t *testing.T, a *auth.Authenticator, token string) *auth.Claims {
	t.Helper()
	c, err := a.Verify(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
