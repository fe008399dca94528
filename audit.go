package auth

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Audit events are logged through Config.Logger at Info (refresh-token reuse
// at Warn), with the event name as the message and an "event" attribute:
//
//	auth.register          user_id, session_id
//	auth.register.failure  reason, email
//	auth.login.success     user_id, session_id
//	auth.login.failure     email, and user_id when the email is known
//	auth.refresh           user_id, session_id
//	auth.refresh.reuse     user_id, session_id (the session is revoked)
//	auth.logout            user_id, session_id
//	auth.throttled         action, retry_after_s
//
// Two-step sign-in (mfa.go) adds auth.login.mfa_required, auth.mfa.totp.enroll,
// auth.mfa.totp.confirm (sessions_ended), auth.mfa.totp.remove,
// auth.mfa.recovery_codes.regenerate, auth.mfa.recovery_code.used
// (codes_left), auth.mfa.failure (action), auth.mfa.replay,
// auth.mfa.ticket.invalid and auth.mfa.ticket.reuse, all with user_id where
// known; auth.login.success after a second factor also has aal and method.
// No secret, code, recovery code or ticket is logged.
//
// Each also carries client_ip when the call has one (the handlers always
// do; see [WithClientIP]). No password, hash or token is ever logged, and
// client-supplied strings are escaped by logSafe.

// audit logs a security event at Info.
func (a *Authenticator) audit(ctx context.Context, event string, args ...any) {
	a.auditAt(ctx, slog.LevelInfo, event, args...)
}

// auditAt logs a security event at the given level.
func (a *Authenticator) auditAt(ctx context.Context, level slog.Level, event string, args ...any) {
	if !a.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]any, 0, len(args)+4)
	attrs = append(attrs, "event", event)
	if ip, ok := clientIP(ctx); ok {
		attrs = append(attrs, "client_ip", ip.String())
	}
	a.log.Log(ctx, level, event, append(attrs, args...)...)
}

// maxLoggedBytes caps a client-supplied string in a log record.
const maxLoggedBytes = 256

// logSafe makes a client-supplied string safe to log whatever the handler:
// control and format characters (newlines, ANSI escapes, bidi overrides)
// and invalid UTF-8 are escaped Go-style, and the result is capped.
func logSafe(s string) string {
	if len(s) > maxLoggedBytes {
		s = s[:maxLoggedBytes] + "..."
	}
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`)
}
