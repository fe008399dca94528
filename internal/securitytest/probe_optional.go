package securitytest

import (
	"context"
	"errors"
	"time"

	"github.com/ingestiq/auth"
)

// The probe forwards the account-lifecycle capabilities of the stores as
// opened, so that rows reach the routes that need them (a wrapper that
// only embedded UserStore and TokenStore would hide them, as DESIGN.md
// warns). A store without one answers errors.ErrUnsupported, as the core
// does for a missing capability.

var (
	_ auth.SessionLister       = (*probe)(nil)
	_ auth.OneTimeTokenStore   = (*probe)(nil)
	_ auth.EmailVerifier       = (*probe)(nil)
	_ auth.OneTimeTokenRevoker = (*probe)(nil)
)

func (p *probe) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	if err := p.enter(ctx, "UserSessions"); err != nil {
		return nil, err
	}
	sl, ok := p.TokenStore.(auth.SessionLister)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sl.UserSessions(ctx, userID)
}

func (p *probe) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	if err := p.enter(ctx, "RevokeUserSessions"); err != nil {
		return 0, err
	}
	sl, ok := p.TokenStore.(auth.SessionLister)
	if !ok {
		return 0, errors.ErrUnsupported
	}
	return sl.RevokeUserSessions(ctx, userID, except, at)
}

func (p *probe) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken) error {
	if err := p.enter(ctx, "CreateOneTimeToken"); err != nil {
		return err
	}
	s, ok := p.TokenStore.(auth.OneTimeTokenStore)
	if !ok {
		return errors.ErrUnsupported
	}
	return s.CreateOneTimeToken(ctx, t)
}

func (p *probe) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	if err := p.enter(ctx, "ConsumeOneTimeToken"); err != nil {
		return nil, err
	}
	s, ok := p.TokenStore.(auth.OneTimeTokenStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return s.ConsumeOneTimeToken(ctx, hash, purpose, at)
}

func (p *probe) SetEmailVerified(ctx context.Context, userID string, at time.Time) error {
	if err := p.enter(ctx, "SetEmailVerified"); err != nil {
		return err
	}
	s, ok := p.UserStore.(auth.EmailVerifier)
	if !ok {
		return errors.ErrUnsupported
	}
	return s.SetEmailVerified(ctx, userID, at)
}

func (p *probe) OneTimeToken(ctx context.Context, hash, purpose string) (*auth.OneTimeToken, error) {
	if err := p.enter(ctx, "OneTimeToken"); err != nil {
		return nil, err
	}
	s, ok := p.TokenStore.(auth.OneTimeTokenStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return s.OneTimeToken(ctx, hash, purpose)
}

// RevokeOneTimeTokens forwards to the store; a store without the
// capability revokes nothing, as the Authenticator does without it.
func (p *probe) RevokeOneTimeTokens(ctx context.Context, userID, purpose string, at time.Time) (int64, error) {
	if err := p.enter(ctx, "RevokeOneTimeTokens"); err != nil {
		return 0, err
	}
	s, ok := p.TokenStore.(auth.OneTimeTokenRevoker)
	if !ok {
		return 0, nil
	}
	return s.RevokeOneTimeTokens(ctx, userID, purpose, at)
}
