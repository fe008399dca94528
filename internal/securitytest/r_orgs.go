package securitytest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ingestiq/auth"
)

// Section R: organizations, members and invitations.
func rowsR() []row {
	return []row{
		{id: "R01", name: "a_member_cannot_make_itself_admin", fn: testOrgMemberEscalation},
		{id: "R02", name: "an_admin_cannot_make_owners_nor_touch_owners", fn: testOrgAdminEscalation},
		{id: "R03", name: "another_organizations_ids_are_404", fn: testOrgCrossOrg},
		{id: "R04", name: "an_invitation_serves_only_the_invited_email_once", fn: testOrgInvitationBound},
		{id: "R05", name: "a_removed_members_tokens_die_at_once", fn: testOrgRemovedMember},
		{id: "R06", name: "the_last_owner_stays", fn: testOrgLastOwner},
		{id: "R07", name: "co_owners_deleting_their_accounts_at_once_leave_an_owner", fn: testOrgCoOwnersDelete},
	}
}

// orgStores is the probe with the organization store of the stores as
// opened.
type orgStores struct {
	*probe
	auth.OrgStore
}

// inviteMailer keeps the last invitation token sent to each address.
type inviteMailer struct {
	mu     sync.Mutex
	tokens map[string]string
}

func (m *inviteMailer) SendPasswordReset(context.Context, *auth.User, string) error     { return nil }
func (m *inviteMailer) SendEmailVerification(context.Context, *auth.User, string) error { return nil }
func (m *inviteMailer) SendInvitation(_ context.Context, inv *auth.Invitation, _ *auth.Organization, _ *auth.User, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[inv.Email] = token
	return nil
}

func (m *inviteMailer) token(email string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[email]
}

// orgWorld is an env with organizations on, an owner, an admin and a
// member of the owner's organization, and an outsider.
type orgWorld struct {
	*env
	mail                           *inviteMailer
	org                            string
	owner, admin, member, outsider session
}

func (s *suite) orgWorld(t *testing.T) *orgWorld {
	t.Helper()
	e := s.env(t)
	os, ok1 := e.users.(auth.OrgStore)
	_, ok2 := e.tokens.(auth.OneTimeTokenStore)
	_, ok3 := e.tokens.(auth.SessionLister)
	if !ok1 || !ok2 || !ok3 {
		t.Skip("the stores lack OrgStore, OneTimeTokenStore or SessionLister")
	}
	w := &orgWorld{env: e, mail: &inviteMailer{tokens: map[string]string{}}}
	st := &orgStores{e.probe, os}
	e.cfg.Users, e.cfg.Tokens = st, st
	e.cfg.Mail.Mailer = w.mail
	a, err := auth.New(e.cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.a = a
	e.mux = http.NewServeMux()
	e.mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))

	w.owner = e.registerHTTP(t, "owner@example.com")
	w.admin = e.registerHTTP(t, "admin@example.com")
	w.member = e.registerHTTP(t, "member@example.com")
	w.outsider = e.registerHTTP(t, "outsider@example.com")
	w.org = w.orgOf(t, w.owner.access)
	w.join(t, w.admin, auth.RoleAdmin)
	w.join(t, w.member, auth.RoleMember)
	return w
}

// orgOf returns the organization /me shows for an access token.
func (w *orgWorld) orgOf(t *testing.T, access string) string {
	t.Helper()
	var me struct {
		User struct {
			OrganizationID string `json:"organizationId"`
			Role           string `json:"role"`
		} `json:"user"`
	}
	decodeInto(t, "GET /me", w.authed("GET", "/me", access, ""), http.StatusOK, &me)
	return me.User.OrganizationID
}

