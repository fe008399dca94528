package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ingestiq/auth"
)

// CreateSession inserts sess and first, the session's first refresh token, in
// one transaction: either both are stored or neither is. A nil first stores
// the session alone. UserAgent and IPAddress are stored as given; the
// columns hold 512 and 64 characters (the Authenticator truncates the user
// agent), and a longer value is the database's error (SQLite stores it
// whole). LastUsedAt is ignored.
func (s *Store) CreateSession(ctx context.Context, sess *auth.Session, first *auth.RefreshToken) error {
	if sess == nil {
		return errors.New("sqlstore: create session: nil session")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.txExec(ctx, tx, s.q.insertSession, sess.ID, sess.UserID,
			millis(sess.CreatedAt), millis(sess.ExpiresAt), nullMillis(sess.RevokedAt),
			sess.UserAgent, sess.IPAddress); err != nil {
			return err
		}
		if first == nil {
			return nil
		}
		return s.insertToken(ctx, tx, first)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, t *auth.RefreshToken) error {
	_, err := s.txExec(ctx, tx, s.q.insertToken, t.IDHash, t.SessionID, t.UserID,
		millis(t.CreatedAt), millis(t.ExpiresAt), nullMillis(t.UsedAt))
	return err
}

// Session returns the session with the given id, revoked or not, or
// [auth.ErrNotFound]. Its LastUsedAt is left zero: only
// [Store.UserSessions] computes it, so that the read behind every access
// token's verification stays a primary-key lookup.
func (s *Store) Session(ctx context.Context, id string) (*auth.Session, error) {
	sess, err := scanSession(s.queryRow(ctx, s.q.session, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: session: %w", err)
	}
	return sess, nil
}

// scanSession scans the columns of sessionColumns, followed by the last use
// when extra holds a destination for it.
func scanSession(row interface{ Scan(...any) error }, extra ...any) (*auth.Session, error) {
	var (
		sess             auth.Session
		created, expires int64
		revoked          sql.NullInt64
	)
	dest := append([]any{&sess.ID, &sess.UserID, &created, &expires, &revoked, &sess.UserAgent, &sess.IPAddress}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	sess.CreatedAt = fromMillis(created)
	sess.ExpiresAt = fromMillis(expires)
	sess.RevokedAt = fromNullMillis(revoked)
	return &sess, nil
}

// UserSessions returns the sessions of the user with the given id that are
// not revoked, expired ones included, most recently created first (ties in
// descending order of id), in one query. Each has its LastUsedAt set to the
// latest CreatedAt of the session's stored refresh tokens, or to the
// session's CreatedAt when it has none left. A user without sessions, or an
// unknown user, gives an empty slice.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	rows, err := s.query(ctx, s.q.userSessions, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: user sessions: %w", err)
	}
	defer rows.Close()
	list := []*auth.Session{}
	for rows.Next() {
		var lastUsed int64
		sess, err := scanSession(rows, &lastUsed)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: user sessions: %w", err)
		}
		sess.LastUsedAt = fromMillis(lastUsed)
		list = append(list, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: user sessions: %w", err)
	}
	return list, nil
}

// RevokeUserSessions marks every session of the user with the given id that
// is not revoked yet revoked at the given time, except the session whose id
// is except (none when except is ""), in one UPDATE, and returns how many it
// revoked.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	res, err := s.exec(ctx, s.q.revokeUserSessions, millis(at), userID, except)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke user sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke user sessions: %w", err)
	}
	return n, nil
}

// RevokeSession marks the session with the given id revoked at the given
// time, or returns [auth.ErrNotFound]. A session already revoked keeps its
// first RevokedAt.
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.exec(ctx, s.q.revokeSession, millis(at), id)
	if err != nil {
		return fmt.Errorf("sqlstore: revoke session: %w", err)
	}
	// A session revoked already matches nothing; tell it apart from a
	// missing one.
	if err := s.updatedOrExists(ctx, res, s.q.sessionExists, id); err != nil {
		return fmt.Errorf("sqlstore: revoke session: %w", err)
	}
	return nil
}

// RotateRefreshToken spends the refresh token whose IDHash is oldHash and
// stores next in one transaction, as [auth.TokenStore] specifies.
//
// On SQLite and PostgreSQL the success path is two statements: a conditional
// UPDATE ... RETURNING that spends the token only while it is unused and its
// session is live, and the INSERT of next. When the UPDATE matches nothing,
// one SELECT tells why. On MySQL, which has no UPDATE ... RETURNING, a
// SELECT ... FOR UPDATE locks the token and its session first. Either way, of
// concurrent rotations of one token, in any number of processes, at most one
// succeeds.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.RefreshToken, error) {
	if next == nil {
		return nil, errors.New("sqlstore: rotate refresh token: nil next token")
	}
	var old *auth.RefreshToken
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if s.dialect == MySQL {
			old, err = s.spendLocked(ctx, tx, oldHash, at)
		} else {
			old, err = s.spendReturning(ctx, tx, oldHash, at)
		}
		if err != nil {
			return err
		}
		return s.insertToken(ctx, tx, next)
	})
	switch {
	case err == nil:
		return old, nil
	case errors.Is(err, auth.ErrTokenUsed), errors.Is(err, auth.ErrSessionRevoked):
		return old, err
	case errors.Is(err, auth.ErrNotFound):
		return nil, err
	}
	return nil, fmt.Errorf("sqlstore: rotate refresh token: %w", err)
}

