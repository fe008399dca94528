package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// orgStore returns the OrgStore, or NOT_IMPLEMENTED.
func (a *Authenticator) orgStore() (OrgStore, error) {
	st, ok := a.users.(OrgStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	return st, nil
}

// MaxRoleLength is the longest role name accepted, in bytes.
const MaxRoleLength = 64

// validRole reports whether r is a role name: 1 to MaxRoleLength bytes of
// lower-case letters, digits, "_" and "-".
func validRole(r string) bool {
	if r == "" || len(r) > MaxRoleLength {
		return false
	}
	return strings.TrimFunc(r, func(c rune) bool { return c == '_' || c == '-' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }) == ""
}

// manages reports whether role may manage members and invitations.
func manages(role string) bool { return role == RoleOwner || role == RoleAdmin }

// member returns the caller's membership of orgID, or
// [ErrOrganizationNotFound] when there is none: another organization's id
// answers as a missing one.
func (a *Authenticator) member(ctx context.Context, st OrgStore, orgID, userID string) (*Membership, error) {
	m, err := st.Membership(ctx, orgID, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrOrganizationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read membership: %w", err)
	}
	return m, nil
}

// withActiveOrganization returns a copy of u whose OrganizationID and Role
// are those a new session of u starts in: u's own organization when u is a
// member of it, else u's oldest membership, else none. Without an OrgStore
// it returns u.
func (a *Authenticator) withActiveOrganization(ctx context.Context, u *User) (*User, error) {
	st, ok := a.users.(OrgStore)
	if !ok {
		return u, nil
	}
	c := *u
	m, err := st.Membership(ctx, u.OrganizationID, u.ID)
	if err == nil {
		c.Role = m.Role
		return &c, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("auth: read membership: %w", err)
	}
	list, err := st.UserMemberships(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: read memberships: %w", err)
	}
	c.OrganizationID, c.Role = "", ""
	if len(list) > 0 {
		c.OrganizationID, c.Role = list[0].OrganizationID, list[0].Role
	}
	return &c, nil
}

// Organizations returns the user's memberships, each with its
// organization's name, oldest first.
func (a *Authenticator) Organizations(ctx context.Context, userID string) ([]*Membership, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	list, err := st.UserMemberships(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: read memberships: %w", err)
	}
	return list, nil
}

// checkOrgName trims name and checks it as a display name.
func checkOrgName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if msg := checkName(name); msg != "" {
		return "", validationError(map[string]string{"name": msg})
	}
	return name, nil
}

// CreateOrganization creates an organization named name whose owner is the
// user.
func (a *Authenticator) CreateOrganization(ctx context.Context, userID, name string) (*Organization, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	if name, err = checkOrgName(name); err != nil {
		return nil, err
	}
	now := a.cfg.Now().UTC().Truncate(time.Millisecond)
	o := &Organization{ID: uuid.NewString(), Name: name, CreatedAt: now}
	if err := st.CreateOrganization(ctx, o, &Membership{OrganizationID: o.ID, UserID: userID, Role: RoleOwner, CreatedAt: now}); err != nil {
		return nil, fmt.Errorf("auth: create organization: %w", err)
	}
	a.audit(ctx, AuditOrgCreate, "user_id", userID, "org_id", o.ID)
	return o, nil
}

// Organization returns an organization the user is a member of, with the
// user's membership; any other id is [ErrOrganizationNotFound].
func (a *Authenticator) Organization(ctx context.Context, userID, orgID string) (*Organization, *Membership, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, nil, err
	}
	m, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return nil, nil, err
	}
	o, err := st.Organization(ctx, orgID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrOrganizationNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("auth: read organization: %w", err)
	}
	return o, m, nil
}

// RenameOrganization renames an organization; only its owners may.
func (a *Authenticator) RenameOrganization(ctx context.Context, userID, orgID, name string) (*Organization, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	m, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return nil, err
	}
	if m.Role != RoleOwner {
		return nil, ErrForbidden
	}
	if name, err = checkOrgName(name); err != nil {
		return nil, err
	}
	if err := st.RenameOrganization(ctx, orgID, name); errors.Is(err, ErrNotFound) {
		return nil, ErrOrganizationNotFound
	} else if err != nil {
		return nil, fmt.Errorf("auth: rename organization: %w", err)
	}
	a.audit(ctx, AuditOrgRename, "user_id", userID, "org_id", orgID)
	o, _, err := a.Organization(ctx, userID, orgID)
	return o, err
}

