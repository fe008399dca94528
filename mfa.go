package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ingestiq/auth/internal/totp"
)

// Two-step sign-in. A user enrolls a TOTP factor (RFC 6238: SHA-1, six
// digits, 30-second steps) and proves it with a first code, which also
// hands out ten single-use recovery codes. From then on a right password
// alone gives no tokens: Login answers MFA_REQUIRED with a short-lived,
// single-use, signed ticket (mfa_ticket.go), which VerifyMFA redeems with a
// code or a recovery code for the tokens of a session at assurance level 2
// (amr ["pwd","otp"], aal 2).
//
// The factor's secret is sealed with AES-256-GCM under a key derived from
// Config.Secret; recovery codes are stored as HMAC-SHA-256 under another
// derived key. A code is accepted at most once per factor: the store keeps
// the last accepted time step and moves it forward with a conditional
// update. Wrong codes are throttled per account and per ticket through the
// Limiter.

// MFAConfig configures two-step sign-in. Its zero value means the defaults.
type MFAConfig struct {
	// Issuer names the service in authenticator apps: the issuer of the
	// otpauth:// URI and the first part of its label. The default is
	// Config.Issuer.
	Issuer string

	// Skew is how many 30-second time steps before and after the current
	// one a code may come from, at most 2; -1 accepts the current step
	// only. The default (0) is 1.
	Skew int

	// TicketTTL is how long the ticket Login hands out for the second step
	// stays valid, at most 10 minutes. The default is 5 minutes.
	TicketTTL time.Duration

	// MaxTicketAttempts is how many codes one ticket may be tried with;
	// after them it is refused (RATE_LIMITED) until it expires. It applies
	// only while throttling is on. The default is 5.
	MaxTicketAttempts int

	// FreshLogin is how recent the login of the session that enrolls a
	// factor without giving the password again must be. The default is 5
	// minutes.
	FreshLogin time.Duration

	// AccountBackoff throttles wrong codes per account, whichever ticket
	// or session they come with. The default is
	// [DefaultMFAAccountBackoff].
	AccountBackoff Backoff

	// PreviousSecrets are earlier values of Config.Secret whose sealed
	// factors and recovery codes are still accepted, for a secret
	// rotation (see the README). The default is none.
	PreviousSecrets [][]byte
}

// The second factor's methods, as MFA_REQUIRED lists them.
var mfaMethods = []string{"totp", "recovery_code"}

const (
	keyMFAAccount = "mfa:account:"
	keyMFATicket  = "mfa:ticket:"
	totpDigits    = 6
	secretBytes   = 20 // 160 bits, RFC 4226's recommendation
)

// mfaKeys holds the keys of two-step sign-in, each derived from a secret:
// the current one first, then the previous ones.
type mfaKeys struct {
	aeads    []cipher.AEAD
	recovery [][]byte
	ticket   []byte
}

func deriveKey(secret []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "github.com/ingestiq/auth "+purpose+" v1", 32)
}

// newMFAKeys derives the keys of two-step sign-in from c, whose MFA
// settings validate has checked.
func newMFAKeys(c *Config) (*mfaKeys, error) {
	m := &c.MFA
	k := &mfaKeys{}
	var err error
	if k.ticket, err = deriveKey(c.Secret, "mfa-ticket key"); err != nil {
		return nil, err
	}
	for i, secret := range append([][]byte{c.Secret}, m.PreviousSecrets...) {
		if len(secret) < MinSecretBytes {
			return nil, fmt.Errorf("auth: Config.MFA.PreviousSecrets[%d] must be at least %d bytes", i-1, MinSecretBytes)
		}
		sealKey, err := deriveKey(secret, "totp-secret key")
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(sealKey)
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		rk, err := deriveKey(secret, "recovery-code key")
		if err != nil {
			return nil, err
		}
		k.aeads = append(k.aeads, gcm)
		k.recovery = append(k.recovery, rk)
	}
	m.PreviousSecrets = nil // not needed past here; keep no copy around
	return k, nil
}

// sealAAD binds a sealed secret to its factor and user, so a sealed value
// copied to another row does not open.
func sealAAD(factorID, userID string) []byte {
	return []byte("totp:" + factorID + ":" + userID)
}

