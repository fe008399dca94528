package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// This file holds the extension points a way in built outside the core (a
// nested module such as passkey) needs besides OpenSession: session
// options, the second step of a password login, the fresh proof asked
// before adding a credential, throttling by client address, and audit.

// SessionOption changes how [Authenticator.OpenSession] opens a session.
type SessionOption func(*sessionOptions)

type sessionOptions struct {
	multiFactor bool
}

// MultiFactor tells [Authenticator.OpenSession] that the way in proved two
// factors with a single method, as a passkey does with user verification
// (something held, and a PIN or biometric): the session counts as
// assurance level 2 and no second step is asked for.
func MultiFactor() SessionOption {
	return func(o *sessionOptions) { o.multiFactor = true }
}

// MFATicketUser returns the user an MFA ticket (the Ticket of an
// MFA_REQUIRED error) was issued to, for a way in that proves the second
// step itself before it calls [Authenticator.RedeemMFATicket]. A forged,
// expired or spent ticket, or one whose user is gone, is
// [ErrInvalidToken]. Each call counts against the ticket's attempts, as a
// code does at POST /mfa/verify.
func (a *Authenticator) MFATicketUser(ctx context.Context, ticket string) (*User, error) {
	p, err := a.mfa.parseTicket(ticket, a.cfg.Now())
	if err != nil {
		a.audit(ctx, AuditMFATicketInvalid)
		return nil, err
	}
	if err := a.take(ctx, "mfa.verify", keyMFATicket+p.ID, a.ticketBackoff()); err != nil {
		return nil, err
	}
	ot, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	if _, err := ot.OneTimeToken(ctx, hashTokenID(p.ID), PurposeMFATicket); errors.Is(err, ErrNotFound) {
		a.audit(ctx, AuditMFATicketReuse, "user_id", p.UserID)
		return nil, ErrInvalidToken
	} else if err != nil {
		return nil, fmt.Errorf("auth: read MFA ticket: %w", err)
	}
	u, err := a.users.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	return u, nil
}

// RedeemMFATicket completes a login that answered MFA_REQUIRED once a way
// in has proved the second step with the method method (an RFC 8176 name
// such as "webauthn", which the ticket's Methods listed): it spends the
// ticket, atomically, and returns what Login returns, for a session whose
// amr is the first step's methods followed by method, at assurance level
// 2. Call it only after the proof, for the user [Authenticator.MFATicketUser]
// returned. A forged, expired or spent ticket is [ErrInvalidToken].
func (a *Authenticator) RedeemMFATicket(ctx context.Context, ticket, method string) (*AuthResult, error) {
	now := a.cfg.Now()
	p, err := a.mfa.parseTicket(ticket, now)
	if err != nil {
		a.audit(ctx, AuditMFATicketInvalid)
		return nil, err
	}
	if method == "" || slices.Contains(p.AMR, method) {
		return nil, fmt.Errorf("auth: RedeemMFATicket: method %q is not a second factor", method)
	}
	ot, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	if _, err := ot.ConsumeOneTimeToken(ctx, hashTokenID(p.ID), PurposeMFATicket, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			a.audit(ctx, AuditMFATicketReuse, "user_id", p.UserID)
			return nil, ErrInvalidToken
		}
		return nil, fmt.Errorf("auth: spend MFA ticket: %w", err)
	}
	u, err := a.users.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	if err := a.mfaProved(ctx, u.ID); err != nil {
		return nil, err
	}
	res, s, err := a.openSession(ctx, u, append(slices.Clone(p.AMR), method), now)
	if err != nil {
		return nil, err
	}
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditLoginSuccess, "user_id", u.ID, "session_id", s.ID, "aal", 2, "method", method)
	return res, nil
}

// FreshProof checks that the caller (c, the claims of their access token)
// has just proved who they are, before a new credential is added to the
// account, as enrolling TOTP does: with password, checked and counted like
// a login; or, when password is "", with a session opened within
// [MFAConfig.FreshLogin] (FRESH_LOGIN_REQUIRED otherwise). It returns the
// user.
func (a *Authenticator) FreshProof(ctx context.Context, c *Claims, password string) (*User, error) {
	if password != "" {
		return a.confirmPassword(ctx, c.UserID, password)
	}
	s, err := a.tokens.Session(ctx, c.SessionID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("auth: look up session: %w", err)
	}
	if err != nil || a.cfg.Now().Sub(s.CreatedAt) > a.cfg.MFA.FreshLogin {
		return nil, ErrFreshLoginRequired
	}
	u, err := a.User(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	return u, err
}

// ThrottleClient returns RATE_LIMITED when the client address of ctx has
// failed too many sign-ins lately (the counter password logins share,
// under [ThrottleConfig.LoginAddressBackoff]), and nil otherwise. A way in
// calls it before it checks a proof, and [Authenticator.ClientFailed] when
// the proof is wrong.
func (a *Authenticator) ThrottleClient(ctx context.Context, action string) error {
	return a.throttled(ctx, action, addressThrottleKey(ctx, keyLoginAddress))
}

// ClientFailed counts one failed sign-in against the client address of
// ctx, for [Authenticator.ThrottleClient].
func (a *Authenticator) ClientFailed(ctx context.Context) error {
	if err := a.hit(ctx, addressThrottleKey(ctx, keyLoginAddress), a.cfg.Throttle.LoginAddressBackoff); err != nil {
		return fmt.Errorf("auth: record attempt: %w", err)
	}
	return nil
}

// Audit records a security event of a way in built outside the core
// through [Config.Logger], as the core's own events are: event is one of
// the [AuditEvent] constants, args its attributes as key-value pairs.
// String values are escaped and capped as the core's client-supplied
// strings are.
func (a *Authenticator) Audit(ctx context.Context, event AuditEvent, args ...any) {
	safe := slices.Clone(args)
	for i := 1; i < len(safe); i += 2 {
		if v, ok := safe[i].(string); ok {
			safe[i] = logSafe(v)
		}
	}
	a.audit(ctx, event, safe...)
}
