package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"time"
)

// Config configures an [Authenticator]. Zero fields mean their documented
// default; every group's zero value means its defaults. A Config must not be
// changed after it is passed to [New].
type Config struct {
	// Users stores the accounts. It is required.
	Users UserStore

	// Tokens stores sessions and refresh-token records. It is required; it
	// is often the same value as Users.
	Tokens TokenStore

	// Secret is the HS256 key that signs access tokens unless SigningKey is
	// set; the refresh-token key is always derived from it. It must be at
	// least 32 bytes of cryptographically random data, or New fails. It is
	// required.
	Secret []byte

	// Issuer is the "iss" claim of issued tokens, checked on verification.
	// The default is "ingestiq-auth".
	Issuer string

	// Audience is the "aud" claim of issued tokens, checked on verification.
	// The default is "ingestiq-auth".
	Audience string

	// AccessTokenTTL is the lifetime of access tokens, at most one hour.
	// The default is 15 minutes.
	AccessTokenTTL time.Duration

	// RefreshTokenTTL is the lifetime of each refresh token; every refresh
	// issues a new one. The default is 7 days.
	RefreshTokenTTL time.Duration

	// Now is the clock. Tests set it to drive expiry without sleeping. The
	// default is [time.Now].
	Now func() time.Time

	// Logger receives the library's log records: internal errors with their
	// causes, and security events such as refresh-token reuse. No password,
	// hash or token is ever logged. The default is [slog.Default].
	Logger *slog.Logger

	// OnRegister, when set, is called with each new user before it is
	// stored. It may set OrganizationID and Role (for example to join an
	// invited organization) and must not change other fields. An error
	// aborts the registration: an *Error is returned to the client as is,
	// any other error as INTERNAL_ERROR. The registration can still fail
	// after OnRegister returned nil (the email is taken, which only the
	// store's unique constraint decides, or the user or session cannot be
	// stored); then [Config.OnRegisterUndo] is called, so keep OnRegister's
	// side effects to what OnRegisterUndo can take back. The default gives
	// the user a fresh organization id and the role "owner".
	OnRegister func(ctx context.Context, u *User) error

	// OnRegisterUndo, when set, is called when a registration fails after
	// OnRegister accepted its user, with the user as OnRegister left it,
	// once the Authenticator has removed whatever it stored: a duplicate
	// email, a store error, or a session that could not be opened. It is
	// given a context that is not cancelled with the request's. It is not
	// called when OnRegister itself returns an error. The default is none.
	OnRegisterUndo func(ctx context.Context, u *User)

	// Observer, when set, is told of every operation, hashing-slot wait and
	// throttling decision (see [Observer]); package otelauth implements it
	// with OpenTelemetry. The default is none, which costs nothing.
	Observer Observer

	// Keys holds the keys that sign and verify access tokens beyond
	// [Config.Secret]. The zero value means the defaults of [KeyConfig].
	Keys KeyConfig

	// Passwords configures password rules and hashing. The zero value means
	// the defaults of [PasswordConfig].
	Passwords PasswordConfig

	// Throttle configures throttling: the limiter, its rules and how client
	// addresses are determined. The zero value means the defaults of
	// [ThrottleConfig].
	Throttle ThrottleConfig

	// Mail configures the account lifecycle that goes through the mailbox:
	// password resets and email verification. The zero value means the
	// defaults of [MailConfig].
	Mail MailConfig

	// Sessions configures sessions and the verification of access tokens. The
	// zero value means the defaults of [SessionConfig].
	Sessions SessionConfig

	// HTTP configures the HTTP handlers. The zero value means the defaults of
	// [HTTPConfig].
	HTTP HTTPConfig

	// MFA configures two-step sign-in (TOTP and recovery codes), which is
	// on whenever Users implements [SecondFactorStore]. The zero value
	// means the defaults of [MFAConfig].
	MFA MFAConfig

	// Browser configures browser mode: refresh tokens in HttpOnly cookies
	// and cross-origin protection, for web front ends. See
	// [BrowserConfig]. The default is off.
	Browser BrowserConfig
}

