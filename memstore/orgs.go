package memstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.OrgStore = (*Store)(nil)

// errDuplicateInvitation is returned by [Store.CreateInvitation] when an
// invitation with the same id or token hash is stored.
var errDuplicateInvitation = errors.New("memstore: invitation already exists")

// orgState is the organizations part of the Store, created on first use;
// every field is guarded by Store.mu.
type orgState struct {
	orgs        map[string]*auth.Organization
	members     map[string]*memberSet       // by organization
	invitations map[string]*auth.Invitation // by token hash
}

func (s *Store) initOrgs() {
	if s.orgs == nil {
		s.orgs = map[string]*auth.Organization{}
		s.members = map[string]*memberSet{}
		s.invitations = map[string]*auth.Invitation{}
	}
}

// joinOwnOrganization creates u's organization (named after u) when it
// does not exist, and u's membership with u.Role. s.mu is held.
func (s *Store) joinOwnOrganization(u *auth.User) {
	if u.OrganizationID == "" {
		return
	}
	s.initOrgs()
	if s.orgs[u.OrganizationID] == nil {
		s.orgs[u.OrganizationID] = &auth.Organization{ID: u.OrganizationID, Name: u.Name, CreatedAt: u.CreatedAt}
		s.members[u.OrganizationID] = &memberSet{}
	}
	s.members[u.OrganizationID].put(&auth.Membership{OrganizationID: u.OrganizationID, UserID: u.ID, Role: u.Role, CreatedAt: u.CreatedAt})
}

// dropMemberships removes the user's memberships and the organizations
// left without members. s.mu is held.
func (s *Store) dropMemberships(userID string) {
	for id, ms := range s.members {
		if ms.get(userID) == nil {
			continue
		}
		ms.remove(userID)
		if ms.len() == 0 {
			s.deleteOrg(id)
		}
	}
}

func (s *Store) deleteOrg(id string) {
	delete(s.members, id)
	delete(s.orgs, id)
	for h, inv := range s.invitations {
		if inv.OrganizationID == id {
			delete(s.invitations, h)
		}
	}
}

// inSessionOrg reports whether the session's user is a member of its
// organization (always, for a session without one). s.mu is held.
func (s *Store) inSessionOrg(sess *session, u *auth.User) bool {
	if sess.OrganizationID == "" || u == nil {
		return true
	}
	return s.members[sess.OrganizationID].get(u.ID) != nil
}

// CreateOrganization stores o and its owner's membership.
func (s *Store) CreateOrganization(ctx context.Context, o *auth.Organization, owner *auth.Membership) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if o == nil || owner == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initOrgs()
	if s.orgs[o.ID] != nil {
		return errDuplicateID
	}
	c := *o
	c.CreatedAt = c.CreatedAt.UTC()
	s.orgs[c.ID] = &c
	m := *owner
	m.OrganizationID, m.CreatedAt = c.ID, m.CreatedAt.UTC()
	s.members[c.ID] = newMemberSet(&m)
	return nil
}

// Organization returns a copy of the organization, or [auth.ErrNotFound].
func (s *Store) Organization(ctx context.Context, id string) (*auth.Organization, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.orgs[id]
	if o == nil {
		return nil, auth.ErrNotFound
	}
	c := *o
	return &c, nil
}

// RenameOrganization sets the organization's name.
func (s *Store) RenameOrganization(ctx context.Context, id, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[id]
	if o == nil {
		return auth.ErrNotFound
	}
	o.Name = name
	return nil
}

func sortMemberships(list []*auth.Membership) {
	slices.SortFunc(list, func(a, b *auth.Membership) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.OrganizationID+a.UserID, b.OrganizationID+b.UserID)
	})
}

// UserMemberships returns the user's memberships with their organization's
// name, oldest first.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]*auth.Membership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := []*auth.Membership{}
	for id, ms := range s.members {
		if m := ms.get(userID); m != nil {
			c := *m
			c.OrganizationName = s.orgs[id].Name
			list = append(list, &c)
		}
	}
	sortMemberships(list)
	return list, nil
}

// Membership returns a copy of the user's membership of the organization.
func (s *Store) Membership(ctx context.Context, orgID, userID string) (*auth.Membership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.members[orgID].get(userID)
	if m == nil {
		return nil, auth.ErrNotFound
	}
	c := *m
	return &c, nil
}

// Members returns the organization's memberships with each member's email
// and name, oldest first.
func (s *Store) Members(ctx context.Context, orgID string) ([]*auth.Membership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := []*auth.Membership{}
	for _, m := range s.members[orgID].all() {
		c := *m
		if u := s.users[m.UserID]; u != nil {
			c.Email, c.Name = u.Email, u.Name
		}
		list = append(list, &c)
	}
	sortMemberships(list)
	return list, nil
}