// Members lists an organization's members, for any of its members.
func (a *Authenticator) Members(ctx context.Context, userID, orgID string) ([]*Membership, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	if _, err := a.member(ctx, st, orgID, userID); err != nil {
		return nil, err
	}
	list, err := st.Members(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("auth: read members: %w", err)
	}
	return list, nil
}

// target returns the caller's membership and the target's, checking that
// the caller manages members and, unless the caller is an owner, that the
// target is not one.
func (a *Authenticator) target(ctx context.Context, st OrgStore, userID, orgID, memberID string) (*Membership, *Membership, error) {
	cm, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return nil, nil, err
	}
	if !manages(cm.Role) {
		return nil, nil, ErrForbidden
	}
	tm, err := a.member(ctx, st, orgID, memberID)
	if err != nil {
		return nil, nil, err
	}
	if cm.Role != RoleOwner && tm.Role == RoleOwner {
		return nil, nil, ErrForbidden
	}
	return cm, tm, nil
}

// SetMemberRole changes a member's role. Owners and admins may; admins
// neither touch owners nor make owners. The last owner cannot be demoted
// ([ErrLastOwner]). The member's tokens carry the new role from their next
// refresh on.
func (a *Authenticator) SetMemberRole(ctx context.Context, userID, orgID, memberID, role string) error {
	st, err := a.orgStore()
	if err != nil {
		return err
	}
	if !validRole(role) {
		return validationError(map[string]string{"role": "must be 1 to 64 lower-case letters, digits, '_' or '-'"})
	}
	cm, _, err := a.target(ctx, st, userID, orgID, memberID)
	if err != nil {
		return err
	}
	if role == RoleOwner && cm.Role != RoleOwner {
		return ErrForbidden
	}
	// The store re-checks, atomically, that an admin touches no owner.
	if err := st.SetMemberRole(ctx, orgID, memberID, role, cm.Role != RoleOwner); err != nil {
		return orgStoreError("set member role", err)
	}
	a.audit(ctx, AuditOrgMemberRole, "user_id", userID, "org_id", orgID, "member_id", memberID, "role", role)
	return nil
}

// orgStoreError maps a store's error to the caller's.
func orgStoreError(op string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrOrganizationNotFound
	case errors.Is(err, ErrLastOwner):
		return ErrLastOwner
	case errors.Is(err, ErrMemberExists):
		return ErrMemberExists
	case errors.Is(err, ErrForbidden):
		return ErrForbidden
	}
	return fmt.Errorf("auth: %s: %w", op, err)
}

// RemoveMember removes a member: owners and admins may, admins not an
// owner. The member's sessions in the organization end at once, so their
// access tokens stop verifying (through the session check). The last owner
// cannot be removed.
func (a *Authenticator) RemoveMember(ctx context.Context, userID, orgID, memberID string) error {
	st, err := a.orgStore()
	if err != nil {
		return err
	}
	cm, _, err := a.target(ctx, st, userID, orgID, memberID)
	if err != nil {
		return err
	}
	if err := a.removeMember(ctx, st, orgID, memberID, cm.Role != RoleOwner); err != nil {
		return err
	}
	a.audit(ctx, AuditOrgMemberRemove, "user_id", userID, "org_id", orgID, "member_id", memberID)
	return nil
}

func (a *Authenticator) removeMember(ctx context.Context, st OrgStore, orgID, memberID string, keepOwners bool) error {
	ended, err := st.RemoveMember(ctx, orgID, memberID, a.cfg.Now(), keepOwners)
	if err != nil {
		return orgStoreError("remove member", err)
	}
	if a.sessions != nil {
		for _, id := range ended {
			a.sessions.forget(id)
		}
	}
	return nil
}

