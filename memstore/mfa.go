package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.SecondFactorStore = (*Store)(nil)

// CreateSecondFactor stores a copy of f as its user's factor, replacing an
// unverified one, or returns [auth.ErrFactorEnrolled] when the user has a
// verified factor.
func (s *Store) CreateSecondFactor(ctx context.Context, f *auth.SecondFactor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.factors[f.UserID]; ok && !old.VerifiedAt.IsZero() {
		return auth.ErrFactorEnrolled
	}
	if s.factors == nil {
		s.factors = make(map[string]*auth.SecondFactor)
	}
	rec := *f
	rec.Secret = slices.Clone(f.Secret)
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.VerifiedAt = rec.VerifiedAt.UTC()
	s.factors[f.UserID] = &rec
	return nil
}

// SecondFactor returns a copy of the user's factor, or [auth.ErrNotFound].
func (s *Store) SecondFactor(ctx context.Context, userID string) (*auth.SecondFactor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.factors[userID]
	if !ok {
		return nil, auth.ErrNotFound
	}
	c := *f
	c.Secret = slices.Clone(f.Secret)
	return &c, nil
}

// factorByID returns the stored factor with the given id; the caller holds
// the lock. Users have one factor each, so a scan is enough.
func (s *Store) factorByID(id string) *auth.SecondFactor {
	for _, f := range s.factors {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// ConfirmSecondFactor implements [auth.SecondFactorStore].
func (s *Store) ConfirmSecondFactor(ctx context.Context, id string, step int64, at time.Time, codeHashes []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.factorByID(id)
	if f == nil || !f.VerifiedAt.IsZero() || f.LastStep >= step {
		return auth.ErrNotFound
	}
	f.VerifiedAt, f.LastStep = at.UTC(), step
	s.setRecovery(f.UserID, codeHashes)
	return nil
}

// UseSecondFactorStep implements [auth.SecondFactorStore].
func (s *Store) UseSecondFactorStep(ctx context.Context, id string, step int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.factorByID(id)
	if f == nil {
		return auth.ErrNotFound
	}
	if f.LastStep >= step {
		return auth.ErrTokenUsed
	}
	f.LastStep = step
	return nil
}

// DeleteSecondFactor implements [auth.SecondFactorStore].
func (s *Store) DeleteSecondFactor(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.factors[userID]; !ok {
		return auth.ErrNotFound
	}
	delete(s.factors, userID)
	delete(s.recovery, userID)
	return nil
}

// ReplaceRecoveryCodes implements [auth.SecondFactorStore].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setRecovery(userID, codeHashes)
	return nil
}

// setRecovery replaces the user's recovery codes; the caller holds the
// lock.
func (s *Store) setRecovery(userID string, hashes []string) {
	if s.recovery == nil {
		s.recovery = make(map[string]map[string]struct{})
	}
	set := make(map[string]struct{}, len(hashes))
	for _, h := range hashes {
		set[h] = struct{}{}
	}
	s.recovery[userID] = set
}

// UseRecoveryCode implements [auth.SecondFactorStore].
func (s *Store) UseRecoveryCode(ctx context.Context, userID, codeHash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.recovery[userID]
	if _, ok := set[codeHash]; !ok {
		return auth.ErrNotFound
	}
	delete(set, codeHash)
	return nil
}

// RecoveryCodesLeft implements [auth.SecondFactorStore].
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recovery[userID]), nil
}
