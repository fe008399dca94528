package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.OrgStore = (*Store)(nil)

// orgQueries holds the statements of organizations, built like queries.
type orgQueries struct {
	orgInsert, orgInsertIgnore, orgByID, orgRename, orgLock, orgDelete string
	memberInsert, memberByKey, userMemberships, members                string
	memberRole, memberDelete, otherOwners, orgMembersDelete            string
	orgSessions, revokeOrgSessions                                     string
	invInsert, invList, invDelete, invByHash, invSpend, invDeleteOrg   string
	userMembershipsDelete, sessionLive, sessionSwitch, unusedTokensDel string
	userOrgRoles, othersOfOrg                                          string
}

const invitationColumns = "id, organization_id, email, role, token_hash, invited_by, created_at, expires_at"

func buildOrgQueries(d Dialect, prefix string) orgQueries {
	q := orgQueries{
		orgInsert: "INSERT INTO {p}organizations (id, name, created_at) VALUES (?, ?, ?)",
		orgByID:   "SELECT id, name, created_at FROM {p}organizations WHERE id = ?",
		orgRename: "UPDATE {p}organizations SET name = ? WHERE id = ?",
		// A write to the organization's row is the lock that orders every
		// change of its owners: PostgreSQL and InnoDB lock the row until
		// the transaction ends; SQLite's transactions write one at a time.
		orgLock:               "UPDATE {p}organizations SET name = name WHERE id = ?",
		orgDelete:             "DELETE FROM {p}organizations WHERE id = ?",
		memberInsert:          "INSERT INTO {p}memberships (organization_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
		memberByKey:           "SELECT role, created_at FROM {p}memberships WHERE organization_id = ? AND user_id = ?",
		userMemberships:       "SELECT m.organization_id, m.role, m.created_at, o.name FROM {p}memberships m JOIN {p}organizations o ON o.id = m.organization_id WHERE m.user_id = ? ORDER BY m.created_at, m.organization_id",
		members:               "SELECT m.user_id, m.role, m.created_at, u.email, u.name FROM {p}memberships m JOIN {p}users u ON u.id = m.user_id WHERE m.organization_id = ? ORDER BY m.created_at, m.user_id",
		memberRole:            "UPDATE {p}memberships SET role = ? WHERE organization_id = ? AND user_id = ?",
		memberDelete:          "DELETE FROM {p}memberships WHERE organization_id = ? AND user_id = ?",
		otherOwners:           "SELECT COUNT(*) FROM {p}memberships WHERE organization_id = ? AND role = 'owner' AND user_id <> ?",
		orgMembersDelete:      "DELETE FROM {p}memberships WHERE organization_id = ?",
		orgSessions:           "SELECT id FROM {p}sessions WHERE user_id = ? AND organization_id = ? AND revoked_at IS NULL",
		revokeOrgSessions:     "UPDATE {p}sessions SET revoked_at = ? WHERE user_id = ? AND organization_id = ? AND revoked_at IS NULL",
		invInsert:             "INSERT INTO {p}invitations (" + invitationColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		invList:               "SELECT " + invitationColumns + " FROM {p}invitations WHERE organization_id = ? ORDER BY created_at DESC, id DESC",
		invDelete:             "DELETE FROM {p}invitations WHERE id = ? AND organization_id = ?",
		invByHash:             "SELECT " + invitationColumns + " FROM {p}invitations WHERE token_hash = ?",
		invSpend:              "DELETE FROM {p}invitations WHERE token_hash = ?",
		invDeleteOrg:          "DELETE FROM {p}invitations WHERE organization_id = ?",
		userMembershipsDelete: "DELETE FROM {p}memberships WHERE user_id = ?",
		sessionLive:           "SELECT COUNT(*) FROM {p}sessions WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
		sessionSwitch:         "UPDATE {p}sessions SET organization_id = ? WHERE id = ?",
		unusedTokensDel:       "DELETE FROM {p}refresh_tokens WHERE session_id = ? AND used_at IS NULL",
		userOrgRoles:          "SELECT organization_id, role FROM {p}memberships WHERE user_id = ?",
		othersOfOrg:           "SELECT COUNT(*), COALESCE(SUM(CASE WHEN role = 'owner' THEN 1 ELSE 0 END), 0) FROM {p}memberships WHERE organization_id = ? AND user_id <> ?",
	}
	if d == MySQL {
		q.orgInsertIgnore = "INSERT IGNORE INTO {p}organizations (id, name, created_at) VALUES (?, ?, ?)"
	} else {
		q.orgInsertIgnore = "INSERT INTO {p}organizations (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING"
	}
	r := strings.NewReplacer("{p}", prefix)
	for _, p := range []*string{&q.orgInsert, &q.orgInsertIgnore, &q.orgByID, &q.orgRename, &q.orgLock, &q.orgDelete,
		&q.memberInsert, &q.memberByKey, &q.userMemberships, &q.members, &q.memberRole, &q.memberDelete,
		&q.otherOwners, &q.orgMembersDelete, &q.orgSessions, &q.revokeOrgSessions,
		&q.invInsert, &q.invList, &q.invDelete, &q.invByHash, &q.invSpend, &q.invDeleteOrg,
		&q.userMembershipsDelete, &q.sessionLive, &q.sessionSwitch, &q.unusedTokensDel, &q.userOrgRoles, &q.othersOfOrg} {
		*p = r.Replace(*p)
		if d == Postgres {
			*p = rebind(*p)
		}
	}
	return q
}

