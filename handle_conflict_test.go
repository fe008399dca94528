package auth_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// TestHandleRefusesBuiltInPaths: a route added with Handle can never take a
// built-in route over, also when its pattern names a method or a host
// (which the ServeMux would rank above the built-in path), and amr lists
// that repeat one method do not count as two factors.
func TestHandleRefusesBuiltInPaths(t *testing.T) {
	h := http.NotFoundHandler()
	fresh := func() *auth.Authenticator {
		mem := memstore.New()
		a, err := auth.New(auth.Config{Users: mem, Tokens: mem, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, pattern := range []string{"/login", "POST /login", "GET /me", "DELETE /sessions/{id}", "example.com/register", "POST  /refresh"} {
		a := fresh()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", pattern)
				}
			}()
			a.Handle(pattern, h)
		}()
	}
	fresh().Handle("POST /passkey/login", h) // a new path is fine
}

// TestOpenSessionRepeatedMethodIsOneFactor: amr ["pwd","pwd"] is one
// method, so an account with a second factor still stops half-way.
func TestOpenSessionRepeatedMethodIsOneFactor(t *testing.T) {
	e := newEnv(t)
	s, _, _ := e.enrolled(t, "twice@example.com")
	u, err := e.a.User(t.Context(), s.userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.OpenSession(t.Context(), u, []string{"pwd", "pwd"}); !errors.Is(err, auth.ErrMFARequired) {
		t.Fatalf("OpenSession with amr [pwd pwd] for an account with a factor: %v, want MFA_REQUIRED", err)
	}
}
