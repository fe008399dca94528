package auth

import (
	"context"
	"net/http"
	"time"
)

// Organizations, memberships and invitations (see orgs.go for the
// Authenticator's methods and README "Organizations and members").

// The built-in roles of a membership. An application may use its own role
// names beside them; the owner rules hold for these three.
const (
	// RoleAdmin manages members and invitations but cannot touch owners or
	// make owners.
	RoleAdmin = "admin"
	// RoleMember can read the member list and leave.
	RoleMember = "member"
)

// Organization is a team of users.
type Organization struct {
	// ID is the organization's unique id.
	ID string `json:"id"`
	// Name is the display name; the organization created at sign-up is
	// named after its user.
	Name string `json:"name"`
	// CreatedAt is when the organization was created, in UTC.
	CreatedAt time.Time `json:"-"`
}

// Membership is one user's role in one organization.
type Membership struct {
	// OrganizationID is the organization.
	OrganizationID string
	// UserID is the member.
	UserID string
	// Role is the member's role: [RoleOwner], [RoleAdmin], [RoleMember] or
	// an application's own.
	Role string
	// CreatedAt is when the user joined, in UTC.
	CreatedAt time.Time
	// OrganizationName is filled in by [OrgStore.UserMemberships].
	OrganizationName string
	// Email and Name are the member's, filled in by [OrgStore.Members].
	Email, Name string
}

// Invitation is an invitation to join an organization, sent by email. The
// store keeps only the SHA-256 of its token.
type Invitation struct {
	// ID is the invitation's unique id.
	ID string
	// OrganizationID is the organization the invitation is to.
	OrganizationID string
	// Email is the canonical address invited; only a user logged in with it
	// can accept.
	Email string
	// Role is the role the membership will have.
	Role string
	// TokenHash is the hex-encoded SHA-256 of the invitation's token. It is
	// unique.
	TokenHash string
	// InvitedBy is the id of the user who invited.
	InvitedBy string
	// CreatedAt is when the invitation was made, in UTC.
	CreatedAt time.Time
	// ExpiresAt is when the invitation stops being accepted, in UTC.
	ExpiresAt time.Time
}

