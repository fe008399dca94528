package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// loginKeys are the throttling keys of one login attempt.
type loginKeys struct {
	// pair is the (account, client address) key: checked, counted with
	// LoginAccountBackoff, reset by a success.
	pair string
	// address is the client address's key: checked, counted with
	// LoginAddressBackoff.
	address string
	// account is the account-wide ceiling: counted with
	// LoginAccountCeiling, checked unless device is set or trusted.
	account string
	// device is the key of a valid device token presented with the
	// attempt: checked instead of account, counted with
	// LoginAccountBackoff, reset by a success.
	device string
	// trusted skips the ceiling: the caller is already signed in.
	trusted bool
}

// newLoginKeys returns the keys of an attempt on the account of email (a
// canonical email, or the "invalid:" form of one that is not).
func newLoginKeys(ctx context.Context, email string) loginKeys {
	return loginKeys{
		pair:    pairKey(ctx, keyLoginPair, email),
		address: addressThrottleKey(ctx, keyLoginAddress),
		account: keyLoginAccount + email,
	}
}

// checkLogin returns a RATE_LIMITED error when one of the attempt's keys
// must wait.
func (a *Authenticator) checkLogin(ctx context.Context, k loginKeys) error {
	ceiling := k.account
	if k.device != "" {
		ceiling = k.device
	} else if k.trusted {
		ceiling = ""
	}
	return a.throttled(ctx, "login", k.pair, k.address, ceiling)
}

// loginFailed records a failed attempt on each of its keys.
func (a *Authenticator) loginFailed(ctx context.Context, k loginKeys) error {
	for _, h := range []struct {
		key  string
		rule Backoff
	}{
		{k.pair, a.cfg.Throttle.LoginAccountBackoff},
		{k.address, a.cfg.Throttle.LoginAddressBackoff},
		{k.account, a.cfg.Throttle.LoginAccountCeiling},
		{k.device, a.cfg.Throttle.LoginAccountBackoff},
	} {
		if err := a.hit(ctx, h.key, h.rule); err != nil {
			return fmt.Errorf("auth: record failed login: %w", err)
		}
	}
	return nil
}

// loginSucceeded forgets the failures of the (account, address) pair and
// of the device. The account-wide ceiling is left to run out: it measures
// the guessing, which the owner's success does not stop.
func (a *Authenticator) loginSucceeded(ctx context.Context, k loginKeys) error {
	if a.limiter == nil {
		return nil
	}
	for _, key := range []string{k.pair, k.device} {
		if key == "" {
			continue
		}
		if err := a.limiter.Reset(ctx, key); err != nil {
			return fmt.Errorf("auth: reset throttle: %w", err)
		}
	}
	return nil
}

// deviceTokenKey is the context key of a device token.
var deviceTokenKey = &contextKey{"device token"}

// WithDeviceToken returns a context that carries a device token, which
// [Authenticator.Login] then checks: a device token that the Authenticator
// issued (in [AuthResult.DeviceToken]) for the same email, and that has not
// expired, exempts the login from the account-wide ceiling on failed logins
// ([ThrottleConfig.LoginAccountCeiling]), so that guessing from many addresses does
// not lock out a client that has logged in before. It never exempts it from
// the rules per client address. The login handler reads it from the
// request's "deviceToken" member.
func WithDeviceToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, deviceTokenKey, token)
}

// deviceMAC is the MAC of a device token's nonce and issue time for email.
func (a *Authenticator) deviceMAC(nonceAndTime []byte, email string) []byte {
	m := hmac.New(sha256.New, a.deviceKey)
	m.Write(nonceAndTime)
	m.Write([]byte(email))
	return m.Sum(nil)
}

