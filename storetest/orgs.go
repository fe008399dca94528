package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// orgs returns the UserStore as an auth.OrgStore, or skips the test.
func (f *fixture) orgs(t *testing.T) auth.OrgStore {
	t.Helper()
	s, ok := f.users.(auth.OrgStore)
	if !ok {
		t.Skip(skipMessage("OrgStore"))
	}
	return s
}

// newInvitation returns an unstored invitation of email to orgID.
func newInvitation(orgID, email, role, by string) *auth.Invitation {
	return &auth.Invitation{
		ID: uuid.NewString(), OrganizationID: orgID, Email: email, Role: role,
		TokenHash: newHash(), InvitedBy: by, CreatedAt: base, ExpiresAt: base.Add(ttl),
	}
}

// mustJoin makes u a member of orgID with role through an accepted
// invitation.
func (f *fixture) mustJoin(t *testing.T, s auth.OrgStore, orgID string, u *auth.User, role string) {
	t.Helper()
	inv := newInvitation(orgID, u.Email, role, u.ID)
	if err := s.CreateInvitation(f.ctx, inv); err != nil {
		t.Fatalf("CreateInvitation: %v", err)
	}
	if err := s.AcceptInvitation(f.ctx, inv.TokenHash, &auth.Membership{UserID: u.ID, Role: role, CreatedAt: base}); err != nil {
		t.Fatalf("AcceptInvitation: %v", err)
	}
}

func (f *fixture) owners(t *testing.T, s auth.OrgStore, orgID string) int {
	t.Helper()
	list, err := s.Members(f.ctx, orgID)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	n := 0
	for _, m := range list {
		if m.Role == auth.RoleOwner {
			n++
		}
	}
	return n
}

// outcomes counts the nil errors of concurrent calls and those that are
// refusal, and fails the test on any other error.
func outcomes(t *testing.T, what string, errs []error, refusal error) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, refusal):
			refused++
		default:
			t.Fatalf("%s: unexpected error %v", what, err)
		}
	}
	return ok, refused
}

// testOrgCreateUser: CreateUser makes the user's organization and an owner
// membership; DeleteUser removes the organization left without members.
func testOrgCreateUser(t *testing.T, f *fixture) {
	s := f.orgs(t)
	u := f.mustCreateUser(t)
	m, err := s.Membership(f.ctx, u.OrganizationID, u.ID)
	if err != nil || m.Role != u.Role {
		t.Fatalf("Membership after CreateUser = %+v, %v; want role %q", m, err, u.Role)
	}
	list, err := s.UserMemberships(f.ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].OrganizationName != u.Name {
		t.Fatalf("UserMemberships = %+v, %v; want one named %q", list, err, u.Name)
	}
	members, err := s.Members(f.ctx, u.OrganizationID)
	if err != nil || len(members) != 1 || members[0].Email != u.Email {
		t.Fatalf("Members = %+v, %v", members, err)
	}
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Organization(f.ctx, u.OrganizationID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Organization after its only member was deleted: %v; want ErrNotFound", err)
	}
}

// testOrgConcurrentDemotion: two owners demoting or removing each other at
// once leave one owner.
func testOrgConcurrentDemotion(t *testing.T, f *fixture) {
	s := f.orgs(t)
	for round := range 6 {
		a, b := f.mustCreateUser(t), f.mustCreateUser(t)
		f.mustJoin(t, s, a.OrganizationID, b, auth.RoleOwner)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []*auth.User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if round%2 == 0 {
					errs[i] = s.SetMemberRole(f.ctx, a.OrganizationID, u.ID, auth.RoleAdmin, false)
				} else {
					_, errs[i] = s.RemoveMember(f.ctx, a.OrganizationID, u.ID, base, false)
				}
			}()
		}
		wg.Wait()
		if ok, last := outcomes(t, fmt.Sprintf("round %d", round), errs, auth.ErrLastOwner); ok != 1 || last != 1 {
			t.Errorf("round %d: %d succeeded, %d refused as last owner; want 1 and 1", round, ok, last)
		}
		if n := f.owners(t, s, a.OrganizationID); n != 1 {
			t.Errorf("round %d: %d owners left; want 1", round, n)
		}
	}
}