// LeaveOrganization removes the user's own membership; the last owner
// cannot leave ([ErrLastOwner]).
func (a *Authenticator) LeaveOrganization(ctx context.Context, userID, orgID string) error {
	st, err := a.orgStore()
	if err != nil {
		return err
	}
	if _, err := a.member(ctx, st, orgID, userID); err != nil {
		return err
	}
	if err := a.removeMember(ctx, st, orgID, userID, false); err != nil {
		return err
	}
	a.audit(ctx, AuditOrgLeave, "user_id", userID, "org_id", orgID)
	return nil
}

// TransferOwnership makes another member an owner and the calling owner an
// admin; only an owner may.
func (a *Authenticator) TransferOwnership(ctx context.Context, userID, orgID, newOwnerID string) error {
	st, err := a.orgStore()
	if err != nil {
		return err
	}
	cm, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return err
	}
	if cm.Role != RoleOwner {
		return ErrForbidden
	}
	if _, err := a.member(ctx, st, orgID, newOwnerID); err != nil {
		return err
	}
	if newOwnerID == userID {
		return nil
	}
	// The new owner first, so the organization always has one.
	if err := st.SetMemberRole(ctx, orgID, newOwnerID, RoleOwner, false); err != nil {
		return orgStoreError("transfer ownership", err)
	}
	if err := st.SetMemberRole(ctx, orgID, userID, RoleAdmin, false); err != nil {
		return orgStoreError("transfer ownership", err)
	}
	a.audit(ctx, AuditOrgTransfer, "user_id", userID, "org_id", orgID, "member_id", newOwnerID)
	return nil
}

// Invitations lists an organization's pending invitations, for its owners
// and admins.
func (a *Authenticator) Invitations(ctx context.Context, userID, orgID string) ([]*Invitation, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	m, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return nil, err
	}
	if !manages(m.Role) {
		return nil, ErrForbidden
	}
	list, err := st.Invitations(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("auth: read invitations: %w", err)
	}
	return list, nil
}

// Invite invites email to an organization with role: owners and admins
// may, and only owners invite owners. The token goes through the Mailer,
// which must implement [InvitationMailer]; mail to one address is
// throttled as other mail is.
func (a *Authenticator) Invite(ctx context.Context, userID, orgID, email, role string) (*Invitation, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	mailer, ok := a.cfg.Mail.Mailer.(InvitationMailer)
	if !ok {
		return nil, ErrNotImplemented
	}
	fields := map[string]string{}
	canon, err := CanonicalEmail(email)
	if err != nil {
		fields["email"] = "must be a valid email address"
	}
	if !validRole(role) {
		fields["role"] = "must be 1 to 64 lower-case letters, digits, '_' or '-'"
	}
	if len(fields) > 0 {
		return nil, validationError(fields)
	}
	m, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return nil, err
	}
	if !manages(m.Role) || role == RoleOwner && m.Role != RoleOwner {
		return nil, ErrForbidden
	}
	if err := a.take(ctx, "org.invite", pairKey(ctx, keyMailPair, canon), a.cfg.Mail.MailBackoff); err != nil {
		return nil, err
	}
	if err := a.take(ctx, "org.invite", keyMailTo+canon, a.cfg.Mail.MailCeiling); err != nil {
		return nil, err
	}
	o, err := st.Organization(ctx, orgID)
	if err != nil {
		return nil, orgStoreError("read organization", err)
	}
	inviter, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: read inviter: %w", err)
	}
	now := a.cfg.Now().UTC().Truncate(time.Millisecond)
	token := newID(32)
	inv := &Invitation{
		ID: uuid.NewString(), OrganizationID: orgID, Email: canon, Role: role,
		TokenHash: hashTokenID(token), InvitedBy: userID,
		CreatedAt: now, ExpiresAt: now.Add(a.cfg.Organizations.InvitationTTL),
	}
	if err := st.CreateInvitation(ctx, inv); err != nil {
		return nil, fmt.Errorf("auth: store invitation: %w", err)
	}
	if err := mailer.SendInvitation(ctx, inv, o, inviter, token); err != nil {
		_ = st.DeleteInvitation(context.WithoutCancel(ctx), orgID, inv.ID)
		return nil, fmt.Errorf("auth: send invitation: %w", err)
	}
	a.audit(ctx, AuditOrgInvite, "user_id", userID, "org_id", orgID, "invitation_id", inv.ID, "role", role)
	return inv, nil
}

