package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ingestiq/auth/internal/jose"
)

// Mailer delivers the secrets of the account lifecycle to a user's mailbox.
// The application implements it (with its mail provider) and builds the
// link the user follows, such as https://app.example.com/reset?token=...;
// the token must reach the library back through [Authenticator.ResetPassword]
// or [Authenticator.VerifyEmail].
//
// The time a Mailer takes shows in the response time of the call that sends
// (ForgotPassword pads every call to [MailConfig.ForgotPasswordMinDuration], so
// keep well under it): hand the message to a queue rather than talk to a
// mail server inline. A Mailer's error is logged, never shown to the client.
type Mailer interface {
	// SendPasswordReset delivers a password-reset token to u.Email.
	SendPasswordReset(ctx context.Context, u *User, token string) error
	// SendEmailVerification delivers an email-verification token to
	// u.Email.
	SendEmailVerification(ctx context.Context, u *User, token string) error
}

// ChangePassword replaces the user's password after checking the current
// one, and ends every other session of the user (keepSessionID, the
// caller's, survives). A wrong current password is [ErrInvalidCredentials]
// and counts toward login throttling; a new password that breaks the rules
// is a VALIDATION_ERROR naming newPassword. It needs a TokenStore that
// implements [SessionLister].
func (a *Authenticator) ChangePassword(ctx context.Context, userID, keepSessionID, currentPassword, newPassword string) error {
	if a.obs == nil {
		return a.changePassword(ctx, userID, keepSessionID, currentPassword, newPassword)
	}
	_, err := observe(a, ctx, OpChangePassword, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, a.changePassword(ctx, userID, keepSessionID, currentPassword, newPassword)
	})
	return err
}

// changePassword is ChangePassword without the observer.
func (a *Authenticator) changePassword(ctx context.Context, userID, keepSessionID, currentPassword, newPassword string) error {
	if _, err := a.sessionLister(); err != nil {
		return err
	}
	u, err := a.confirmPassword(ctx, userID, currentPassword)
	if err != nil {
		return err
	}
	if msg := checkNewPassword(newPassword, u.Email, a.cfg.Passwords.MinPasswordLength); msg != "" {
		return validationError(map[string]string{"newPassword": msg})
	}
	if err := a.setPassword(ctx, u, newPassword); err != nil {
		return err
	}
	n, err := a.revokeUserSessions(ctx, u.ID, keepSessionID)
	if err != nil {
		return err
	}
	a.audit(ctx, AuditPasswordChange, "user_id", u.ID, "sessions_ended", n)
	return nil
}

// setPassword hashes password and stores it as u's.
func (a *Authenticator) setPassword(ctx context.Context, u *User, password string) error {
	hash, err := a.hasher.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: hash password: %w", err)
	}
	if err := a.users.UpdatePasswordHash(ctx, u.ID, hash); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidToken
		}
		return fmt.Errorf("auth: store password hash: %w", err)
	}
	u.PasswordHash = hash
	return nil
}

// ForgotPassword starts a password reset: when an account has this email,
// it issues a single-use reset token (valid [MailConfig.PasswordResetTTL],
// stored only as a hash) and hands it to the [Mailer]. It returns nil
// whether or not the account exists, and takes at least
// [MailConfig.ForgotPasswordMinDuration] either way, so that neither the answer
// nor its timing tells. Calls are throttled per client address and per
// email. It needs a Mailer and what [Authenticator.ResetPassword] needs to
// redeem the token, a TokenStore that implements [OneTimeTokenStore] and
// [SessionLister]; without them it mails nothing and returns
// [ErrNotImplemented], as ResetPassword would.
func (a *Authenticator) ForgotPassword(ctx context.Context, email string) error {
	if a.obs == nil {
		return a.forgotPassword(ctx, email)
	}
	_, err := observe(a, ctx, OpForgotPassword, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.forgotPassword(ctx, email) })
	return err
}

