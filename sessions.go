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
	n, err := l.RevokeUserSessions(ctx, userID, except, a.cfg.Now())
	if a.sessions != nil {
		a.sessions.forgetUser(userID, except)
	}
	if err != nil {
		return 0, fmt.Errorf("auth: revoke sessions: %w", err)
	}
	return n, nil
}
