package auth

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ExternalIdentity links a user to an account at an external identity
// provider (an OpenID Connect issuer, or an OAuth 2 provider such as
// GitHub). The provider's account is named by (Issuer, Subject), never by
// an email address: emails change hands, subjects do not.
type ExternalIdentity struct {
	// ID is the link's unique id.
	ID string
	// UserID is the local user the provider's account signs in as.
	UserID string
	// Issuer names the provider: an OpenID Connect issuer URL, or a fixed
	// name such as "https://github.com".
	Issuer string
	// Subject is the provider's stable id of the account.
	Subject string
	// Email is the address the provider reported when the link was made,
	// for display only; it decides nothing.
	Email string
	// CreatedAt is when the link was made, in UTC.
	CreatedAt time.Time
}

// ExternalIdentityStore is the optional capability behind sign-in with an
// external provider, found by type assertion on Config.Users; without it
// the external sign-in methods return [ErrNotImplemented]. DeleteUser
// removes the user's identities too.
type ExternalIdentityStore interface {
	// CreateExternalIdentity stores a copy of id. It must return
	// [ErrIdentityExists] and store nothing when an identity with the same
	// Issuer and Subject exists, decided atomically by the store (a unique
	// constraint), never by a read followed by a write.
	CreateExternalIdentity(ctx context.Context, id *ExternalIdentity) error

	// ExternalIdentity returns a copy of the identity with the given
	// issuer and subject. It must return [ErrNotFound] when there is none.
	ExternalIdentity(ctx context.Context, issuer, subject string) (*ExternalIdentity, error)

	// UserExternalIdentities returns copies of the user's identities,
	// oldest first; an empty slice for a user without any.
	UserExternalIdentities(ctx context.Context, userID string) ([]*ExternalIdentity, error)

	// DeleteExternalIdentity removes the user's identity with the given
	// id. It must return [ErrNotFound] when the user has no such identity.
	// When keepOne is true it removes it only if the user keeps another
	// way in that the store keeps: another identity or, in a store that
	// is also a [PasskeyStore], a passkey; otherwise it returns
	// [ErrLastSignInMethod]. This is decided atomically: of concurrent
	// calls removing a user's last two ways in (two identities, or an
	// identity here and a passkey through DeletePasskey) at most one
	// succeeds.
	DeleteExternalIdentity(ctx context.Context, userID, id string, keepOne bool) error
}

// ErrIdentityExists is returned by
// [ExternalIdentityStore.CreateExternalIdentity] when the provider account
// is already linked, to this user or another.
var ErrIdentityExists = errors.New("auth: external identity already linked")

// The errors of sign-in with an external provider.
var (
	// ErrAccountExists is returned by [Authenticator.SignInExternal] when
	// an account with the provider's email exists and the two may not be
	// linked on their own: the provider does not assert the email as
	// verified, or the local account's email is not verified. The user logs
	// in with the existing method and links the provider from the account.
	ErrAccountExists = newError("ACCOUNT_EXISTS", http.StatusConflict, "An account with this email exists: log in with it, then link this provider from your account")

	// ErrIdentityLinked is returned by [Authenticator.LinkExternal] when the
	// provider account is already linked to another user.
	ErrIdentityLinked = newError("IDENTITY_LINKED", http.StatusConflict, "This provider account is linked to another user")

	// ErrLastSignInMethod is returned by [Authenticator.UnlinkExternal]
	// and by the passkey module's deletion when the identity or passkey is
	// the account's last way in (no password, no other identity, no other
	// passkey).
	ErrLastSignInMethod = newError("LAST_SIGN_IN_METHOD", http.StatusConflict, "This is the account's last way to sign in")

	// ErrIdentityNotFound is returned by [Authenticator.UnlinkExternal] for
	// an identity that is not the caller's.
	ErrIdentityNotFound = newError("NOT_FOUND", http.StatusNotFound, "Identity not found")

	// ErrExternalEmailMissing is returned by [Authenticator.SignInExternal]
	// when a first sign-in comes without a usable email address.
	ErrExternalEmailMissing = newError("EMAIL_REQUIRED", http.StatusBadRequest, "The provider did not share an email address")
)