// KeyConfig holds the keys that sign and verify access tokens beyond
// [Config.Secret]. Zero fields mean their documented default.
type KeyConfig struct {
	// SigningKey, when set, signs access tokens in place of Secret, so that
	// other services can verify them with public keys alone (see
	// [Authenticator.JWKSHandler] and package verifier). It must be an
	// ed25519.PrivateKey (EdDSA), an *ecdsa.PrivateKey on P-256 (ES256) or an
	// *rsa.PrivateKey of at least 2048 bits (RS256), whose halves match, or
	// New fails; [ParsePrivateKeyPEM] loads one. Each token names it by its
	// kid, the key's RFC 7638 thumbprint. Refresh tokens are still keyed by
	// Secret. The default is nil: access tokens are HS256 with Secret and
	// carry no kid.
	SigningKey crypto.Signer

	// VerifyKeys are further public keys (ed25519.PublicKey, *ecdsa.PublicKey
	// on P-256 or *rsa.PublicKey of at least 2048 bits) whose access tokens
	// are still accepted, and which JWKSHandler publishes: the previous
	// signing key during a rotation, or the next one before it takes over.
	// A token is matched to its key by kid alone, and must use that key's
	// one algorithm. [ParsePublicKeyPEM] loads one. The default is none.
	VerifyKeys []crypto.PublicKey
}

// PasswordConfig configures password rules and hashing. Zero fields mean their
// documented default.
type PasswordConfig struct {
	// MinPasswordLength is the fewest characters (Unicode code points) a new
	// password may have; it cannot be set below 8. The default is 8.
	MinPasswordLength int

	// Argon2 are the argon2id parameters for new password hashes. Values
	// below the OWASP floor (19 MiB with two passes) make New fail unless
	// InsecureAllowWeakHashing is set, and so do values outside the limits
	// within which the library reads a stored hash back: at most 4 GiB of
	// memory and at least 8 KiB per lane, 1 to 64 passes, 1 to 255 lanes.
	// Zero fields take the default's. The default is [DefaultArgon2Params]
	// (m=19456 KiB, t=2, p=1).
	Argon2 Argon2Params

	// InsecureAllowWeakHashing lets Argon2 go below the OWASP floor. It
	// exists for tests that register many users; never set it in
	// production. The default is false.
	InsecureAllowWeakHashing bool

	// MaxConcurrentHashes bounds how many password hashes run at once; more
	// requests wait for a slot for as long as their context allows. The
	// default is runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int

	// MaxHashWait bounds how long a call waits for a hashing slot when
	// MaxConcurrentHashes are busy; past it the call fails with RATE_LIMITED
	// (429, Retry-After: 1) instead of queueing until the client or the
	// server's write timeout gives up. The default is 10 seconds.
	MaxHashWait time.Duration
}

