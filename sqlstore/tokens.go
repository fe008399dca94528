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
			sess.UserAgent, sess.IPAddress, sess.AMR, sess.AAL, sess.OrganizationID); err != nil {
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
	dest := append([]any{&sess.ID, &sess.UserID, &created, &expires, &revoked, &sess.UserAgent, &sess.IPAddress, &sess.AMR, &sess.AAL, &sess.OrganizationID}, extra...)
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
// stores next atomically, as [auth.TokenStore] specifies: the spent token
// records next.IDHash as its successor, and the result carries the
// organization and role of the token's user, read in the same step, so that
// a refresh reads no user apart.
//
// On PostgreSQL the success path is one statement, run without BEGIN and
// COMMIT: a data-modifying WITH query whose UPDATE spends the token only
// while it is unused, its session live and its user present, and returns
// the user's organization and role, and whose INSERT stores next only if
// the UPDATE spent the token and next claims the spent token's session and
// user (a next that claims another is not stored; the spent token, reported
// as Old, shows the mismatch). On SQLite it is one transaction of two
// statements: a conditional UPDATE ... RETURNING that spends the token and
// reads its user, and the INSERT of next. On MySQL, which has no UPDATE ...
// RETURNING, a SELECT ... FOR UPDATE of the token with its session,
// successor and user comes first, in the same transaction. When the token
// cannot be spent, one SELECT of the token with its session, its successor
// and its user tells why. Either way, of concurrent rotations of one token,
// in any number of processes, at most one succeeds, and the others (which
// wait for its commit) report its successor.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	if next == nil {
		return nil, errors.New("sqlstore: rotate refresh token: nil next token")
	}
	var (
		r   *auth.Rotation
		err error
	)
	if s.dialect == Postgres {
		r, err = s.rotateStatement(ctx, oldHash, next, at)
	} else {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			if s.dialect == MySQL {
				r, err = s.spendLocked(ctx, tx, oldHash, next.IDHash, at)
			} else {
				r, err = s.spendReturning(ctx, tx, oldHash, next.IDHash, at)
			}
			if err != nil {
				return err
			}
			return s.insertToken(ctx, tx, next)
		})
	}
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, auth.ErrTokenUsed), errors.Is(err, auth.ErrSessionRevoked):
		return r, err
	case errors.Is(err, auth.ErrNotFound):
		return nil, err
	}
	return nil, fmt.Errorf("sqlstore: rotate refresh token: %w", err)
}

// maxRotateAttempts bounds how often rotateStatement runs its statement when
// PostgreSQL fails it with a serialization failure or a deadlock while the
// token is still unspent.
const maxRotateAttempts = 3

// rotateStatement runs the whole rotation as the one statement rotateCTE
// (PostgreSQL), in autocommit: the statement is its own transaction. When it
// spends nothing, the token's state tells why.
//
// Under READ COMMITTED, the default, a concurrent rotation of the same token
// waits for the winner's row lock, re-checks used_at against the committed
// row, and matches nothing. A server whose default_transaction_isolation is
// REPEATABLE READ or SERIALIZABLE fails it with a serialization failure
// (SQLSTATE 40001) instead; nothing changed, so the token's state, read
// afterwards, gives the same answer, and the statement runs again (at most
// maxRotateAttempts times) only when the token is still unspent.
func (s *Store) rotateStatement(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	usedAt := millis(at)
	for attempt := 1; ; attempt++ {
		t := auth.RefreshToken{IDHash: oldHash}
		var (
			created, expires, inserted int64
			org, role                  string
		)
		err := s.queryRow(ctx, s.q.rotateCTE, usedAt, next.IDHash, oldHash,
			millis(next.CreatedAt), millis(next.ExpiresAt), nullMillis(next.UsedAt), next.SessionID, next.UserID).
			Scan(&t.SessionID, &t.UserID, &created, &expires, &org, &role, &inserted)
		if err == nil {
			if inserted != 1 && t.SessionID == next.SessionID && t.UserID == next.UserID {
				// Unreachable: ins selects every row upd returns.
				return nil, fmt.Errorf("the token was spent but its successor stored %d rows", inserted)
			}
			t.CreatedAt = fromMillis(created)
			t.ExpiresAt = fromMillis(expires)
			t.UsedAt = fromMillis(usedAt)
			t.SuccessorHash = next.IDHash
			return &auth.Rotation{Old: &t, UserRead: true, OrganizationID: org, Role: role}, nil
		}
		retry := isRetryable(err)
		if !retry && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		r, err := s.tokenState(ctx, nil, oldHash)
		if retry && attempt < maxRotateAttempts && errors.Is(err, errSpendable) {
			continue
		}
		return r, err
	}
}

// isRetryable reports whether err is a PostgreSQL serialization failure
// (40001) or deadlock (40P01): the statement changed nothing and may run
// again.
func isRetryable(err error) bool {
	var st sqlStater
	if !errors.As(err, &st) {
		return false
	}
	code := st.SQLState()
	return code == "40001" || code == "40P01"
}