// lastOwner reports whether userID is the organization's only owner.
// s.mu is held.
func (s *Store) lastOwner(orgID, userID string) bool {
	ms := s.members[orgID]
	if m := ms.get(userID); m == nil || m.Role != auth.RoleOwner {
		return false
	}
	for _, m := range ms.all() {
		if m.UserID != userID && m.Role == auth.RoleOwner {
			return false
		}
	}
	return true
}

// ownsAlone reports whether userID is the only owner of an organization
// that has other members, which deleting the user would leave without an
// owner. s.mu is held.
func (s *Store) ownsAlone(userID string) bool {
	for id, ms := range s.members {
		if ms.len() > 1 && s.lastOwner(id, userID) {
			return true
		}
	}
	return false
}

// SetMemberRole changes a member's role; the last owner keeps theirs
// ([auth.ErrLastOwner]).
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID, role string, keepOwners bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[orgID].get(userID)
	if m == nil {
		return auth.ErrNotFound
	}
	if keepOwners && m.Role == auth.RoleOwner {
		return auth.ErrForbidden
	}
	if role != auth.RoleOwner && s.lastOwner(orgID, userID) {
		return auth.ErrLastOwner
	}
	m.Role = role
	return nil
}

// RemoveMember removes a membership and revokes the member's sessions in
// the organization; the last owner stays ([auth.ErrLastOwner]).
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string, at time.Time, keepOwners bool) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[orgID].get(userID)
	if m == nil {
		return nil, auth.ErrNotFound
	}
	if keepOwners && m.Role == auth.RoleOwner {
		return nil, auth.ErrForbidden
	}
	if s.lastOwner(orgID, userID) {
		return nil, auth.ErrLastOwner
	}
	s.members[orgID].remove(userID)
	ended := []string{}
	for _, sess := range s.byUser[userID] {
		if sess.OrganizationID == orgID && sess.RevokedAt.IsZero() {
			sess.RevokedAt = at.UTC()
			ended = append(ended, sess.ID)
		}
	}
	if s.members[orgID].len() == 0 {
		s.deleteOrg(orgID)
	}
	return ended, nil
}

// CreateInvitation stores a copy of inv.
func (s *Store) CreateInvitation(ctx context.Context, inv *auth.Invitation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if inv == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initOrgs()
	for h, i := range s.invitations {
		if h == inv.TokenHash || i.ID == inv.ID {
			return errDuplicateInvitation
		}
	}
	c := *inv
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	s.invitations[c.TokenHash] = &c
	return nil
}

// Invitations returns the organization's pending invitations, newest
// first.
func (s *Store) Invitations(ctx context.Context, orgID string) ([]*auth.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := []*auth.Invitation{}
	for _, i := range s.invitations {
		if i.OrganizationID == orgID {
			c := *i
			list = append(list, &c)
		}
	}
	slices.SortFunc(list, func(a, b *auth.Invitation) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return list, nil
}

// DeleteInvitation removes the organization's pending invitation with the
// given id.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, i := range s.invitations {
		if i.ID == id && i.OrganizationID == orgID {
			delete(s.invitations, h)
			return nil
		}
	}
	return auth.ErrNotFound
}

// InvitationByHash returns a copy of the pending invitation whose token
// hash is hash.
func (s *Store) InvitationByHash(ctx context.Context, hash string) (*auth.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.invitations[hash]
	if i == nil {
		return nil, auth.ErrNotFound
	}
	c := *i
	return &c, nil
}

// AcceptInvitation spends the pending invitation and stores m, under one
// lock.
func (s *Store) AcceptInvitation(ctx context.Context, hash string, m *auth.Membership) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.invitations[hash]
	if i == nil || s.orgs[i.OrganizationID] == nil {
		return auth.ErrNotFound
	}
	if s.members[i.OrganizationID].get(m.UserID) != nil {
		return auth.ErrMemberExists
	}
	delete(s.invitations, hash)
	c := *m
	c.OrganizationID, c.CreatedAt = i.OrganizationID, c.CreatedAt.UTC()
	s.members[i.OrganizationID].put(&c)
	return nil
}

// SwitchSession moves the user's live session to orgID and replaces its
// unused refresh tokens with next.
func (s *Store) SwitchSession(ctx context.Context, sessionID, userID, orgID string, next *auth.RefreshToken) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if next == nil {
		return "", errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[orgID].get(userID)
	sess := s.sessions[sessionID]
	if m == nil || sess == nil || sess.UserID != userID || !sess.RevokedAt.IsZero() {
		return "", auth.ErrNotFound
	}
	if next.SessionID != sessionID {
		return "", errWrongSession
	}
	if _, ok := s.tokens[next.IDHash]; ok {
		return "", errDuplicateHash
	}
	kept := sess.hashes[:0]
	for _, h := range sess.hashes {
		if t := s.tokens[h]; t != nil && t.UsedAt.IsZero() {
			delete(s.tokens, h)
			continue
		}
		kept = append(kept, h)
	}
	sess.hashes = kept
	sess.OrganizationID = orgID
	s.addToken(sess, next)
	return m.Role, nil
}