// ThrottleConfig configures throttling: the limiter, its rules and how client
// addresses are determined. Zero fields mean their documented default.
type ThrottleConfig struct {
	// Limiter keeps the counters behind throttling: failed logins per
	// email and per client address, registrations and refreshes per client
	// address. Throttled calls return RATE_LIMITED (429 with Retry-After),
	// the same whether the password was right or wrong. Deployments of
	// several instances should share one Limiter. The default is
	// NewMemoryLimiter(0).
	Limiter Limiter

	// LoginAccountBackoff throttles failed logins per (email, client
	// address), the email known or not. A successful login from that
	// address resets it. The default is [DefaultLoginAccountBackoff].
	LoginAccountBackoff Backoff

	// LoginAccountCeiling throttles failed logins per email from all client
	// addresses together, against guessing spread over many addresses; its
	// Free must be at most 100. A login that presents a valid device token
	// (see [WithDeviceToken]) is not held back by it. A successful login
	// does not reset it. The default is [DefaultLoginAccountCeiling].
	LoginAccountCeiling Backoff

	// DeviceTokenTTL is how long a device token, returned by every
	// registration and login, exempts later logins to the same account
	// from LoginAccountCeiling. The default is one year.
	DeviceTokenTTL time.Duration

	// LoginAddressBackoff throttles failed logins per client address. The
	// default is [DefaultLoginAddressBackoff].
	LoginAddressBackoff Backoff

	// RegisterAddressBackoff throttles registrations per client address.
	// The default is [DefaultRegisterAddressBackoff].
	RegisterAddressBackoff Backoff

	// RefreshAddressBackoff throttles refreshes per client address. The
	// default is [DefaultRefreshAddressBackoff].
	RefreshAddressBackoff Backoff

	// InsecureDisableThrottling turns all throttling off, for benchmarks
	// and functional test runs that register many users from one address.
	// The default is false.
	InsecureDisableThrottling bool

	// TrustedProxies lists the reverse proxies whose X-Forwarded-For header
	// the handlers believe when they determine the client address. With
	// none, the client address is the peer address and the header is
	// ignored, so clients cannot pick their own throttling key. The default
	// is none.
	TrustedProxies []netip.Prefix
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
	// remember up to this many access tokens that verified (by their
	// SHA-256, with their claims), so that a client presenting the same
	// token again costs a hash and a map lookup instead of a JWT parse. It
	// changes no answer: expiry is checked against the clock on every call,
	// refused tokens are never kept, and the session check still follows.
	// Each entry takes about 400 bytes (10,000 tokens: about 4 MB). At most
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

// HTTPConfig configures the HTTP handlers. Zero fields mean their documented
// default.
type HTTPConfig struct {
	// MaxBodyBytes caps request bodies read by the handlers; larger bodies
	// are answered 413 PAYLOAD_TOO_LARGE. The default is 64 KiB.
	MaxBodyBytes int64
}

// Defaults of [Config].
const (
	DefaultIssuer          = "ingestiq-auth"
	DefaultAudience        = "ingestiq-auth"
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 7 * 24 * time.Hour
	DefaultSessionLifetime = 30 * 24 * time.Hour
	DefaultMaxBodyBytes    = 64 << 10
	DefaultDeviceTokenTTL  = 365 * 24 * time.Hour
	// MinSecretBytes is the shortest Config.Secret New accepts.
	MinSecretBytes = 32
)

// The default throttling rules. Failed logins follow NIST SP 800-63B and
// ASVS 4-2.2.1 (at most 100 failures per hour on one account) without
// letting a stranger lock the owner out: they are counted per (account,
// client address) with a tight back-off, and per account only against a
// much higher ceiling, which a client that logged in to the account before
// (it presents a device token) does not hit. The rules per client address
// are looser, since many users can share one address. New reads the
// unexported originals, so changing these variables changes nothing but
// the copies: they are values to start a Config's rule from.
var (
	// DefaultLoginAccountBackoff applies to failed logins per (email,
	// client address): five free per hour, then 1 s, 2 s, 4 s ... up to
	// 15 minutes.
	DefaultLoginAccountBackoff = defaultLoginAccountBackoff
	// DefaultLoginAccountCeiling applies to failed logins per email from
	// all addresses together: 80 free per hour, then the same back-off,
	// which keeps an account under 100 failures per hour.
	DefaultLoginAccountCeiling = defaultLoginAccountCeiling
	// DefaultLoginAddressBackoff applies to failed logins per client
	// address, whatever the email.
	DefaultLoginAddressBackoff = defaultLoginAddressBackoff
	// DefaultRegisterAddressBackoff applies to registrations per client
	// address.
	DefaultRegisterAddressBackoff = defaultRegisterAddressBackoff
	// DefaultRefreshAddressBackoff applies to refreshes per client address.
	DefaultRefreshAddressBackoff = defaultRefreshAddressBackoff
	// DefaultMailBackoff applies to mail sent to one email address at the
	// request of one client address (or of the signed-in user).
	DefaultMailBackoff = defaultMailBackoff
	// DefaultMailCeiling applies to password-reset mail sent to one email
	// address at the request of any client address.
	DefaultMailCeiling = defaultMailCeiling
)

// The rules New fills in; nothing outside this package can change them.
var (
	defaultLoginAccountBackoff    = Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	defaultLoginAccountCeiling    = Backoff{Free: 80, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	defaultLoginAddressBackoff    = Backoff{Free: 50, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}
	defaultRegisterAddressBackoff = Backoff{Free: 20, Base: time.Second, Max: time.Hour, Window: time.Hour}
	defaultRefreshAddressBackoff  = Backoff{Free: 600, Base: time.Second, Max: time.Minute, Window: time.Minute}
	defaultMailBackoff            = Backoff{Free: 3, Base: time.Minute, Max: time.Hour, Window: time.Hour}
	defaultMailCeiling            = Backoff{Free: 10, Base: time.Minute, Max: time.Hour, Window: time.Hour}
)

// maxLoginFailuresFree is the most failed logins per hour a rule on one
// account may let through free (ASVS 4-2.2.1: at most 100).
const maxLoginFailuresFree = 100

// Defaults of the account-lifecycle settings of [Config].
const (
	DefaultPasswordResetTTL          = time.Hour
	DefaultEmailVerificationTTL      = 48 * time.Hour
	DefaultForgotPasswordMinDuration = 250 * time.Millisecond
)

// DefaultRefreshReuseWindow is the default [Config.RefreshReuseWindow].
const DefaultRefreshReuseWindow = 10 * time.Second

// maxRefreshReuseWindow is the longest [Config.RefreshReuseWindow]
// (spec/security.md).
const maxRefreshReuseWindow = time.Minute

// maxSessionCacheTTL caps Config.SessionCacheTTL: the cache trades exactly
// this much logout latency on other instances for fewer store reads.
const maxSessionCacheTTL = time.Minute

// MaxVerifyCacheSize caps [Config.VerifyCacheSize].
const MaxVerifyCacheSize = 1 << 20

// Defaults of [MFAConfig].
const (
	DefaultMFASkew              = 1
	DefaultMFATicketTTL         = 5 * time.Minute
	DefaultMFAMaxTicketAttempts = 5
	DefaultMFAFreshLogin        = 5 * time.Minute
	// RecoveryCodeCount is how many recovery codes confirmation and
	// regeneration hand out.
	RecoveryCodeCount = 10
)

// DefaultMFAAccountBackoff applies to wrong second-factor codes per
// account: five free, then 1 s, 2 s, 4 s, ... up to 15 minutes.
var DefaultMFAAccountBackoff = Backoff{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour}

// validate fills in cfg's defaults and checks every setting against its
// floor and ceiling. It is the one place New checks a Config: a group's
// defaults and limits are applied here, or in the function named for the
// group (MFA: [newMFAKeys]; Browser: [newBrowser]).
func (cfg *Config) validate() error {
	if cfg.Users == nil || cfg.Tokens == nil {
		return errors.New("auth: Config.Users and Config.Tokens are required")
	}
	if len(cfg.Secret) < MinSecretBytes {
		return fmt.Errorf("auth: Config.Secret must be at least %d bytes, got %d", MinSecretBytes, len(cfg.Secret))
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	setDefault(&cfg.Issuer, DefaultIssuer)
	setDefault(&cfg.Audience, DefaultAudience)
	setDefault(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	setDefault(&cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	setDefault(&cfg.Sessions.RefreshReuseWindow, DefaultRefreshReuseWindow)
	setDefault(&cfg.Sessions.SessionLifetime, DefaultSessionLifetime)
	setDefault(&cfg.Passwords.MinPasswordLength, 8)
	setDefault(&cfg.Passwords.MaxConcurrentHashes, runtime.GOMAXPROCS(0))
	setDefault(&cfg.HTTP.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.Passwords.MaxHashWait, 10*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Passwords.Argon2 = cfg.Passwords.Argon2.withDefaults()
	setDefault(&cfg.Throttle.LoginAccountBackoff, defaultLoginAccountBackoff)
	setDefault(&cfg.Throttle.LoginAccountCeiling, defaultLoginAccountCeiling)
	setDefault(&cfg.Throttle.DeviceTokenTTL, DefaultDeviceTokenTTL)
	setDefault(&cfg.Throttle.LoginAddressBackoff, defaultLoginAddressBackoff)
	setDefault(&cfg.Throttle.RegisterAddressBackoff, defaultRegisterAddressBackoff)
	setDefault(&cfg.Throttle.RefreshAddressBackoff, defaultRefreshAddressBackoff)
	setDefault(&cfg.Mail.MailBackoff, defaultMailBackoff)
	setDefault(&cfg.Mail.MailCeiling, defaultMailCeiling)
	setDefault(&cfg.Mail.PasswordResetTTL, DefaultPasswordResetTTL)
	setDefault(&cfg.Mail.EmailVerificationTTL, DefaultEmailVerificationTTL)
	setDefault(&cfg.Mail.ForgotPasswordMinDuration, DefaultForgotPasswordMinDuration)
	if cfg.Throttle.Limiter == nil && !cfg.Throttle.InsecureDisableThrottling {
		cfg.Throttle.Limiter = NewMemoryLimiter(0)
	}
	if cfg.Mail.PasswordResetTTL < 0 || cfg.Mail.PasswordResetTTL > 24*time.Hour || cfg.Mail.EmailVerificationTTL < 0 || cfg.Mail.ForgotPasswordMinDuration < 0 {
		return errors.New("auth: Config.PasswordResetTTL must be between 0 and 24 hours; EmailVerificationTTL and ForgotPasswordMinDuration must not be negative")
	}
	if (cfg.Mail.SendVerificationEmail || cfg.Mail.RequireVerifiedEmail) && cfg.Mail.Mailer == nil {
		return errors.New("auth: Config.SendVerificationEmail and RequireVerifiedEmail need a Config.Mailer")
	}
	for _, b := range []Backoff{cfg.Throttle.LoginAccountBackoff, cfg.Throttle.LoginAccountCeiling, cfg.Throttle.LoginAddressBackoff, cfg.Throttle.RegisterAddressBackoff, cfg.Throttle.RefreshAddressBackoff, cfg.Mail.MailBackoff, cfg.Mail.MailCeiling} {
		if b.Free < 0 || b.Base <= 0 || b.Max < b.Base || b.Window <= 0 {
			return errors.New("auth: a Backoff needs Free >= 0, Base > 0, Max >= Base and Window > 0")
		}
	}
	if cfg.Throttle.LoginAccountBackoff.Free > maxLoginFailuresFree || cfg.Throttle.LoginAccountCeiling.Free > maxLoginFailuresFree {
		return errors.New("auth: Config.LoginAccountBackoff.Free and LoginAccountCeiling.Free must be at most 100 (NIST SP 800-63B, ASVS 4-2.2.1)")
	}
	if cfg.Throttle.DeviceTokenTTL < 0 {
		return errors.New("auth: Config.DeviceTokenTTL must not be negative")
	}
	cfg.Throttle.TrustedProxies = append([]netip.Prefix(nil), cfg.Throttle.TrustedProxies...)
	switch {
	case cfg.AccessTokenTTL < 0 || cfg.AccessTokenTTL > time.Hour:
		return errors.New("auth: Config.AccessTokenTTL must be between 0 and one hour")
	case cfg.RefreshTokenTTL < 0:
		return errors.New("auth: Config.RefreshTokenTTL must not be negative")
	case cfg.Sessions.RefreshReuseWindow > maxRefreshReuseWindow:
		return errors.New("auth: Config.RefreshReuseWindow must be at most one minute")
	case cfg.Sessions.SessionLifetime < cfg.RefreshTokenTTL:
		return errors.New("auth: Config.SessionLifetime must be at least Config.RefreshTokenTTL")
	case cfg.Sessions.Leeway < 0 || cfg.Sessions.Leeway > 5*time.Minute:
		return errors.New("auth: Config.Leeway must be between 0 and 5 minutes")
	case cfg.Passwords.MinPasswordLength < 8:
		return errors.New("auth: Config.MinPasswordLength must be at least 8")
	case cfg.Passwords.MaxConcurrentHashes < 0:
		return errors.New("auth: Config.MaxConcurrentHashes must not be negative")
	case cfg.Sessions.SessionCacheTTL < 0 || cfg.Sessions.SessionCacheTTL > maxSessionCacheTTL:
		return errors.New("auth: Config.SessionCacheTTL must be between 0 and one minute")
	case cfg.Sessions.VerifyCacheSize < 0 || cfg.Sessions.VerifyCacheSize > MaxVerifyCacheSize:
		return errors.New("auth: Config.VerifyCacheSize must be between 0 and MaxVerifyCacheSize")
	case cfg.Passwords.MaxHashWait < 0:
		return errors.New("auth: Config.MaxHashWait must not be negative")
	case cfg.HTTP.MaxBodyBytes < 0:
		return errors.New("auth: Config.MaxBodyBytes must not be negative")
	case cfg.Passwords.Argon2.belowFloor() && !cfg.Passwords.InsecureAllowWeakHashing:
		return fmt.Errorf("auth: Config.Argon2 is below the OWASP floor (m=%d KiB, t=%d); set InsecureAllowWeakHashing only in tests", argon2FloorMemory, argon2FloorIterations)
	}
	if err := cfg.Passwords.Argon2.errArgon2Limits(); err != nil {
		return fmt.Errorf("auth: Config.Argon2: %w", err)
	}
	return nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