// join invites s into the owner's organization with role and accepts.
func (w *orgWorld) join(t *testing.T, s session, role string) {
	t.Helper()
	r := w.authed("POST", "/orgs/"+w.org+"/invitations", w.owner.access, `{"email":"`+s.email+`","role":"`+role+`"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("invite %s: %d %s", s.email, r.status, r.body)
	}
	r = w.authed("POST", "/invitations/accept", s.access, `{"token":"`+w.mail.token(s.email)+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("accept %s: %d %s", s.email, r.status, r.body)
	}
}

// roleOf returns a member's role as the member list shows it.
func (w *orgWorld) roleOf(t *testing.T, userID string) string {
	t.Helper()
	var list struct {
		Members []struct {
			UserID string `json:"userId"`
			Role   string `json:"role"`
		} `json:"members"`
	}
	decodeInto(t, "members", w.authed("GET", "/orgs/"+w.org+"/members", w.owner.access, ""), http.StatusOK, &list)
	for _, m := range list.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}

func (w *orgWorld) expect(t *testing.T, what string, r *result, status int, code string) {
	t.Helper()
	checkError(t, what, r, status, code)
}

func testOrgMemberEscalation(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	base := "/orgs/" + w.org
	w.expect(t, "member promotes itself", w.authed("PATCH", base+"/members/"+w.member.userID, w.member.access, `{"role":"admin"}`), 403, "FORBIDDEN")
	w.expect(t, "member invites", w.authed("POST", base+"/invitations", w.member.access, `{"email":"x@example.com","role":"admin"}`), 403, "FORBIDDEN")
	w.expect(t, "member removes the admin", w.authed("DELETE", base+"/members/"+w.admin.userID, w.member.access, ""), 403, "FORBIDDEN")
	w.expect(t, "member lists invitations", w.authed("GET", base+"/invitations", w.member.access, ""), 403, "FORBIDDEN")
	w.expect(t, "member renames", w.authed("PATCH", base, w.member.access, `{"name":"Mine"}`), 403, "FORBIDDEN")
	if r := w.roleOf(t, w.member.userID); r != auth.RoleMember {
		t.Errorf("member's role is %q after refused calls", r)
	}
	// Members can read the member list.
	if r := w.authed("GET", base+"/members", w.member.access, ""); r.status != 200 {
		t.Errorf("member lists members: %d", r.status)
	}
}

func testOrgAdminEscalation(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	base := "/orgs/" + w.org
	w.expect(t, "admin makes an owner", w.authed("PATCH", base+"/members/"+w.member.userID, w.admin.access, `{"role":"owner"}`), 403, "FORBIDDEN")
	w.expect(t, "admin makes itself owner", w.authed("PATCH", base+"/members/"+w.admin.userID, w.admin.access, `{"role":"owner"}`), 403, "FORBIDDEN")
	w.expect(t, "admin demotes the owner", w.authed("PATCH", base+"/members/"+w.owner.userID, w.admin.access, `{"role":"member"}`), 403, "FORBIDDEN")
	w.expect(t, "admin removes the owner", w.authed("DELETE", base+"/members/"+w.owner.userID, w.admin.access, ""), 403, "FORBIDDEN")
	w.expect(t, "admin invites an owner", w.authed("POST", base+"/invitations", w.admin.access, `{"email":"x@example.com","role":"owner"}`), 403, "FORBIDDEN")
	w.expect(t, "admin transfers", w.authed("POST", base+"/transfer", w.admin.access, `{"userId":"`+w.admin.userID+`"}`), 403, "FORBIDDEN")
	if r := w.roleOf(t, w.owner.userID); r != auth.RoleOwner {
		t.Errorf("owner's role is %q", r)
	}
	if r := w.roleOf(t, w.admin.userID); r != auth.RoleAdmin {
		t.Errorf("admin's role is %q", r)
	}
	// What admins may do.
	if r := w.authed("PATCH", base+"/members/"+w.member.userID, w.admin.access, `{"role":"admin"}`); r.status != 200 {
		t.Errorf("admin promotes a member to admin: %d %s", r.status, r.body)
	}
}

func testOrgCrossOrg(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	base := "/orgs/" + w.org
	o := w.outsider.access
	for _, c := range []struct{ method, path, body string }{
		{"GET", base, ""},
		{"PATCH", base, `{"name":"Taken"}`},
		{"GET", base + "/members", ""},
		{"PATCH", base + "/members/" + w.member.userID, `{"role":"admin"}`},
		{"DELETE", base + "/members/" + w.member.userID, ""},
		{"POST", base + "/leave", ""},
		{"POST", base + "/transfer", `{"userId":"` + w.outsider.userID + `"}`},
		{"GET", base + "/invitations", ""},
		{"POST", base + "/invitations", `{"email":"x@example.com","role":"member"}`},
		{"DELETE", base + "/invitations/00000000-0000-0000-0000-000000000000", ""},
		{"POST", base + "/switch", ""},
		{"GET", "/orgs/00000000-0000-0000-0000-000000000000", ""},
	} {
		w.expect(t, "outsider "+c.method+" "+c.path, w.authed(c.method, c.path, o, c.body), 404, "NOT_FOUND")
	}
	// An owner's ids of another organization's member are 404 too.
	outsiderOrg := w.orgOf(t, o)
	w.expect(t, "owner touches a member of another organization",
		w.authed("PATCH", "/orgs/"+outsiderOrg+"/members/"+w.outsider.userID, w.owner.access, `{"role":"member"}`), 404, "NOT_FOUND")
	w.expect(t, "owner removes a non-member", w.authed("DELETE", base+"/members/"+w.outsider.userID, w.owner.access, ""), 404, "NOT_FOUND")
}

func testOrgInvitationBound(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	late := w.registerHTTP(t, "late@example.com")
	r := w.authed("POST", "/orgs/"+w.org+"/invitations", w.owner.access, `{"email":"late@example.com","role":"admin"}`)
	if r.status != 201 {
		t.Fatalf("invite: %d", r.status)
	}
	tok := w.mail.token("late@example.com")
	w.expect(t, "another account accepts", w.authed("POST", "/invitations/accept", w.outsider.access, `{"token":"`+tok+`"}`), 400, "INVALID_INVITATION")
	w.expect(t, "a member accepts", w.authed("POST", "/invitations/accept", w.member.access, `{"token":"`+tok+`"}`), 400, "INVALID_INVITATION")
	w.expect(t, "a forged token", w.authed("POST", "/invitations/accept", late.access, `{"token":"`+strings.Repeat("A", len(tok))+`"}`), 400, "INVALID_INVITATION")
	w.expect(t, "no login", w.postJSON("/invitations/accept", `{"token":"`+tok+`"}`), 401, "UNAUTHORIZED")
	if r := w.authed("POST", "/invitations/accept", late.access, `{"token":"`+tok+`"}`); r.status != 200 {
		t.Fatalf("the invited account accepts: %d %s", r.status, r.body)
	}
	w.expect(t, "the token again", w.authed("POST", "/invitations/accept", late.access, `{"token":"`+tok+`"}`), 400, "INVALID_INVITATION")
	if r := w.roleOf(t, late.userID); r != auth.RoleAdmin {
		t.Errorf("late's role is %q; want admin", r)
	}
	if r := w.roleOf(t, w.outsider.userID); r != "" {
		t.Errorf("the outsider became %q", r)
	}
	u, err := w.users.UserByID(t.Context(), late.userID)
	if err != nil || u.EmailVerifiedAt.IsZero() {
		t.Errorf("accepting did not verify the email: %v", err)
	}
}

func testOrgRemovedMember(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	// A second device stays in the member's own organization.
	other := w.loginHTTP(t, w.member.email, goodPassword)
	var pair struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	decodeInto(t, "switch", w.authed("POST", "/orgs/"+w.org+"/switch", w.member.access, ""), 200, &pair)
	var me struct {
		User struct {
			OrganizationID string `json:"organizationId"`
			Role           string `json:"role"`
		} `json:"user"`
	}
	decodeInto(t, "me", w.authed("GET", "/me", pair.AccessToken, ""), 200, &me)
	if me.User.OrganizationID != w.org || me.User.Role != auth.RoleMember {
		t.Fatalf("/me after switch = %+v", me.User)
	}
	if r := w.authed("DELETE", "/orgs/"+w.org+"/members/"+w.member.userID, w.admin.access, ""); r.status != 200 {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	w.expect(t, "the removed member's access token", w.authed("GET", "/me", pair.AccessToken, ""), 401, "INVALID_TOKEN")
	w.expect(t, "the removed member's refresh token", w.postJSON("/refresh", `{"refreshToken":"`+pair.RefreshToken+`"}`), 401, "INVALID_TOKEN")
	w.expect(t, "switch back in", w.authed("POST", "/orgs/"+w.org+"/switch", other.access, ""), 404, "NOT_FOUND")
	// The member's session in its own organization lives on.
	if r := w.authed("GET", "/me", other.access, ""); r.status != 200 {
		t.Errorf("the member's own session: %d", r.status)
	}
}

func testOrgLastOwner(t *testing.T, s *suite) {
	w := s.orgWorld(t)
	base := "/orgs/" + w.org
	w.expect(t, "the last owner leaves", w.authed("POST", base+"/leave", w.owner.access, ""), 409, "LAST_OWNER")
	w.expect(t, "the last owner demotes itself", w.authed("PATCH", base+"/members/"+w.owner.userID, w.owner.access, `{"role":"admin"}`), 409, "LAST_OWNER")
	w.expect(t, "the last owner removes itself", w.authed("DELETE", base+"/members/"+w.owner.userID, w.owner.access, ""), 409, "LAST_OWNER")
	w.expect(t, "the last owner deletes the account", w.authed("DELETE", "/me", w.owner.access, `{"password":"`+goodPassword+`"}`), 409, "LAST_OWNER")
	if r := w.roleOf(t, w.owner.userID); r != auth.RoleOwner {
		t.Errorf("owner's role is %q", r)
	}
	if r := w.authed("POST", base+"/transfer", w.owner.access, `{"userId":"`+w.admin.userID+`"}`); r.status != 200 {
		t.Fatalf("transfer: %d %s", r.status, r.body)
	}
	if r := w.authed("POST", base+"/leave", w.owner.access, ""); r.status != 200 {
		t.Fatalf("leave after transfer: %d %s", r.status, r.body)
	}
	if r := w.roleOf2(t, w.admin.access, w.admin.userID); r != auth.RoleOwner {
		t.Errorf("new owner's role is %q", r)
	}
}

// testOrgCoOwnersDelete: R07. The two owners of an organization with
// other members delete their accounts at the same instant, in several
// rounds: one is deleted, the other is refused with 409 LAST_OWNER and
// stays its owner, with a live session.
func testOrgCoOwnersDelete(t *testing.T, s *suite) {
	for round := range 4 {
		w := s.orgWorld(t)
		if r := w.authed("PATCH", "/orgs/"+w.org+"/members/"+w.admin.userID, w.owner.access, `{"role":"owner"}`); r.status != 200 {
			t.Fatalf("round %d: make the admin an owner: %d %s", round, r.status, r.body)
		}
		// The admin's access token carries its old role until its next
		// refresh; deleting the account does not depend on it.
		owners := []session{w.owner, w.admin}
		results := make([]*result, len(owners))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, o := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = w.authed("DELETE", "/me", o.access, `{"password":"`+goodPassword+`"}`)
			}()
		}
		close(start)
		wg.Wait()
		deleted, refused := -1, -1
		for i, r := range results {
			switch {
			case r.status == 200:
				deleted = i
			case r.status == 409:
				if code, _ := checkErrorShape(t, "DELETE /me refused", r); code != "LAST_OWNER" {
					t.Fatalf("round %d: DELETE /me of owner %d: 409 with code %q; want LAST_OWNER", round, i, code)
				}
				refused = i
			default:
				t.Fatalf("round %d: DELETE /me of owner %d: %d %s", round, i, r.status, r.body)
			}
		}
		if deleted < 0 || refused < 0 {
			t.Fatalf("round %d: want one deletion and one LAST_OWNER, got %d %s and %d %s", round,
				results[0].status, results[0].body, results[1].status, results[1].body)
		}
		stay := owners[refused]
		if r := w.roleOf2(t, w.member.access, stay.userID); r != auth.RoleOwner {
			t.Errorf("round %d: the refused owner's role is %q; want owner", round, r)
		}
		if r := w.roleOf2(t, w.member.access, owners[deleted].userID); r != "" {
			t.Errorf("round %d: the deleted owner is still a member as %q", round, r)
		}
		if r := w.authed("GET", "/me", stay.access, ""); r.status != 200 {
			t.Errorf("round %d: the refused owner's session: GET /me %d; want 200 (a refusal changes nothing)", round, r.status)
		}
	}
}

// roleOf2 is roleOf as seen by the given caller.
func (w *orgWorld) roleOf2(t *testing.T, access, userID string) string {
	t.Helper()
	r := w.authed("GET", "/orgs/"+w.org+"/members", access, "")
	var list struct {
		Members []struct {
			UserID string `json:"userId"`
			Role   string `json:"role"`
		} `json:"members"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Members {
		if m.UserID == userID {
			return m.Role
		}
	}
	return ""
}