// spendReturning spends the token with a single conditional UPDATE ...
// RETURNING (SQLite and PostgreSQL).
func (s *Store) spendReturning(ctx context.Context, tx *sql.Tx, oldHash string, at time.Time) (*auth.RefreshToken, error) {
	t := auth.RefreshToken{IDHash: oldHash}
	var created, expires int64
	usedAt := millis(at)
	err := s.txQueryRow(ctx, tx, s.q.rotateReturn, usedAt, oldHash).Scan(&t.SessionID, &t.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s.tokenState(ctx, tx, oldHash)
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromMillis(usedAt)
	return &t, nil
}

// spendLocked locks the token and its session with SELECT ... FOR UPDATE,
// checks them, and spends the token (MySQL).
func (s *Store) spendLocked(ctx context.Context, tx *sql.Tx, oldHash string, at time.Time) (*auth.RefreshToken, error) {
	t, err := s.scanTokenState(s.txQueryRow(ctx, tx, s.q.rotateLock, oldHash), oldHash)
	if err != nil {
		return t, err
	}
	usedAt := millis(at)
	if err := spendLockedRow(ctx, tx, s.q.rotateSpend, usedAt, oldHash); err != nil {
		return nil, err
	}
	t.UsedAt = fromMillis(usedAt)
	return t, nil
}

// spendLockedRow runs the UPDATE that marks a row locked by SELECT ... FOR
// UPDATE as used (MySQL), and fails unless it changed exactly that row. The
// lock makes any other count unreachable; refusing rather than going on
// keeps a token from being spent twice.
func spendLockedRow(ctx context.Context, tx *sql.Tx, query string, usedAt int64, hash string) error {
	res, err := tx.ExecContext(ctx, query, usedAt, hash)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("spending a locked row changed %d rows", n)
	}
	return nil
}

// tokenState reads the token and its session to tell why it could not be
// spent.
func (s *Store) tokenState(ctx context.Context, tx *sql.Tx, oldHash string) (*auth.RefreshToken, error) {
	t, err := s.scanTokenState(s.txQueryRow(ctx, tx, s.q.tokenState, oldHash), oldHash)
	if err == nil {
		// Unused with a live session, yet the conditional update matched
		// nothing: only a concurrent writer that has since rolled back can
		// cause this. Report it rather than guess.
		return nil, errors.New("token is unused and its session live, but it could not be spent")
	}
	return t, err
}

// scanTokenState scans a token joined with its session (the tokenState and
// rotateLock queries) and returns the token with a nil error when it can be
// spent, or with [auth.ErrTokenUsed] or [auth.ErrSessionRevoked] when it
// cannot. A missing token, or one whose session no longer exists, is
// [auth.ErrNotFound].
func (s *Store) scanTokenState(row *sql.Row, oldHash string) (*auth.RefreshToken, error) {
	t := auth.RefreshToken{IDHash: oldHash}
	var (
		created, expires int64
		used, revoked    sql.NullInt64
		sessionID        sql.NullString
	)
	err := row.Scan(&t.SessionID, &t.UserID, &created, &expires, &used, &sessionID, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromNullMillis(used)
	switch {
	case used.Valid:
		return &t, auth.ErrTokenUsed
	case !sessionID.Valid:
		return nil, auth.ErrNotFound
	case revoked.Valid:
		return &t, auth.ErrSessionRevoked
	}
	return &t, nil
}

// DeleteExpired removes the refresh tokens, the sessions and the one-time
// tokens whose ExpiresAt is before the given time, and the remaining tokens
// of those sessions, and the limiter's rows (see [Store.Take]) whose window
// and delay both ended before it, and returns how many rows it removed. It deletes in
// batches of at most the configured batch size (see [WithDeleteBatchSize]),
// each its own statement, so that no lock is held for long; rows removed by
// batches that completed before an error or a cancelled context stay
// removed, and the count returned with the error includes them.
func (s *Store) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	cutoff := millis(before)
	var total int64
	for _, query := range []string{s.q.deleteTokens, s.q.deleteOrphans, s.q.deleteSessions, s.q.deleteOnce, s.lq.sweep} {
		for {
			res, err := s.exec(ctx, query, cutoff)
			if err != nil {
				return total, fmt.Errorf("sqlstore: delete expired: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("sqlstore: delete expired: %w", err)
			}
			total += n
			if n < int64(s.batch) {
				break
			}
		}
	}
	return total, nil
}
