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

// resetMailer counts password-reset mails, and signals each on sent when
// that is set.
type resetMailer struct {
	n    atomic.Int32
	sent chan struct{}
}

func (m *resetMailer) SendPasswordReset(context.Context, *auth.User, string) error {
	m.n.Add(1)
	if m.sent != nil {
		m.sent <- struct{}{}
	}
	return nil
}
func (m *resetMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

// TestForgotPasswordTimeFloor checks that ForgotPassword does not answer
// before ForgotPasswordMinDuration has passed, for a known and an unknown
// email alike, so its response time does not reveal which accounts exist.
// No clock is read: the floor is an hour, the test lets each call do its
// work (the mail sent, or the lookup of the unknown email made), then
// cancels its context. A call that waits for the floor ends with the
// cancellation; one that answered without waiting would have returned nil.
func TestForgotPasswordTimeFloor(t *testing.T) {
	t.Parallel()
	m := &resetMailer{sent: make(chan struct{}, 1)}
	looked := make(chan string, 2)
	e := newEnv(t, func(c *auth.Config) { c.Mail.Mailer = m; c.Mail.ForgotPasswordMinDuration = time.Hour })
	e.registerHTTP(t, "known@example.com")
	e.store.lookup = func(email string) { looked <- email }
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.a.ForgotPassword(ctx, email) }()
		if got := <-looked; got != email {
			t.Fatalf("ForgotPassword(%q) looked up %q", email, got)
		}
		if email == "known@example.com" {
			<-m.sent
		}
		select {
		case err := <-done:
			t.Errorf("ForgotPassword(%q) answered (%v) before the floor and before its context ended", email, err)
		default:
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("ForgotPassword(%q) with its context cancelled while waiting for the floor: %v, want context.Canceled", email, err)
		}
	}
	if m.n.Load() != 1 {
		t.Fatalf("%d reset mails sent, want 1 (for the known email only)", m.n.Load())
	}
}
