// Package auth is an authentication library for Go services: registration,
// login, refresh-token rotation, logout and "who am I", as Go methods on an
// [Authenticator], as net/http handlers to mount on any mux under any prefix
// ([Authenticator.Handler]), and as a middleware that protects the service's
// own routes ([Authenticator.Middleware]).
//
// The application supplies the storage: a [UserStore] and a [TokenStore].
// Package memstore keeps them in memory; package sqlstore keeps them in
// SQLite, PostgreSQL or MySQL/MariaDB through database/sql. Any other store
// proves itself with the conformance suite in package storetest.
//
// # Tokens
//
// Register and Login open a session and return two tokens. The access token
// is a JWT (HS256 by default) that lives 15 minutes and names the user, the
// session, the organization and the role. The refresh token is a JWT of
// another kind, signed with a separately derived key, that lives 7 days; the
// store keeps only a hash of its id. Every refresh spends the token presented
// and returns its successor; presenting a spent token again revokes the whole
// session (reuse detection). Verification checks the signature with a pinned
// algorithm, the token kind, issuer, audience and expiry, and by default that
// the session is still live, so that logout takes effect at once.
//
// # Passwords
//
// Passwords are hashed with argon2id (m=19 MiB, t=2, p=1) in PHC string
// form, with a bound on how many hashes run at once. Hashes with weaker
// parameters and bcrypt hashes imported from elsewhere verify, and are
// upgraded on the next successful login.
package auth