// seal encrypts a TOTP secret with the current key: nonce || ciphertext.
func (k *mfaKeys) seal(factorID, userID string, secret []byte) []byte {
	aead := k.aeads[0]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, secret, sealAAD(factorID, userID))
}

// open decrypts a factor's secret with the current key or a previous one.
func (k *mfaKeys) open(f *SecondFactor) ([]byte, error) {
	for _, aead := range k.aeads {
		n := aead.NonceSize()
		if len(f.Secret) < n {
			break
		}
		if raw, err := aead.Open(nil, f.Secret[:n], f.Secret[n:], sealAAD(f.ID, f.UserID)); err == nil {
			return raw, nil
		}
	}
	return nil, errors.New("auth: the second factor's secret does not open with Config.Secret or Config.MFA.PreviousSecrets")
}

// recoveryAlphabet32 has 32 letters and digits without look-alikes (no
// 1, i, l, o), so one random byte masked to five bits picks one uniformly.
const recoveryAlphabet32 = "abcdefghjkmnpqrstuvwxyz023456789"

// newRecoveryCodes returns RecoveryCodeCount fresh codes, shown as
// "xxxxx-xxxxx" (50 random bits each), and their hashes under the current
// key.
func (k *mfaKeys) newRecoveryCodes(userID string) ([]string, []string) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		var b [10]byte
		_, _ = rand.Read(b[:])
		for j := range b {
			b[j] = recoveryAlphabet32[b[j]&31]
		}
		codes[i] = string(b[:5]) + "-" + string(b[5:])
		hashes[i] = recoveryHash(k.recovery[0], userID, string(b[:]))
	}
	return codes, hashes
}

// normalizeRecoveryCode lower-cases a typed code and drops dashes and
// spaces; it returns "" for anything that cannot be a recovery code.
func normalizeRecoveryCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(code) != 10 {
		return ""
	}
	for i := 0; i < len(code); i++ {
		if !strings.ContainsRune(recoveryAlphabet32, rune(code[i])) {
			return ""
		}
	}
	return code
}