// forgotPassword is ForgotPassword without the observer.
func (a *Authenticator) forgotPassword(ctx context.Context, email string) error {
	if a.cfg.Mail.Mailer == nil {
		return ErrNotImplemented
	}
	if _, ok := a.tokens.(OneTimeTokenStore); !ok {
		return ErrNotImplemented
	}
	if _, err := a.sessionLister(); err != nil {
		return err
	}
	canon, err := CanonicalEmail(email)
	if err != nil {
		return validationError(map[string]string{"email": "must be a valid email address"})
	}
	if err := a.take(ctx, "password.forgot", addressThrottleKey(ctx, keyAccountAddress), a.cfg.Throttle.RegisterAddressBackoff); err != nil {
		return err
	}
	// Per (email, address) first, so that one address asking again and
	// again stops there without using up the email's ceiling, which only
	// many addresses together reach.
	if err := a.take(ctx, "password.forgot", pairKey(ctx, keyMailPair, canon), a.cfg.Mail.MailBackoff); err != nil {
		return err
	}
	if err := a.take(ctx, "password.forgot", keyMailTo+canon, a.cfg.Mail.MailCeiling); err != nil {
		return err
	}
	floor := time.NewTimer(a.cfg.Mail.ForgotPasswordMinDuration)
	defer floor.Stop()
	err = a.sendPasswordReset(ctx, canon)
	select {
	case <-floor.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// sendPasswordReset does the work of ForgotPassword. Failures that would
// tell whether the account exists are logged and swallowed.
func (a *Authenticator) sendPasswordReset(ctx context.Context, email string) error {
	u, err := a.users.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		a.audit(ctx, AuditPasswordForgot, "email", logSafe(email), "known", false)
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: look up user: %w", err)
	}
	if err := a.sendOneTimeToken(ctx, u, PurposePasswordReset, a.cfg.Mail.PasswordResetTTL, a.cfg.Mail.Mailer.SendPasswordReset); err != nil {
		a.log.ErrorContext(ctx, "auth: could not send a password reset", "user_id", u.ID, "error", err)
		return nil
	}
	a.audit(ctx, AuditPasswordForgot, "user_id", u.ID, "known", true)
	return nil
}

// sendOneTimeToken issues a one-time token for u and hands it to send.
func (a *Authenticator) sendOneTimeToken(ctx context.Context, u *User, purpose string, ttl time.Duration, send func(context.Context, *User, string) error) error {
	store, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return ErrNotImplemented
	}
	now := a.cfg.Now()
	secret := newID(32)
	rec := &OneTimeToken{
		IDHash:    hashTokenID(secret),
		Purpose:   purpose,
		UserID:    u.ID,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: now.Add(ttl).UTC().Truncate(time.Millisecond),
	}
	if err := store.CreateOneTimeToken(ctx, rec); err != nil {
		return fmt.Errorf("auth: store %s token: %w", purpose, err)
	}
	if err := send(ctx, u, secret); err != nil {
		return fmt.Errorf("auth: send %s token: %w", purpose, err)
	}
	return nil
}

// validOneTimeToken reports whether token has the form of a one-time token.
func validOneTimeToken(token string) bool {
	return token != "" && len(token) <= 128 && jose.IsB64Token(token) && !strings.Contains(token, "=")
}

// consumeOneTimeToken spends a one-time token of the given purpose and
// returns its user. A token that is unknown, spent or of another purpose is
// [ErrInvalidToken]; an expired one [ErrTokenExpired].
func (a *Authenticator) consumeOneTimeToken(ctx context.Context, token, purpose string) (*User, error) {
	store, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	if !validOneTimeToken(token) {
		return nil, ErrInvalidToken
	}
	now := a.cfg.Now()
	rec, err := store.ConsumeOneTimeToken(ctx, hashTokenID(token), purpose, now)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: consume %s token: %w", purpose, err)
	}
	if !now.Before(rec.ExpiresAt) {
		return nil, ErrTokenExpired
	}
	u, err := a.users.UserByID(ctx, rec.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	return u, nil
}

// ResetPassword sets a new password with a token from [ForgotPassword],
// spends the token, ends every session of the user, lifts the login
// throttle on the account, and marks the email verified (the user has just
// proved they read it). A token that is unknown or already spent is
// [ErrInvalidToken]; an expired one [ErrTokenExpired]; a password that
// breaks the rules, the rule against passwords based on the account's
// email address included, is a VALIDATION_ERROR naming newPassword. Every
// check comes before the token is spent: a refused reset changes nothing,
// and the same link can be used again with another password. It needs a
// TokenStore that implements [OneTimeTokenStore] and [SessionLister].
func (a *Authenticator) ResetPassword(ctx context.Context, token, newPassword string) error {
	if a.obs == nil {
		return a.resetPassword(ctx, token, newPassword)
	}
	_, err := observe(a, ctx, OpResetPassword, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, a.resetPassword(ctx, token, newPassword)
	})
	return err
}

