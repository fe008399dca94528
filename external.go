package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ExternalUser is what an external provider asserts about the account that
// has just signed in there, after the way in has verified it (an ID
// token's signature, issuer, audience, nonce and expiry).
type ExternalUser struct {
	// Issuer and Subject name the provider's account; both are required.
	Issuer, Subject string
	// Email is the provider's email address for the account, if any.
	Email string
	// EmailVerified says whether the provider asserts that Email is
	// verified (OpenID Connect's email_verified, GitHub's verified flag).
	EmailVerified bool
	// Name is the account's display name, if any.
	Name string
}

// identities returns the store capability, or ErrNotImplemented.
func (a *Authenticator) identities() (ExternalIdentityStore, error) {
	s, ok := a.users.(ExternalIdentityStore)
	if !ok {
		return nil, ErrNotImplemented
	}
	return s, nil
}

// SignInExternal returns the local user an external provider's account
// signs in as, creating it on a first sign-in. The rules:
//
//   - An identity is (Issuer, Subject). A linked identity signs in as its
//     user, whatever the email says now.
//   - A first sign-in creates a user without a password (through
//     [Config.OnRegister], as registration does), its email verified,
//     unless an account has that email. A provider that does not assert
//     the email as verified creates no account: [ErrEmailNotVerified].
//   - Then the identity is linked to that account only when the provider
//     asserts the email as verified and the account's email is verified
//     too; otherwise it returns [ErrAccountExists] and changes nothing: the
//     user logs in with the existing method and links the provider from the
//     account ([Authenticator.LinkExternal]).
//
// It opens no session: the caller continues with [Authenticator.OpenSession]
// (amr ["oidc"], say) or [Authenticator.IssueSignInCode]. The user store
// must implement [ExternalIdentityStore], else it returns
// [ErrNotImplemented].
func (a *Authenticator) SignInExternal(ctx context.Context, ext ExternalUser) (*User, error) {
	st, err := a.identities()
	if err != nil {
		return nil, err
	}
	if ext.Issuer == "" || ext.Subject == "" {
		return nil, errors.New("auth: SignInExternal needs an issuer and a subject")
	}
	for attempt := 0; ; attempt++ {
		u, err := a.signInExternalOnce(ctx, st, ext)
		if errors.Is(err, errRaced) && attempt < 2 {
			continue // a concurrent first sign-in won: look again
		}
		return u, err
	}
}

// errRaced reports a concurrent first sign-in of the same identity.
var errRaced = errors.New("auth: concurrent external sign-in")

func (a *Authenticator) signInExternalOnce(ctx context.Context, st ExternalIdentityStore, ext ExternalUser) (*User, error) {
	id, err := st.ExternalIdentity(ctx, ext.Issuer, ext.Subject)
	if err == nil {
		u, err := a.users.UserByID(ctx, id.UserID)
		if err != nil {
			return nil, fmt.Errorf("auth: look up user: %w", err)
		}
		return u, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("auth: look up identity: %w", err)
	}
	email, emailErr := CanonicalEmail(ext.Email)
	if emailErr != nil {
		return nil, ErrExternalEmailMissing
	}
	now := a.cfg.Now()
	existing, err := a.users.UserByEmail(ctx, email)
	switch {
	case err == nil:
		if !ext.EmailVerified || existing.EmailVerifiedAt.IsZero() {
			a.audit(ctx, AuditExternalRefused, "user_id", existing.ID, "issuer", logSafe(ext.Issuer))
			return nil, ErrAccountExists
		}
		if err := a.link(ctx, st, existing, ext, email, now); err != nil {
			if errors.Is(err, ErrIdentityLinked) {
				return nil, errRaced
			}
			return nil, err
		}
		return existing, nil
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("auth: look up user: %w", err)
	}
	if !ext.EmailVerified {
		// An account is never made from an address the provider does not
		// vouch for: it would take the address from its owner, and the
		// identity would keep a way into the account after the owner
		// recovered it by mail (pre-account takeover).
		a.audit(ctx, AuditExternalRefused, "issuer", logSafe(ext.Issuer), "reason", "email_not_verified")
		return nil, ErrEmailNotVerified
	}
	in := &User{Email: email, Name: strings.TrimSpace(ext.Name), EmailVerifiedAt: now.UTC().Truncate(time.Millisecond)}
	u, undo, err := a.createUser(ctx, in, now)
	if errors.Is(err, ErrEmailExists) {
		return nil, errRaced
	}
	if err != nil {
		return nil, err
	}
	if err := a.link(ctx, st, u, ext, email, now); err != nil {
		if errors.Is(err, ErrIdentityLinked) {
			// A concurrent sign-in of the same identity may have found
			// the new user by its email and linked it already.
			if have, e := st.ExternalIdentity(ctx, ext.Issuer, ext.Subject); e == nil && have.UserID == u.ID {
				return u, nil
			}
			undo()
			return nil, errRaced
		}
		undo()
		return nil, err
	}
	a.audit(ctx, AuditRegister, "user_id", u.ID, "issuer", logSafe(ext.Issuer))
	return u, nil
}