// issueDeviceToken returns a new device token for the canonical email.
func (a *Authenticator) issueDeviceToken(email string, now time.Time) string {
	b := make([]byte, deviceNonceBytes+8, deviceTokenBytes)
	rand.Read(b[:deviceNonceBytes])
	binary.BigEndian.PutUint64(b[deviceNonceBytes:], uint64(now.Unix()))
	b = append(b, a.deviceMAC(b, email)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// deviceKeyOf returns the throttling key of the context's device token
// when it is valid for the canonical email at now, or "".
func (a *Authenticator) deviceKeyOf(ctx context.Context, email string, now time.Time) string {
	token, _ := ctx.Value(deviceTokenKey).(string)
	if token == "" || len(token) != base64.RawURLEncoding.EncodedLen(deviceTokenBytes) {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != deviceTokenBytes {
		return ""
	}
	body := b[:deviceNonceBytes+8]
	if !hmac.Equal(b[deviceNonceBytes+8:], a.deviceMAC(body, email)) {
		return ""
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(body[deviceNonceBytes:])), 0)
	if issued.After(now.Add(a.cfg.Sessions.Leeway+time.Minute)) || !now.Before(issued.Add(a.cfg.Throttle.DeviceTokenTTL)) {
		return ""
	}
	return keyLoginDevice + base64.RawURLEncoding.EncodeToString(b[:deviceNonceBytes])
}

// Login checks an email and password and opens a new session. An unknown
// email and a wrong password both return [ErrInvalidCredentials], after
// spending the same hashing time. A successful login upgrades a password
// hash made with weaker parameters, or with bcrypt, to argon2id, and
// returns a new device token (see [WithDeviceToken]).
//
// Failed logins are throttled per (email, client address), per client
// address, and per email from all addresses against a higher ceiling that
// a valid device token in ctx exempts from (see [ThrottleConfig.Limiter] and
// [ThrottleConfig.LoginAccountCeiling]); a throttled call returns a RATE_LIMITED
// error before the password is looked at, so it is the same for a right
// and a wrong one.
func (a *Authenticator) Login(ctx context.Context, email, password string) (*AuthResult, error) {
	if a.obs == nil {
		return a.login(ctx, email, password)
	}
	return observe(a, ctx, OpLogin, func(ctx context.Context) (*AuthResult, error) { return a.login(ctx, email, password) })
}

// login is Login without the observer.
func (a *Authenticator) login(ctx context.Context, email, password string) (*AuthResult, error) {
	canon, emailErr := CanonicalEmail(email)
	account := canon
	if emailErr != nil {
		// Keyed by a hash, so that keys stay printable ASCII whatever the
		// input; letter case and surrounding space still do not count.
		sum := sha256.Sum256([]byte(asciiLower(strings.TrimSpace(truncate(email, MaxEmailBytes)))))
		account = "invalid:" + hex.EncodeToString(sum[:16])
	}
	keys := newLoginKeys(ctx, account)
	if emailErr == nil {
		keys.device = a.deviceKeyOf(ctx, canon, a.cfg.Now())
	}

	// The throttle is checked and failures are recorded while a hashing slot
	// is held, so a burst of concurrent guesses cannot all slip past the
	// check before the first failure is counted: at most
	// MaxConcurrentHashes attempts are ever in flight between the two.
	if err := a.hasher.acquire(ctx); err != nil {
		return nil, fmt.Errorf("auth: wait for a hashing slot: %w", err)
	}
	lookup := func() (*User, error) {
		if emailErr != nil {
			return nil, nil
		}
		u, err := a.users.UserByEmail(ctx, canon)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return u, err
	}
	u, rehash, err := a.checkPassword(ctx, lookup, password, keys)
	a.hasher.release()
	if errors.Is(err, ErrInvalidCredentials) {
		// The canonical email only: the raw input may be a password typed
		// into the wrong field.
		args := []any{"email", "(invalid)"}
		if emailErr == nil {
			args[1] = logSafe(canon)
		}
		if u != nil {
			args = append(args, "user_id", u.ID)
		}
		a.audit(ctx, AuditLoginFailure, args...)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := a.loginSucceeded(ctx, keys); err != nil {
		return nil, err
	}
	if rehash {
		a.upgradeHash(ctx, u, password)
	}
	if a.cfg.Mail.RequireVerifiedEmail && u.EmailVerifiedAt.IsZero() {
		a.audit(ctx, AuditLoginUnverified, "user_id", u.ID)
		return nil, ErrEmailNotVerified
	}
	return a.signIn(ctx, u, amrPassword)
}

// checkPassword runs with a hashing slot held. After the throttle check it
// finds the account with lookup (nil for an unknown one, which is verified
// against the dummy hash) and returns the user whose password matches and
// whether its hash needs an upgrade, or ErrInvalidCredentials (with the
// user, when the account is known) after recording the failure, or a
// RATE_LIMITED error.
func (a *Authenticator) checkPassword(ctx context.Context, lookup func() (*User, error), password string, keys loginKeys) (*User, bool, error) {
	if err := a.checkLogin(ctx, keys); err != nil {
		return nil, false, err
	}
	var u *User
	ok, rehash := false, false
	if password != "" && len(password) <= MaxPasswordBytes {
		var err error
		if u, err = lookup(); err != nil {
			return nil, false, fmt.Errorf("auth: look up user: %w", err)
		}
	}
	if u != nil && u.PasswordHash != "" {
		ok, rehash = a.hasher.verify(ctx, password, u.PasswordHash)
	} else {
		// Unknown, or an account without a password (signed up with an
		// external provider): the same hashing time, and no way in.
		a.hasher.verifyDummy(ctx, truncate(password, MaxPasswordBytes))
	}
	if !ok {
		if err := a.loginFailed(ctx, keys); err != nil {
			return nil, false, err
		}
		return u, false, ErrInvalidCredentials
	}
	return u, rehash, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// upgradeHash replaces u's password hash with one made with the live
// parameters. A failure is logged and does not fail the login.
func (a *Authenticator) upgradeHash(ctx context.Context, u *User, password string) {
	hash, err := a.hasher.hash(ctx, password)
	if err == nil {
		err = a.users.UpdatePasswordHash(ctx, u.ID, hash)
	}
	if err != nil {
		a.log.WarnContext(ctx, "auth: could not upgrade password hash", "user_id", u.ID, "error", err)
		return
	}
	u.PasswordHash = hash
}

// Device tokens are stateless: base64url (unpadded) of a 16-byte random
// nonce, the issue time in Unix seconds (8 bytes, big-endian) and an
// HMAC-SHA256 over both and the canonical email, with a key derived from
// Config.Secret. They name no user, and verify only for the email they were
// issued for.
const (
	deviceNonceBytes = 16
	deviceTokenBytes = deviceNonceBytes + 8 + sha256.Size
)

// confirmPassword checks that password is the user's, throttled and
// counted like a login: it returns the user, or ErrInvalidCredentials, or a
// RATE_LIMITED error.
func (a *Authenticator) confirmPassword(ctx context.Context, userID, password string) (*User, error) {
	u, err := a.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	if err := a.hasher.acquire(ctx); err != nil {
		return nil, fmt.Errorf("auth: wait for a hashing slot: %w", err)
	}
	known := func() (*User, error) { return u, nil }
	// The caller is signed in, which a device token would only repeat: the
	// account-wide ceiling does not hold it back (its failures still count).
	keys := newLoginKeys(ctx, u.Email)
	keys.trusted = true
	_, rehash, err := a.checkPassword(ctx, known, password, keys)
	a.hasher.release()
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			a.audit(ctx, AuditPasswordConfirmFailure, "user_id", u.ID)
		}
		return nil, err
	}
	if rehash {
		a.upgradeHash(ctx, u, password)
	}
	return u, nil
}