// resetPassword is ResetPassword without the observer.
func (a *Authenticator) resetPassword(ctx context.Context, token, newPassword string) error {
	if a.cfg.Mail.Mailer == nil { // no reset token was ever issued
		return ErrNotImplemented
	}
	if _, err := a.sessionLister(); err != nil {
		return err
	}
	store, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return ErrNotImplemented
	}
	if err := a.take(ctx, "password.reset", addressThrottleKey(ctx, keyAccountAddress), a.cfg.Throttle.RegisterAddressBackoff); err != nil {
		return err
	}
	if msg := checkNewPassword(newPassword, "", a.cfg.Passwords.MinPasswordLength); msg != "" {
		return validationError(map[string]string{"newPassword": msg})
	}
	// Read the token and its user without spending it, check everything,
	// and only then spend it.
	if !validOneTimeToken(token) {
		return ErrInvalidToken
	}
	hash := hashTokenID(token)
	rec, err := store.OneTimeToken(ctx, hash, PurposePasswordReset)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("auth: look up %s token: %w", PurposePasswordReset, err)
	}
	if !a.cfg.Now().Before(rec.ExpiresAt) {
		return ErrTokenExpired
	}
	u, err := a.users.UserByID(ctx, rec.UserID)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("auth: look up user: %w", err)
	}
	if msg := checkNewPassword(newPassword, u.Email, a.cfg.Passwords.MinPasswordLength); msg != "" {
		return validationError(map[string]string{"newPassword": msg})
	}
	spent, err := store.ConsumeOneTimeToken(ctx, hash, PurposePasswordReset, a.cfg.Now())
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken // spent by a concurrent reset since it was read
	}
	if err != nil {
		return fmt.Errorf("auth: consume %s token: %w", PurposePasswordReset, err)
	}
	if spent.UserID != u.ID {
		return ErrInvalidToken
	}
	if err := a.setPassword(ctx, u, newPassword); err != nil {
		return err
	}
	n, err := a.revokeUserSessions(ctx, u.ID, "")
	if err != nil {
		return err
	}
	if a.limiter != nil {
		// The owner proved the mailbox: lift the account-wide ceiling and
		// the pair of this address.
		for _, key := range []string{keyLoginAccount + u.Email, pairKey(ctx, keyLoginPair, u.Email)} {
			if err := a.limiter.Reset(ctx, key); err != nil {
				return fmt.Errorf("auth: reset throttle: %w", err)
			}
		}
	}
	if v, ok := a.users.(EmailVerifier); ok && u.EmailVerifiedAt.IsZero() {
		if err := v.SetEmailVerified(ctx, u.ID, a.cfg.Now()); err != nil {
			a.log.WarnContext(ctx, "auth: could not mark email verified after reset", "user_id", u.ID, "error", err)
		}
	}
	a.audit(ctx, AuditPasswordReset, "user_id", u.ID, "sessions_ended", n)
	return nil
}

// RequestEmailVerification sends the user a new email-verification token
// through the [Mailer], for example when the first one was lost. It needs
// a Mailer, a TokenStore that implements [OneTimeTokenStore] and a
// UserStore that implements [EmailVerifier]. Mail to one address is
// throttled by [MailConfig.MailBackoff].
func (a *Authenticator) RequestEmailVerification(ctx context.Context, userID string) error {
	if a.cfg.Mail.Mailer == nil {
		return ErrNotImplemented
	}
	if _, ok := a.users.(EmailVerifier); !ok {
		return ErrNotImplemented
	}
	u, err := a.User(ctx, userID)
	if err != nil {
		return err
	}
	if err := a.take(ctx, "email.verification", keyMailVerify+u.Email, a.cfg.Mail.MailBackoff); err != nil {
		return err
	}
	return a.sendOneTimeToken(ctx, u, PurposeEmailVerification, a.cfg.Mail.EmailVerificationTTL, a.cfg.Mail.Mailer.SendEmailVerification)
}

// VerifyEmail marks the email address of the token's user verified and
// spends the token. A token that is unknown or already spent is
// [ErrInvalidToken]; an expired one [ErrTokenExpired].
func (a *Authenticator) VerifyEmail(ctx context.Context, token string) error {
	if a.obs == nil {
		return a.verifyEmail(ctx, token)
	}
	_, err := observe(a, ctx, OpVerifyEmail, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.verifyEmail(ctx, token) })
	return err
}

// verifyEmail is VerifyEmail without the observer.
func (a *Authenticator) verifyEmail(ctx context.Context, token string) error {
	v, ok := a.users.(EmailVerifier)
	if !ok || a.cfg.Mail.Mailer == nil { // without a Mailer no token was ever issued
		return ErrNotImplemented
	}
	if err := a.take(ctx, "email.verify", addressThrottleKey(ctx, keyAccountAddress), a.cfg.Throttle.RegisterAddressBackoff); err != nil {
		return err
	}
	u, err := a.consumeOneTimeToken(ctx, token, PurposeEmailVerification)
	if err != nil {
		return err
	}
	if err := v.SetEmailVerified(ctx, u.ID, a.cfg.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidToken
		}
		return fmt.Errorf("auth: mark email verified: %w", err)
	}
	a.audit(ctx, AuditEmailVerified, "user_id", u.ID)
	return nil
}