// link stores the identity ext for u; ErrIdentityLinked when the provider
// account is linked already.
func (a *Authenticator) link(ctx context.Context, st ExternalIdentityStore, u *User, ext ExternalUser, email string, now time.Time) error {
	rec := &ExternalIdentity{
		ID: uuid.NewString(), UserID: u.ID, Issuer: ext.Issuer, Subject: ext.Subject,
		Email: email, CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
	err := st.CreateExternalIdentity(ctx, rec)
	if errors.Is(err, ErrIdentityExists) {
		return ErrIdentityLinked
	}
	if err != nil {
		return fmt.Errorf("auth: store identity: %w", err)
	}
	a.audit(ctx, AuditExternalLinked, "user_id", u.ID, "identity_id", rec.ID, "issuer", logSafe(ext.Issuer))
	return nil
}

// LinkExternal links the provider account ext to the signed-in user
// userID, whatever the emails say: the user has proved both. Linking an
// identity the user already has succeeds; one linked to another user is
// [ErrIdentityLinked].
func (a *Authenticator) LinkExternal(ctx context.Context, userID string, ext ExternalUser) error {
	st, err := a.identities()
	if err != nil {
		return err
	}
	if ext.Issuer == "" || ext.Subject == "" {
		return errors.New("auth: LinkExternal needs an issuer and a subject")
	}
	u, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: look up user: %w", err)
	}
	email, _ := CanonicalEmail(ext.Email)
	err = a.link(ctx, st, u, ext, email, a.cfg.Now())
	if errors.Is(err, ErrIdentityLinked) {
		if have, e := st.ExternalIdentity(ctx, ext.Issuer, ext.Subject); e == nil && have.UserID == userID {
			return nil
		}
	}
	return err
}

// ExternalIdentities lists the user's linked provider accounts, oldest
// first.
func (a *Authenticator) ExternalIdentities(ctx context.Context, userID string) ([]*ExternalIdentity, error) {
	st, err := a.identities()
	if err != nil {
		return nil, err
	}
	ids, err := st.UserExternalIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: list identities: %w", err)
	}
	return ids, nil
}

// UnlinkExternal removes the user's identity id. It refuses with
// [ErrLastSignInMethod] to remove the last way in of an account without a
// password or a passkey, and answers [ErrIdentityNotFound] for an identity that is not
// the user's.
func (a *Authenticator) UnlinkExternal(ctx context.Context, userID, id string) error {
	st, err := a.identities()
	if err != nil {
		return err
	}
	m, err := a.SignInMethods(ctx, userID)
	if err != nil {
		return err
	}
	// Without a password the account must keep a way in. A store that also
	// keeps the passkeys counts them with the identities, atomically;
	// otherwise a passkey seen now is enough.
	_, both := st.(PasskeyStore)
	err = st.DeleteExternalIdentity(ctx, userID, id, !m.Password && (both || m.Passkeys == 0))
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrIdentityNotFound
	case errors.Is(err, ErrLastSignInMethod):
		return ErrLastSignInMethod
	case err != nil:
		return fmt.Errorf("auth: delete identity: %w", err)
	}
	a.audit(ctx, AuditExternalUnlinked, "user_id", userID, "identity_id", id)
	return nil
}

