package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SessionInfo describes one live session of a user, as GET /sessions lists
// it.
type SessionInfo struct {
	// ID is the session's id, for [Authenticator.EndSession].
	ID string
	// CreatedAt is when the session was opened (the login).
	CreatedAt time.Time
	// LastUsedAt is when a token of the session was last issued: the login
	// or the latest refresh.
	LastUsedAt time.Time
	// UserAgent is the User-Agent of the login request.
	UserAgent string
	// IPAddress is the client address of the login request.
	IPAddress string
	// Current reports whether this is the session of the token that asked.
	Current bool
}

// MarshalJSON encodes the session as GET /sessions shows it, with times in
// the contract's RFC 3339 UTC millisecond form.
func (s SessionInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID         string `json:"id"`
		CreatedAt  string `json:"createdAt"`
		LastUsedAt string `json:"lastUsedAt"`
		UserAgent  string `json:"userAgent"`
		IPAddress  string `json:"ipAddress"`
		Current    bool   `json:"current"`
	}{s.ID, s.CreatedAt.UTC().Format(timeFormat), s.LastUsedAt.UTC().Format(timeFormat), s.UserAgent, s.IPAddress, s.Current})
}

func (a *Authenticator) sessionLister() (SessionLister, error) {
	l, ok := a.tokens.(SessionLister)
	if !ok {
		return nil, ErrNotImplemented
	}
	return l, nil
}

// Sessions lists the live sessions of the user, most recent first, marking
// currentSessionID (the caller's own session, from its [Claims]) as
// current. It needs a TokenStore that implements [SessionLister].
func (a *Authenticator) Sessions(ctx context.Context, userID, currentSessionID string) ([]SessionInfo, error) {
	l, err := a.sessionLister()
	if err != nil {
		return nil, err
	}
	list, err := l.UserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: list sessions: %w", err)
	}
	now := a.cfg.Now()
	out := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		if !s.RevokedAt.IsZero() || !now.Before(s.ExpiresAt) || s.UserID != userID {
			continue
		}
		last := s.LastUsedAt
		if last.IsZero() {
			last = s.CreatedAt
		}
		out = append(out, SessionInfo{
			ID: s.ID, CreatedAt: s.CreatedAt, LastUsedAt: last,
			UserAgent: s.UserAgent, IPAddress: s.IPAddress, Current: s.ID == currentSessionID,
		})
	}
	return out, nil
}

// EndSession ends one session of the user (a lost phone, say): its refresh
// and access tokens stop working at once. A session that does not exist,
// has already ended, or belongs to someone else is [ErrSessionNotFound]
// alike.
func (a *Authenticator) EndSession(ctx context.Context, userID, sessionID string) error {
	if a.obs == nil {
		return a.endSession(ctx, userID, sessionID)
	}
	_, err := observe(a, ctx, OpEndSession, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.endSession(ctx, userID, sessionID) })
	return err
}

// endSession is EndSession without the observer.
func (a *Authenticator) endSession(ctx context.Context, userID, sessionID string) error {
	if sessionID == "" || len(sessionID) > 64 {
		return ErrSessionNotFound
	}
	s, err := a.tokens.Session(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return ErrSessionNotFound
	}
	if err != nil {
		return fmt.Errorf("auth: look up session: %w", err)
	}
	now := a.cfg.Now()
	if s.UserID != userID || !s.RevokedAt.IsZero() || !now.Before(s.ExpiresAt) {
		return ErrSessionNotFound
	}
	if err := a.revokeSession(ctx, sessionID, now); err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	a.audit(ctx, AuditSessionEnd, "user_id", userID, "session_id", sessionID)
	return nil
}

// LogoutAll ends every session of the user except keepSessionID (none when
// it is "") and returns how many it ended. It needs a TokenStore that
// implements [SessionLister].
func (a *Authenticator) LogoutAll(ctx context.Context, userID, keepSessionID string) (int64, error) {
	if a.obs == nil {
		return a.logoutAll(ctx, userID, keepSessionID)
	}
	return observe(a, ctx, OpLogoutAll, func(ctx context.Context) (int64, error) { return a.logoutAll(ctx, userID, keepSessionID) })
}

