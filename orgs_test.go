package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// orgMailer keeps the last invitation token sent to each address.
type orgMailer struct {
	mu     sync.Mutex
	tokens map[string]string
}

func (m *orgMailer) SendPasswordReset(context.Context, *auth.User, string) error     { return nil }
func (m *orgMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }
func (m *orgMailer) SendInvitation(_ context.Context, inv *auth.Invitation, _ *auth.Organization, _ *auth.User, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[inv.Email] = token
	return nil
}

func newOrgAuth(t *testing.T, throttle bool) (*auth.Authenticator, *orgMailer) {
	t.Helper()
	mail := &orgMailer{tokens: map[string]string{}}
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users: st, Tokens: st, Secret: testSecret, Now: newTestClock().Now,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: !throttle},
		Mail:      auth.MailConfig{Mailer: mail},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, mail
}

// TestOrgRoleChangeAtNextRefresh shows when a role change takes effect: the
// access tokens already issued keep the old role; the next refresh carries
// the new one. It also shows that switching moves the session.
func TestOrgRoleChangeAtNextRefresh(t *testing.T) {
	ctx := t.Context()
	a, mail := newOrgAuth(t, false)
	owner, err := a.Register(ctx, auth.RegisterInput{Email: "owner@example.com", Password: "correct horse battery", Name: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := a.Register(ctx, auth.RegisterInput{Email: "bob@example.com", Password: "correct horse battery", Name: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	org := owner.User.OrganizationID
	if _, err := a.Invite(ctx, owner.User.ID, org, "bob@example.com", auth.RoleMember); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcceptInvitation(ctx, bob.User.ID, mail.tokens["bob@example.com"]); err != nil {
		t.Fatal(err)
	}
	c, err := a.Verify(ctx, bob.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := a.SwitchOrganization(ctx, c, org)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = a.Verify(ctx, pair.AccessToken); err != nil || c.OrganizationID != org || c.Role != auth.RoleMember {
		t.Fatalf("after switch: %+v, %v", c, err)
	}
	if _, err := a.Refresh(ctx, bob.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("the refresh token replaced by the switch: %v; want ErrInvalidToken", err)
	}
	if err := a.SetMemberRole(ctx, owner.User.ID, org, bob.User.ID, auth.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if c, err = a.Verify(ctx, pair.AccessToken); err != nil || c.Role != auth.RoleMember {
		t.Errorf("the access token issued before the change: %+v, %v; want role member still", c, err)
	}
	next, err := a.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = a.Verify(ctx, next.AccessToken); err != nil || c.OrganizationID != org || c.Role != auth.RoleAdmin {
		t.Errorf("after the next refresh: %+v, %v; want admin in %s", c, err, org)
	}
}

// TestOrgInviteThrottled: invitations to one address are mail, throttled
// like other mail.
func TestOrgInviteThrottled(t *testing.T) {
	ctx := t.Context()
	a, _ := newOrgAuth(t, true)
	owner, err := a.Register(ctx, auth.RegisterInput{Email: "owner@example.com", Password: "correct horse battery", Name: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		_, err := a.Invite(ctx, owner.User.ID, owner.User.OrganizationID, "someone@example.com", auth.RoleMember)
		if errors.Is(err, auth.ErrRateLimited) {
			if i == 0 {
				t.Fatal("the first invitation was throttled")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Error("50 invitations to one address were never throttled")
}

// TestOrgsNeedTheStore: without an OrgStore the routes' methods answer
// NOT_IMPLEMENTED, and Organizations.Required makes New fail.
func TestOrgsNeedTheStore(t *testing.T) {
	st := struct {
		auth.UserStore
		auth.TokenStore
	}{memstore.New(), memstore.New()}
	cfg := auth.Config{Users: st, Tokens: st, Secret: testSecret, Logger: slog.New(slog.DiscardHandler)}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Organizations(t.Context(), "x"); !errors.Is(err, auth.ErrNotImplemented) {
		t.Errorf("Organizations without an OrgStore: %v", err)
	}
	cfg.Organizations.Required = true
	if _, err := auth.New(cfg); err == nil {
		t.Error("New accepted Organizations.Required without an OrgStore")
	}
}

// TestOrgTokenBoundToActiveOrganization: a session remembers its active
// organization, so once it switches, the access tokens it holds for the
// previous organization stop verifying (with and without the session
// cache); the tokens of the new one verify until the member is removed.
func TestOrgTokenBoundToActiveOrganization(t *testing.T) {
	for _, ttl := range []time.Duration{0, 10 * time.Second} {
		t.Run(fmt.Sprintf("SessionCacheTTL=%v", ttl), func(t *testing.T) {
			ctx := t.Context()
			mail := &orgMailer{tokens: map[string]string{}}
			st := memstore.New()
			a, err := auth.New(auth.Config{
				Users: st, Tokens: st, Secret: testSecret, Now: newTestClock().Now,
				Logger:    slog.New(slog.DiscardHandler),
				Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
				Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
				Mail:      auth.MailConfig{Mailer: mail},
				Sessions:  auth.SessionConfig{SessionCacheTTL: ttl},
			})
			if err != nil {
				t.Fatal(err)
			}
			owner, err := a.Register(ctx, auth.RegisterInput{Email: "owner@example.com", Password: "correct horse battery", Name: "Owner"})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := a.Register(ctx, auth.RegisterInput{Email: "bob@example.com", Password: "correct horse battery", Name: "Bob"})
			if err != nil {
				t.Fatal(err)
			}
			org := owner.User.OrganizationID
			if _, err := a.Invite(ctx, owner.User.ID, org, "bob@example.com", auth.RoleMember); err != nil {
				t.Fatal(err)
			}
			if _, err := a.AcceptInvitation(ctx, bob.User.ID, mail.tokens["bob@example.com"]); err != nil {
				t.Fatal(err)
			}
			home, err := a.Verify(ctx, bob.AccessToken) // also fills the session cache
			if err != nil {
				t.Fatal(err)
			}
			pair, err := a.SwitchOrganization(ctx, home, org)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(ctx, bob.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("the home organization's token after the switch: %v; want ErrInvalidToken", err)
			}
			if c, err := a.Verify(ctx, pair.AccessToken); err != nil || c.OrganizationID != org {
				t.Fatalf("the new token: %+v, %v", c, err)
			}
			if err := a.RemoveMember(ctx, owner.User.ID, org, bob.User.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("the token of the organization bob was removed from: %v; want ErrInvalidToken", err)
			}
		})
	}
}