import (
	"context"
	"crypto"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Config configures an [Authenticator]. Zero fields mean their documented
// default. A Config must not be changed after it is passed to [New].
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

	// SessionLifetime is the absolute lifetime of a session: after it no
	// token of the session is accepted however often it was refreshed, and
	// the user must log in again. It must be at least RefreshTokenTTL. The
	// default is 30 days.
	SessionLifetime time.Duration

	// Leeway is the clock skew tolerated when checking the exp and iat
	// claims, at most 5 minutes. The default is 0.
	Leeway time.Duration

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

	// MaxBodyBytes caps request bodies read by the handlers; larger bodies
	// are answered 413 PAYLOAD_TOO_LARGE. The default is 64 KiB.
	MaxBodyBytes int64

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

	// MFA configures two-step sign-in (TOTP and recovery codes), which is
	// on whenever Users implements [SecondFactorStore]. The zero value
	// means the defaults of [MFAConfig].
	MFA MFAConfig

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

	// Browser configures browser mode: refresh tokens in HttpOnly cookies
	// and cross-origin protection, for web front ends. See
	// [BrowserConfig]. The default is off.
	Browser BrowserConfig
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

// RoleOwner is the role given to a user who registers, unless
// [Config.OnRegister] sets another.
const RoleOwner = "owner"

// Authenticator registers and logs in users, issues, refreshes and verifies
// their tokens, and serves all of it over HTTP. It is safe for concurrent
// use.
type Authenticator struct {
	cfg    Config
	users  UserStore
	tokens TokenStore
	keys   *tokens
	hasher *hasher
	log    *slog.Logger
	// limiter is nil when throttling is disabled.
	limiter Limiter
	// sessions is nil unless Config.SessionCacheTTL is set.
	sessions *sessionCache
	// browser is nil unless Config.Browser.Enabled is set.
	browser *browser
	// unknownAddrOnce logs the first request whose peer address does not
	// parse.
	unknownAddrOnce sync.Once
	// deviceKey signs device tokens.
	deviceKey []byte
	// mfa holds the keys of two-step sign-in (see mfa.go).
	mfa *mfaKeys
}

// New validates cfg, fills in its defaults and returns an Authenticator. It
// returns an error for a missing store, a secret shorter than
// [MinSecretBytes], or any setting weaker than the library allows; it never
// weakens a setting silently. New starts no goroutines.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Users == nil || cfg.Tokens == nil {
		return nil, errors.New("auth: Config.Users and Config.Tokens are required")
	}
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: Config.Secret must be at least %d bytes, got %d", MinSecretBytes, len(cfg.Secret))
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	setDefault(&cfg.Issuer, DefaultIssuer)
	setDefault(&cfg.Audience, DefaultAudience)
	setDefault(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	setDefault(&cfg.RefreshTokenTTL, DefaultRefreshTokenTTL)
	setDefault(&cfg.RefreshReuseWindow, DefaultRefreshReuseWindow)
	setDefault(&cfg.SessionLifetime, DefaultSessionLifetime)
	setDefault(&cfg.MinPasswordLength, 8)
	setDefault(&cfg.MaxConcurrentHashes, runtime.GOMAXPROCS(0))
	setDefault(&cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&cfg.MaxHashWait, 10*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Argon2 = cfg.Argon2.withDefaults()
	setDefault(&cfg.LoginAccountBackoff, defaultLoginAccountBackoff)
	setDefault(&cfg.LoginAccountCeiling, defaultLoginAccountCeiling)
	setDefault(&cfg.DeviceTokenTTL, DefaultDeviceTokenTTL)
	setDefault(&cfg.LoginAddressBackoff, defaultLoginAddressBackoff)
	setDefault(&cfg.RegisterAddressBackoff, defaultRegisterAddressBackoff)
	setDefault(&cfg.RefreshAddressBackoff, defaultRefreshAddressBackoff)
	setDefault(&cfg.MailBackoff, defaultMailBackoff)
	setDefault(&cfg.MailCeiling, defaultMailCeiling)
	setDefault(&cfg.PasswordResetTTL, DefaultPasswordResetTTL)
	setDefault(&cfg.EmailVerificationTTL, DefaultEmailVerificationTTL)
	setDefault(&cfg.ForgotPasswordMinDuration, DefaultForgotPasswordMinDuration)
	if cfg.Limiter == nil && !cfg.InsecureDisableThrottling {
		cfg.Limiter = NewMemoryLimiter(0)
	}
	if cfg.PasswordResetTTL < 0 || cfg.PasswordResetTTL > 24*time.Hour || cfg.EmailVerificationTTL < 0 || cfg.ForgotPasswordMinDuration < 0 {
		return nil, errors.New("auth: Config.PasswordResetTTL must be between 0 and 24 hours; EmailVerificationTTL and ForgotPasswordMinDuration must not be negative")
	}
	if (cfg.SendVerificationEmail || cfg.RequireVerifiedEmail) && cfg.Mailer == nil {
		return nil, errors.New("auth: Config.SendVerificationEmail and RequireVerifiedEmail need a Config.Mailer")
	}
	for _, b := range []Backoff{cfg.LoginAccountBackoff, cfg.LoginAccountCeiling, cfg.LoginAddressBackoff, cfg.RegisterAddressBackoff, cfg.RefreshAddressBackoff, cfg.MailBackoff, cfg.MailCeiling} {
		if b.Free < 0 || b.Base <= 0 || b.Max < b.Base || b.Window <= 0 {
			return nil, errors.New("auth: a Backoff needs Free >= 0, Base > 0, Max >= Base and Window > 0")
		}
	}
	if cfg.LoginAccountBackoff.Free > maxLoginFailuresFree || cfg.LoginAccountCeiling.Free > maxLoginFailuresFree {
		return nil, errors.New("auth: Config.LoginAccountBackoff.Free and LoginAccountCeiling.Free must be at most 100 (NIST SP 800-63B, ASVS 4-2.2.1)")
	}
	if cfg.DeviceTokenTTL < 0 {
		return nil, errors.New("auth: Config.DeviceTokenTTL must not be negative")
	}
	cfg.TrustedProxies = append([]netip.Prefix(nil), cfg.TrustedProxies...)
	switch {
	case cfg.AccessTokenTTL < 0 || cfg.AccessTokenTTL > time.Hour:
		return nil, errors.New("auth: Config.AccessTokenTTL must be between 0 and one hour")
	case cfg.RefreshTokenTTL < 0:
		return nil, errors.New("auth: Config.RefreshTokenTTL must not be negative")
	case cfg.RefreshReuseWindow > maxRefreshReuseWindow:
		return nil, errors.New("auth: Config.RefreshReuseWindow must be at most one minute")
	case cfg.SessionLifetime < cfg.RefreshTokenTTL:
		return nil, errors.New("auth: Config.SessionLifetime must be at least Config.RefreshTokenTTL")
	case cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute:
		return nil, errors.New("auth: Config.Leeway must be between 0 and 5 minutes")
	case cfg.MinPasswordLength < 8:
		return nil, errors.New("auth: Config.MinPasswordLength must be at least 8")
	case cfg.MaxConcurrentHashes < 0:
		return nil, errors.New("auth: Config.MaxConcurrentHashes must not be negative")
	case cfg.SessionCacheTTL < 0 || cfg.SessionCacheTTL > maxSessionCacheTTL:
		return nil, errors.New("auth: Config.SessionCacheTTL must be between 0 and one minute")
	case cfg.VerifyCacheSize < 0 || cfg.VerifyCacheSize > MaxVerifyCacheSize:
		return nil, errors.New("auth: Config.VerifyCacheSize must be between 0 and MaxVerifyCacheSize")
	case cfg.MaxHashWait < 0:
		return nil, errors.New("auth: Config.MaxHashWait must not be negative")
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("auth: Config.MaxBodyBytes must not be negative")
	case cfg.Argon2.belowFloor() && !cfg.InsecureAllowWeakHashing:
		return nil, fmt.Errorf("auth: Config.Argon2 is below the OWASP floor (m=%d KiB, t=%d); set InsecureAllowWeakHashing only in tests", argon2FloorMemory, argon2FloorIterations)
	}
	if err := cfg.Argon2.errArgon2Limits(); err != nil {
		return nil, fmt.Errorf("auth: Config.Argon2: %w", err)
	}
	keys, err := newTokens(&cfg)
	if err != nil {
		return nil, err
	}
	h, err := newHasher(cfg.Argon2, cfg.MaxConcurrentHashes, cfg.MaxHashWait)
	if err != nil {
		return nil, err
	}
	br, err := newBrowser(cfg.Browser)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: cfg, users: cfg.Users, tokens: cfg.Tokens, keys: keys, hasher: h, log: cfg.Logger, browser: br}
	if a.deviceKey, err = hkdf.Key(sha256.New, cfg.Secret, nil, "github.com/ingestiq/auth device-token key v1", 32); err != nil {
		return nil, err
	}
	if !cfg.InsecureDisableThrottling {
		a.limiter = cfg.Limiter
	}
	if cfg.SessionCacheTTL > 0 {
		a.sessions = newSessionCache(cfg.SessionCacheTTL)
	}
	if err := checkCapabilities(&cfg); err != nil {
		return nil, err
	}
	if a.mfa, err = newMFAKeys(&a.cfg); err != nil {
		return nil, err
	}
	return a, nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// RegisterInput is what [Authenticator.Register] needs to create an account.
type RegisterInput struct {
	// Email is the address to register; it is canonicalized with
	// [CanonicalEmail].
	Email string `json:"email"`
	// Password is the password, used exactly as given.
	Password string `json:"password"`
	// Name is the display name; surrounding white space is trimmed.
	Name string `json:"name"`
}

// AuthResult is what a registration or a login returns: the user and the
// tokens of the new session.
type AuthResult struct {
	// User is the authenticated user.
	User *User `json:"user"`
	// AccessToken is the new session's access token.
	AccessToken string `json:"accessToken"`
	// RefreshToken is the new session's refresh token.
	RefreshToken string `json:"refreshToken"`
	// DeviceToken is a credential the client keeps (for
	// [Config.DeviceTokenTTL]) and presents with later logins to the same
	// account (see [WithDeviceToken]), so that guessing by others does not
	// lock it out.
	DeviceToken string `json:"deviceToken,omitempty"`
}

// TokenPair is what a refresh returns: a new access token and the refresh
// token that replaces the one presented.
type TokenPair struct {
	// AccessToken is the new access token.
	AccessToken string `json:"accessToken"`
	// RefreshToken is the successor of the refresh token presented. It is
	// empty (and left out of the JSON form) only in an HTTP answer whose
	// refresh token went into a browser-mode cookie.
	RefreshToken string `json:"refreshToken,omitempty"`
}

// MaxNameLength is the longest display name accepted, in characters.
const MaxNameLength = 200

// Register creates a user and opens its first session. Validation failures
// are an *Error with code VALIDATION_ERROR (errors.Is(err, ErrValidation))
// and per-field messages; a taken email is [ErrEmailExists]. A failed call
// leaves no user, session or token behind.
func (a *Authenticator) Register(ctx context.Context, in RegisterInput) (*AuthResult, error) {
	if err := a.take(ctx, "register", addressThrottleKey(ctx, keyRegisterAddress), a.cfg.RegisterAddressBackoff); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	email, err := CanonicalEmail(in.Email)
	switch {
	case strings.TrimSpace(in.Email) == "":
		fields["email"] = "is required"
	case err != nil:
		fields["email"] = "must be a valid email address"
	}
	if msg := checkNewPassword(in.Password, email, a.cfg.MinPasswordLength); msg != "" {
		fields["password"] = msg
	}
	name := strings.TrimSpace(in.Name)
	if msg := checkName(name); msg != "" {
		fields["name"] = msg
	}
	if len(fields) > 0 {
		return nil, validationError(fields)
	}

	hash, err := a.hasher.hash(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	now := a.cfg.Now()
	opened := false // set once the session is open; until then, failure undoes
	u := &User{
		ID:             uuid.NewString(),
		Email:          email,
		Name:           name,
		OrganizationID: uuid.NewString(),
		Role:           RoleOwner,
		PasswordHash:   hash,
		CreatedAt:      now.UTC().Truncate(time.Millisecond),
	}
	if a.cfg.OnRegister != nil {
		id, mail, created := u.ID, u.Email, u.CreatedAt
		if err := a.cfg.OnRegister(ctx, u); err != nil {
			return nil, err
		}
		// The hook may only choose the organization and role.
		u.ID, u.Email, u.Name, u.PasswordHash, u.CreatedAt = id, mail, name, hash, created
		if a.cfg.OnRegisterUndo != nil {
			// Runs last (deferred first): after the user is deleted below.
			defer func() {
				if !opened {
					undone := *u
					a.cfg.OnRegisterUndo(context.WithoutCancel(ctx), &undone)
				}
			}()
		}
	}
	if err := a.users.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrEmailExists) {
			a.audit(ctx, AuditRegisterFailure, "reason", "email_exists", "email", logSafe(email))
			return nil, ErrEmailExists
		}
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	// Undo the registration if the session cannot be opened, by error or
	// by panic, so that a failed call leaves nothing behind. A fresh
	// context: the request's may be what failed.
	defer func() {
		if opened {
			return
		}
		if derr := a.users.DeleteUser(context.WithoutCancel(ctx), u.ID); derr != nil {
			a.log.ErrorContext(ctx, "auth: could not undo registration", "user_id", u.ID, "error", derr)
		}
	}()
	res, s, err := a.startSession(ctx, u, now)
	if err != nil {
		return nil, err
	}
	opened = true
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditRegister, "user_id", u.ID, "session_id", s.ID)
	if a.cfg.SendVerificationEmail {
		if err := a.sendOneTimeToken(ctx, u, PurposeEmailVerification, a.cfg.EmailVerificationTTL, a.cfg.Mailer.SendEmailVerification); err != nil {
			// The account exists and works; the user can ask again.
			a.log.ErrorContext(ctx, "auth: could not send the verification email", "user_id", u.ID, "error", err)
		}
	}
	return res, nil
}

