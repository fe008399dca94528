package auth

import (
	"context"
	"errors"
	"time"
)

// Passkey is one WebAuthn credential of a user, with every field the
// protocol needs at later sign-ins. The passkey module
// (github.com/ingestiq/auth/passkey) fills it from go-webauthn's
// credential; a store keeps it as it is and never looks inside.
type Passkey struct {
	// ID is the credential id, base64url-encoded without padding. It is
	// unique across all users.
	ID string
	// UserID is the user the passkey belongs to.
	UserID string
	// Name is the label the user gave the passkey, for the list.
	Name string
	// PublicKey is the credential public key, COSE-encoded.
	PublicKey []byte
	// SignCount is the last signature counter the authenticator reported.
	SignCount uint32
	// Transports lists how the authenticator can be reached ("internal",
	// "usb", "hybrid", ...), as the browser reported at registration.
	Transports []string
	// AttestationType is the attestation type of the registration
	// ("none", "basic_full", ...).
	AttestationType string
	// AttestationFormat is the attestation statement format ("none",
	// "packed", ...).
	AttestationFormat string
	// Flags is the authenticator data flags octet recorded at
	// registration and advanced at each sign-in, as go-webauthn's
	// CredentialFlags are rebuilt from it.
	Flags uint8
	// BackupEligible is the credential's BE flag, which must never change.
	BackupEligible bool
	// BackupState is the credential's BS flag at the last ceremony.
	BackupState bool
	// AAGUID identifies the authenticator model (16 bytes, or none).
	AAGUID []byte
	// CreatedAt is when the passkey was registered, in UTC.
	CreatedAt time.Time
	// LastUsedAt is when the passkey last signed in, in UTC; zero if never.
	LastUsedAt time.Time
}

// PasskeyCeremony is the server-side state of one WebAuthn ceremony
// (registration, sign-in or second step) between its begin and finish
// calls: the library's session data, which holds the challenge, the user
// handle and the allowed credentials. It lives [PasskeyCeremonyTTL] and is
// spent by its first finish, right or wrong.
type PasskeyCeremony struct {
	// IDHash is the hex-encoded SHA-256 of the ceremony id the client
	// holds. It is unique.
	IDHash string
	// Kind is what the ceremony is for: "register", "login" or "mfa".
	Kind string
	// UserID is the user the ceremony is for; "" for a sign-in with a
	// discoverable credential.
	UserID string
	// Data is the ceremony's session data, opaque to the store.
	Data []byte
	// CreatedAt is when the ceremony began, in UTC.
	CreatedAt time.Time
	// ExpiresAt is when the ceremony stops being accepted, in UTC.
	ExpiresAt time.Time
}

// PasskeyCeremonyTTL is how long a passkey ceremony may take between its
// begin and finish calls.
const PasskeyCeremonyTTL = 5 * time.Minute

// PasskeyStore is an optional capability of the store passed to the passkey
// module: it keeps the users' passkeys and the ceremonies in progress. When
// the UserStore implements it too, a password login of a user with a
// passkey asks for a second step that the passkey satisfies. Without it
// the passkey routes answer NOT_IMPLEMENTED.
type PasskeyStore interface {
	// CreatePasskey stores a copy of p. It must return
	// [ErrCredentialExists] and store nothing when a passkey with the same
	// ID exists, for this user or another.
	CreatePasskey(ctx context.Context, p *Passkey) error

	// Passkey returns a copy of the passkey whose ID is id. It must return
	// [ErrNotFound] when there is none.
	Passkey(ctx context.Context, id string) (*Passkey, error)

	// Passkeys returns copies of the user's passkeys, oldest first; none is
	// an empty list, not an error.
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)

	// UsePasskey records a sign-in with the passkey id: its SignCount
	// becomes signCount, its Flags, BackupState and LastUsedAt the given
	// values, atomically and only when signCount is above the stored
	// count or both are zero (authenticators without a counter). Otherwise
	// it must return [ErrTokenUsed] and change nothing; of concurrent
	// calls with the same count at most one succeeds. It must return
	// [ErrNotFound] when there is no such passkey.
	UsePasskey(ctx context.Context, id string, signCount uint32, flags uint8, backupState bool, at time.Time) error

	// RenamePasskey sets the name of the user's passkey id. It must return
	// [ErrNotFound] when the user has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) error

	// DeletePasskey removes the user's passkey id. It must return
	// [ErrNotFound] when the user has no such passkey. When keepOne is
	// true it removes it only if the user keeps another way in that the
	// store keeps: another passkey or, in a store that is also an
	// [ExternalIdentityStore], an external identity; otherwise it returns
	// [ErrLastSignInMethod]. This is decided atomically: of concurrent
	// calls removing a user's last two ways in (two passkeys, or a passkey
	// here and an identity through DeleteExternalIdentity) at most one
	// succeeds.
	DeletePasskey(ctx context.Context, userID, id string, keepOne bool) error

	// CreatePasskeyCeremony stores a copy of c.
	CreatePasskeyCeremony(ctx context.Context, c *PasskeyCeremony) error

	// ConsumePasskeyCeremony spends the ceremony whose IDHash is hash and
	// returns a copy of it. It must return [ErrNotFound] when there is no
	// such unspent ceremony; of any number of concurrent calls with the
	// same hash, in this process or another, at most one succeeds. The
	// store does not check expiry; DeleteExpiredPasskeyCeremonies removes
	// ceremonies that expired before the given time.
	ConsumePasskeyCeremony(ctx context.Context, hash string) (*PasskeyCeremony, error)

	// DeleteExpiredPasskeyCeremonies removes the ceremonies, spent or not,
	// whose ExpiresAt is before before, and returns how many it removed.
	DeleteExpiredPasskeyCeremonies(ctx context.Context, before time.Time) (int64, error)
}

// ErrCredentialExists is returned by [PasskeyStore.CreatePasskey] when a
// passkey with the same credential id is stored already.
var ErrCredentialExists = errors.New("auth: credential exists")
