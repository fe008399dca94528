package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/lifecycletest"
	"github.com/ingestiq/auth/memstore"
)

// TestLifecycle runs the account-lifecycle suite on memstore; the
// integration module runs it on every sqlstore dialect.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	lifecycletest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
		s := memstore.New()
		return s, s
	})
}

// bareTokens hides memstore's optional interfaces, as a minimal third-party
// store would lack them.
type bareTokens struct{ auth.TokenStore }

// TestLifecycleNeedsOptionalInterfaces checks the documented fallback: with
// a store that lacks the optional interfaces, the lifecycle features say
// NOT_IMPLEMENTED (501, errors.ErrUnsupported) and change nothing.
func TestLifecycleNeedsOptionalInterfaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.Tokens = bareTokens{c.Tokens} })
	s := e.registerHTTP(t, "bare@example.com")
	r := e.do("GET", "/sessions", nil, bearer(s.access))
	if r.status != 501 || !contains(r.body, "NOT_IMPLEMENTED") {
		t.Fatalf("GET /sessions on a bare store: %d %s, want 501 NOT_IMPLEMENTED", r.status, r.body)
	}
	if _, err := e.a.LogoutAll(context.Background(), s.userID, ""); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("LogoutAll on a bare store: %v, want errors.ErrUnsupported", err)
	}
	if err := e.a.ForgotPassword(context.Background(), "bare@example.com"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("ForgotPassword without a Mailer: %v, want errors.ErrUnsupported", err)
	}
	e.refreshHTTP(t, s.refresh) // the session is untouched
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// resetMailer counts password-reset mails.
type resetMailer struct{ sent atomic.Int32 }

func (m *resetMailer) SendPasswordReset(context.Context, *auth.User, string) error {
	m.sent.Add(1)
	return nil
}
func (m *resetMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

// TestForgotPasswordTimeFloor checks that ForgotPassword takes at least
// ForgotPasswordMinDuration for a known and an unknown email alike, so its
// response time does not reveal which accounts exist. (Only the lower bound
// is asserted; upper bounds on wall time would be flaky.)
func TestForgotPasswordTimeFloor(t *testing.T) {
	t.Parallel()
	const floor = 40 * time.Millisecond
	m := &resetMailer{}
	e := newEnv(t, func(c *auth.Config) { c.Mailer = m; c.ForgotPasswordMinDuration = floor })
	e.registerHTTP(t, "known@example.com")
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		start := time.Now()
		if err := e.a.ForgotPassword(context.Background(), email); err != nil {
			t.Fatalf("ForgotPassword(%q): %v", email, err)
		}
		if d := time.Since(start); d < floor {
			t.Errorf("ForgotPassword(%q) took %v, less than the %v floor", email, d, floor)
		}
	}
	if m.sent.Load() != 1 {
		t.Fatalf("%d reset mails sent, want 1 (for the known email only)", m.sent.Load())
	}
}