func checkName(name string) string {
	switch {
	case name == "":
		return "is required"
	case !utf8.ValidString(name):
		return "must be valid UTF-8 text"
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Sprintf("must be at most %d characters", MaxNameLength)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// Login checks an email and password and opens a new session. An unknown
// email and a wrong password both return [ErrInvalidCredentials], after
// spending the same hashing time. A successful login upgrades a password
// hash made with weaker parameters, or with bcrypt, to argon2id, and
// returns a new device token (see [WithDeviceToken]).
//
// Failed logins are throttled per (email, client address), per client
// address, and per email from all addresses against a higher ceiling that
// a valid device token in ctx exempts from (see [Config.Limiter] and
// [Config.LoginAccountCeiling]); a throttled call returns a RATE_LIMITED
// error before the password is looked at, so it is the same for a right
// and a wrong one.
func (a *Authenticator) Login(ctx context.Context, email, password string) (*AuthResult, error) {
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
	if a.cfg.RequireVerifiedEmail && u.EmailVerifiedAt.IsZero() {
		a.audit(ctx, AuditLoginUnverified, "user_id", u.ID)
		return nil, ErrEmailNotVerified
	}
	if err := a.secondStep(ctx, u); err != nil {
		return nil, err // MFA_REQUIRED with a ticket, or a failure
	}
	now := a.cfg.Now()
	res, s, err := a.startSession(ctx, u, now)
	if err != nil {
		return nil, err
	}
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditLoginSuccess, "user_id", u.ID, "session_id", s.ID)
	return res, nil
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
	if u != nil {
		ok, rehash = a.hasher.verify(ctx, password, u.PasswordHash)
	} else {
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

// startSession opens a session for u and signs its first tokens.
func (a *Authenticator) startSession(ctx context.Context, u *User, now time.Time) (*AuthResult, *Session, error) {
	c := clientFrom(ctx)
	s := &Session{
		ID:        uuid.NewString(),
		UserID:    u.ID,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: now.Add(a.cfg.SessionLifetime).UTC().Truncate(time.Second),
		UserAgent: c.userAgent,
	}
	if c.ip.IsValid() {
		s.IPAddress = c.ip.String()
	}
	s.AMR, s.AAL = assuranceFrom(ctx)
	refresh, rec, err := a.keys.issueRefresh(s, now)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: sign refresh token: %w", err)
	}
	access, err := a.keys.issueAccess(u, s, now)
	if err != nil {
		return nil, nil, fmt.Errorf("auth: sign access token: %w", err)
	}
	if err := a.tokens.CreateSession(ctx, s, rec); err != nil {
		return nil, nil, fmt.Errorf("auth: create session: %w", err)
	}
	return &AuthResult{User: u, AccessToken: access, RefreshToken: refresh}, s, nil
}

// Refresh spends a refresh token and returns a new access token and the
// refresh token that replaces it. An expired token is [ErrTokenExpired]; a
// forged, malformed or revoked one is [ErrInvalidToken]. A token that was
// already spent is [ErrInvalidToken] too, and revokes its whole session:
// the legitimate holder and the thief, whichever presents second, are both
// logged out. The one exception is [Config.RefreshReuseWindow]: within it,
// while the successor is unspent, the spent token gets the same successor
// again and a new access token of the same session.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	if err := a.take(ctx, "refresh", addressThrottleKey(ctx, keyRefreshAddress), a.cfg.RefreshAddressBackoff); err != nil {
		return nil, err
	}
	c, err := a.keys.parseRefresh(refreshToken)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	// The successor is signed only once the store has answered: the record
	// it will refresh is either next, just stored, or the one stored by an
	// earlier rotation of the same token (a replay in the reuse window).
	nextID, next := a.keys.successor(c, now)
	r, err := a.tokens.RotateRefreshToken(ctx, hashTokenID(c.ID), next, now)
	replay := false
	switch {
	case errors.Is(err, ErrTokenUsed) && a.replayable(r, c, next.IDHash, now):
		replay, next = true, r.Successor
	case errors.Is(err, ErrTokenUsed):
		sid := c.SessionID
		if r != nil && r.Old != nil {
			sid = r.Old.SessionID
		}
		a.auditAt(ctx, slog.LevelWarn, AuditRefreshReuse, "user_id", c.Subject, "session_id", sid)
		if rerr := a.revokeSession(context.WithoutCancel(ctx), sid, now); rerr != nil && !errors.Is(rerr, ErrNotFound) {
			return nil, fmt.Errorf("auth: revoke session after reuse: %w", rerr)
		}
		return nil, ErrInvalidToken
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrSessionRevoked):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, fmt.Errorf("auth: rotate refresh token: %w", err)
	}
	if r.Old == nil || r.Old.SessionID != c.SessionID || r.Old.UserID != c.Subject {
		// A genuine token whose record disagrees with it: refuse and end the
		// session rather than guess which is right.
		if r.Old != nil {
			_ = a.revokeSession(context.WithoutCancel(ctx), r.Old.SessionID, now)
		}
		return nil, ErrInvalidToken
	}
	u := &User{ID: c.Subject, OrganizationID: r.OrganizationID, Role: r.Role}
	if !r.UserRead {
		// A TokenStore that keeps no users: read the user apart.
		if u, err = a.users.UserByID(ctx, c.Subject); errors.Is(err, ErrNotFound) {
			return nil, ErrInvalidToken
		} else if err != nil {
			return nil, fmt.Errorf("auth: look up user: %w", err)
		}
	}
	refresh, err := a.keys.signRefresh(nextID, c, next, now)
	if err != nil {
		return nil, fmt.Errorf("auth: sign refresh token: %w", err)
	}
	session := &Session{ID: c.SessionID, UserID: c.Subject, ExpiresAt: c.SessionExpiresAt.Time, AMR: c.AMR, AAL: c.AAL}
	access, err := a.keys.issueAccess(u, session, now)
	if err != nil {
		return nil, fmt.Errorf("auth: sign access token: %w", err)
	}
	if replay {
		a.audit(ctx, AuditRefreshReplay, "user_id", c.Subject, "session_id", c.SessionID)
	} else {
		a.audit(ctx, AuditRefresh, "user_id", c.Subject, "session_id", c.SessionID)
	}
	return &TokenPair{AccessToken: access, RefreshToken: refresh}, nil
}

