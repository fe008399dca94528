package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// tokenMailer keeps the reset tokens it is given.
type tokenMailer struct {
	mu     sync.Mutex
	tokens []string
}

func (m *tokenMailer) SendPasswordReset(_ context.Context, _ *auth.User, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens = append(m.tokens, token)
	return nil
}
func (m *tokenMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }

func (m *tokenMailer) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tokens)
}

// TestRefusedResetChangesNothing checks that a reset refused for its new
// password, including the rule against passwords based on the email
// address (which needs the account), leaves the token unspent: the same
// link then works with an acceptable password.
func TestRefusedResetChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := &tokenMailer{}
	e := newEnv(t, func(c *auth.Config) { c.Mail.Mailer = m; c.Mail.ForgotPasswordMinDuration = time.Nanosecond })
	e.registerAPI(t, "resetme@example.com")
	if err := e.a.ForgotPassword(ctx, "resetme@example.com"); err != nil {
		t.Fatal(err)
	}
	if m.count() != 1 {
		t.Fatalf("%d reset mails, want 1", m.count())
	}
	token := m.tokens[0]
	for _, bad := range []string{"short", "resetme@example.com", "resetmeresetme"} {
		err := e.a.ResetPassword(ctx, token, bad)
		if !errors.Is(err, auth.ErrValidation) {
			t.Fatalf("ResetPassword(%q): %v, want a validation error", bad, err)
		}
	}
	const fresh = "a brand new passphrase"
	if err := e.a.ResetPassword(ctx, token, fresh); err != nil {
		t.Fatalf("ResetPassword with the same token after refusals: %v, want success (a refused reset must not spend it)", err)
	}
	if _, err := e.a.Login(ctx, "resetme@example.com", fresh); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := e.a.ResetPassword(ctx, token, "yet another passphrase"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("second use of the token: %v, want ErrInvalidToken", err)
	}
}

// oneTimeOnly has the one-time tokens of a memstore but not its
// SessionLister, which ResetPassword needs.
type oneTimeOnly struct {
	auth.TokenStore
	auth.OneTimeTokenStore
}

// TestForgotPasswordNeedsWhatResetNeeds checks that no configuration mails
// a reset link that ResetPassword could never accept: with a Mailer and a
// store that keeps one-time tokens but cannot list sessions, New refuses
// the configuration, naming the missing interface; without a Mailer both
// routes say NOT_IMPLEMENTED.
func TestForgotPasswordNeedsWhatResetNeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	cfg := auth.Config{
		Users:  e.mem,
		Tokens: oneTimeOnly{e.mem, e.mem},
		Secret: testSecret,
		Mail:   auth.MailConfig{Mailer: &tokenMailer{}},
	}
	if _, err := auth.New(cfg); err == nil || !strings.Contains(err.Error(), "auth.SessionLister") {
		t.Fatalf("New with a Mailer and no SessionLister: %v, want an error naming auth.SessionLister", err)
	}
	e = newEnv(t, func(c *auth.Config) {
		c.Mail.ForgotPasswordMinDuration = time.Nanosecond
		c.Tokens = oneTimeOnly{c.Tokens, c.Tokens.(auth.OneTimeTokenStore)}
	})
	e.registerAPI(t, "nolister@example.com")
	if err := e.a.ForgotPassword(ctx, "nolister@example.com"); !errors.Is(err, auth.ErrNotImplemented) {
		t.Fatalf("ForgotPassword: %v, want ErrNotImplemented", err)
	}
	if err := e.a.ResetPassword(ctx, "x", "a brand new passphrase"); !errors.Is(err, auth.ErrNotImplemented) {
		t.Fatalf("ResetPassword: %v, want ErrNotImplemented", err)
	}
}