// joinOwnOrganization creates u's organization (named after u) unless it
// exists, and u's membership with u.Role, in tx (CreateUser's).
func (s *Store) joinOwnOrganization(ctx context.Context, tx *sql.Tx, u *auth.User) error {
	if u.OrganizationID == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.oq.orgInsertIgnore, u.OrganizationID, u.Name, millis(u.CreatedAt)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, s.oq.memberInsert, u.OrganizationID, u.ID, u.Role, millis(u.CreatedAt))
	return err
}

// maxMembershipPasses bounds how often leaveOrganizations reads the user's
// memberships again when they changed while it took the locks.
const maxMembershipPasses = 4

// leaveOrganizations prepares, in tx (DeleteUser's, at READ COMMITTED on
// PostgreSQL and MySQL, so that every statement reads what was committed
// last), the removal of the user's memberships: it locks every
// organization the user belongs to, whatever the role, in the order of
// their ids; once the memberships read under those locks are the ones
// locked, it refuses with [auth.ErrLastOwner] when the user is the only
// owner of an organization with other members, and returns the
// organizations the user is the only member of, which go with the user.
// The lock is the one every change of an organization's members and owners
// takes, so nothing changes them between this check and the deletion: a
// promotion or an invitation accepted meanwhile is seen, and two co-owners
// deleting their accounts at once cannot both pass.
func (s *Store) leaveOrganizations(ctx context.Context, tx *sql.Tx, userID string) ([]string, error) {
	locked := map[string]bool{}
	var roles map[string]string
	for pass := 0; ; pass++ {
		if pass == maxMembershipPasses {
			return nil, errors.New("the user's memberships kept changing")
		}
		var err error
		if roles, err = s.orgRoles(ctx, tx, userID); err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(roles))
		for id := range roles {
			if !locked[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			break // every membership was read under its organization's lock
		}
		slices.Sort(ids)
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.oq.orgLock, id); err != nil {
				return nil, err
			}
			locked[id] = true
		}
	}
	var sole []string
	for id, role := range roles {
		var members, owners int64
		if err := tx.QueryRowContext(ctx, s.oq.othersOfOrg, id, userID).Scan(&members, &owners); err != nil {
			return nil, err
		}
		switch {
		case members == 0:
			sole = append(sole, id)
		case role == auth.RoleOwner && owners == 0:
			return nil, auth.ErrLastOwner
		}
	}
	return sole, nil
}

// orgRoles reads, in tx, the user's role in each organization it belongs
// to.
func (s *Store) orgRoles(ctx context.Context, tx *sql.Tx, userID string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, s.oq.userOrgRoles, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	roles := map[string]string{}
	for rows.Next() {
		var id, role string
		if err := rows.Scan(&id, &role); err != nil {
			return nil, err
		}
		roles[id] = role
	}
	return roles, rows.Err()
}

// dropMemberships removes, in tx (DeleteUser's), the organizations sole
// (see leaveOrganizations) and the user's memberships.
func (s *Store) dropMemberships(ctx context.Context, tx *sql.Tx, userID string, sole []string) error {
	for _, id := range sole {
		if err := s.deleteOrg(ctx, tx, id); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, s.oq.userMembershipsDelete, userID)
	return err
}

func (s *Store) deleteOrg(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{s.oq.invDeleteOrg, s.oq.orgMembersDelete, s.oq.orgDelete} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

func queryStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func wrapOrg(op string, err error) error {
	if err == nil || errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrLastOwner) || errors.Is(err, auth.ErrMemberExists) || errors.Is(err, auth.ErrForbidden) {
		return err
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// CreateOrganization stores o and its owner's membership in one
// transaction.
func (s *Store) CreateOrganization(ctx context.Context, o *auth.Organization, owner *auth.Membership) error {
	if o == nil || owner == nil {
		return errors.New("sqlstore: create organization: nil record")
	}
	return wrapOrg("create organization", s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.oq.orgInsert, o.ID, o.Name, millis(o.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.oq.memberInsert, o.ID, owner.UserID, owner.Role, millis(owner.CreatedAt))
		return err
	}))
}

