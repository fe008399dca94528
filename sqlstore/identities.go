package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ingestiq/auth"
)

var _ auth.ExternalIdentityStore = (*Store)(nil)

const identityColumns = "id, user_id, issuer, subject, email, created_at"

// identityQuery returns query (written with ? and {p}) for the store's
// table prefix and dialect. Identity statements are rare (a sign-in with a
// provider), so they are built when run.
func (s *Store) identityQuery(query string) string {
	query = strings.ReplaceAll(query, "{p}", s.prefix)
	if s.dialect == Postgres {
		query = rebind(query)
	}
	return query
}

// CreateExternalIdentity inserts id, or returns [auth.ErrIdentityExists]
// when its issuer and subject are taken, decided by the unique constraint
// on (issuer, subject): the insert skips a conflicting row (ON CONFLICT DO
// NOTHING; MySQL's ON DUPLICATE KEY UPDATE with no change) and reports no
// row inserted. An unknown user is the foreign key's error.
func (s *Store) CreateExternalIdentity(ctx context.Context, id *auth.ExternalIdentity) error {
	if id == nil {
		return errors.New("sqlstore: create external identity: nil identity")
	}
	q := "INSERT INTO {p}external_identities (" + identityColumns + ") VALUES (?, ?, ?, ?, ?, ?)"
	if s.dialect == MySQL {
		q += " ON DUPLICATE KEY UPDATE id = id"
	} else {
		q += " ON CONFLICT (issuer, subject) DO NOTHING"
	}
	res, err := s.db.ExecContext(ctx, s.identityQuery(q), id.ID, id.UserID, id.Issuer, id.Subject, id.Email, millis(id.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create external identity: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: create external identity: %w", err)
	}
	if n == 0 {
		return auth.ErrIdentityExists
	}
	return nil
}

func scanIdentity(sc interface{ Scan(...any) error }) (*auth.ExternalIdentity, error) {
	var (
		id      auth.ExternalIdentity
		created int64
	)
	if err := sc.Scan(&id.ID, &id.UserID, &id.Issuer, &id.Subject, &id.Email, &created); err != nil {
		return nil, err
	}
	id.CreatedAt = fromMillis(created)
	return &id, nil
}

// ExternalIdentity returns the identity with the given issuer and subject,
// or [auth.ErrNotFound].
func (s *Store) ExternalIdentity(ctx context.Context, issuer, subject string) (*auth.ExternalIdentity, error) {
	row := s.db.QueryRowContext(ctx, s.identityQuery("SELECT "+identityColumns+" FROM {p}external_identities WHERE issuer = ? AND subject = ?"), issuer, subject)
	id, err := scanIdentity(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: external identity: %w", err)
	}
	return id, nil
}

// UserExternalIdentities returns the user's identities, oldest first.
func (s *Store) UserExternalIdentities(ctx context.Context, userID string) ([]*auth.ExternalIdentity, error) {
	rows, err := s.db.QueryContext(ctx, s.identityQuery("SELECT "+identityColumns+" FROM {p}external_identities WHERE user_id = ? ORDER BY created_at, id"), userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user external identities: %w", err)
	}
	defer rows.Close()
	out := []*auth.ExternalIdentity{}
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: user external identities: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: user external identities: %w", err)
	}
	return out, nil
}

// DeleteExternalIdentity removes the user's identity id in one
// transaction. With keepOne it first locks the user's row (PostgreSQL and
// MySQL: SELECT ... FOR UPDATE; SQLite runs writers one at a time), so
// that two removals of a user's last two identities cannot both see the
// other one, and refuses with [auth.ErrLastSignInMethod] when the user has
// no other identity.
func (s *Store) DeleteExternalIdentity(ctx context.Context, userID, id string, keepOne bool) error {
	if err := s.deleteOwned(ctx, "external_identities", userID, id, keepOne); err != nil {
		if errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrLastSignInMethod) {
			return err
		}
		return fmt.Errorf("sqlstore: delete external identity: %w", err)
	}
	return nil
}

// deleteOwned deletes the row id of the user from table (a way in: an
// identity, a passkey) in one transaction: auth.ErrNotFound when the user
// has no such row, and with keepOne auth.ErrLastSignInMethod when it is
// the user's last way in, passkeys and identities counted together,
// decided under the user's row lock (PostgreSQL and MySQL: SELECT ... FOR
// UPDATE; SQLite runs writers one at a time), so that two removals of a
// user's last two ways in, of either kind, cannot both see the other.
func (s *Store) deleteOwned(ctx context.Context, table, userID, id string, keepOne bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if keepOne && s.dialect != SQLite {
			var got string
			err := tx.QueryRowContext(ctx, s.identityQuery("SELECT id FROM {p}users WHERE id = ? FOR UPDATE"), userID).Scan(&got)
			if errors.Is(err, sql.ErrNoRows) {
				return auth.ErrNotFound
			}
			if err != nil {
				return err
			}
		}
		var n, mine int64
		if err := tx.QueryRowContext(ctx, s.identityQuery("SELECT"+
			" (SELECT COUNT(*) FROM {p}passkeys WHERE user_id = ?) + (SELECT COUNT(*) FROM {p}external_identities WHERE user_id = ?),"+
			" (SELECT COUNT(*) FROM {p}"+table+" WHERE id = ? AND user_id = ?)"), userID, userID, id, userID).Scan(&n, &mine); err != nil {
			return err
		}
		if mine == 0 {
			return auth.ErrNotFound
		}
		if keepOne && n < 2 {
			return auth.ErrLastSignInMethod
		}
		_, err := tx.ExecContext(ctx, s.identityQuery("DELETE FROM {p}"+table+" WHERE id = ? AND user_id = ?"), id, userID)
		return err
	})
}