// DefaultRefreshReuseWindow is the default [Config.RefreshReuseWindow].
const DefaultRefreshReuseWindow = 10 * time.Second

// maxRefreshReuseWindow is the longest [Config.RefreshReuseWindow]
// (spec/security.md).
const maxRefreshReuseWindow = time.Minute

// replayable reports whether a spent refresh token, whose store record and
// successor r reports, may be answered with that same successor: the reuse
// window is on, the token was spent less than the window ago, its recorded
// successor is the one derived from it (succHash), and that successor is
// unspent, unexpired and of the same session (the store reports it only
// while the session is live).
func (a *Authenticator) replayable(r *Rotation, c *refreshClaims, succHash string, now time.Time) bool {
	w := a.cfg.RefreshReuseWindow
	if w <= 0 || r == nil || r.Old == nil || r.Successor == nil {
		return false
	}
	s := r.Successor
	return now.Sub(r.Old.UsedAt) < w &&
		r.Old.SuccessorHash == succHash && s.IDHash == succHash &&
		s.UsedAt.IsZero() && now.Before(s.ExpiresAt) &&
		s.SessionID == c.SessionID && s.UserID == c.Subject &&
		r.Old.SessionID == c.SessionID && r.Old.UserID == c.Subject
}

// Logout revokes the session an access token belongs to: its refresh tokens
// stop working at once, and so do its access tokens wherever sessions are
// checked. Other sessions of the same user are untouched. Logging out of a
// session that is already revoked returns [ErrInvalidToken].
func (a *Authenticator) Logout(ctx context.Context, accessToken string) error {
	c, err := a.verify(ctx, accessToken, true)
	if err != nil {
		return err
	}
	if err := a.revokeSession(ctx, c.SessionID, a.cfg.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidToken
		}
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	a.audit(ctx, AuditLogout, "user_id", c.UserID, "session_id", c.SessionID)
	return nil
}