func recoveryHash(key []byte, userID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// secondFactors returns the SecondFactorStore, or NOT_IMPLEMENTED.
func (a *Authenticator) secondFactors() (SecondFactorStore, error) {
	st, ok := a.users.(SecondFactorStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	// Tickets are one-time tokens, and confirming a factor ends the other
	// sessions: without both, a user could enroll and then never log in.
	if _, ok := a.tokens.(OneTimeTokenStore); !ok {
		return nil, ErrNotImplemented
	}
	if _, ok := a.tokens.(SessionLister); !ok {
		return nil, ErrNotImplemented
	}
	return st, nil
}

// secondStep is the pending step of every sign-in by a single factor (see
// signIn): it returns nil when the account has no verified factor (or the
// store has no second factors at all), and otherwise an MFA_REQUIRED error
// carrying a fresh ticket that remembers the first step's methods amr.
func (a *Authenticator) secondStep(ctx context.Context, u *User, amr []string) error {
	methods, err := a.secondMethods(ctx, u, amr)
	if err != nil || len(methods) == 0 {
		return err
	}
	ot, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		// Fail closed: a factor is there but a ticket cannot be made
		// single-use.
		return fmt.Errorf("auth: MFA tickets need a TokenStore that implements OneTimeTokenStore (%T does not)", a.tokens)
	}
	now := a.cfg.Now()
	ticket, id, exp := a.mfa.signTicket(u.ID, amr, now, a.cfg.MFA.TicketTTL)
	rec := &OneTimeToken{IDHash: hashTokenID(id), Purpose: PurposeMFATicket, UserID: u.ID, CreatedAt: now.UTC(), ExpiresAt: exp.UTC()}
	if err := ot.CreateOneTimeToken(ctx, rec); err != nil {
		return fmt.Errorf("auth: store MFA ticket: %w", err)
	}
	a.audit(ctx, AuditLoginMFARequired, "user_id", u.ID)
	e := *ErrMFARequired
	e.Ticket, e.Methods = ticket, methods
	return &e
}

// secondMethods lists the second steps the user can take after a first
// step by the methods amr: "totp" and "recovery_code" with a verified TOTP
// factor, "webauthn" with a passkey (when the UserStore is a
// [PasskeyStore] and the first step was not a passkey). None means no
// second step.
func (a *Authenticator) secondMethods(ctx context.Context, u *User, amr []string) ([]string, error) {
	var methods []string
	if st, ok := a.users.(SecondFactorStore); ok {
		f, err := st.SecondFactor(ctx, u.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("auth: look up second factor: %w", err)
		}
		if err == nil && !f.VerifiedAt.IsZero() {
			methods = append(methods, mfaMethods...)
		}
	}
	if st, ok := a.users.(PasskeyStore); ok && !slices.Contains(amr, "webauthn") {
		pks, err := st.Passkeys(ctx, u.ID)
		if err != nil {
			return nil, fmt.Errorf("auth: look up passkeys: %w", err)
		}
		if len(pks) > 0 {
			methods = append(methods, "webauthn")
		}
	}
	return methods, nil
}

// ticketBackoff is the rule that ends a ticket after MaxTicketAttempts
// codes: the last allowed one makes it wait out its whole lifetime.
func (a *Authenticator) ticketBackoff() Backoff {
	ttl := a.cfg.MFA.TicketTTL
	return Backoff{Free: a.cfg.MFA.MaxTicketAttempts, Base: ttl, Max: ttl, Window: ttl}
}

// useTOTP checks code against the factor and, when it matches, spends its
// time step in the store. It reports whether the code was accepted.
func (a *Authenticator) useTOTP(ctx context.Context, st SecondFactorStore, f *SecondFactor, code string) (bool, error) {
	secret, err := a.mfa.open(f)
	if err != nil {
		return false, err
	}
	code = strings.TrimSpace(code)
	step, ok := totp.Match(totp.SHA1, secret, code, totp.Step(a.cfg.Now(), totp.Period), max(a.cfg.MFA.Skew, 0), totpDigits)
	clear(secret)
	if !ok {
		return false, nil
	}
	switch err := st.UseSecondFactorStep(ctx, f.ID, step); {
	case errors.Is(err, ErrTokenUsed), errors.Is(err, ErrNotFound):
		a.audit(ctx, AuditMFAReplay, "user_id", f.UserID)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("auth: spend TOTP step: %w", err)
	}
	return true, nil
}

// useRecoveryCode spends one of the user's recovery codes, looked up under
// the current key and then the previous ones.
func (a *Authenticator) useRecoveryCode(ctx context.Context, st SecondFactorStore, userID, code string) (bool, error) {
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return false, nil
	}
	for _, key := range a.mfa.recovery {
		err := st.UseRecoveryCode(ctx, userID, recoveryHash(key, userID, norm))
		if err == nil {
			left, _ := st.RecoveryCodesLeft(ctx, userID)
			a.audit(ctx, AuditMFARecoveryCodeUsed, "user_id", userID, "codes_left", left)
			return true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("auth: spend recovery code: %w", err)
		}
	}
	return false, nil
}

// mfaFailed audits a wrong code; proveFactor has counted the attempt.
func (a *Authenticator) mfaFailed(ctx context.Context, userID, action string) error {
	a.audit(ctx, AuditMFAFailure, "user_id", userID, "action", action)
	return ErrInvalidCode
}

// mfaProved clears the per-account count of code attempts after a right
// code.
func (a *Authenticator) mfaProved(ctx context.Context, userID string) error {
	if a.limiter == nil {
		return nil
	}
	if err := a.limiter.Reset(ctx, keyMFAAccount+userID); err != nil {
		return fmt.Errorf("auth: reset throttle: %w", err)
	}
	return nil
}