// testOrgOwnerDeletion: DeleteUser refuses the only owner of an
// organization with other members and changes nothing; two co-owners
// deleted at once leave one of them, still the owner.
func testOrgOwnerDeletion(t *testing.T, f *fixture) {
	s := f.orgs(t)
	a, m := f.mustCreateUser(t), f.mustCreateUser(t)
	f.mustJoin(t, s, a.OrganizationID, m, auth.RoleMember)
	if err := f.users.DeleteUser(f.ctx, a.ID); !errors.Is(err, auth.ErrLastOwner) {
		t.Fatalf("DeleteUser of the only owner with a member = %v; want ErrLastOwner", err)
	}
	if _, err := f.users.UserByID(f.ctx, a.ID); err != nil {
		t.Fatalf("the refused owner is gone: %v", err)
	}
	if n := f.owners(t, s, a.OrganizationID); n != 1 {
		t.Fatalf("%d owners after a refused deletion; want 1", n)
	}
	for round := range 6 {
		a, b, m := f.mustCreateUser(t), f.mustCreateUser(t), f.mustCreateUser(t)
		f.mustJoin(t, s, a.OrganizationID, b, auth.RoleOwner)
		f.mustJoin(t, s, a.OrganizationID, m, auth.RoleMember)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []*auth.User{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f.users.DeleteUser(f.ctx, u.ID)
			}()
		}
		wg.Wait()
		if ok, last := outcomes(t, fmt.Sprintf("round %d", round), errs, auth.ErrLastOwner); ok != 1 || last != 1 {
			t.Errorf("round %d: %d deleted, %d refused as last owner; want 1 and 1", round, ok, last)
		}
		if n := f.owners(t, s, a.OrganizationID); n != 1 {
			t.Errorf("round %d: %d owners left; want 1", round, n)
		}
	}
}

// testOrgConcurrentAccept: concurrent acceptances of one invitation give
// one membership.
func testOrgConcurrentAccept(t *testing.T, f *fixture) {
	s := f.orgs(t)
	owner := f.mustCreateUser(t)
	var users []*auth.User
	for range 8 {
		users = append(users, f.mustCreateUser(t))
	}
	inv := newInvitation(owner.OrganizationID, users[0].Email, auth.RoleMember, owner.ID)
	if err := s.CreateInvitation(f.ctx, inv); err != nil {
		t.Fatal(err)
	}
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := users[i%len(users)]
			err := s.AcceptInvitation(f.ctx, inv.TokenHash, &auth.Membership{UserID: u.ID, Role: inv.Role, CreatedAt: base})
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case errors.Is(err, auth.ErrNotFound), errors.Is(err, auth.ErrMemberExists):
			default:
				t.Errorf("AcceptInvitation: %v", err)
			}
		}()
	}
	wg.Wait()
	members, err := s.Members(f.ctx, owner.OrganizationID)
	if err != nil {
		t.Fatal(err)
	}
	if ok != 1 || len(members) != 2 {
		t.Errorf("%d acceptances succeeded, %d members; want 1 and 2", ok, len(members))
	}
	if _, err := s.InvitationByHash(f.ctx, inv.TokenHash); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("InvitationByHash after acceptance: %v; want ErrNotFound", err)
	}
	// A member already: nothing spent.
	again := newInvitation(owner.OrganizationID, owner.Email, auth.RoleAdmin, owner.ID)
	if err := s.CreateInvitation(f.ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.AcceptInvitation(f.ctx, again.TokenHash, &auth.Membership{UserID: owner.ID, Role: auth.RoleAdmin, CreatedAt: base}); !errors.Is(err, auth.ErrMemberExists) {
		t.Errorf("AcceptInvitation by a member: %v; want ErrMemberExists", err)
	}
	if _, err := s.InvitationByHash(f.ctx, again.TokenHash); err != nil {
		t.Errorf("invitation refused as ErrMemberExists was spent: %v", err)
	}
	list, err := s.Invitations(f.ctx, owner.OrganizationID)
	if err != nil || len(list) != 1 || list[0].ID != again.ID {
		t.Errorf("Invitations = %v, %v; want the pending one", list, err)
	}
	if err := s.DeleteInvitation(f.ctx, uuid.NewString(), again.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteInvitation of another organization: %v; want ErrNotFound", err)
	}
	if err := s.DeleteInvitation(f.ctx, owner.OrganizationID, again.ID); err != nil {
		t.Errorf("DeleteInvitation: %v", err)
	}
}