// DeleteAccount deletes the user after checking their password (throttled
// and counted like a login), ending every session first so that all their
// tokens stop working at once. The email can then be registered again. It
// needs a TokenStore that implements [SessionLister].
func (a *Authenticator) DeleteAccount(ctx context.Context, userID, password string) error {
	if a.obs == nil {
		return a.deleteAccount(ctx, userID, password)
	}
	_, err := observe(a, ctx, OpDeleteAccount, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.deleteAccount(ctx, userID, password) })
	return err
}

// deleteAccount is DeleteAccount without the observer.
func (a *Authenticator) deleteAccount(ctx context.Context, userID, password string) error {
	if _, err := a.sessionLister(); err != nil {
		return err
	}
	u, err := a.confirmPassword(ctx, userID, password)
	if err != nil {
		return err
	}
	return a.removeAccount(ctx, u)
}

// DeleteAccountFresh deletes the account of a user without a password (one
// made by a sign-in with a provider, say), who proves who they are with a
// session opened within [MFAConfig.FreshLogin] instead (c, the claims of
// its access token; FRESH_LOGIN_REQUIRED otherwise). An account with a
// password is refused with [ErrInvalidCredentials]: it is deleted by
// [Authenticator.DeleteAccount]. DELETE /me with {"password":""} calls it.
func (a *Authenticator) DeleteAccountFresh(ctx context.Context, c *Claims) error {
	if a.obs == nil {
		return a.deleteAccountFresh(ctx, c)
	}
	_, err := observe(a, ctx, OpDeleteAccount, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.deleteAccountFresh(ctx, c) })
	return err
}

// deleteAccountFresh is DeleteAccountFresh without the observer.
func (a *Authenticator) deleteAccountFresh(ctx context.Context, c *Claims) error {
	if _, err := a.sessionLister(); err != nil {
		return err
	}
	u, err := a.FreshProof(ctx, c, "")
	if err != nil {
		return err
	}
	if u.PasswordHash != "" {
		return ErrInvalidCredentials
	}
	return a.removeAccount(ctx, u)
}

// removeAccount deletes u, whose proof has been checked: unless it is the
// last owner of an organization with other members, it deletes the user,
// then ends every session of u. The OrgStore decides the last-owner rule
// atomically with the deletion (its contract; storetest checks it), so that
// a refusal changes nothing, even when co-owners delete their accounts at
// once. Once the user is deleted, the sessions are ended even if
// the request is cancelled meanwhile, and the deletion is audited whatever
// happens to them (a TokenStore apart from the UserStore may fail it).
func (a *Authenticator) removeAccount(ctx context.Context, u *User) error {
	switch err := a.users.DeleteUser(ctx, u.ID); {
	case errors.Is(err, ErrLastOwner):
		return ErrLastOwner
	case err != nil && !errors.Is(err, ErrNotFound):
		return fmt.Errorf("auth: delete user: %w", err)
	}
	_, err := a.revokeUserSessions(context.WithoutCancel(ctx), u.ID, "")
	if err != nil {
		a.auditAt(ctx, slog.LevelError, AuditAccountDelete, "user_id", u.ID, "sessions_error", err.Error())
		return err
	}
	a.audit(ctx, AuditAccountDelete, "user_id", u.ID)
	return nil
}

// MailConfig configures the account lifecycle that goes through the mailbox:
// password resets and email verification. Zero fields mean their documented
// default.
type MailConfig struct {
	// Mailer delivers password-reset and email-verification tokens. Without
	// one, ForgotPassword and the email-verification features return
	// NOT_IMPLEMENTED. The default is none.
	Mailer Mailer

	// PasswordResetTTL is how long a password-reset token stays valid, at
	// most 24 hours. The default is 1 hour.
	PasswordResetTTL time.Duration

	// EmailVerificationTTL is how long an email-verification token stays
	// valid. The default is 48 hours.
	EmailVerificationTTL time.Duration

	// SendVerificationEmail makes Register send an email-verification token
	// through the Mailer. The default is false.
	SendVerificationEmail bool

	// RequireVerifiedEmail makes Login refuse, with EMAIL_NOT_VERIFIED,
	// accounts whose email address is not verified (checked after the
	// password, so it reveals nothing to someone without it). The default
	// is false.
	RequireVerifiedEmail bool

	// ForgotPasswordMinDuration is the least time ForgotPassword takes,
	// whether or not the account exists, so that response time does not
	// tell. The default is 250 milliseconds.
	ForgotPasswordMinDuration time.Duration

	// MailBackoff throttles the mail sent to one email address at the
	// request of one client address (password resets) or of the signed-in
	// user (verification tokens). The default is [DefaultMailBackoff].
	MailBackoff Backoff

	// MailCeiling throttles the password-reset mail sent to one email
	// address at the request of all client addresses together. The default
	// is [DefaultMailCeiling].
	MailCeiling Backoff
}
