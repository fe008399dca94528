package auth

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AuditEvent names a security event that the Authenticator logs through
// [Config.Logger]: at Info ([AuditRefreshReuse] at Warn), with the event
// name as the message and as an "event" attribute, plus the attributes
// each constant lists. Each event also carries client_ip when the call has
// one (the handlers always do; see [WithClientIP]). No password, hash or
// token is ever logged, and client-supplied strings are escaped.
//
// The constants below are the complete list; the README's table of audit
// events is checked against them.
type AuditEvent string

// The audit events.
const (
	// AuditRegister: an account was created. Attributes: user_id,
	// session_id.
	AuditRegister AuditEvent = "auth.register"
	// AuditRegisterFailure: a registration was refused. Attributes: reason
	// ("email_exists"), email.
	AuditRegisterFailure AuditEvent = "auth.register.failure"
	// AuditLoginSuccess: a login opened a session. Attributes: user_id,
	// session_id; after a second step also aal and method; through
	// [Authenticator.OpenSession], amr.
	AuditLoginSuccess AuditEvent = "auth.login.success"
	// AuditLoginFailure: a login with a wrong password or an unknown email.
	// Attributes: email, and user_id when the email is known.
	AuditLoginFailure AuditEvent = "auth.login.failure"
	// AuditLoginUnverified: a right password for an account whose email is
	// not verified, refused under [MailConfig.RequireVerifiedEmail].
	// Attributes: user_id.
	AuditLoginUnverified AuditEvent = "auth.login.unverified"
	// AuditRefresh: a refresh token was rotated. Attributes: user_id,
	// session_id.
	AuditRefresh AuditEvent = "auth.refresh"
	// AuditRefreshReuse: a spent refresh token came back; its session is
	// revoked. Logged at Warn. Attributes: user_id, session_id.
	AuditRefreshReuse AuditEvent = "auth.refresh.reuse"
	// AuditRefreshReplay: a refresh token spent less than the reuse window
	// ago came again while its successor was unspent; the same successor
	// was returned. Attributes: user_id, session_id.
	AuditRefreshReplay AuditEvent = "auth.refresh.replay"
	// AuditLogout: a session was ended by its own access token.
	// Attributes: user_id, session_id.
	AuditLogout AuditEvent = "auth.logout"
	// AuditLogoutAll: the sessions of a user were ended. Attributes:
	// user_id, sessions_ended.
	AuditLogoutAll AuditEvent = "auth.logout.all"
	// AuditSessionEnd: one session was ended by its user. Attributes:
	// user_id, session_id.
	AuditSessionEnd AuditEvent = "auth.session.end"
	// AuditPasswordChange: a password was changed. Attributes: user_id,
	// sessions_ended.
	AuditPasswordChange AuditEvent = "auth.password.change"
	// AuditPasswordConfirmFailure: a wrong current password when changing
	// the password or deleting the account. Attributes: user_id.
	AuditPasswordConfirmFailure AuditEvent = "auth.password.confirm.failure"
	// AuditPasswordForgot: a password reset was asked for. Attributes:
	// known (whether the account exists), and user_id when it does or the
	// email when it does not.
	AuditPasswordForgot AuditEvent = "auth.password.forgot"
	// AuditPasswordReset: a password was reset with a token. Attributes:
	// user_id, sessions_ended.
	AuditPasswordReset AuditEvent = "auth.password.reset"
	// AuditEmailVerified: an email address was verified. Attributes:
	// user_id.
	AuditEmailVerified AuditEvent = "auth.email.verified"
	// AuditAccountDelete: an account was deleted. Attributes: user_id.
	AuditAccountDelete AuditEvent = "auth.account.delete"
	// AuditThrottled: a call was refused by throttling. Attributes: action,
	// retry_after_s.
	AuditThrottled AuditEvent = "auth.throttled"
	// AuditLoginMFARequired: a right password for an account with a second
	// factor; a ticket was issued instead of tokens. Attributes: user_id.
	AuditLoginMFARequired AuditEvent = "auth.login.mfa_required"
	// AuditMFATOTPEnroll: a TOTP secret was issued, not yet confirmed.
	// Attributes: user_id.
	AuditMFATOTPEnroll AuditEvent = "auth.mfa.totp.enroll"
	// AuditMFATOTPConfirm: a TOTP factor was confirmed; the user's other
	// sessions ended. Attributes: user_id, sessions_ended.
	AuditMFATOTPConfirm AuditEvent = "auth.mfa.totp.confirm"
	// AuditMFATOTPRemove: a TOTP factor was removed. Attributes: user_id.
	AuditMFATOTPRemove AuditEvent = "auth.mfa.totp.remove"
	// AuditMFARecoveryCodesRegenerate: new recovery codes replaced the old
	// ones. Attributes: user_id.
	AuditMFARecoveryCodesRegenerate AuditEvent = "auth.mfa.recovery_codes.regenerate"
	// AuditMFARecoveryCodeUsed: a recovery code was spent. Attributes:
	// user_id, codes_left.
	AuditMFARecoveryCodeUsed AuditEvent = "auth.mfa.recovery_code.used"
	// AuditMFAFailure: a wrong code. Attributes: user_id, action.
	AuditMFAFailure AuditEvent = "auth.mfa.failure"
	// AuditMFAReplay: a TOTP code already accepted came again. Attributes:
	// user_id.
	AuditMFAReplay AuditEvent = "auth.mfa.replay"
	// AuditMFATicketInvalid: a forged, expired or malformed MFA ticket.
	// No attributes.
	AuditMFATicketInvalid AuditEvent = "auth.mfa.ticket.invalid"
	// AuditMFATicketReuse: an MFA ticket already spent came again.
	// Attributes: user_id.
	AuditMFATicketReuse AuditEvent = "auth.mfa.ticket.reuse"
	// AuditOrgCreate: an organization was created. Attributes: user_id,
	// org_id.
	AuditOrgCreate AuditEvent = "auth.org.create"
	// AuditOrgRename: an organization was renamed. Attributes: user_id,
	// org_id.
	AuditOrgRename AuditEvent = "auth.org.rename"
	// AuditOrgMemberRole: a member's role was changed. Attributes:
	// user_id, org_id, member_id, role.
	AuditOrgMemberRole AuditEvent = "auth.org.member.role"
	// AuditOrgMemberRemove: a member was removed and their sessions in the
	// organization ended. Attributes: user_id, org_id, member_id.
	AuditOrgMemberRemove AuditEvent = "auth.org.member.remove"
	// AuditOrgLeave: a member left. Attributes: user_id, org_id.
	AuditOrgLeave AuditEvent = "auth.org.leave"
	// AuditOrgTransfer: ownership was transferred. Attributes: user_id,
	// org_id, member_id (the new owner).
	AuditOrgTransfer AuditEvent = "auth.org.transfer"
	// AuditOrgInvite: an invitation was sent. Attributes: user_id, org_id,
	// invitation_id, role.
	AuditOrgInvite AuditEvent = "auth.org.invite"
	// AuditOrgInvitationRevoke: an invitation was revoked. Attributes:
	// user_id, org_id, invitation_id.
	AuditOrgInvitationRevoke AuditEvent = "auth.org.invitation.revoke"
	// AuditOrgInvitationAccept: an invitation was accepted. Attributes:
	// user_id, org_id, invitation_id, role.
	AuditOrgInvitationAccept AuditEvent = "auth.org.invitation.accept"
	// AuditOrgInvitationRefused: an invitation was presented by another
	// account than the invited email's, or after it expired. Attributes:
	// user_id, invitation_id.
	AuditOrgInvitationRefused AuditEvent = "auth.org.invitation.refused"
	// AuditOrgSwitch: a session switched its organization. Attributes:
	// user_id, session_id, org_id.
	AuditOrgSwitch AuditEvent = "auth.org.switch"
	// AuditPasskeyRegister: a passkey was added. Attributes: user_id,
	// credential_id.
	AuditPasskeyRegister AuditEvent = "auth.passkey.register"
	// AuditPasskeyRemove: a passkey was removed. Attributes: user_id,
	// credential_id.
	AuditPasskeyRemove AuditEvent = "auth.passkey.remove"
	// AuditPasskeyFailure: a passkey ceremony was refused. Attributes:
	// action, reason, and user_id when known.
	AuditPasskeyFailure AuditEvent = "auth.passkey.failure"
	// AuditPasskeySignCount: a passkey's sign count did not go forward (a
	// possibly cloned authenticator); the sign-in was refused.
	// Attributes: user_id, credential_id, stored, received.
	AuditPasskeySignCount AuditEvent = "auth.passkey.sign_count"
	// AuditExternalLinked: an external provider's account was linked to a
	// user. Attributes: user_id, identity_id, issuer.
	AuditExternalLinked AuditEvent = "auth.external.linked"
	// AuditExternalUnlinked: a user removed a linked provider account.
	// Attributes: user_id, identity_id.
	AuditExternalUnlinked AuditEvent = "auth.external.unlinked"
	// AuditExternalRefused: a first sign-in with a provider matched an
	// account by email and was not linked (an email not verified on one
	// side). Attributes: user_id, issuer.
	AuditExternalRefused AuditEvent = "auth.external.refused"
)

// audit logs a security event at Info.
func (a *Authenticator) audit(ctx context.Context, event AuditEvent, args ...any) {
	a.auditAt(ctx, slog.LevelInfo, event, args...)
}

// auditAt logs a security event at the given level.
func (a *Authenticator) auditAt(ctx context.Context, level slog.Level, event AuditEvent, args ...any) {
	if !a.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]any, 0, len(args)+4)
	attrs = append(attrs, "event", string(event))
	if ip, ok := clientIP(ctx); ok {
		attrs = append(attrs, "client_ip", ip.String())
	}
	a.log.Log(ctx, level, string(event), append(attrs, args...)...)
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
