package auth

import (
	"net/http"
	"time"
)

// The organization routes (see orgs.go).

type orgJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"createdAt,omitempty"`
	JoinedAt  string `json:"joinedAt,omitempty"`
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func writeOrg(w http.ResponseWriter, status int, o *Organization, role string) {
	writeJSON(w, status, struct {
		Organization orgJSON `json:"organization"`
	}{orgJSON{ID: o.ID, Name: o.Name, Role: role, CreatedAt: fmtTime(o.CreatedAt)}})
}

// serveOrgs lists the caller's memberships.
func (a *Authenticator) serveOrgs(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	list, err := a.Organizations(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	out := make([]orgJSON, 0, len(list))
	for _, m := range list {
		out = append(out, orgJSON{ID: m.OrganizationID, Name: m.OrganizationName, Role: m.Role, JoinedAt: fmtTime(m.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, struct {
		Organizations []orgJSON `json:"organizations"`
	}{out})
	return nil
}

type nameRequest struct {
	Name *string `json:"name" auth:"required"`
}

// serveCreateOrg creates an organization owned by the caller.
func (a *Authenticator) serveCreateOrg(w http.ResponseWriter, r *http.Request, c *Claims, req *nameRequest) error {
	o, err := a.CreateOrganization(r.Context(), c.UserID, *req.Name)
	if err != nil {
		return err
	}
	writeOrg(w, http.StatusCreated, o, RoleOwner)
	return nil
}

// serveOrg answers one of the caller's organizations.
func (a *Authenticator) serveOrg(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	o, m, err := a.Organization(r.Context(), c.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOrg(w, http.StatusOK, o, m.Role)
	return nil
}

// serveRenameOrg renames an organization.
func (a *Authenticator) serveRenameOrg(w http.ResponseWriter, r *http.Request, c *Claims, req *nameRequest) error {
	o, err := a.RenameOrganization(r.Context(), c.UserID, r.PathValue("id"), *req.Name)
	if err != nil {
		return err
	}
	writeOrg(w, http.StatusOK, o, RoleOwner)
	return nil
}

type memberJSON struct {
	UserID   string `json:"userId"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	JoinedAt string `json:"joinedAt"`
}

// serveMembers lists an organization's members.
func (a *Authenticator) serveMembers(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	list, err := a.Members(r.Context(), c.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]memberJSON, 0, len(list))
	for _, m := range list {
		out = append(out, memberJSON{m.UserID, m.Email, m.Name, m.Role, fmtTime(m.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, struct {
		Members []memberJSON `json:"members"`
	}{out})
	return nil
}

type roleRequest struct {
	Role *string `json:"role" auth:"required"`
}

// serveSetRole changes a member's role.
func (a *Authenticator) serveSetRole(w http.ResponseWriter, r *http.Request, c *Claims, req *roleRequest) error {
	return reply(w, http.StatusOK, "Role changed", a.SetMemberRole(r.Context(), c.UserID, r.PathValue("id"), r.PathValue("userId"), *req.Role))
}

// serveRemoveMember removes a member.
func (a *Authenticator) serveRemoveMember(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	return reply(w, http.StatusOK, "Member removed", a.RemoveMember(r.Context(), c.UserID, r.PathValue("id"), r.PathValue("userId")))
}

// serveLeave removes the caller's membership.
func (a *Authenticator) serveLeave(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	return reply(w, http.StatusOK, "Left the organization", a.LeaveOrganization(r.Context(), c.UserID, r.PathValue("id")))
}

type transferRequest struct {
	UserID *string `json:"userId" auth:"required"`
}

// serveTransfer transfers the ownership.
func (a *Authenticator) serveTransfer(w http.ResponseWriter, r *http.Request, c *Claims, req *transferRequest) error {
	return reply(w, http.StatusOK, "Ownership transferred", a.TransferOwnership(r.Context(), c.UserID, r.PathValue("id"), *req.UserID))
}

type invitationJSON struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
	InvitedBy string `json:"invitedBy"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
}

func invitationOf(i *Invitation) invitationJSON {
	return invitationJSON{i.ID, i.Email, i.Role, i.InvitedBy, fmtTime(i.CreatedAt), fmtTime(i.ExpiresAt)}
}

// serveInvitations lists an organization's pending invitations.
func (a *Authenticator) serveInvitations(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	list, err := a.Invitations(r.Context(), c.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]invitationJSON, 0, len(list))
	for _, i := range list {
		out = append(out, invitationOf(i))
	}
	writeJSON(w, http.StatusOK, struct {
		Invitations []invitationJSON `json:"invitations"`
	}{out})
	return nil
}

type inviteRequest struct {
	Email *string `json:"email" auth:"required"`
	Role  *string `json:"role" auth:"required"`
}

// serveInvite sends an invitation.
func (a *Authenticator) serveInvite(w http.ResponseWriter, r *http.Request, c *Claims, req *inviteRequest) error {
	inv, err := a.Invite(r.Context(), c.UserID, r.PathValue("id"), *req.Email, *req.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		Invitation invitationJSON `json:"invitation"`
	}{invitationOf(inv)})
	return nil
}

// serveRevokeInvitation deletes a pending invitation.
func (a *Authenticator) serveRevokeInvitation(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	return reply(w, http.StatusOK, "Invitation revoked", a.RevokeInvitation(r.Context(), c.UserID, r.PathValue("id"), r.PathValue("invitationId")))
}

// serveAcceptInvitation accepts an invitation for the caller.
func (a *Authenticator) serveAcceptInvitation(w http.ResponseWriter, r *http.Request, c *Claims, req *tokenRequest) error {
	m, err := a.AcceptInvitation(r.Context(), c.UserID, *req.Token)
	if err != nil {
		return err
	}
	o, _, err := a.Organization(r.Context(), c.UserID, m.OrganizationID)
	if err != nil {
		return err
	}
	writeOrg(w, http.StatusOK, o, m.Role)
	return nil
}

// serveSwitch issues a token pair of the caller's session in another
// organization.
func (a *Authenticator) serveSwitch(w http.ResponseWriter, r *http.Request, c *Claims, _ *none) error {
	pair, err := a.SwitchOrganization(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	a.writeTokenPair(w, r, pair)
	return nil
}
