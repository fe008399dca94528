package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ingestiq/auth"
)

// CreateUser inserts u. A user with the same Email, compared byte for byte,
// is reported by the database's unique constraint as [auth.ErrEmailExists];
// any other failure, a duplicate ID included, is returned wrapped.
func (s *Store) CreateUser(ctx context.Context, u *auth.User) error {
	if u == nil {
		return errors.New("sqlstore: create user: nil user")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, s.q.insertUser,
			u.ID, u.Email, u.Name, u.OrganizationID, u.Role, u.PasswordHash, millis(u.CreatedAt), nullMillis(u.EmailVerifiedAt)); err != nil {
			return err
		}
		// The user's organization and membership, in the same transaction.
		return s.joinOwnOrganization(ctx, tx, u)
	})
	if err != nil {
		if s.isEmailDuplicate(err) {
			return auth.ErrEmailExists
		}
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	return nil
}

// UserByID returns the user with the given id, or [auth.ErrNotFound].
func (s *Store) UserByID(ctx context.Context, id string) (*auth.User, error) {
	u, err := s.scanUser(s.queryRow(ctx, s.q.userByID, id))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user by id: %w", err)
	}
	return u, nil
}

// UserByEmail returns the user whose Email equals email byte for byte, or
// [auth.ErrNotFound].
func (s *Store) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := s.scanUser(s.queryRow(ctx, s.q.userByEmail, email))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user by email: %w", err)
	}
	return u, nil
}

func (s *Store) scanUser(row *sql.Row) (*auth.User, error) {
	var (
		u        auth.User
		created  int64
		verified sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.OrganizationID, &u.Role, &u.PasswordHash, &created, &verified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMillis(created)
	u.EmailVerifiedAt = fromNullMillis(verified)
	return &u, nil
}

// UpdatePasswordHash replaces the password hash of the user with the given
// id, or returns [auth.ErrNotFound].
func (s *Store) UpdatePasswordHash(ctx context.Context, id, hash string) error {
	res, err := s.exec(ctx, s.q.updatePassword, hash, id)
	if err != nil {
		return fmt.Errorf("sqlstore: update password hash: %w", err)
	}
	if err := s.updatedOrExists(ctx, res, s.q.userExists, id); err != nil {
		return fmt.Errorf("sqlstore: update password hash: %w", err)
	}
	return nil
}

// SetEmailVerified sets the EmailVerifiedAt of the user with the given id to
// at, unless it is set already, in which case it keeps the first time and
// succeeds, in one conditional UPDATE. It returns [auth.ErrNotFound] when
// there is no such user.
func (s *Store) SetEmailVerified(ctx context.Context, userID string, at time.Time) error {
	res, err := s.exec(ctx, s.q.setVerified, millis(at), userID)
	if err != nil {
		return fmt.Errorf("sqlstore: set email verified: %w", err)
	}
	if err := s.updatedOrExists(ctx, res, s.q.userExists, userID); err != nil {
		return fmt.Errorf("sqlstore: set email verified: %w", err)
	}
	return nil
}

// updatedOrExists returns nil when res, the result of an UPDATE of the row
// with the given id, reports a row affected, or else when the row exists,
// as query, a SELECT COUNT(*) by id, tells; and [auth.ErrNotFound] when it
// does not. MySQL counts changed rows, not matched ones, so an UPDATE that
// writes the values a row already holds affects none there.
func (s *Store) updatedOrExists(ctx context.Context, res sql.Result, query, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return s.exists(ctx, query, id)
}

// DeleteUser removes the user with the given id together with the user's
// sessions, refresh tokens and one-time tokens, in one transaction, or
// returns [auth.ErrNotFound]. It deletes the children itself, so it behaves
// the same whether or not the database enforces the foreign keys' cascades.
// It refuses with [auth.ErrLastOwner], changing nothing, when the user is
// the only owner of an organization with other members, decided under the
// locks of the user's organizations (see leaveOrganizations).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.inTxReadCommitted(ctx, func(tx *sql.Tx) error {
		if s.dialect == SQLite {
			// Write first: a deferred SQLite transaction that reads first
			// fails with SQLITE_BUSY, without waiting, when another writer
			// commits before its first write.
			if _, err := tx.ExecContext(ctx, s.identityQuery("UPDATE {p}users SET name = name WHERE id = ?"), id); err != nil {
				return err
			}
		}
		sole, err := s.leaveOrganizations(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, query := range []string{s.q.deleteUserToken, s.q.deleteUserSess, s.q.deleteUserOnce, s.q.recoveryDeleteAll, s.q.factorDelete, s.pkq.delUser, s.pkq.ceremonyDelUser} {
			if _, err := s.txExec(ctx, tx, query, id); err != nil {
				return err
			}
		}
		if err := s.dropMemberships(ctx, tx, id, sole); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.identityQuery("DELETE FROM {p}external_identities WHERE user_id = ?"), id); err != nil {
			return err
		}
		res, err := s.txExec(ctx, tx, s.q.deleteUser, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return auth.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete user: %w", err)
	}
	return nil
}

// exists runs query, a SELECT COUNT(*) with one argument, and returns
// [auth.ErrNotFound] when the count is zero.
func (s *Store) exists(ctx context.Context, query, arg string) error {
	var n int64
	if err := s.queryRow(ctx, query, arg).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}
