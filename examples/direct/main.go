// Command direct uses github.com/ingestiq/auth from Go, without HTTP: it
// registers a user on the in-memory store, logs in, verifies and refreshes
// tokens, shows refresh-token reuse detection and logout, and drives token
// expiry with a fake clock, printing each step.
//
// Run it from the repository root:
//
//	go run ./examples/direct
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "direct:", err)
		os.Exit(1)
	}
}

// clock is a settable clock for Config.Now. The program is single-threaded,
// so it needs no lock.
type clock struct{ now time.Time }

// Now returns the clock's time.
func (c *clock) Now() time.Time { return c.now }

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// step prints one line of the walk-through.
func step(w io.Writer, format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

// run walks through the Authenticator's methods, writing what happens to
// w. It returns an error as soon as something does not behave as the
// library documents.
func run(w io.Writer) error {
	ctx := context.Background()

	secret := make([]byte, auth.MinSecretBytes) // in production: from your secret store
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	clk := &clock{now: time.Now()}
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users:  st,
		Tokens: st,
		Secret: secret,
		Now:    clk.Now,
		// The library logs security events, such as refresh-token reuse.
		Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: dropTime})),
	})
	if err != nil {
		return err
	}

	// Register opens the first session.
	reg, err := a.Register(ctx, auth.RegisterInput{Email: "Alice@Example.com", Password: "securepassword123", Name: "Alice"})
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	step(w, "1. Register: created user %s <%s> (the email is stored canonical)", reg.User.ID, reg.User.Email)
	step(w, "   organization %s, role %q, created %s", reg.User.OrganizationID, reg.User.Role, reg.User.CreatedAt.Format(time.RFC3339))

	_, err = a.Register(ctx, auth.RegisterInput{Email: "ALICE@example.com", Password: "anotherpassword", Name: "Alice again"})
	if !errors.Is(err, auth.ErrEmailExists) {
		return fmt.Errorf("register twice: got %v, want ErrEmailExists", err)
	}
	step(w, "2. Register again in another letter case: %v (errors.Is ErrEmailExists)", err)

	// Login opens a second session; a wrong password tells nothing.
	_, err = a.Login(ctx, "alice@example.com", "wrong password")
	if !errors.Is(err, auth.ErrInvalidCredentials) {
		return fmt.Errorf("login with a wrong password: got %v, want ErrInvalidCredentials", err)
	}
	step(w, "3. Login with a wrong password: %v (errors.Is ErrInvalidCredentials)", err)
	login, err := a.Login(ctx, "alice@example.com", "securepassword123")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	step(w, "4. Login: new session, access token %s...", login.AccessToken[:20])

	// Verify checks an access token; User loads the account.
	claims, err := a.Verify(ctx, login.AccessToken)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	step(w, "5. Verify: user %s, session %s, role %q, valid for %s", claims.UserID, claims.SessionID, claims.Role, claims.ExpiresAt.Sub(claims.IssuedAt))
	u, err := a.User(ctx, claims.UserID)
	if err != nil {
		return fmt.Errorf("user: %w", err)
	}
	step(w, "6. User: %s <%s>", u.Name, u.Email)

	// Refresh spends the refresh token and returns its successor.
	pair, err := a.Refresh(ctx, login.RefreshToken)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if _, err := a.Verify(ctx, pair.AccessToken); err != nil {
		return fmt.Errorf("verify the refreshed access token: %w", err)
	}
	step(w, "7. Refresh: new access token and a new refresh token; the old one is spent")

	// Within the reuse window (10 s by default) the spent token may come
	// again, from a client that lost the answer or a second tab: it gets
	// the same successor, and nothing new is stored.
	retry, err := a.Refresh(ctx, login.RefreshToken)
	if err != nil {
		return fmt.Errorf("retry within the reuse window: %w", err)
	}
	step(w, "8. Refresh with the spent token again, at once: the same successor (the reuse window absorbs retries and tabs)")
	pair, err = a.Refresh(ctx, retry.RefreshToken)
	if err != nil {
		return fmt.Errorf("refresh the successor: %w", err)
	}

	// A token whose successor was spent too is theft, window or not.
	_, err = a.Refresh(ctx, login.RefreshToken)
	if !errors.Is(err, auth.ErrInvalidToken) {
		return fmt.Errorf("refresh with a grandparent token: got %v, want ErrInvalidToken", err)
	}
	step(w, "9. Refresh with the first token after its successor was spent too: %v (errors.Is ErrInvalidToken); the session is revoked", err)
	if _, err := a.Verify(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		return fmt.Errorf("verify after reuse: got %v, want ErrInvalidToken", err)
	}
	if _, err := a.Refresh(ctx, pair.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		return fmt.Errorf("refresh the successor after reuse: got %v, want ErrInvalidToken", err)
	}
	step(w, "   The session's newest access and refresh tokens are rejected too")

	// Logout revokes one session; Verify rejects its tokens at once.
	if _, err := a.Verify(ctx, reg.AccessToken); err != nil {
		return fmt.Errorf("verify the registration's token: %w", err)
	}
	if err := a.Logout(ctx, reg.AccessToken); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	step(w, "10. Logout: the registration's session is revoked")
	_, err = a.Verify(ctx, reg.AccessToken)
	if !errors.Is(err, auth.ErrInvalidToken) {
		return fmt.Errorf("verify after logout: got %v, want ErrInvalidToken", err)
	}
	step(w, "11. Verify after logout: %v (errors.Is ErrInvalidToken)", err)

	// Expiry, driven by the clock rather than by waiting.
	fresh, err := a.Login(ctx, "alice@example.com", "securepassword123")
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	clk.Advance(auth.DefaultAccessTokenTTL + time.Minute)
	_, err = a.Verify(ctx, fresh.AccessToken)
	if !errors.Is(err, auth.ErrTokenExpired) {
		return fmt.Errorf("verify an expired token: got %v, want ErrTokenExpired", err)
	}
	step(w, "12. %s later, Verify: %v (errors.Is ErrTokenExpired)", auth.DefaultAccessTokenTTL+time.Minute, err)
	renewed, err := a.Refresh(ctx, fresh.RefreshToken)
	if err != nil {
		return fmt.Errorf("refresh after the access token expired: %w", err)
	}
	if _, err := a.Verify(ctx, renewed.AccessToken); err != nil {
		return fmt.Errorf("verify the renewed access token: %w", err)
	}
	step(w, "13. Refresh: a new access token, valid again")
	return nil
}

// dropTime removes the time from log records, to keep the output short.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