// RevokeInvitation deletes a pending invitation; owners and admins may.
func (a *Authenticator) RevokeInvitation(ctx context.Context, userID, orgID, invitationID string) error {
	st, err := a.orgStore()
	if err != nil {
		return err
	}
	m, err := a.member(ctx, st, orgID, userID)
	if err != nil {
		return err
	}
	if !manages(m.Role) {
		return ErrForbidden
	}
	if err := st.DeleteInvitation(ctx, orgID, invitationID); err != nil {
		return orgStoreError("revoke invitation", err)
	}
	a.audit(ctx, AuditOrgInvitationRevoke, "user_id", userID, "org_id", orgID, "invitation_id", invitationID)
	return nil
}

// AcceptInvitation spends an invitation token for the user, who must be
// logged in with the invited email: it adds the membership and, since the
// token reached that mailbox, marks the email verified. Anything else
// (unknown, spent, expired or revoked token, another user's invitation) is
// [ErrInvitationInvalid]; a member already is [ErrMemberExists].
func (a *Authenticator) AcceptInvitation(ctx context.Context, userID, token string) (*Membership, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	if !validOneTimeToken(token) {
		return nil, ErrInvitationInvalid
	}
	hash := hashTokenID(token)
	inv, err := st.InvitationByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvitationInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read invitation: %w", err)
	}
	now := a.cfg.Now()
	u, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return nil, orgStoreError("read user", err)
	}
	if !now.Before(inv.ExpiresAt) || u.Email != inv.Email {
		a.audit(ctx, AuditOrgInvitationRefused, "user_id", userID, "invitation_id", inv.ID)
		return nil, ErrInvitationInvalid
	}
	m := &Membership{OrganizationID: inv.OrganizationID, UserID: userID, Role: inv.Role, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if err := st.AcceptInvitation(ctx, hash, m); errors.Is(err, ErrNotFound) {
		return nil, ErrInvitationInvalid
	} else if err != nil {
		return nil, orgStoreError("accept invitation", err)
	}
	if ev, ok := a.users.(EmailVerifier); ok && u.EmailVerifiedAt.IsZero() {
		if err := ev.SetEmailVerified(ctx, userID, now.UTC().Truncate(time.Millisecond)); err != nil {
			a.log.ErrorContext(ctx, "auth: could not mark the email verified", "user_id", userID, "error", err)
		}
	}
	a.audit(ctx, AuditOrgInvitationAccept, "user_id", userID, "org_id", inv.OrganizationID, "invitation_id", inv.ID, "role", inv.Role)
	return m, nil
}

// SwitchOrganization issues a fresh token pair for the session of c in
// another organization the user belongs to: the session remembers it, and
// its earlier refresh token stops working. An organization the user is not
// a member of is [ErrOrganizationNotFound].
func (a *Authenticator) SwitchOrganization(ctx context.Context, c *Claims, orgID string) (*TokenPair, error) {
	st, err := a.orgStore()
	if err != nil {
		return nil, err
	}
	s, err := a.tokens.Session(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up session: %w", err)
	}
	now := a.cfg.Now()
	if !s.RevokedAt.IsZero() || s.UserID != c.UserID || !now.Before(s.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	refresh, rec, err := a.keys.issueRefresh(s, now)
	if err != nil {
		return nil, fmt.Errorf("auth: sign refresh token: %w", err)
	}
	role, err := st.SwitchSession(ctx, s.ID, c.UserID, orgID, rec)
	if err != nil {
		return nil, orgStoreError("switch organization", err)
	}
	access, err := a.keys.issueAccess(&User{ID: c.UserID, OrganizationID: orgID, Role: role}, s, now)
	if err != nil {
		return nil, fmt.Errorf("auth: sign access token: %w", err)
	}
	if a.sessions != nil {
		a.sessions.forget(s.ID) // its cached organization is the previous one
	}
	a.audit(ctx, AuditOrgSwitch, "user_id", c.UserID, "session_id", s.ID, "org_id", orgID)
	return &TokenPair{AccessToken: access, RefreshToken: refresh}, nil
}