// spendReturning spends the token with a single conditional UPDATE ...
// RETURNING (SQLite).
func (s *Store) spendReturning(ctx context.Context, tx *sql.Tx, oldHash, nextHash string, at time.Time) (*auth.Rotation, error) {
	t := auth.RefreshToken{IDHash: oldHash}
	var (
		created, expires int64
		org, role        sql.NullString
	)
	usedAt := millis(at)
	err := s.txQueryRow(ctx, tx, s.q.rotateReturn, usedAt, nextHash, oldHash).Scan(&t.SessionID, &t.UserID, &created, &expires, &org, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return s.tokenState(ctx, tx, oldHash)
	}
	if err != nil {
		return nil, err
	}
	if !org.Valid || !role.Valid {
		return nil, auth.ErrNotFound // the user or membership is gone; the transaction rolls back
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromMillis(usedAt)
	t.SuccessorHash = nextHash
	return &auth.Rotation{Old: &t, UserRead: true, OrganizationID: org.String, Role: role.String}, nil
}

// spendLocked locks the token, its session, its successor and its user with
// SELECT ... FOR UPDATE, checks them, and spends the token (MySQL).
func (s *Store) spendLocked(ctx context.Context, tx *sql.Tx, oldHash, nextHash string, at time.Time) (*auth.Rotation, error) {
	r, err := s.scanTokenState(s.txQueryRow(ctx, tx, s.q.rotateLock, oldHash), oldHash)
	if err != nil {
		return r, err
	}
	usedAt := millis(at)
	if err := s.spendLockedRow(ctx, tx, s.q.rotateSpend, usedAt, nextHash, oldHash); err != nil {
		return nil, err
	}
	r.Old.UsedAt = fromMillis(usedAt)
	r.Old.SuccessorHash = nextHash
	return r, nil
}

// spendLockedRow runs the UPDATE that marks a row locked by SELECT ... FOR
// UPDATE as used (MySQL), with the given arguments, and fails unless it
// changed exactly that row. The lock makes any other count unreachable;
// refusing rather than going on keeps a token from being spent twice. The
// statement is the cached prepared one, as the lock before it is: unprepared,
// the MySQL driver would prepare, run and close it, a round trip more.
func (s *Store) spendLockedRow(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	res, err := s.txExec(ctx, tx, query, args...)
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

// tokenState reads the token with its session, successor and user to tell
// why it could not be spent.
// It reads in tx, or outside any transaction when tx is nil.
func (s *Store) tokenState(ctx context.Context, tx *sql.Tx, oldHash string) (*auth.Rotation, error) {
	var row *sql.Row
	if tx == nil {
		row = s.queryRow(ctx, s.q.tokenState, oldHash)
	} else {
		row = s.txQueryRow(ctx, tx, s.q.tokenState, oldHash)
	}
	r, err := s.scanTokenState(row, oldHash)
	if err == nil {
		// Unused with a live session, yet the conditional update matched
		// nothing: only a concurrent writer that has since rolled back can
		// cause this. Report it rather than guess.
		return nil, errSpendable
	}
	return r, err
}

// errSpendable is tokenState's error for a token that could be spent.
var errSpendable = errors.New("token is unused and its session live, but it could not be spent")

// scanTokenState scans a token joined with its session, its successor and
// its user (the tokenState and rotateLock queries) and returns the Rotation
// with a nil error when the token can be spent (UserRead set), or with
// [auth.ErrTokenUsed] (and the successor while it is unused and the session
// live) or [auth.ErrSessionRevoked] when it cannot. A missing token, or one
// whose session or user no longer exists, is [auth.ErrNotFound].
func (s *Store) scanTokenState(row *sql.Row, oldHash string) (*auth.Rotation, error) {
	t := auth.RefreshToken{IDHash: oldHash}
	var (
		created, expires          int64
		used, revoked             sql.NullInt64
		successor, sessionID      sql.NullString
		nSession, nUser           sql.NullString
		nCreated, nExpires, nUsed sql.NullInt64
		org, role                 sql.NullString
	)
	err := row.Scan(&t.SessionID, &t.UserID, &created, &expires, &used, &successor, &sessionID, &revoked,
		&nSession, &nUser, &nCreated, &nExpires, &nUsed, &org, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromNullMillis(used)
	t.SuccessorHash = successor.String
	r := &auth.Rotation{Old: &t}
	switch {
	case !sessionID.Valid || !org.Valid || !role.Valid:
		return nil, auth.ErrNotFound
	case used.Valid:
		if nSession.Valid && !nUsed.Valid && !revoked.Valid {
			r.Successor = &auth.RefreshToken{
				IDHash:    successor.String,
				SessionID: nSession.String,
				UserID:    nUser.String,
				CreatedAt: fromMillis(nCreated.Int64),
				ExpiresAt: fromMillis(nExpires.Int64),
			}
			r.UserRead, r.OrganizationID, r.Role = true, org.String, role.String
		}
		return r, auth.ErrTokenUsed
	case revoked.Valid:
		return r, auth.ErrSessionRevoked
	}
	r.UserRead, r.OrganizationID, r.Role = true, org.String, role.String
	return r, nil
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
