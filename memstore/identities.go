package memstore

import (
	"context"
	"slices"
	"strings"

	"github.com/ingestiq/auth"
)

var _ auth.ExternalIdentityStore = (*Store)(nil)

// identityKey is an identity's unique (issuer, subject).
type identityKey struct{ issuer, subject string }

// CreateExternalIdentity stores a copy of id, or returns
// [auth.ErrIdentityExists] when its issuer and subject are taken.
func (s *Store) CreateExternalIdentity(ctx context.Context, id *auth.ExternalIdentity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if id == nil {
		return errNilRecord
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id.UserID]; !ok {
		return auth.ErrNotFound
	}
	k := identityKey{id.Issuer, id.Subject}
	if _, ok := s.identities[k]; ok {
		return auth.ErrIdentityExists
	}
	if s.identities == nil {
		s.identities = make(map[identityKey]*auth.ExternalIdentity)
	}
	rec := *id
	rec.CreatedAt = rec.CreatedAt.UTC()
	s.identities[k] = &rec
	return nil
}

// ExternalIdentity returns a copy of the identity, or [auth.ErrNotFound].
func (s *Store) ExternalIdentity(ctx context.Context, issuer, subject string) (*auth.ExternalIdentity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.identities[identityKey{issuer, subject}]
	if !ok {
		return nil, auth.ErrNotFound
	}
	c := *rec
	return &c, nil
}

// UserExternalIdentities returns copies of the user's identities, oldest
// first. Identities are few, so a scan is enough.
func (s *Store) UserExternalIdentities(ctx context.Context, userID string) ([]*auth.ExternalIdentity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []*auth.ExternalIdentity{}
	for _, rec := range s.identities {
		if rec.UserID == userID {
			c := *rec
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *auth.ExternalIdentity) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteExternalIdentity removes the user's identity id, or returns
// [auth.ErrNotFound], or [auth.ErrLastSignInMethod] when keepOne is set
// and it is the user's last way in among external identities and
// passkeys.
func (s *Store) DeleteExternalIdentity(ctx context.Context, userID, id string, keepOne bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *identityKey
	for k, rec := range s.identities {
		if rec.UserID != userID {
			continue
		}
		if rec.ID == id {
			k := k
			found = &k
		}
	}
	if found == nil {
		return auth.ErrNotFound
	}
	if keepOne && s.waysIn(userID) < 2 {
		return auth.ErrLastSignInMethod
	}
	delete(s.identities, *found)
	return nil
}

// deleteUserIdentities removes the user's identities; the caller holds the
// lock.
func (s *Store) deleteUserIdentities(userID string) {
	for k, rec := range s.identities {
		if rec.UserID == userID {
			delete(s.identities, k)
		}
	}
}
