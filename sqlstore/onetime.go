package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ingestiq/auth"
)

// CreateOneTimeToken inserts t. A one-time token with the same IDHash, or
// one naming a user that does not exist where the database enforces the
// foreign key, is the database's error, returned wrapped.
func (s *Store) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken) error {
	if t == nil {
		return errors.New("sqlstore: create one-time token: nil token")
	}
	_, err := s.exec(ctx, s.q.insertOnce, t.IDHash, t.Purpose, t.UserID,
		millis(t.CreatedAt), millis(t.ExpiresAt), nullMillis(t.UsedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create one-time token: %w", err)
	}
	return nil
}

// RevokeOneTimeTokens spends every unspent one-time token of the user with
// the given purpose in one conditional UPDATE, and returns how many. A
// concurrent ConsumeOneTimeToken of one of them either spends it first (and
// this leaves it) or finds it spent.
func (s *Store) RevokeOneTimeTokens(ctx context.Context, userID, purpose string, at time.Time) (int64, error) {
	res, err := s.exec(ctx, s.q.revokeOnce, millis(at), userID, purpose)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke one-time tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke one-time tokens: %w", err)
	}
	return n, nil
}

// ConsumeOneTimeToken spends the one-time token whose IDHash is hash and
// whose Purpose is purpose, setting its UsedAt to at, and returns it as
// spent. It returns [auth.ErrNotFound] when there is no such unused token
// (missing, of another purpose, or spent already), which it leaves as it
// was. It does not check expiry.
//
// On SQLite and PostgreSQL it is one conditional UPDATE ... RETURNING; on
// MySQL a transaction that locks the row with SELECT ... FOR UPDATE, checks
// it, and spends it. Either way, of concurrent calls with one hash, in any
// number of processes, at most one succeeds.
func (s *Store) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	var (
		t   *auth.OneTimeToken
		err error
	)
	if s.dialect == MySQL {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			t, err = s.consumeLocked(ctx, tx, hash, purpose, at)
			return err
		})
	} else {
		t, err = s.consumeReturning(ctx, hash, purpose, at)
	}
	switch {
	case err == nil:
		return t, nil
	case errors.Is(err, auth.ErrNotFound):
		return nil, err
	}
	return nil, fmt.Errorf("sqlstore: consume one-time token: %w", err)
}

// consumeReturning spends the token with a single conditional UPDATE ...
// RETURNING (SQLite and PostgreSQL).
func (s *Store) consumeReturning(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	t := auth.OneTimeToken{IDHash: hash, Purpose: purpose}
	var created, expires int64
	usedAt := millis(at)
	err := s.queryRow(ctx, s.q.consumeReturning, usedAt, hash, purpose).Scan(&t.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromMillis(usedAt)
	return &t, nil
}

// consumeLocked locks the token with SELECT ... FOR UPDATE, checks it, and
// spends it (MySQL). A concurrent consumption waits for the lock and then
// reads the committed used_at.
func (s *Store) consumeLocked(ctx context.Context, tx *sql.Tx, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	t := auth.OneTimeToken{IDHash: hash, Purpose: purpose}
	var (
		created, expires int64
		used             sql.NullInt64
	)
	err := s.txQueryRow(ctx, tx, s.q.consumeLock, hash, purpose).Scan(&t.UserID, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && used.Valid {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	usedAt := millis(at)
	if err := s.spendLockedRow(ctx, tx, s.q.consumeSpend, usedAt, hash); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	t.UsedAt = fromMillis(usedAt)
	return &t, nil
}

// OneTimeToken returns the unused one-time token whose IDHash is hash and
// whose Purpose is purpose, without spending it. It returns
// [auth.ErrNotFound] when there is no such unused token. It does not check
// expiry.
func (s *Store) OneTimeToken(ctx context.Context, hash, purpose string) (*auth.OneTimeToken, error) {
	t := auth.OneTimeToken{IDHash: hash, Purpose: purpose}
	var created, expires int64
	err := s.db.QueryRowContext(ctx, s.q.oneTimeToken, hash, purpose).Scan(&t.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read one-time token: %w", err)
	}
	t.CreatedAt = fromMillis(created)
	t.ExpiresAt = fromMillis(expires)
	return &t, nil
}
