package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
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

	// Organizations configures organizations, members and invitations,
	// which are on whenever Users implements [OrgStore]. The zero value
	// means the defaults of [OrganizationsConfig].
	Organizations OrganizationsConfig
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

// DefaultRefreshReuseWindow is the default [SessionConfig.RefreshReuseWindow].
const DefaultRefreshReuseWindow = 10 * time.Second

// maxRefreshReuseWindow is the longest [SessionConfig.RefreshReuseWindow]
// (spec/security.md).
const maxRefreshReuseWindow = time.Minute

// maxSessionCacheTTL caps Config.Sessions.SessionCacheTTL: the cache trades exactly
// this much logout latency on other instances for fewer store reads.
const maxSessionCacheTTL = time.Minute

// MaxVerifyCacheSize caps [SessionConfig.VerifyCacheSize].
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
// floor and ceiling. It is the one place New checks a Config; the groups
// with more to check (MFA, Browser) have a validate method of their own
// below it.
func (cfg *Config) validate() error {
	if cfg.Users == nil || cfg.Tokens == nil {
		return errors.New("auth: Config.Users and Config.Tokens are required")
	}
	if err := checkObserver(cfg.Observer); err != nil {
		return err
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
	setDefault(&cfg.Organizations.InvitationTTL, DefaultInvitationTTL)
	setDefault(&cfg.Mail.MailBackoff, defaultMailBackoff)
	setDefault(&cfg.Mail.MailCeiling, defaultMailCeiling)
	setDefault(&cfg.Mail.PasswordResetTTL, DefaultPasswordResetTTL)
	setDefault(&cfg.Mail.EmailVerificationTTL, DefaultEmailVerificationTTL)
	setDefault(&cfg.Mail.ForgotPasswordMinDuration, DefaultForgotPasswordMinDuration)
	if cfg.Throttle.Limiter == nil && !cfg.Throttle.InsecureDisableThrottling {
		cfg.Throttle.Limiter = NewMemoryLimiter(0)
	}
	if cfg.Mail.PasswordResetTTL < 0 || cfg.Mail.PasswordResetTTL > 24*time.Hour || cfg.Mail.EmailVerificationTTL < 0 || cfg.Mail.ForgotPasswordMinDuration < 0 {
		return errors.New("auth: Config.Mail.PasswordResetTTL must be between 0 and 24 hours; EmailVerificationTTL and ForgotPasswordMinDuration must not be negative")
	}
	if (cfg.Mail.SendVerificationEmail || cfg.Mail.RequireVerifiedEmail) && cfg.Mail.Mailer == nil {
		return errors.New("auth: Config.Mail.SendVerificationEmail and RequireVerifiedEmail need a Config.Mail.Mailer")
	}
	if err := checkBackoffs(cfg.Throttle.LoginAccountBackoff, cfg.Throttle.LoginAccountCeiling, cfg.Throttle.LoginAddressBackoff, cfg.Throttle.RegisterAddressBackoff, cfg.Throttle.RefreshAddressBackoff, cfg.Mail.MailBackoff, cfg.Mail.MailCeiling); err != nil {
		return err
	}
	if cfg.Throttle.LoginAccountBackoff.Free > maxLoginFailuresFree || cfg.Throttle.LoginAccountCeiling.Free > maxLoginFailuresFree {
		return errors.New("auth: Config.Throttle.LoginAccountBackoff.Free and LoginAccountCeiling.Free must be at most 100 (NIST SP 800-63B, ASVS 4-2.2.1)")
	}
	if cfg.Throttle.DeviceTokenTTL < 0 {
		return errors.New("auth: Config.Throttle.DeviceTokenTTL must not be negative")
	}
	cfg.Throttle.TrustedProxies = append([]netip.Prefix(nil), cfg.Throttle.TrustedProxies...)
	switch {
	case cfg.AccessTokenTTL < 0 || cfg.AccessTokenTTL > time.Hour:
		return errors.New("auth: Config.AccessTokenTTL must be between 0 and one hour")
	case cfg.RefreshTokenTTL < 0:
		return errors.New("auth: Config.RefreshTokenTTL must not be negative")
	case cfg.Sessions.RefreshReuseWindow > maxRefreshReuseWindow:
		return errors.New("auth: Config.Sessions.RefreshReuseWindow must be at most one minute")
	case cfg.Sessions.SessionLifetime < cfg.RefreshTokenTTL:
		return errors.New("auth: Config.Sessions.SessionLifetime must be at least Config.RefreshTokenTTL")
	case cfg.Sessions.Leeway < 0 || cfg.Sessions.Leeway > 5*time.Minute:
		return errors.New("auth: Config.Sessions.Leeway must be between 0 and 5 minutes")
	case cfg.Passwords.MinPasswordLength < 8:
		return errors.New("auth: Config.Passwords.MinPasswordLength must be at least 8")
	case cfg.Passwords.MaxConcurrentHashes < 0:
		return errors.New("auth: Config.Passwords.MaxConcurrentHashes must not be negative")
	case cfg.Sessions.SessionCacheTTL < 0 || cfg.Sessions.SessionCacheTTL > maxSessionCacheTTL:
		return errors.New("auth: Config.Sessions.SessionCacheTTL must be between 0 and one minute")
	case cfg.Sessions.VerifyCacheSize < 0 || cfg.Sessions.VerifyCacheSize > MaxVerifyCacheSize:
		return errors.New("auth: Config.Sessions.VerifyCacheSize must be between 0 and MaxVerifyCacheSize")
	case cfg.Passwords.MaxHashWait < 0:
		return errors.New("auth: Config.Passwords.MaxHashWait must not be negative")
	case cfg.HTTP.MaxBodyBytes < 0:
		return errors.New("auth: Config.HTTP.MaxBodyBytes must not be negative")
	case cfg.Passwords.Argon2.belowFloor() && !cfg.Passwords.InsecureAllowWeakHashing:
		return fmt.Errorf("auth: Config.Passwords.Argon2 is below the OWASP floor (m=%d KiB, t=%d); set InsecureAllowWeakHashing only in tests", argon2FloorMemory, argon2FloorIterations)
	}
	if err := cfg.Passwords.Argon2.errArgon2Limits(); err != nil {
		return fmt.Errorf("auth: Config.Passwords.Argon2: %w", err)
	}
	if err := cfg.MFA.validate(cfg.Issuer); err != nil {
		return err
	}
	return cfg.Browser.validate()
}

// validate fills in m's defaults (the issuer defaults to Config.Issuer) and
// checks it.
func (m *MFAConfig) validate(issuer string) error {
	setDefault(&m.Issuer, issuer)
	setDefault(&m.Skew, DefaultMFASkew)
	setDefault(&m.TicketTTL, DefaultMFATicketTTL)
	setDefault(&m.MaxTicketAttempts, DefaultMFAMaxTicketAttempts)
	setDefault(&m.FreshLogin, DefaultMFAFreshLogin)
	setDefault(&m.AccountBackoff, DefaultMFAAccountBackoff)
	switch {
	case m.Skew < -1 || m.Skew > 2:
		return errors.New("auth: Config.MFA.Skew must be between -1 and 2")
	case m.TicketTTL < 0 || m.TicketTTL > 10*time.Minute:
		return errors.New("auth: Config.MFA.TicketTTL must be between 0 and 10 minutes")
	case m.MaxTicketAttempts < 0 || m.MaxTicketAttempts > 10:
		return errors.New("auth: Config.MFA.MaxTicketAttempts must be between 0 and 10")
	case m.FreshLogin < 0:
		return errors.New("auth: Config.MFA.FreshLogin must not be negative")
	}
	return checkBackoffs(m.AccountBackoff)
}

// checkBackoffs returns an error for the first rule that cannot work.
func checkBackoffs(rules ...Backoff) error {
	for _, b := range rules {
		if b.Free < 0 || b.Base <= 0 || b.Max < b.Base || b.Window <= 0 {
			return errors.New("auth: a Backoff needs Free >= 0, Base > 0, Max >= Base and Window > 0")
		}
	}
	return nil
}

// validate checks the browser-mode settings: they need Enabled, and a
// cookie path must be absolute.
func (b *BrowserConfig) validate() error {
	if !b.Enabled {
		if b.AccessTokenCookie || len(b.TrustedOrigins) > 0 || b.CookiePath != "" {
			return errors.New("auth: Config.Browser settings need Config.Browser.Enabled")
		}
		return nil
	}
	if b.CookiePath != "" && !strings.HasPrefix(b.CookiePath, "/") {
		return fmt.Errorf("auth: Config.Browser.CookiePath %q must start with /", b.CookiePath)
	}
	return nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