// testOrgRotation: a rotation returns the session's organization and the
// membership's current role; removal revokes the member's sessions there;
// switching moves the session and replaces its unused refresh token.
func testOrgRotation(t *testing.T, f *fixture) {
	s := f.orgs(t)
	owner, u := f.mustCreateUser(t), f.mustCreateUser(t)
	org := owner.OrganizationID
	f.mustJoin(t, s, org, u, auth.RoleMember)
	sess, tok := newSession(u.ID)
	sess.OrganizationID = org
	f.mustCreateSession(t, sess, tok)
	if got := f.mustSession(t, sess.ID); got.OrganizationID != org {
		t.Errorf("Session.OrganizationID = %q; want %q", got.OrganizationID, org)
	}
	check := func(what string, old *auth.RefreshToken, role string) *auth.RefreshToken {
		t.Helper()
		next := successor(old, base.Add(time.Minute))
		r, err := f.tokens.RotateRefreshToken(f.ctx, old.IDHash, next, base.Add(time.Minute))
		if err != nil {
			t.Fatalf("%s: RotateRefreshToken: %v", what, err)
		}
		if !r.UserRead || r.OrganizationID != org || r.Role != role {
			t.Errorf("%s: rotation read %v %q %q; want %q %q", what, r.UserRead, r.OrganizationID, r.Role, org, role)
		}
		return next
	}
	tok = check("member", tok, auth.RoleMember)
	// keepOwners (an admin's call) refuses to touch an owner, atomically.
	if err := s.SetMemberRole(f.ctx, org, owner.ID, auth.RoleMember, true); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("SetMemberRole of an owner with keepOwners: %v; want ErrForbidden", err)
	}
	if _, err := s.RemoveMember(f.ctx, org, owner.ID, base, true); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("RemoveMember of an owner with keepOwners: %v; want ErrForbidden", err)
	}
	if err := s.SetMemberRole(f.ctx, org, u.ID, auth.RoleAdmin, false); err != nil {
		t.Fatal(err)
	}
	tok = check("after the role change", tok, auth.RoleAdmin)

	// Switch to the user's own organization and back.
	next := successor(tok, base.Add(2*time.Minute))
	role, err := s.SwitchSession(f.ctx, sess.ID, u.ID, u.OrganizationID, next)
	if err != nil || role != auth.RoleOwner {
		t.Fatalf("SwitchSession = %q, %v; want owner", role, err)
	}
	if _, err := f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, successor(tok, base.Add(3*time.Minute)), base.Add(3*time.Minute)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("rotating the token replaced by a switch: %v; want ErrNotFound", err)
	}
	if _, err := s.SwitchSession(f.ctx, sess.ID, u.ID, uuid.NewString(), successor(next, base)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SwitchSession to a foreign organization: %v; want ErrNotFound", err)
	}
	back := successor(next, base.Add(4*time.Minute))
	if _, err := s.SwitchSession(f.ctx, sess.ID, u.ID, org, back); err != nil {
		t.Fatal(err)
	}
	ended, err := s.RemoveMember(f.ctx, org, u.ID, base.Add(5*time.Minute), false)
	if err != nil || len(ended) != 1 || ended[0] != sess.ID {
		t.Fatalf("RemoveMember = %v, %v; want the session ended", ended, err)
	}
	if got := f.mustSession(t, sess.ID); got.RevokedAt.IsZero() {
		t.Error("the removed member's session is not revoked")
	}
	if _, err := f.tokens.RotateRefreshToken(f.ctx, back.IDHash, successor(back, base.Add(6*time.Minute)), base.Add(6*time.Minute)); err == nil {
		t.Error("a removed member's session was refreshed")
	}
	if _, err := s.Membership(f.ctx, org, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Membership after RemoveMember: %v", err)
	}
}
