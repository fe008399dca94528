package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.PasskeyStore = (*Store)(nil)

func clonePasskey(p *auth.Passkey) *auth.Passkey {
	c := *p
	c.PublicKey = slices.Clone(p.PublicKey)
	c.Transports = slices.Clone(p.Transports)
	c.AAGUID = slices.Clone(p.AAGUID)
	return &c
}

// CreatePasskey stores a copy of p, or returns [auth.ErrCredentialExists]
// when its credential id is stored already.
func (s *Store) CreatePasskey(ctx context.Context, p *auth.Passkey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.passkeys[p.ID]; ok {
		return auth.ErrCredentialExists
	}
	if _, ok := s.users[p.UserID]; !ok {
		return auth.ErrNotFound
	}
	if s.passkeys == nil {
		s.passkeys = make(map[string]*auth.Passkey)
	}
	c := clonePasskey(p)
	c.CreatedAt, c.LastUsedAt = c.CreatedAt.UTC(), c.LastUsedAt.UTC()
	s.passkeys[p.ID] = c
	return nil
}

// Passkey returns a copy of the passkey id, or [auth.ErrNotFound].
func (s *Store) Passkey(ctx context.Context, id string) (*auth.Passkey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.passkeys[id]
	if !ok {
		return nil, auth.ErrNotFound
	}
	return clonePasskey(p), nil
}

// Passkeys returns copies of the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID string) ([]*auth.Passkey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []*auth.Passkey{}
	for _, p := range s.passkeys {
		if p.UserID == userID {
			out = append(out, clonePasskey(p))
		}
	}
	slices.SortFunc(out, func(a, b *auth.Passkey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UsePasskey records a sign-in with the passkey when signCount goes
// forward (or both counts are zero), else returns [auth.ErrTokenUsed].
func (s *Store) UsePasskey(ctx context.Context, id string, signCount uint32, flags uint8, backupState bool, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok {
		return auth.ErrNotFound
	}
	if !(signCount > p.SignCount || signCount == 0 && p.SignCount == 0) {
		return auth.ErrTokenUsed
	}
	p.SignCount, p.Flags, p.BackupState, p.LastUsedAt = signCount, flags, backupState, at.UTC()
	return nil
}

// RenamePasskey renames the user's passkey id, or returns
// [auth.ErrNotFound].
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok || p.UserID != userID {
		return auth.ErrNotFound
	}
	p.Name = name
	return nil
}

// DeletePasskey removes the user's passkey id, or returns
// [auth.ErrNotFound]; with keepOne, [auth.ErrLastSignInMethod] when it is
// the user's last way in among passkeys and external identities, under the
// store's lock.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string, keepOne bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.passkeys[id]
	if !ok || p.UserID != userID {
		return auth.ErrNotFound
	}
	if keepOne && s.waysIn(userID) < 2 {
		return auth.ErrLastSignInMethod
	}
	delete(s.passkeys, id)
	return nil
}

// waysIn counts the user's passkeys and external identities; the caller
// holds the lock.
func (s *Store) waysIn(userID string) int {
	n := 0
	for _, p := range s.passkeys {
		if p.UserID == userID {
			n++
		}
	}
	for _, rec := range s.identities {
		if rec.UserID == userID {
			n++
		}
	}
	return n
}

// deleteUserPasskeys removes the user's passkeys and ceremonies; the
// caller holds the lock.
func (s *Store) deleteUserPasskeys(userID string) {
	for id, p := range s.passkeys {
		if p.UserID == userID {
			delete(s.passkeys, id)
		}
	}
	for h, c := range s.ceremonies {
		if c.UserID == userID {
			delete(s.ceremonies, h)
		}
	}
}

// CreatePasskeyCeremony stores a copy of c.
func (s *Store) CreatePasskeyCeremony(ctx context.Context, c *auth.PasskeyCeremony) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ceremonies == nil {
		s.ceremonies = make(map[string]*auth.PasskeyCeremony)
	}
	rec := *c
	rec.Data = slices.Clone(c.Data)
	rec.CreatedAt, rec.ExpiresAt = rec.CreatedAt.UTC(), rec.ExpiresAt.UTC()
	s.ceremonies[c.IDHash] = &rec
	return nil
}

// ConsumePasskeyCeremony removes the ceremony and returns it, or returns
// [auth.ErrNotFound]; of concurrent calls one succeeds.
func (s *Store) ConsumePasskeyCeremony(ctx context.Context, hash string) (*auth.PasskeyCeremony, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ceremonies[hash]
	if !ok {
		return nil, auth.ErrNotFound
	}
	delete(s.ceremonies, hash)
	return c, nil
}

// DeleteExpiredPasskeyCeremonies removes the ceremonies that expired
// before before.
func (s *Store) DeleteExpiredPasskeyCeremonies(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for h, c := range s.ceremonies {
		if c.ExpiresAt.Before(before) {
			delete(s.ceremonies, h)
			n++
		}
	}
	return n, nil
}