// SignInCodeTTL is how long a code of [Authenticator.IssueSignInCode]
// stays valid.
const SignInCodeTTL = 60 * time.Second

// IssueSignInCode returns a one-time code that [Authenticator.RedeemSignInCode]
// exchanges, once and within [SignInCodeTTL], for a session of u opened
// with the single method amr (such as "oidc"). It lets a way in that ends
// in a browser redirect hand the front end a code instead of tokens in a
// URL. The store keeps only the code's hash; the token store must
// implement [OneTimeTokenStore], else it returns [ErrNotImplemented].
func (a *Authenticator) IssueSignInCode(ctx context.Context, u *User, amr string) (string, error) {
	store, ok := a.tokens.(OneTimeTokenStore)
	if !ok {
		return "", ErrNotImplemented
	}
	if _, err := signInPurpose(amr); err != nil {
		return "", err
	}
	now := a.cfg.Now()
	code := newID(32)
	rec := &OneTimeToken{
		IDHash: hashTokenID(code), Purpose: "signin_" + amr, UserID: u.ID,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt: now.Add(SignInCodeTTL).UTC().Truncate(time.Millisecond),
	}
	if err := store.CreateOneTimeToken(ctx, rec); err != nil {
		return "", fmt.Errorf("auth: store sign-in code: %w", err)
	}
	return code, nil
}

// RedeemSignInCode spends a code of [Authenticator.IssueSignInCode] issued
// with amr and opens the session with [Authenticator.OpenSession] (which
// may stop at the second step with [ErrMFARequired]). An unknown, spent or
// other-method code is [ErrInvalidToken]; an expired one [ErrTokenExpired].
// Of concurrent redemptions of one code at most one succeeds.
func (a *Authenticator) RedeemSignInCode(ctx context.Context, code, amr string) (*AuthResult, error) {
	purpose, err := signInPurpose(amr)
	if err != nil {
		return nil, err
	}
	u, err := a.consumeOneTimeToken(ctx, code, purpose)
	if err != nil {
		return nil, err
	}
	return a.OpenSession(ctx, u, []string{amr})
}

// signInPurpose is the one-time token purpose of sign-in codes for amr.
func signInPurpose(amr string) (string, error) {
	if amr == "" || len(amr) > 24 || strings.TrimFunc(amr, func(r rune) bool { return r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' }) != "" {
		return "", fmt.Errorf("auth: invalid sign-in method %q", amr)
	}
	return "signin_" + amr, nil
}

// SignInMethods counts the ways in of an account: a password, linked
// provider identities and passkeys.
type SignInMethods struct {
	// Password is true when the account has a password.
	Password bool
	// Identities is the number of linked provider identities (0 when the
	// store has no [ExternalIdentityStore]).
	Identities int
	// Passkeys is the number of passkeys (0 when the store has no
	// [PasskeyStore]).
	Passkeys int
}

// SignInMethods returns the ways in of the user userID, for the routes that
// remove one (unlinking a provider, deleting a passkey) to refuse removing
// the last with [ErrLastSignInMethod]. The removal itself is atomic in the
// store: against its own kind (two unlinks, two passkey deletions) and, in
// a store that keeps both kinds (memstore, sqlstore), across them (an
// unlink racing the deletion of the account's only passkey leaves one).
func (a *Authenticator) SignInMethods(ctx context.Context, userID string) (SignInMethods, error) {
	var m SignInMethods
	u, err := a.users.UserByID(ctx, userID)
	if err != nil {
		return m, fmt.Errorf("auth: look up user: %w", err)
	}
	m.Password = u.PasswordHash != ""
	if st, ok := a.users.(ExternalIdentityStore); ok {
		ids, err := st.UserExternalIdentities(ctx, userID)
		if err != nil {
			return m, fmt.Errorf("auth: list identities: %w", err)
		}
		m.Identities = len(ids)
	}
	if st, ok := a.users.(PasskeyStore); ok {
		pks, err := st.Passkeys(ctx, userID)
		if err != nil {
			return m, fmt.Errorf("auth: list passkeys: %w", err)
		}
		m.Passkeys = len(pks)
	}
	return m, nil
}