// revokeSession revokes session id in the store and drops it from the
// session cache.
func (a *Authenticator) revokeSession(ctx context.Context, id string, at time.Time) error {
	err := a.tokens.RevokeSession(ctx, id, at)
	if a.sessions != nil {
		a.sessions.forget(id)
	}
	return err
}

// Verify checks an access token and returns its claims: the signature
// (HS256 with the secret, or the algorithm of the key its kid names when
// [Config.SigningKey] is used), the token kind, issuer, audience and expiry, and, unless
// [Config.InsecureSkipSessionCheck] is set, that its session is live, which
// costs one TokenStore read. An expired token is [ErrTokenExpired]; anything
// else wrong is [ErrInvalidToken].
func (a *Authenticator) Verify(ctx context.Context, accessToken string) (*Claims, error) {
	return a.verify(ctx, accessToken, !a.cfg.InsecureSkipSessionCheck)
}

func (a *Authenticator) verify(ctx context.Context, token string, checkSession bool) (*Claims, error) {
	c, err := a.keys.parseAccess(token)
	if err != nil || !checkSession {
		return c, err
	}
	now := a.cfg.Now()
	var gen uint64
	if a.sessions != nil {
		if a.sessions.live(c.SessionID, c.UserID, now) {
			return c, nil
		}
		gen = a.sessions.begin()
	}
	s, err := a.tokens.Session(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up session: %w", err)
	}
	if !s.RevokedAt.IsZero() || s.UserID != c.UserID || !now.Before(s.ExpiresAt) {
		return nil, ErrInvalidToken
	}
	if a.sessions != nil {
		a.sessions.put(s, now, gen)
	}
	return c, nil
}

// DeleteExpired removes the sessions and refresh-token records that expired
// before now by the configured clock, through [TokenStore.DeleteExpired],
// and returns how many it removed. Nothing calls it automatically:
// applications schedule it (hourly is plenty).
func (a *Authenticator) DeleteExpired(ctx context.Context) (int64, error) {
	return a.tokens.DeleteExpired(ctx, a.cfg.Now())
}

// User returns the user with the given id, or [ErrNotFound].
func (a *Authenticator) User(ctx context.Context, userID string) (*User, error) {
	u, err := a.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	return u, nil
}
