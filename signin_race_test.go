package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/totp"
	"github.com/ingestiq/auth/memstore"
)

// lateFactor is a memstore that hides the user's second factor from the
// first read only, as if its confirmation committed between a login's
// check for a second step and the opening of its session.
type lateFactor struct {
	*memstore.Store
	hide atomic.Bool
}

func (s *lateFactor) SecondFactor(ctx context.Context, userID string) (*auth.SecondFactor, error) {
	if s.hide.CompareAndSwap(true, false) {
		return nil, auth.ErrNotFound
	}
	return s.Store.SecondFactor(ctx, userID)
}

// TestLoginRacingFactorConfirmation: a password login that saw no second
// factor, while one was confirmed before its session was opened, ends that
// session and asks for the second step (MFA_REQUIRED with a ticket), so
// that no password-only session outlives the confirmation.
func TestLoginRacingFactorConfirmation(t *testing.T) {
	ctx := t.Context()
	st := &lateFactor{Store: memstore.New()}
	clock := newTestClock()
	a, err := auth.New(auth.Config{
		Users: st, Tokens: st, Secret: testSecret, Now: clock.Now,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Register(ctx, auth.RegisterInput{Email: "race@example.com", Password: goodPassword, Name: "Race"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Verify(ctx, res.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := a.EnrollTOTP(ctx, c, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := totp.Encoding.DecodeString(enr.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ConfirmTOTP(ctx, c, totp.TOTP(totp.SHA1, raw, clock.Now(), totp.Period, 6)); err != nil {
		t.Fatal(err)
	}

	st.hide.Store(true)
	_, err = a.Login(ctx, "race@example.com", goodPassword)
	var e *auth.Error
	if !errors.As(err, &e) || e.Code != "MFA_REQUIRED" || e.Ticket == "" {
		t.Fatalf("login racing the confirmation: %v; want MFA_REQUIRED with a ticket", err)
	}
	sessions, err := st.UserSessions(ctx, res.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if s.AAL < 2 && s.ID != c.SessionID {
			t.Errorf("a password-only session %s outlived the confirmation", s.ID)
		}
	}
}
