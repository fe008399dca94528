package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// TestWaysInExtensionPoints covers what a way in outside the core (the
// passkey module) uses: a stored passkey makes a password login ask for a
// second step listing "webauthn"; RedeemMFATicket spends the ticket once
// for an aal 2 session; OpenSession with MultiFactor opens at aal 2, and a
// passkey sign-in is not asked for a passkey again.
func TestWaysInExtensionPoints(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	clock := newTestClock()
	a, err := auth.New(auth.Config{
		Users: mem, Tokens: mem, Secret: testSecret, Now: clock.Now,
		Logger:    slog.New((&testutil.LogSink{}).Handler()),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := a.Register(ctx, auth.RegisterInput{Email: "ways@example.com", Password: goodPassword, Name: "Ways In"})
	if err != nil {
		t.Fatal(err)
	}
	u := reg.User
	if st, err := a.MFA(ctx, u.ID); err != nil || len(st.Factors) != 0 {
		t.Fatalf("MFA status without a passkey: %+v, %v; want no factors", st, err)
	}
	if err := mem.CreatePasskey(ctx, &auth.Passkey{ID: "cred-1", UserID: u.ID, Name: "Key", PublicKey: []byte{1}, CreatedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// GET /mfa's status names the passkey as a second step, as the login
	// below asks for it.
	if st, err := a.MFA(ctx, u.ID); err != nil || !slices.Equal(st.Factors, []string{"webauthn"}) {
		t.Fatalf("MFA status with a passkey: %+v, %v; want factors [webauthn]", st, err)
	}

	_, err = a.Login(ctx, "ways@example.com", goodPassword)
	var e *auth.Error
	if !errors.As(err, &e) || e.Code != "MFA_REQUIRED" || !slices.Equal(e.Methods, []string{"webauthn"}) {
		t.Fatalf("password login of a user with a passkey: %v (methods %v), want MFA_REQUIRED [webauthn]", err, e.Methods)
	}
	if got, err := a.MFATicketUser(ctx, e.Ticket); err != nil || got.ID != u.ID {
		t.Fatalf("MFATicketUser = %v, %v", got, err)
	}
	res, err := a.RedeemMFATicket(ctx, e.Ticket, "webauthn")
	if err != nil {
		t.Fatalf("RedeemMFATicket: %v", err)
	}
	c, err := a.Verify(ctx, res.AccessToken)
	if err != nil || !slices.Equal(c.AMR, []string{"pwd", "webauthn"}) || c.AAL != 2 {
		t.Fatalf("redeemed session: %v amr %v aal %d", err, c.AMR, c.AAL)
	}
	if _, err := a.RedeemMFATicket(ctx, e.Ticket, "webauthn"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("RedeemMFATicket again: %v, want ErrInvalidToken", err)
	}
	if _, err := a.MFATicketUser(ctx, e.Ticket); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("MFATicketUser of a spent ticket: %v, want ErrInvalidToken", err)
	}

	for _, tt := range []struct {
		opts []auth.SessionOption
		aal  int
	}{{nil, 1}, {[]auth.SessionOption{auth.MultiFactor()}, 2}} {
		res, err := a.OpenSession(ctx, u, []string{"webauthn"}, tt.opts...)
		if err != nil {
			t.Fatalf("OpenSession(webauthn, %d options): %v", len(tt.opts), err)
		}
		c, err := a.Verify(ctx, res.AccessToken)
		if err != nil || !slices.Equal(c.AMR, []string{"webauthn"}) || c.AAL != tt.aal {
			t.Errorf("OpenSession(webauthn, %d options): amr %v aal %d, want [webauthn] %d", len(tt.opts), c.AMR, c.AAL, tt.aal)
		}
	}

	// FreshProof: the registration's session is fresh; later it needs the
	// password.
	rc, err := a.Verify(ctx, reg.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.FreshProof(ctx, rc, ""); err != nil {
		t.Errorf("FreshProof of a fresh session: %v", err)
	}
	clock.Advance(auth.DefaultMFAFreshLogin + 1)
	if _, err := a.FreshProof(ctx, rc, ""); !errors.Is(err, auth.ErrFreshLoginRequired) {
		t.Errorf("FreshProof of an older session: %v, want ErrFreshLoginRequired", err)
	}
	if got, err := a.FreshProof(ctx, rc, goodPassword); err != nil || got.ID != u.ID {
		t.Errorf("FreshProof with the password: %v, %v", got, err)
	}
}
