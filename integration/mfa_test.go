package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ingestiq/auth"
)

// pquernaCode is github.com/pquerna/otp's code for secret at t: the
// independent implementation the library's codes are checked against.
func pquernaCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("pquerna/otp: %v", err)
	}
	return code
}

// TestMFACrossProcess enrolls a factor through one Authenticator and logs
// in through two, each on its own connection pool of one database, as two
// server processes would, with codes from pquerna/otp: the enrollment URI
// parses as pquerna reads it, its codes are accepted, and of concurrent
// logins spread over both with one code, or one recovery code, exactly one
// gets tokens. The store's single-use rules are then raced directly: 50
// goroutines over two pools spending one time step and one recovery code.
func TestMFACrossProcess(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret := []byte(rand.Text() + rand.Text())
		a1 := e.newAuthenticator(t, e.open(t), secret)
		a2 := e.newAuthenticator(t, e.open(t), secret)
		procs := []*auth.Authenticator{a1, a2}

		const email, password = "mfa@example.com", "correct horse battery staple"
		res, err := a1.Register(ctx, auth.RegisterInput{Email: email, Password: password, Name: "Two Step"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a1.Verify(ctx, res.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		enr, err := a1.EnrollTOTP(ctx, c, "")
		if err != nil {
			t.Fatal(err)
		}
		key, err := otp.NewKeyFromURL(enr.URI)
		if err != nil {
			t.Fatalf("pquerna/otp cannot read %s: %v", enr.URI, err)
		}
		if key.Type() != "totp" || key.Issuer() != auth.DefaultIssuer || key.AccountName() != email ||
			key.Secret() != enr.Secret || key.Algorithm() != otp.AlgorithmSHA1 || key.Digits() != otp.DigitsSix || key.Period() != 30 {
			t.Fatalf("key %s: issuer %q account %q algorithm %v digits %v period %d", enr.URI, key.Issuer(), key.AccountName(), key.Algorithm(), key.Digits(), key.Period())
		}
		if _, err := a2.ConfirmTOTP(ctx, c, "000000x"); !errors.Is(err, auth.ErrInvalidCode) {
			t.Fatalf("ConfirmTOTP(bad code): %v", err)
		}
		codes, err := a2.ConfirmTOTP(ctx, c, pquernaCode(t, enr.Secret, time.Now()))
		if err != nil {
			t.Fatalf("ConfirmTOTP with pquerna's code: %v", err)
		}

		// tickets logs in n times, alternating processes.
		tickets := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				_, err := procs[i%2].Login(ctx, email, password)
				var me *auth.Error
				if !errors.As(err, &me) || !errors.Is(err, auth.ErrMFARequired) || me.Ticket == "" {
					t.Fatalf("Login: %v, want MFA_REQUIRED with a ticket", err)
				}
				out[i] = me.Ticket
			}
			return out
		}
		race := func(what string, ts []string, code, recovery string) {
			t.Helper()
			var wg sync.WaitGroup
			results := make([]error, len(ts))
			for i, tk := range ts {
				wg.Go(func() {
					var r *auth.AuthResult
					r, results[i] = procs[i%2].VerifyMFA(ctx, tk, code, recovery)
					if results[i] == nil {
						if c, err := procs[(i+1)%2].Verify(ctx, r.AccessToken); err != nil || c.AAL != 2 {
							results[i] = fmt.Errorf("the other process sees %+v, %v", c, err)
						}
					}
				})
			}
			wg.Wait()
			wins := 0
			for i, err := range results {
				switch {
				case err == nil:
					wins++
				case errors.Is(err, auth.ErrInvalidCode), errors.Is(err, auth.ErrRateLimited):
				default:
					t.Errorf("%s #%d: %v", what, i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%s: %d of %d concurrent logins over two processes won, want 1", what, wins, len(ts))
			}
		}
		// The confirmation spent this step: the next one, within the skew.
		race("one TOTP code", tickets(8), pquernaCode(t, enr.Secret, time.Now().Add(30*time.Second)), "")
		race("one recovery code", tickets(8), "", codes[0])

		// The store alone, over two pools.
		st1, st2 := e.store(t, e.open(t)), e.store(t, e.open(t))
		u := newUser(t, st1, "race@example.com")
		f := &auth.SecondFactor{ID: randomID(t), UserID: u.ID, Secret: []byte("sealed"), CreatedAt: base}
		if err := st1.CreateSecondFactor(ctx, f); err != nil {
			t.Fatal(err)
		}
		hashes := []string{randomID(t), randomID(t)}
		if err := st2.ConfirmSecondFactor(ctx, f.ID, 10, base, hashes); err != nil {
			t.Fatal(err)
		}
		stores := []auth.SecondFactorStore{st1, st2}
		for _, tc := range []struct {
			what string
			use  func(ctx context.Context, s auth.SecondFactorStore) error
			lost error
		}{
			{"UseSecondFactorStep", func(ctx context.Context, s auth.SecondFactorStore) error { return s.UseSecondFactorStep(ctx, f.ID, 11) }, auth.ErrTokenUsed},
			{"UseRecoveryCode", func(ctx context.Context, s auth.SecondFactorStore) error {
				return s.UseRecoveryCode(ctx, u.ID, hashes[1])
			}, auth.ErrNotFound},
		} {
			var wg sync.WaitGroup
			errs := make([]error, 50)
			start := make(chan struct{})
			for i := range errs {
				wg.Go(func() {
					<-start
					errs[i] = tc.use(ctx, stores[i%2])
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, tc.lost):
					t.Errorf("%s #%d: %v", tc.what, i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%s: %d of 50 over two pools won, want exactly 1", tc.what, wins)
			}
		}
	})
}
