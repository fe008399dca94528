package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ingestiq/auth/internal/totp"
)

// TOTPEnrollment is what enrolling a TOTP factor returns: the secret, in
// base32 for typing, and the otpauth:// URI for a QR code. Neither is
// shown again.
type TOTPEnrollment struct {
	// Secret is the 160-bit secret in unpadded base32.
	Secret string `json:"secret"`
	// URI is the otpauth://totp/ key URI (SHA1, 6 digits, 30 s).
	URI string `json:"uri"`
}

// EnrollTOTP starts enrolling a TOTP factor for the caller (c, the claims
// of their access token): it returns a new secret and its URI; the factor
// counts only once [Authenticator.ConfirmTOTP] proves the app has it. It
// needs a fresh proof: the password (counted like a login), or, when
// password is "", a session opened within [MFAConfig.FreshLogin]
// (FRESH_LOGIN_REQUIRED otherwise). Enrolling again replaces an
// unconfirmed factor; with a confirmed one it is MFA_ALREADY_ENABLED.
func (a *Authenticator) EnrollTOTP(ctx context.Context, c *Claims, password string) (*TOTPEnrollment, error) {
	st, err := a.secondFactors()
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	u, err := a.FreshProof(ctx, c, password)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, secretBytes)
	_, _ = rand.Read(secret)
	f := &SecondFactor{ID: uuid.NewString(), UserID: u.ID, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	f.Secret = a.mfa.seal(f.ID, f.UserID, secret)
	if err := st.CreateSecondFactor(ctx, f); err != nil {
		if errors.Is(err, ErrFactorEnrolled) {
			return nil, ErrMFAEnabled
		}
		return nil, fmt.Errorf("auth: store second factor: %w", err)
	}
	a.audit(ctx, AuditMFATOTPEnroll, "user_id", u.ID)
	return &TOTPEnrollment{
		Secret: totp.Encoding.EncodeToString(secret),
		URI:    totp.URI(a.cfg.MFA.Issuer, u.Email, secret, totp.SHA1, totpDigits, totp.Period),
	}, nil
}

// ConfirmTOTP proves the caller's app holds the enrolled secret with a
// first code: the factor becomes active, the returned recovery codes (shown
// this once; stored as hashes) replace any earlier ones, and every other
// session of the user ends, since they were opened without the second
// factor. The caller's own session stays at assurance level 1. It needs a
// TokenStore that implements [SessionLister].
func (a *Authenticator) ConfirmTOTP(ctx context.Context, c *Claims, code string) ([]string, error) {
	st, err := a.secondFactors()
	if err != nil {
		return nil, err
	}
	if _, err := a.sessionLister(); err != nil {
		return nil, err
	}
	// Every confirmation attempt counts against the account before the
	// code is checked, as proveFactor does for the other steps.
	if err := a.take(ctx, "mfa.confirm", keyMFAAccount+c.UserID, a.cfg.MFA.AccountBackoff); err != nil {
		return nil, err
	}
	f, err := st.SecondFactor(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) || err == nil && !f.VerifiedAt.IsZero() {
		return nil, ErrMFANotEnabled
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up second factor: %w", err)
	}
	secret, err := a.mfa.open(f)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	step, ok := totp.Match(totp.SHA1, secret, strings.TrimSpace(code), totp.Step(now, totp.Period), max(a.cfg.MFA.Skew, 0), totpDigits)
	clear(secret)
	if !ok {
		return nil, a.mfaFailed(ctx, c.UserID, "mfa.confirm")
	}
	codes, hashes := a.mfa.newRecoveryCodes(c.UserID)
	if err := st.ConfirmSecondFactor(ctx, f.ID, step, now.UTC(), hashes); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, a.mfaFailed(ctx, c.UserID, "mfa.confirm") // replaced or confirmed meanwhile
		}
		return nil, fmt.Errorf("auth: confirm second factor: %w", err)
	}
	n, err := a.revokeUserSessions(ctx, c.UserID, c.SessionID)
	if err != nil {
		return nil, err
	}
	if err := a.mfaProved(ctx, c.UserID); err != nil {
		return nil, err
	}
	a.audit(ctx, AuditMFATOTPConfirm, "user_id", c.UserID, "sessions_ended", n)
	return codes, nil
}