// OrgStore is the optional capability behind organizations, found by type
// assertion on Config.Users; without it the /orgs routes and
// POST /invitations/accept answer 501 NOT_IMPLEMENTED. A store that
// implements it also keeps the session's organization
// ([Session.OrganizationID]) and, in [TokenStore.RotateRefreshToken],
// returns that organization and the user's membership role in it, read in
// the same atomic step; a session whose membership is gone can no longer
// be refreshed. CreateUser creates the user's organization (when it does
// not exist yet, named after the user) and the user's membership with
// User.Role in the same atomic step; DeleteUser removes the user's
// memberships and every organization left without members, and refuses
// with [ErrLastOwner], changing nothing, when the user is the only owner of
// an organization with other members, decided atomically with the
// deletion (under the same lock as the other changes of owners), so that
// co-owners deleting their accounts at once always leave an owner.
//
// Every method takes a context first and returns its error (or one
// wrapping it) once the context is done.
type OrgStore interface {
	// CreateOrganization stores o and owner, its first membership,
	// atomically.
	CreateOrganization(ctx context.Context, o *Organization, owner *Membership) error
	// Organization returns a copy of the organization, or [ErrNotFound].
	Organization(ctx context.Context, id string) (*Organization, error)
	// RenameOrganization sets the organization's name, or returns
	// [ErrNotFound].
	RenameOrganization(ctx context.Context, id, name string) error
	// UserMemberships returns the user's memberships with
	// OrganizationName, oldest first; none gives an empty slice.
	UserMemberships(ctx context.Context, userID string) ([]*Membership, error)
	// Membership returns the user's membership of the organization, or
	// [ErrNotFound].
	Membership(ctx context.Context, orgID, userID string) (*Membership, error)
	// Members returns the organization's memberships with Email and Name,
	// oldest first.
	Members(ctx context.Context, orgID string) ([]*Membership, error)
	// SetMemberRole changes a member's role, or returns [ErrNotFound]. It
	// returns [ErrLastOwner] and changes nothing when the member is the
	// organization's last owner and role is not [RoleOwner], decided
	// atomically: of concurrent demotions of the last two owners, one
	// fails. With keepOwners (an admin's call), it returns [ErrForbidden]
	// and changes nothing when the member is an owner, decided in the same
	// atomic step.
	SetMemberRole(ctx context.Context, orgID, userID, role string, keepOwners bool) error
	// RemoveMember removes a membership and revokes, at the given time, the
	// member's sessions whose organization it is, atomically, and returns
	// the ids of the sessions revoked. It returns [ErrNotFound] for no
	// such membership and [ErrLastOwner] (changing nothing) for the last
	// owner, decided atomically as in SetMemberRole, and [ErrForbidden] for
	// an owner with keepOwners.
	RemoveMember(ctx context.Context, orgID, userID string, at time.Time, keepOwners bool) ([]string, error)
	// CreateInvitation stores a copy of inv.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// Invitations returns the organization's pending invitations, newest
	// first, expired ones included.
	Invitations(ctx context.Context, orgID string) ([]*Invitation, error)
	// DeleteInvitation removes the organization's pending invitation with
	// the given id, or returns [ErrNotFound].
	DeleteInvitation(ctx context.Context, orgID, id string) error
	// InvitationByHash returns the pending invitation whose TokenHash is
	// hash, or [ErrNotFound]. The store does not check expiry.
	InvitationByHash(ctx context.Context, hash string) (*Invitation, error)
	// AcceptInvitation spends the pending invitation whose TokenHash is hash
	// and stores m, atomically. It returns [ErrNotFound] when there is no
	// such pending invitation, and [ErrMemberExists] (spending nothing)
	// when m's user is a member already. Of concurrent acceptances of one
	// invitation at most one succeeds.
	AcceptInvitation(ctx context.Context, hash string, m *Membership) error
	// SwitchSession makes orgID the organization of the user's live
	// session and replaces the session's unused refresh tokens with next,
	// atomically, and returns the user's role there. It returns
	// [ErrNotFound] and changes nothing when the user is not a member or
	// the session is not the user's live session.
	SwitchSession(ctx context.Context, sessionID, userID, orgID string, next *RefreshToken) (string, error)
}

// InvitationMailer is implemented by a [Mailer] that also delivers
// invitations; without it inviting answers 501 NOT_IMPLEMENTED.
type InvitationMailer interface {
	// SendInvitation delivers an invitation's token to inv.Email: org is
	// the organization, inviter the user who invited.
	SendInvitation(ctx context.Context, inv *Invitation, org *Organization, inviter *User, token string) error
}

// OrganizationsConfig configures organizations. They are on whenever
// Config.Users implements [OrgStore].
type OrganizationsConfig struct {
	// InvitationTTL is how long an invitation can be accepted. The default
	// is 7 days.
	InvitationTTL time.Duration
	// Required makes [New] fail unless Config.Users implements [OrgStore].
	Required bool
}

// DefaultInvitationTTL is the default of [OrganizationsConfig.InvitationTTL].
const DefaultInvitationTTL = 7 * 24 * time.Hour

// The errors of organizations.
var (
	// ErrLastOwner is returned when the last owner of an organization would
	// leave, be removed or demoted, or delete an account while the
	// organization has other members: transfer the ownership first.
	ErrLastOwner = newError("LAST_OWNER", http.StatusConflict, "The last owner of an organization must transfer ownership first")

	// ErrMemberExists is returned when a user who is a member already
	// accepts an invitation to the same organization.
	ErrMemberExists = newError("MEMBER_EXISTS", http.StatusConflict, "Already a member of this organization")

	// ErrOrganizationNotFound is returned for an organization that does not
	// exist or that the caller is not a member of (the two are
	// indistinguishable), and for a member or invitation not in it.
	ErrOrganizationNotFound = newError("NOT_FOUND", http.StatusNotFound, "Not found")

	// ErrInvitationInvalid is returned for an invitation token that is
	// unknown, spent, expired, revoked, or addressed to another email than
	// the caller's.
	ErrInvitationInvalid = newError("INVALID_INVITATION", http.StatusBadRequest, "Invalid or expired invitation")
)
