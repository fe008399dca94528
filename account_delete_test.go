package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// TestDeleteAccountStoreRefusesLastOwner: the store's DeleteUser decides
// the last-owner rule; when it refuses, the answer is LAST_OWNER and
// nothing changed: the user, the membership and the session are all still
// there.
func TestDeleteAccountStoreRefusesLastOwner(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New()
	a, err := auth.New(auth.Config{
		Users: mem, Tokens: mem, Secret: testSecret,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := a.Register(ctx, auth.RegisterInput{Email: "owner@example.com", Password: goodPassword, Name: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	member, err := a.Register(ctx, auth.RegisterInput{Email: "member@example.com", Password: goodPassword, Name: "Member"})
	if err != nil {
		t.Fatal(err)
	}
	org := owner.User.OrganizationID
	inv := &auth.Invitation{ID: "inv-1", OrganizationID: org, Email: member.User.Email, Role: auth.RoleMember, TokenHash: "hash-1", InvitedBy: owner.User.ID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := mem.CreateInvitation(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if err := mem.AcceptInvitation(ctx, "hash-1", &auth.Membership{UserID: member.User.ID, Role: auth.RoleMember, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAccount(ctx, owner.User.ID, goodPassword); !errors.Is(err, auth.ErrLastOwner) {
		t.Fatalf("DeleteAccount of the last owner = %v; want ErrLastOwner", err)
	}
	if _, err := mem.UserByID(ctx, owner.User.ID); err != nil {
		t.Errorf("the refused owner is gone: %v", err)
	}
	if m, err := mem.Membership(ctx, org, owner.User.ID); err != nil || m.Role != auth.RoleOwner {
		t.Errorf("the refused owner's membership: %+v, %v", m, err)
	}
	if _, err := a.Verify(ctx, owner.AccessToken); err != nil {
		t.Errorf("the refused owner's session ended: %v", err)
	}
}

// failingRevoke is a TokenStore (apart from the UserStore) whose
// RevokeUserSessions fails.
type failingRevoke struct{ *memstore.Store }

func (failingRevoke) RevokeUserSessions(context.Context, string, string, time.Time) (int64, error) {
	return 0, errors.New("token store down")
}

// TestDeleteAccountRevokeFails: with the users and the sessions in two
// stores, a deletion whose session revocation fails still deletes the user
// and audits the deletion, with the error, and reports the failure.
func TestDeleteAccountRevokeFails(t *testing.T) {
	ctx := t.Context()
	users := memstore.New()
	tokens := failingRevoke{memstore.New()}
	logs := &testutil.LogSink{}
	a, err := auth.New(auth.Config{
		Users: users, Tokens: tokens, Secret: testSecret,
		Logger:    slog.New(logs.Handler()),
		Passwords: auth.PasswordConfig{Argon2: fastArgon2, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Register(ctx, auth.RegisterInput{Email: "gone@example.com", Password: goodPassword, Name: "Gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteAccount(ctx, res.User.ID, goodPassword); err == nil || !strings.Contains(err.Error(), "token store down") {
		t.Fatalf("DeleteAccount with a failing revocation = %v; want its error", err)
	}
	if _, err := users.UserByID(ctx, res.User.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the user is still there: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "auth.account.delete") || !strings.Contains(out, "token store down") {
		t.Errorf("no audit record of the deletion with the revocation's error: %s", out)
	}
}
