package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The methods of the built-in ways in.
var (
	amrPassword = []string{"pwd"}
)

// OpenSession opens a session for u, a user of the UserStore whom a way in
// has authenticated with the methods amr (RFC 8176 names: "pwd", "otp",
// "hwk", "fed", ...; at least one, each of lower-case letters, digits and
// "_"), and returns the user, its tokens and a device token, as Login does.
// The session's assurance level is derived from amr: 2 when it names two
// methods or more, 1 otherwise. It records [AuditLoginSuccess] with the
// amr. It is the session core of every way in: a nested module's passkey or
// OpenID Connect route authenticates the user, calls OpenSession and
// answers with [Authenticator.WriteAuthResult]. A single method (amr of
// one) stops half-way, as a password login does, when the account has a
// second factor: the error is then [ErrMFARequired] with a ticket, which
// POST /mfa/verify redeems for a session whose amr adds "otp". Under
// [MailConfig.RequireVerifiedEmail] it refuses a user whose email is not
// verified with [ErrEmailNotVerified], as Login does. It does no
// throttling of its own: the way in decides what proves the user. With
// [MultiFactor] the single method counts as two factors: the session is at
// assurance level 2 and no second step is asked for.
func (a *Authenticator) OpenSession(ctx context.Context, u *User, amr []string, opts ...SessionOption) (*AuthResult, error) {
	var o sessionOptions
	for _, opt := range opts {
		opt(&o)
	}
	if u == nil || u.ID == "" {
		return nil, errors.New("auth: OpenSession needs a stored user")
	}
	if len(amr) == 0 {
		return nil, errors.New("auth: OpenSession needs at least one authentication method")
	}
	for _, m := range amr {
		if m == "" || strings.TrimFunc(m, func(r rune) bool { return r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' }) != "" {
			return nil, fmt.Errorf("auth: OpenSession: invalid authentication method %q", m)
		}
	}
	if a.cfg.Mail.RequireVerifiedEmail && u.EmailVerifiedAt.IsZero() {
		a.audit(ctx, AuditLoginUnverified, "user_id", u.ID)
		return nil, ErrEmailNotVerified
	}
	if o.multiFactor {
		now := a.cfg.Now()
		res, s, err := a.openSessionAt(ctx, u, amr, 2, now)
		if err != nil {
			return nil, err
		}
		res.DeviceToken = a.issueDeviceToken(u.Email, now)
		a.audit(ctx, AuditLoginSuccess, "user_id", u.ID, "session_id", s.ID, "amr", strings.Join(amr, " "), "aal", 2)
		return res, nil
	}
	return a.signIn(ctx, u, amr, "amr", strings.Join(amr, " "))
}

// signIn is where a way in continues once it has proved the user with the
// methods amr. A sign-in by a single factor may stop half-way: when the
// account has a second factor, it returns the pending MFA_REQUIRED error,
// whose ticket [Authenticator.VerifyMFA] redeems, instead of tokens.
// Otherwise it opens the session with a device token and records
// [AuditLoginSuccess] with attrs.
func (a *Authenticator) signIn(ctx context.Context, u *User, amr []string, attrs ...any) (*AuthResult, error) {
	single := aalOf(amr) < 2
	if single {
		if err := a.secondStep(ctx, u, amr); err != nil {
			return nil, err // MFA_REQUIRED with a ticket, or a failure
		}
	}
	now := a.cfg.Now()
	res, s, err := a.openSession(ctx, u, amr, now)
	if err != nil {
		return nil, err
	}
	if single {
		// A second factor confirmed (or a passkey added) while this
		// sign-in ran: its confirmation ended the sessions that existed
		// then, and this one was opened after. Looking again once the
		// session exists closes that gap: either the confirmation ended
		// it, or this sees the factor, ends it, and asks for the step.
		methods, err := a.secondMethods(ctx, u, amr)
		if err != nil || len(methods) > 0 {
			if rerr := a.revokeSession(context.WithoutCancel(ctx), s.ID, now); rerr != nil {
				return nil, fmt.Errorf("auth: end a session opened while a second factor was added: %w", rerr)
			}
			if err != nil {
				return nil, err
			}
			if err := a.secondStep(ctx, u, amr); err != nil {
				return nil, err // MFA_REQUIRED with a ticket, as a later sign-in gets
			}
			// The factor went again meanwhile: nothing to ask for, and the
			// session is ended. The client signs in again.
			return nil, errors.New("auth: the account's second factors changed during the sign-in")
		}
	}
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditLoginSuccess, append([]any{"user_id", u.ID, "session_id", s.ID}, attrs...)...)
	return res, nil
}

// aalOf is the assurance level of a session opened with the methods amr:
// 2 for two methods or more (multi-factor), else 1.
func aalOf(amr []string) int {
	distinct := map[string]bool{}
	for _, m := range amr {
		distinct[m] = true
	}
	if len(distinct) >= 2 {
		return 2
	}
	return 1
}

// openSession is the session core: every way in ends here. It opens a
// session for u, authenticated with the methods amr, and signs its first
// tokens.
func (a *Authenticator) openSession(ctx context.Context, u *User, amr []string, now time.Time) (*AuthResult, *Session, error) {
	return a.openSessionAt(ctx, u, amr, aalOf(amr), now)
}

// openSessionAt is openSession at the assurance level aal.
func (a *Authenticator) openSessionAt(ctx context.Context, u *User, amr []string, aal int, now time.Time) (*AuthResult, *Session, error) {
	u, err := a.withActiveOrganization(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	c := clientFrom(ctx)
	s := &Session{
		ID:        uuid.NewString(),
		UserID:    u.ID,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: now.Add(a.cfg.Sessions.SessionLifetime).UTC().Truncate(time.Second),
		UserAgent: c.userAgent,
		AMR:       strings.Join(amr, " "),
		AAL:       aal,

		OrganizationID: u.OrganizationID,
	}
	if c.ip.IsValid() {
		s.IPAddress = c.ip.String()
	}
	refresh, rec, err := a.keys.issueRefresh(s, now)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: sign refresh token: %w", err)
	}
	access, err := a.keys.issueAccess(u, s, now)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: sign access token: %w", err)
	}
	if err := a.tokens.CreateSession(ctx, s, rec); err != nil {
		return nil, nil, fmt.Errorf("auth: create session: %w", err)
	}
	return &AuthResult{User: u, AccessToken: access, RefreshToken: refresh}, s, nil
}

// sessionAMR returns a session's methods as the amr claim lists them.
func sessionAMR(s *Session) []string {
	if s.AMR == "" {
		return []string{"pwd"}
	}
	return strings.Fields(s.AMR)
}
