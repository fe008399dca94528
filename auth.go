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
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
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
	// sessions is nil unless Config.Sessions.SessionCacheTTL is set.
	sessions *sessionCache
	// unknownAddrOnce logs the first request whose peer address does not
	// parse.
	unknownAddrOnce sync.Once
	// deviceKey signs device tokens.
	deviceKey []byte
	// mfa holds the keys of two-step sign-in (see mfa.go).
	mfa *mfaKeys
	// obs is Config.Observer; nil means no observation at all.
	obs Observer
	// transport is where requests' tokens come from and issued tokens go.
	transport transport
	// extra are the routes added with Handle; handlerBuilt is set by the
	// first call to Handler, after which Handle panics.
	extraMu      sync.Mutex
	extra        []extraRoute
	handlerBuilt bool
}

// New validates cfg, fills in its defaults and returns an Authenticator. It
// returns an error for a missing store, a secret shorter than
// [MinSecretBytes], or any setting weaker than the library allows; it never
// weakens a setting silently. New starts no goroutines.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	keys, err := newTokens(&cfg)
	if err != nil {
		return nil, err
	}
	h, err := newHasher(cfg.Passwords.Argon2, cfg.Passwords.MaxConcurrentHashes, cfg.Passwords.MaxHashWait)
	if err != nil {
		return nil, err
	}
	br, err := newBrowser(cfg.Browser)
	if err != nil {
		return nil, err
	}
	a := &Authenticator{cfg: cfg, users: cfg.Users, tokens: cfg.Tokens, keys: keys, hasher: h, log: cfg.Logger, transport: newStandardTransport(br), obs: cfg.Observer}
	h.obs = cfg.Observer
	if a.deviceKey, err = hkdf.Key(sha256.New, cfg.Secret, nil, "github.com/ingestiq/auth device-token key v1", 32); err != nil {
		return nil, err
	}
	if !cfg.Throttle.InsecureDisableThrottling {
		a.limiter = cfg.Throttle.Limiter
	}
	if cfg.Sessions.SessionCacheTTL > 0 {
		a.sessions = newSessionCache(cfg.Sessions.SessionCacheTTL)
	}
	if err := checkCapabilities(&cfg); err != nil {
		return nil, err
	}
	if a.mfa, err = newMFAKeys(&a.cfg); err != nil {
		return nil, err
	}
	return a, nil
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
	// [ThrottleConfig.DeviceTokenTTL]) and presents with later logins to the same
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
	if a.obs == nil {
		return a.register(ctx, in)
	}
	return observe(a, ctx, OpRegister, func(ctx context.Context) (*AuthResult, error) { return a.register(ctx, in) })
}

// register is Register without the observer.
func (a *Authenticator) register(ctx context.Context, in RegisterInput) (*AuthResult, error) {
	if err := a.take(ctx, "register", addressThrottleKey(ctx, keyRegisterAddress), a.cfg.Throttle.RegisterAddressBackoff); err != nil {
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
	if msg := checkNewPassword(in.Password, email, a.cfg.Passwords.MinPasswordLength); msg != "" {
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
	u, undo, err := a.createUser(ctx, &User{Email: email, Name: name, PasswordHash: hash}, now)
	if err != nil {
		return nil, err
	}
	opened := false // set once the session is open; until then, failure undoes
	defer func() {
		if !opened {
			undo()
		}
	}()
	res, s, err := a.openSession(ctx, u, amrPassword, now)
	if err != nil {
		return nil, err
	}
	opened = true
	res.DeviceToken = a.issueDeviceToken(u.Email, now)
	a.audit(ctx, AuditRegister, "user_id", u.ID, "session_id", s.ID)
	if a.cfg.Mail.SendVerificationEmail {
		if err := a.sendOneTimeToken(ctx, u, PurposeEmailVerification, a.cfg.Mail.EmailVerificationTTL, a.cfg.Mail.Mailer.SendEmailVerification); err != nil {
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

// Refresh spends a refresh token and returns a new access token and the
// refresh token that replaces it. An expired token is [ErrTokenExpired]; a
// forged, malformed or revoked one is [ErrInvalidToken]. A token that was
// already spent is [ErrInvalidToken] too, and revokes its whole session:
// the legitimate holder and the thief, whichever presents second, are both
// logged out. The one exception is [SessionConfig.RefreshReuseWindow]: within it,
// while the successor is unspent, the spent token gets the same successor
// again and a new access token of the same session.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	var end OperationEnd
	if a.obs == nil {
		return a.refresh(ctx, refreshToken, &end)
	}
	ctx = a.obs.OperationStart(ctx, OpRefresh)
	ended := false
	defer a.endOnPanic(ctx, OpRefresh, &ended)
	res, err := a.refresh(ctx, refreshToken, &end)
	ended = true
	a.operationEnd(ctx, OpRefresh, err, end)
	return res, err
}

// refresh is Refresh without the observer.
func (a *Authenticator) refresh(ctx context.Context, refreshToken string, end *OperationEnd) (*TokenPair, error) {
	if err := a.take(ctx, "refresh", addressThrottleKey(ctx, keyRefreshAddress), a.cfg.Throttle.RefreshAddressBackoff); err != nil {
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
		end.Replay = true
	case errors.Is(err, ErrTokenUsed):
		sid := c.SessionID
		if r != nil && r.Old != nil {
			sid = r.Old.SessionID
		}
		end.Reuse = true
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

// replayable reports whether a spent refresh token, whose store record and
// successor r reports, may be answered with that same successor: the reuse
// window is on, the token was spent less than the window ago, its recorded
// successor is the one derived from it (succHash), and that successor is
// unspent, unexpired and of the same session (the store reports it only
// while the session is live).
func (a *Authenticator) replayable(r *Rotation, c *refreshClaims, succHash string, now time.Time) bool {
	w := a.cfg.Sessions.RefreshReuseWindow
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
	if a.obs == nil {
		return a.logout(ctx, accessToken)
	}
	_, err := observe(a, ctx, OpLogout, func(ctx context.Context) (struct{}, error) { return struct{}{}, a.logout(ctx, accessToken) })
	return err
}

// logout is Logout without the observer.
func (a *Authenticator) logout(ctx context.Context, accessToken string) error {
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
// [KeyConfig.SigningKey] is used), the token kind, issuer, audience and expiry, and, unless
// [SessionConfig.InsecureSkipSessionCheck] is set, that its session is live, which
// costs one TokenStore read. An expired token is [ErrTokenExpired]; anything
// else wrong is [ErrInvalidToken].
func (a *Authenticator) Verify(ctx context.Context, accessToken string) (*Claims, error) {
	if a.obs != nil {
		return a.verifyObserved(ctx, accessToken)
	}
	return a.verify(ctx, accessToken, !a.cfg.Sessions.InsecureSkipSessionCheck)
}

func (a *Authenticator) verify(ctx context.Context, token string, checkSession bool) (*Claims, error) {
	// One clock reading serves the verify cache's exp check and the
	// session's; a parse that decodes the token reads its own.
	now := a.cfg.Now()
	c, err := a.keys.parseAccess(token, now)
	if err != nil || !checkSession {
		return c, err
	}
	var gen uint64
	if a.sessions != nil {
		if a.sessions.live(c.SessionID, c.UserID, c.OrganizationID, now) {
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
	// A session remembers its active organization: a token for another one
	// (issued before a switch, or for an organization the user has been
	// removed from since) is no longer valid. Stores that keep no
	// organization on sessions leave it empty.
	if s.OrganizationID != "" && s.OrganizationID != c.OrganizationID {
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