// logoutAll is LogoutAll without the observer.
func (a *Authenticator) logoutAll(ctx context.Context, userID, keepSessionID string) (int64, error) {
	n, err := a.revokeUserSessions(ctx, userID, keepSessionID)
	if err != nil {
		return 0, err
	}
	a.audit(ctx, AuditLogoutAll, "user_id", userID, "sessions_ended", n)
	return n, nil
}

func (a *Authenticator) revokeUserSessions(ctx context.Context, userID, except string) (int64, error) {
	l, err := a.sessionLister()
	if err != nil {
		return 0, err
	}
	now := a.cfg.Now()
	// Pending second steps end first: a ticket from before (a login with a
	// password just changed or reset) would otherwise open a new session
	// after the others were ended.
	if r, ok := a.tokens.(OneTimeTokenRevoker); ok {
		if _, err := r.RevokeOneTimeTokens(ctx, userID, PurposeMFATicket, now); err != nil {
			return 0, fmt.Errorf("auth: revoke MFA tickets: %w", err)
		}
	}
	n, err := l.RevokeUserSessions(ctx, userID, except, now)
	if a.sessions != nil {
		a.sessions.forgetUser(userID, except)
	}
	if err != nil {
		return 0, fmt.Errorf("auth: revoke sessions: %w", err)
	}
	return n, nil
}

// SessionConfig configures sessions and the verification of access tokens.
// Zero fields mean their documented default.
type SessionConfig struct {
	// SessionLifetime is the absolute lifetime of a session: after it no
	// token of the session is accepted however often it was refreshed, and
	// the user must log in again. It must be at least RefreshTokenTTL. The
	// default is 30 days.
	SessionLifetime time.Duration

	// Leeway is the clock skew tolerated when checking the exp and iat
	// claims, at most 5 minutes. The default is 0.
	Leeway time.Duration

	// SessionCacheTTL, when positive, lets Verify and the middleware trust
	// a session they found live for this long without reading the
	// TokenStore again, which saves a database round trip per request on
	// SQL-backed deployments. It bounds the staleness: after a logout or a
	// reuse detection on another instance, that session's access tokens may
	// still pass here for up to SessionCacheTTL. Revocations made through
	// this Authenticator take effect here at once. At most one minute. The
	// default is 0: every verification reads the session.
	SessionCacheTTL time.Duration

	// VerifyCacheSize, when positive, lets Verify and the middleware
	// remember up to this many access tokens that verified (found by the
	// SHA-256 of their signature, holding their signed part, compared in
	// full, and their claims, never the token itself), so that a client
	// presenting the same token again costs a short hash, a map lookup and
	// a comparison instead of a JWT parse. It changes no answer: expiry is
	// checked against the clock on every call, refused tokens are never
	// kept, and the session check still follows. Each entry takes about
	// 600 bytes (10,000 tokens: about 6 MB). At most
	// [MaxVerifyCacheSize]. The default is 0: every call parses the token.
	VerifyCacheSize int

	// RefreshReuseWindow is how long after a refresh token was spent the
	// same token may be presented again and receive the same successor (a
	// token that refreshes the same record) and a fresh access token of the
	// same session, as long as that successor is itself unspent. It covers
	// a response lost on the way to the client and a client that refreshes
	// twice at once (several tabs); nothing new is stored, so the session
	// still has one live refresh token. Every other reuse (after the
	// window, or of a token whose successor was spent too) revokes the
	// session. A thief who presents a stolen, just-spent token within the
	// window receives the same successor as its holder, which the holder's
	// next refresh then exposes. A negative value turns the window off
	// (strict single use); at most one minute, or New fails. The default is
	// [DefaultRefreshReuseWindow].
	RefreshReuseWindow time.Duration

	// InsecureSkipSessionCheck makes [Authenticator.Verify] and the
	// middleware trust an access token's signature and expiry alone,
	// without reading its session from the TokenStore. Logout and
	// refresh-token reuse then stop the session's access tokens only when
	// they expire (AccessTokenTTL at most). Logout itself still checks. The
	// default is false.
	InsecureSkipSessionCheck bool
}