// proveFactor checks a TOTP code or a recovery code (exactly one of the
// two) against the user's verified factor, throttled per account. It
// returns the factor, or ErrInvalidCode, MFA_NOT_ENABLED or RATE_LIMITED.
func (a *Authenticator) proveFactor(ctx context.Context, st SecondFactorStore, userID, code, recoveryCode, action string) (*SecondFactor, error) {
	if (code == "") == (recoveryCode == "") {
		return nil, validationError(map[string]string{"code": "give exactly one of code and recoveryCode"})
	}
	// Every attempt counts against the account, in one atomic step before
	// the code is checked, so that a burst of guesses over many tickets
	// cannot pass the check together; a right code clears the count.
	if err := a.take(ctx, action, keyMFAAccount+userID, a.cfg.MFA.AccountBackoff); err != nil {
		return nil, err
	}
	f, err := st.SecondFactor(ctx, userID)
	if errors.Is(err, ErrNotFound) || err == nil && f.VerifiedAt.IsZero() {
		return nil, ErrMFANotEnabled
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up second factor: %w", err)
	}
	var ok bool
	if code != "" {
		ok, err = a.useTOTP(ctx, st, f, code)
	} else {
		ok, err = a.useRecoveryCode(ctx, st, userID, recoveryCode)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, a.mfaFailed(ctx, userID, action)
	}
	return f, nil
}

// VerifyMFA completes a login that answered MFA_REQUIRED: it redeems the
// ticket with a TOTP code or a recovery code (exactly one; the other "")
// and returns what Login returns, for a session whose tokens carry amr
// ["pwd","otp"] and aal 2. A ticket is good for one login, for
// [MFAConfig.TicketTTL], and for [MFAConfig.MaxTicketAttempts] codes; a
// bad, expired or spent ticket is [ErrInvalidToken], a wrong or replayed
// code [ErrInvalidCode]. Wrong codes are also throttled per account. A
// recovery code is spent by its use.
func (a *Authenticator) VerifyMFA(ctx context.Context, ticket, code, recoveryCode string) (*AuthResult, error) {
	if a.obs == nil {
		return a.verifyMFA(ctx, ticket, code, recoveryCode)
	}
	return observe(a, ctx, OpSecondFactor, func(ctx context.Context) (*AuthResult, error) { return a.verifyMFA(ctx, ticket, code, recoveryCode) })
}

// verifyMFA is VerifyMFA without the observer.
func (a *Authenticator) verifyMFA(ctx context.Context, ticket, code, recoveryCode string) (*AuthResult, error) {
	st, err := a.secondFactors()
	if err != nil {
		return nil, err
	}
	ot, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	now := a.cfg.Now()
	p, err := a.mfa.parseTicket(ticket, now)
	if err != nil {
		a.audit(ctx, AuditMFATicketInvalid)
		return nil, err
	}
	if (code == "") == (recoveryCode == "") {
		return nil, validationError(map[string]string{"code": "give exactly one of code and recoveryCode"})
	}
	// Every attempt with the ticket counts, in one atomic step, so a burst
	// of guesses cannot pass the check together.
	if err := a.take(ctx, "mfa.verify", keyMFATicket+p.ID, a.ticketBackoff()); err != nil {
		return nil, err
	}
	u, err := a.users.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	// A spent ticket is refused before any code is checked, so that it can
	// neither burn the user's codes nor tell a right code from a wrong one.
	if _, err := ot.OneTimeToken(ctx, hashTokenID(p.ID), PurposeMFATicket); errors.Is(err, ErrNotFound) {
		a.audit(ctx, AuditMFATicketReuse, "user_id", u.ID)
		return nil, ErrInvalidToken
	} else if err != nil {
		return nil, fmt.Errorf("auth: read MFA ticket: %w", err)
	}
	if _, err := a.proveFactor(ctx, st, u.ID, code, recoveryCode, "mfa.verify"); err != nil {
		if errors.Is(err, ErrMFANotEnabled) {
			return nil, ErrInvalidToken // the factor went away since the login
		}
		return nil, err
	}
	if _, err := ot.ConsumeOneTimeToken(ctx, hashTokenID(p.ID), PurposeMFATicket, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			a.audit(ctx, AuditMFATicketReuse, "user_id", u.ID)
			return nil, ErrInvalidToken
		}
		return nil, fmt.Errorf("auth: spend MFA ticket: %w", err)
	}
	if err := a.mfaProved(ctx, u.ID); err != nil {
		return nil, err
	}
	method := "totp"
	if code == "" {
		method = "recovery_code"
	}
	res, s, err := a.openSession(ctx, u, append(slices.Clone(p.AMR), "otp"), now)
	if err != nil {
		return nil, err
	}
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditLoginSuccess, "user_id", u.ID, "session_id", s.ID, "aal", 2, "method", method)
	return res, nil
}