// MFAStatus tells which second factors a user has and how many recovery
// codes are left, as GET /mfa shows it.
type MFAStatus struct {
	// Factors lists the active second steps: "totp" for a confirmed
	// authenticator app, "webauthn" when the user has a passkey (with a
	// PasskeyStore; a password login then asks for one), or neither.
	Factors []string `json:"factors"`
	// TOTPPending reports an enrolled factor still waiting for its first
	// code.
	TOTPPending bool `json:"totpPending"`
	// RecoveryCodesLeft counts the unspent recovery codes.
	RecoveryCodesLeft int `json:"recoveryCodesLeft"`
}

// MFA returns the user's second-factor status.
func (a *Authenticator) MFA(ctx context.Context, userID string) (*MFAStatus, error) {
	st, err := a.secondFactors()
	if err != nil {
		return nil, err
	}
	out := &MFAStatus{Factors: []string{}}
	f, err := st.SecondFactor(ctx, userID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("auth: look up second factor: %w", err)
	case f.VerifiedAt.IsZero():
		out.TOTPPending = true
	default:
		out.Factors = append(out.Factors, "totp")
	}
	if out.RecoveryCodesLeft, err = st.RecoveryCodesLeft(ctx, userID); err != nil {
		return nil, fmt.Errorf("auth: count recovery codes: %w", err)
	}
	if ps, ok := a.users.(PasskeyStore); ok {
		pks, err := ps.Passkeys(ctx, userID)
		if err != nil {
			return nil, fmt.Errorf("auth: look up passkeys: %w", err)
		}
		if len(pks) > 0 {
			out.Factors = append(out.Factors, "webauthn")
		}
	}
	return out, nil
}

// RemoveTOTP removes the caller's TOTP factor and recovery codes. It needs
// a session at assurance level 2 (FORBIDDEN otherwise), the password, and
// a current code or a recovery code.
func (a *Authenticator) RemoveTOTP(ctx context.Context, c *Claims, password, code, recoveryCode string) error {
	st, err := a.secondFactors()
	if err != nil {
		return err
	}
	if c.AAL < 2 {
		return ErrForbidden
	}
	if _, err := a.confirmPassword(ctx, c.UserID, password); err != nil {
		return err
	}
	if _, err := a.proveFactor(ctx, st, c.UserID, code, recoveryCode, "mfa.remove"); err != nil {
		return err
	}
	if err := a.mfaProved(ctx, c.UserID); err != nil {
		return err
	}
	if err := st.DeleteSecondFactor(ctx, c.UserID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrMFANotEnabled
		}
		return fmt.Errorf("auth: remove second factor: %w", err)
	}
	a.audit(ctx, AuditMFATOTPRemove, "user_id", c.UserID)
	return nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes with fresh
// ones, returned this once. It needs a session at assurance level 2
// (FORBIDDEN otherwise) and a current TOTP code.
func (a *Authenticator) RegenerateRecoveryCodes(ctx context.Context, c *Claims, code string) ([]string, error) {
	st, err := a.secondFactors()
	if err != nil {
		return nil, err
	}
	if c.AAL < 2 {
		return nil, ErrForbidden
	}
	if code == "" {
		return nil, validationError(map[string]string{"code": "is required"})
	}
	if _, err := a.proveFactor(ctx, st, c.UserID, code, "", "mfa.recovery_codes"); err != nil {
		return nil, err
	}
	if err := a.mfaProved(ctx, c.UserID); err != nil {
		return nil, err
	}
	codes, hashes := a.mfa.newRecoveryCodes(c.UserID)
	if err := st.ReplaceRecoveryCodes(ctx, c.UserID, hashes); err != nil {
		return nil, fmt.Errorf("auth: replace recovery codes: %w", err)
	}
	a.audit(ctx, AuditMFARecoveryCodesRegenerate, "user_id", c.UserID)
	return codes, nil
}

// RequireAAL2 is a middleware that lets a request through only when the
// claims in its context (put there by [Authenticator.Middleware] or package
// verifier's, which must run first) are of a session opened with a second
// factor (aal 2). Others are answered 403 FORBIDDEN, and requests without
// claims 401 UNAUTHORIZED.
//
//	mux.Handle("/billing", a.Middleware(auth.RequireAAL2(billingHandler)))
func RequireAAL2(next http.Handler) http.Handler {
	return requireClaims(next, func(c *Claims) bool { return c.AAL >= 2 })
}
