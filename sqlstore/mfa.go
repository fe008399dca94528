package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.SecondFactorStore = (*Store)(nil)

// CreateSecondFactor stores f as its user's factor in one transaction: it
// removes the user's unverified factor, if any, and inserts f, or returns
// [auth.ErrFactorEnrolled] when the user has a verified factor. Two
// concurrent enrollments of one user may leave the second with the
// database's unique-key error.
func (s *Store) CreateSecondFactor(ctx context.Context, f *auth.SecondFactor) error {
	if f == nil {
		return errors.New("sqlstore: create second factor: nil factor")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.factorDeleteUnverified, f.UserID); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, s.q.factorCount, f.UserID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return auth.ErrFactorEnrolled
		}
		_, err := tx.ExecContext(ctx, s.q.factorInsert, f.ID, f.UserID, f.Secret,
			millis(f.CreatedAt), nullMillis(f.VerifiedAt), f.LastStep)
		return err
	})
	if errors.Is(err, auth.ErrFactorEnrolled) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create second factor: %w", err)
	}
	return nil
}

// SecondFactor returns the user's factor, or [auth.ErrNotFound].
func (s *Store) SecondFactor(ctx context.Context, userID string) (*auth.SecondFactor, error) {
	var (
		f        auth.SecondFactor
		created  int64
		verified sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, s.q.factorByUser, userID).Scan(&f.ID, &f.UserID, &f.Secret, &created, &verified, &f.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: second factor: %w", err)
	}
	f.CreatedAt = fromMillis(created)
	f.VerifiedAt = fromNullMillis(verified)
	return &f, nil
}

// ConfirmSecondFactor marks the factor verified with one conditional
// UPDATE and replaces the user's recovery codes, in one transaction.
func (s *Store) ConfirmSecondFactor(ctx context.Context, id string, step int64, at time.Time, codeHashes []string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.factorConfirm, millis(at), step, id, step)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = auth.ErrNotFound
			}
			return err
		}
		var userID string
		if err := tx.QueryRowContext(ctx, s.q.factorUser, id).Scan(&userID); err != nil {
			return err
		}
		return s.replaceRecovery(ctx, tx, userID, codeHashes)
	})
	if errors.Is(err, auth.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlstore: confirm second factor: %w", err)
	}
	return nil
}

func (s *Store) replaceRecovery(ctx context.Context, tx *sql.Tx, userID string, hashes []string) error {
	if _, err := tx.ExecContext(ctx, s.q.recoveryDeleteAll, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, s.q.recoveryInsert, userID, h); err != nil {
			return err
		}
	}
	return nil
}

// UseSecondFactorStep records step as the factor's last accepted step with
// one conditional UPDATE (SET last_step = step WHERE id = ? AND last_step <
// step): of concurrent calls with one step, in any number of processes,
// exactly one changes the row. It returns [auth.ErrTokenUsed] when the row
// was not changed and [auth.ErrNotFound] when there is no such factor.
func (s *Store) UseSecondFactorStep(ctx context.Context, id string, step int64) error {
	res, err := s.db.ExecContext(ctx, s.q.factorUseStep, step, id, step)
	if err != nil {
		return fmt.Errorf("sqlstore: use second factor step: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: use second factor step: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := s.exists(ctx, s.q.factorExists, id); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return err
		}
		return fmt.Errorf("sqlstore: use second factor step: %w", err)
	}
	return auth.ErrTokenUsed
}

// DeleteSecondFactor removes the user's factor and recovery codes in one
// transaction, or returns [auth.ErrNotFound].
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.recoveryDeleteAll, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q.factorDelete, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err == nil {
				err = auth.ErrNotFound
			}
			return err
		}
		return nil
	})
	if errors.Is(err, auth.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete second factor: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes replaces the user's recovery codes in one
// transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.replaceRecovery(ctx, tx, userID, codeHashes) }); err != nil {
		return fmt.Errorf("sqlstore: replace recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode spends a recovery code by deleting its row: of concurrent
// calls, exactly one deletes it.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string) error {
	res, err := s.db.ExecContext(ctx, s.q.recoveryUse, userID, codeHash)
	if err != nil {
		return fmt.Errorf("sqlstore: use recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: use recovery code: %w", err)
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// RecoveryCodesLeft counts the user's unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.recoveryCount, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: recovery codes left: %w", err)
	}
	return n, nil
}