// Organization returns the organization, or [auth.ErrNotFound].
func (s *Store) Organization(ctx context.Context, id string) (*auth.Organization, error) {
	var (
		o       auth.Organization
		created int64
	)
	err := s.queryRow(ctx, s.oq.orgByID, id).Scan(&o.ID, &o.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, wrapOrg("organization", err)
	}
	o.CreatedAt = fromMillis(created)
	return &o, nil
}

// RenameOrganization sets the organization's name.
func (s *Store) RenameOrganization(ctx context.Context, id, name string) error {
	if _, err := s.Organization(ctx, id); err != nil {
		return err
	}
	_, err := s.exec(ctx, s.oq.orgRename, name, id)
	return wrapOrg("rename organization", err)
}

// UserMemberships returns the user's memberships with their organization's
// name, oldest first.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]*auth.Membership, error) {
	rows, err := s.query(ctx, s.oq.userMemberships, userID)
	if err != nil {
		return nil, wrapOrg("user memberships", err)
	}
	defer rows.Close()
	list := []*auth.Membership{}
	for rows.Next() {
		m := auth.Membership{UserID: userID}
		var created int64
		if err := rows.Scan(&m.OrganizationID, &m.Role, &created, &m.OrganizationName); err != nil {
			return nil, wrapOrg("user memberships", err)
		}
		m.CreatedAt = fromMillis(created)
		list = append(list, &m)
	}
	return list, wrapOrg("user memberships", rows.Err())
}

// Membership returns the user's membership of the organization, or
// [auth.ErrNotFound].
func (s *Store) Membership(ctx context.Context, orgID, userID string) (*auth.Membership, error) {
	m := auth.Membership{OrganizationID: orgID, UserID: userID}
	var created int64
	err := s.queryRow(ctx, s.oq.memberByKey, orgID, userID).Scan(&m.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, wrapOrg("membership", err)
	}
	m.CreatedAt = fromMillis(created)
	return &m, nil
}

// Members returns the organization's memberships with each member's email
// and name, oldest first.
func (s *Store) Members(ctx context.Context, orgID string) ([]*auth.Membership, error) {
	rows, err := s.query(ctx, s.oq.members, orgID)
	if err != nil {
		return nil, wrapOrg("members", err)
	}
	defer rows.Close()
	list := []*auth.Membership{}
	for rows.Next() {
		m := auth.Membership{OrganizationID: orgID}
		var created int64
		if err := rows.Scan(&m.UserID, &m.Role, &created, &m.Email, &m.Name); err != nil {
			return nil, wrapOrg("members", err)
		}
		m.CreatedAt = fromMillis(created)
		list = append(list, &m)
	}
	return list, wrapOrg("members", rows.Err())
}

// lockedMember locks the organization's row and reads the member's role in
// tx, refusing with [auth.ErrForbidden] when the member is an owner and
// keepOwners is set, and with [auth.ErrLastOwner] when the member is its
// last owner and demote is set.
func (s *Store) lockedMember(ctx context.Context, tx *sql.Tx, orgID, userID string, demote, keepOwners bool) error {
	if _, err := tx.ExecContext(ctx, s.oq.orgLock, orgID); err != nil {
		return err
	}
	var (
		role    string
		created int64
	)
	err := tx.QueryRowContext(ctx, s.oq.memberByKey, orgID, userID).Scan(&role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	if err != nil {
		return err
	}
	if keepOwners && role == auth.RoleOwner {
		return auth.ErrForbidden
	}
	if demote && role == auth.RoleOwner {
		var others int64
		if err := tx.QueryRowContext(ctx, s.oq.otherOwners, orgID, userID).Scan(&others); err != nil {
			return err
		}
		if others == 0 {
			return auth.ErrLastOwner
		}
	}
	return nil
}

// SetMemberRole changes a member's role in one transaction that first
// locks the organization's row, so that of concurrent demotions of its
// last owners one fails with [auth.ErrLastOwner].
func (s *Store) SetMemberRole(ctx context.Context, orgID, userID, role string, keepOwners bool) error {
	return wrapOrg("set member role", s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockedMember(ctx, tx, orgID, userID, role != auth.RoleOwner, keepOwners); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.oq.memberRole, role, orgID, userID)
		return err
	}))
}

// RemoveMember removes a membership and revokes the member's sessions in
// the organization, in one transaction locked as SetMemberRole's.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID string, at time.Time, keepOwners bool) ([]string, error) {
	var ended []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockedMember(ctx, tx, orgID, userID, true, keepOwners); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.oq.memberDelete, orgID, userID); err != nil {
			return err
		}
		var err error
		if ended, err = queryStrings(ctx, tx, s.oq.orgSessions, userID, orgID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.oq.revokeOrgSessions, millis(at), userID, orgID)
		return err
	})
	if ended == nil {
		ended = []string{}
	}
	return ended, wrapOrg("remove member", err)
}

// CreateInvitation stores inv.
func (s *Store) CreateInvitation(ctx context.Context, inv *auth.Invitation) error {
	if inv == nil {
		return errors.New("sqlstore: create invitation: nil record")
	}
	_, err := s.exec(ctx, s.oq.invInsert, inv.ID, inv.OrganizationID, inv.Email, inv.Role, inv.TokenHash, inv.InvitedBy, millis(inv.CreatedAt), millis(inv.ExpiresAt))
	return wrapOrg("create invitation", err)
}

func scanInvitation(row interface{ Scan(...any) error }) (*auth.Invitation, error) {
	var (
		i                auth.Invitation
		created, expires int64
	)
	if err := row.Scan(&i.ID, &i.OrganizationID, &i.Email, &i.Role, &i.TokenHash, &i.InvitedBy, &created, &expires); err != nil {
		return nil, err
	}
	i.CreatedAt, i.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &i, nil
}

// Invitations returns the organization's pending invitations, newest
// first.
func (s *Store) Invitations(ctx context.Context, orgID string) ([]*auth.Invitation, error) {
	rows, err := s.query(ctx, s.oq.invList, orgID)
	if err != nil {
		return nil, wrapOrg("invitations", err)
	}
	defer rows.Close()
	list := []*auth.Invitation{}
	for rows.Next() {
		i, err := scanInvitation(rows)
		if err != nil {
			return nil, wrapOrg("invitations", err)
		}
		list = append(list, i)
	}
	return list, wrapOrg("invitations", rows.Err())
}

// DeleteInvitation removes the organization's pending invitation.
func (s *Store) DeleteInvitation(ctx context.Context, orgID, id string) error {
	res, err := s.exec(ctx, s.oq.invDelete, id, orgID)
	if err != nil {
		return wrapOrg("delete invitation", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapOrg("delete invitation", err)
	} else if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// InvitationByHash returns the pending invitation with the token hash.
func (s *Store) InvitationByHash(ctx context.Context, hash string) (*auth.Invitation, error) {
	i, err := scanInvitation(s.queryRow(ctx, s.oq.invByHash, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	return i, wrapOrg("invitation", err)
}

// AcceptInvitation deletes the pending invitation (a DELETE that only one
// of concurrent acceptances can match) and stores the membership, in one
// transaction.
func (s *Store) AcceptInvitation(ctx context.Context, hash string, m *auth.Membership) error {
	if m == nil {
		return errors.New("sqlstore: accept invitation: nil record")
	}
	return wrapOrg("accept invitation", s.inTx(ctx, func(tx *sql.Tx) error {
		i, err := scanInvitation(tx.QueryRowContext(ctx, s.oq.invByHash, hash))
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		// The organization's row lock serializes this with other changes
		// of its members: two invitations of one user accepted at once
		// give one membership and ErrMemberExists, not a key violation.
		if _, err := tx.ExecContext(ctx, s.oq.orgLock, i.OrganizationID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.oq.invSpend, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return auth.ErrNotFound
		}
		var role string
		var created int64
		switch err := tx.QueryRowContext(ctx, s.oq.memberByKey, i.OrganizationID, m.UserID).Scan(&role, &created); {
		case err == nil:
			return auth.ErrMemberExists
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, s.oq.memberInsert, i.OrganizationID, m.UserID, m.Role, millis(m.CreatedAt))
		return err
	}))
}

// SwitchSession moves the user's live session to orgID and replaces its
// unused refresh tokens with next, in one transaction that holds the
// organization's row lock.
func (s *Store) SwitchSession(ctx context.Context, sessionID, userID, orgID string, next *auth.RefreshToken) (string, error) {
	if next == nil || next.SessionID != sessionID {
		return "", errors.New("sqlstore: switch session: next token of another session")
	}
	var role string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Locked like RemoveMember: a removal cannot commit between the
		// membership read and the move (and then miss this session).
		if _, err := tx.ExecContext(ctx, s.oq.orgLock, orgID); err != nil {
			return err
		}
		var created, live int64
		err := tx.QueryRowContext(ctx, s.oq.memberByKey, orgID, userID).Scan(&role, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, s.oq.sessionLive, sessionID, userID).Scan(&live); err != nil {
			return err
		}
		if live == 0 {
			return auth.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, s.oq.sessionSwitch, orgID, sessionID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.oq.unusedTokensDel, sessionID); err != nil {
			return err
		}
		return s.insertToken(ctx, tx, next)
	})
	return role, wrapOrg("switch session", err)
}
