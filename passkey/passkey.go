// Package passkey adds passkeys (WebAuthn credentials) to an
// [auth.Authenticator]: registering a passkey for a signed-in user,
// passwordless sign-in with a discoverable credential, the second step of
// a password login, and listing, renaming and removing a user's passkeys.
// The protocol (CBOR, attestation, signatures, origins, flags) is
// go-webauthn's; this package keeps the ceremonies server-side and single
// use in an [auth.PasskeyStore] and opens sessions through the core's
// [auth.Authenticator.OpenSession].
//
//	pk, err := passkey.New(a, store, passkey.Config{
//		RPID:    "example.com",
//		Origins: []string{"https://example.com"},
//	})
//	pk.Mount() // before a.Handler()
package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/ingestiq/auth"
)

// Config configures passkeys. RPID and Origins are required.
type Config struct {
	// RPID is the relying party id: the domain the passkeys are bound to,
	// such as "example.com" (or "localhost" in development). It must be
	// the origins' host or a registrable suffix of it.
	RPID string
	// RPDisplayName is the name authenticators show for the site. The
	// default is RPID.
	RPDisplayName string
	// Origins lists the web origins allowed to run the ceremonies, such
	// as "https://example.com".
	Origins []string
	// Now returns the current time; the default is time.Now.
	Now func() time.Time
}

// Passkeys serves the passkey routes of one Authenticator. It is safe for
// concurrent use.
type Passkeys struct {
	a   *auth.Authenticator
	st  auth.PasskeyStore
	wa  *webauthn.WebAuthn
	now func() time.Time
}

// New returns passkeys for a, kept in st, which should be a's UserStore
// too, so that a password login of a user with a passkey asks for it as a
// second step. It returns an error for a missing RPID or origin.
func New(a *auth.Authenticator, st auth.PasskeyStore, cfg Config) (*Passkeys, error) {
	if a == nil || st == nil {
		return nil, errors.New("passkey: New needs an Authenticator and a PasskeyStore")
	}
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: Config.RPID and Config.Origins are required")
	}
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.Origins,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Passkeys{a: a, st: st, wa: wa, now: cfg.Now}, nil
}

// Ceremony kinds.
const (
	kindRegister = "register"
	kindLogin    = "login"
	kindMFA      = "mfa"
)

// Begin is the answer of a begin route: the ceremony id the finish route
// takes back, and the options for navigator.credentials.create or .get
// (PublicKeyCredentialCreationOptionsJSON or ...RequestOptionsJSON).
type Begin struct {
	// Ceremony identifies the server-side ceremony state.
	Ceremony string `json:"ceremony"`
	// PublicKey holds the options for the browser.
	PublicKey any `json:"publicKey"`
}

// Info describes a passkey as the list shows it.
type Info struct {
	// ID is the credential id, base64url.
	ID string `json:"id"`
	// Name is the user's label.
	Name string `json:"name"`
	// CreatedAt is when the passkey was added.
	CreatedAt time.Time `json:"createdAt"`
	// LastUsedAt is when it last signed in, if ever.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// Transports lists how the authenticator is reached.
	Transports []string `json:"transports"`
	// BackupEligible reports a passkey that can be synced.
	BackupEligible bool `json:"backupEligible"`
	// BackupState reports a passkey that is synced.
	BackupState bool `json:"backupState"`
	// AAGUID identifies the authenticator model, hex-encoded.
	AAGUID string `json:"aaguid,omitempty"`
}

func info(p *auth.Passkey) Info {
	i := Info{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, Transports: p.Transports, BackupEligible: p.BackupEligible, BackupState: p.BackupState}
	if i.Transports == nil {
		i.Transports = []string{}
	}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		i.LastUsedAt = &t
	}
	if len(p.AAGUID) > 0 {
		i.AAGUID = hex.EncodeToString(p.AAGUID)
	}
	return i
}

// user adapts an auth.User and its passkeys to go-webauthn.
type user struct {
	u     *auth.User
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return []byte(u.u.ID) }
func (u *user) WebAuthnName() string                       { return u.u.Email }
func (u *user) WebAuthnDisplayName() string                { return u.u.Email }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// credential rebuilds go-webauthn's credential record from a stored
// passkey, its flags included: go-webauthn checks that the backup-eligible
// flag never changes, so they must come back as they were stored.
func credential(p *auth.Passkey) (webauthn.Credential, error) {
	id, err := base64.RawURLEncoding.DecodeString(p.ID)
	if err != nil {
		return webauthn.Credential{}, fmt.Errorf("passkey: stored credential id: %w", err)
	}
	tr := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                id,
		PublicKey:         p.PublicKey,
		AttestationType:   p.AttestationType,
		AttestationFormat: p.AttestationFormat,
		Transport:         tr,
		Flags:             webauthn.NewCredentialFlags(protocol.AuthenticatorFlags(p.Flags)),
		Authenticator:     webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}, nil
}

// loadUser returns the user and their passkeys for go-webauthn.
func (pk *Passkeys) loadUser(ctx context.Context, userID string) (*user, []*auth.Passkey, error) {
	u, err := pk.a.User(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	keys, err := pk.st.Passkeys(ctx, userID)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: list passkeys: %w", err)
	}
	wu := &user{u: u}
	for _, p := range keys {
		c, err := credential(p)
		if err != nil {
			return nil, nil, err
		}
		wu.creds = append(wu.creds, c)
	}
	return wu, keys, nil
}

// newCeremony stores the session data of a begun ceremony and returns its
// id.
func (pk *Passkeys) newCeremony(ctx context.Context, kind, userID string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("passkey: encode session data: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := pk.now().UTC()
	c := &auth.PasskeyCeremony{IDHash: hashID(id), Kind: kind, UserID: userID, Data: data, CreatedAt: now, ExpiresAt: now.Add(auth.PasskeyCeremonyTTL)}
	if err := pk.st.CreatePasskeyCeremony(ctx, c); err != nil {
		return "", fmt.Errorf("passkey: store ceremony: %w", err)
	}
	return id, nil
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// errCeremony is why a ceremony was refused, for the audit record.
var errCeremony = errors.New("unknown, spent, expired or foreign ceremony")

// takeCeremony spends the ceremony id, which must be of kind and for
// userID ("" for a discoverable sign-in), and returns its session data.
func (pk *Passkeys) takeCeremony(ctx context.Context, id, kind, userID string) (*webauthn.SessionData, error) {
	if id == "" || len(id) > 100 {
		return nil, errCeremony
	}
	c, err := pk.st.ConsumePasskeyCeremony(ctx, hashID(id))
	if errors.Is(err, auth.ErrNotFound) {
		return nil, errCeremony
	}
	if err != nil {
		return nil, fmt.Errorf("passkey: spend ceremony: %w", err)
	}
	if c.Kind != kind || c.UserID != userID || !pk.now().Before(c.ExpiresAt) {
		return nil, errCeremony
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, fmt.Errorf("passkey: decode session data: %w", err)
	}
	return &sd, nil
}

// reason is what an audit record says about a refused ceremony: the
// protocol error's type and details, never shown to the client.
func reason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Type + ": " + pe.Details
	}
	return err.Error()
}

// refuse audits a refused ceremony and returns INVALID_PASSKEY; errors
// that are not the client's fault pass through.
func (pk *Passkeys) refuse(ctx context.Context, action, userID string, err error) error {
	var pe *protocol.Error
	var ue *protocol.ErrorUnknownCredential
	if !errors.Is(err, errCeremony) && !errors.As(err, &pe) && !errors.As(err, &ue) && !errors.Is(err, errUnknownCredential) {
		return err
	}
	args := []any{"action", action, "reason", reason(err)}
	if userID != "" {
		args = append(args, "user_id", userID)
	}
	pk.a.Audit(ctx, auth.AuditPasskeyFailure, args...)
	return auth.ErrInvalidPasskey
}

// errUnknownCredential: the assertion names a credential not stored.
var errUnknownCredential = errors.New("unknown credential")

// recordUse checks the sign count go-webauthn saw and records the sign-in
// in the store, atomically only forward. A count that did not go forward
// is refused and audited.
func (pk *Passkeys) recordUse(ctx context.Context, userID string, stored *auth.Passkey, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		pk.a.Audit(ctx, auth.AuditPasskeySignCount, "user_id", userID, "credential_id", stored.ID, "stored", int64(stored.SignCount), "received", int64(cred.Authenticator.SignCount))
		return auth.ErrInvalidPasskey
	}
	err := pk.st.UsePasskey(ctx, stored.ID, cred.Authenticator.SignCount, uint8(cred.Flags.ProtocolValue()), cred.Flags.BackupState, pk.now().UTC())
	switch {
	case errors.Is(err, auth.ErrTokenUsed):
		pk.a.Audit(ctx, auth.AuditPasskeySignCount, "user_id", userID, "credential_id", stored.ID, "stored", int64(stored.SignCount), "received", int64(cred.Authenticator.SignCount))
		return auth.ErrInvalidPasskey
	case errors.Is(err, auth.ErrNotFound):
		return pk.refuse(ctx, "use", userID, errUnknownCredential)
	case err != nil:
		return fmt.Errorf("passkey: record use: %w", err)
	}
	return nil
}

func findStored(keys []*auth.Passkey, rawID []byte) *auth.Passkey {
	id := base64.RawURLEncoding.EncodeToString(rawID)
	for _, p := range keys {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// BeginRegistration starts adding a passkey for the caller c, after the
// fresh proof of [auth.Authenticator.FreshProof] (password, or a recent
// sign-in).
func (pk *Passkeys) BeginRegistration(ctx context.Context, c *auth.Claims, password string) (*Begin, error) {
	u, err := pk.a.FreshProof(ctx, c, password)
	if err != nil {
		return nil, err
	}
	wu, _, err := pk.loadUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	creation, sd, err := pk.wa.BeginRegistration(wu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	id, err := pk.newCeremony(ctx, kindRegister, u.ID, sd)
	if err != nil {
		return nil, err
	}
	return &Begin{Ceremony: id, PublicKey: creation.Response}, nil
}

// FinishRegistration checks the browser's attestation (credential, the
// PublicKeyCredential as JSON) against the ceremony and stores the new
// passkey under name.
func (pk *Passkeys) FinishRegistration(ctx context.Context, c *auth.Claims, ceremony string, credentialJSON []byte, name string) (*Info, error) {
	sd, err := pk.takeCeremony(ctx, ceremony, kindRegister, c.UserID)
	if err != nil {
		return nil, pk.refuse(ctx, "register", c.UserID, err)
	}
	wu, _, err := pk.loadUser(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return nil, pk.refuse(ctx, "register", c.UserID, err)
	}
	cred, err := pk.wa.CreateCredential(wu, *sd, parsed)
	if err != nil {
		return nil, pk.refuse(ctx, "register", c.UserID, err)
	}
	if name == "" {
		name = "Passkey"
	}
	p := &auth.Passkey{
		ID:                base64.RawURLEncoding.EncodeToString(cred.ID),
		UserID:            c.UserID,
		Name:              name,
		PublicKey:         cred.PublicKey,
		SignCount:         cred.Authenticator.SignCount,
		AttestationType:   cred.AttestationType,
		AttestationFormat: cred.AttestationFormat,
		Flags:             uint8(cred.Flags.ProtocolValue()),
		BackupEligible:    cred.Flags.BackupEligible,
		BackupState:       cred.Flags.BackupState,
		AAGUID:            cred.Authenticator.AAGUID,
		CreatedAt:         pk.now().UTC().Truncate(time.Millisecond),
	}
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	if err := pk.st.CreatePasskey(ctx, p); err != nil {
		if errors.Is(err, auth.ErrCredentialExists) {
			pk.a.Audit(ctx, auth.AuditPasskeyFailure, "action", "register", "reason", "credential exists", "user_id", c.UserID)
			return nil, auth.ErrPasskeyExists
		}
		return nil, fmt.Errorf("passkey: store passkey: %w", err)
	}
	pk.a.Audit(ctx, auth.AuditPasskeyRegister, "user_id", c.UserID, "credential_id", p.ID)
	i := info(p)
	return &i, nil
}

// BeginLogin starts a passwordless sign-in with a discoverable credential:
// no user is named; the authenticator offers the site's passkeys.
func (pk *Passkeys) BeginLogin(ctx context.Context) (*Begin, error) {
	if err := pk.a.ThrottleClient(ctx, "passkey.login"); err != nil {
		return nil, err
	}
	assertion, sd, err := pk.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	id, err := pk.newCeremony(ctx, kindLogin, "", sd)
	if err != nil {
		return nil, err
	}
	return &Begin{Ceremony: id, PublicKey: assertion.Response}, nil
}

// FinishLogin checks the browser's assertion against the ceremony and
// opens a session with amr ["webauthn"], at assurance level 2 when the
// authenticator verified the user. A refused assertion counts against the
// client address as a failed login does.
func (pk *Passkeys) FinishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (*auth.AuthResult, error) {
	if err := pk.a.ThrottleClient(ctx, "passkey.login"); err != nil {
		return nil, err
	}
	res, err := pk.finishLogin(ctx, ceremony, credentialJSON)
	if errors.Is(err, auth.ErrInvalidPasskey) {
		if ferr := pk.a.ClientFailed(ctx); ferr != nil {
			return nil, ferr
		}
	}
	return res, err
}

func (pk *Passkeys) finishLogin(ctx context.Context, ceremony string, credentialJSON []byte) (*auth.AuthResult, error) {
	sd, err := pk.takeCeremony(ctx, ceremony, kindLogin, "")
	if err != nil {
		return nil, pk.refuse(ctx, "login", "", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return nil, pk.refuse(ctx, "login", "", err)
	}
	var (
		wu     *user
		stored *auth.Passkey
	)
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := pk.st.Passkey(ctx, base64.RawURLEncoding.EncodeToString(rawID))
		if err != nil {
			return nil, errUnknownCredential
		}
		if p.UserID != string(userHandle) {
			return nil, errUnknownCredential
		}
		var keys []*auth.Passkey
		if wu, keys, err = pk.loadUser(ctx, p.UserID); err != nil {
			return nil, errUnknownCredential
		}
		if stored = findStored(keys, rawID); stored == nil {
			return nil, errUnknownCredential
		}
		return wu, nil
	}
	_, cred, err := pk.wa.ValidatePasskeyLogin(handler, *sd, parsed)
	if err != nil {
		uid := ""
		if wu != nil {
			uid = wu.u.ID
		}
		return nil, pk.refuse(ctx, "login", uid, err)
	}
	if err := pk.recordUse(ctx, wu.u.ID, stored, cred); err != nil {
		return nil, err
	}
	var opts []auth.SessionOption
	if parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		opts = append(opts, auth.MultiFactor())
	}
	return pk.a.OpenSession(ctx, wu.u, []string{"webauthn"}, opts...)
}

// BeginSecondStep starts the second step of a password login that
// answered MFA_REQUIRED: the ticket's user proves a passkey of theirs.
func (pk *Passkeys) BeginSecondStep(ctx context.Context, ticket string) (*Begin, error) {
	u, err := pk.a.MFATicketUser(ctx, ticket)
	if err != nil {
		return nil, err
	}
	wu, _, err := pk.loadUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(wu.creds) == 0 {
		return nil, auth.ErrMFANotEnabled
	}
	assertion, sd, err := pk.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin second step: %w", err)
	}
	id, err := pk.newCeremony(ctx, kindMFA, u.ID, sd)
	if err != nil {
		return nil, err
	}
	return &Begin{Ceremony: id, PublicKey: assertion.Response}, nil
}

// FinishSecondStep checks the assertion of the ticket's user and redeems
// the ticket for a session with amr ["pwd","webauthn"] at assurance level
// 2.
func (pk *Passkeys) FinishSecondStep(ctx context.Context, ticket, ceremony string, credentialJSON []byte) (*auth.AuthResult, error) {
	u, err := pk.a.MFATicketUser(ctx, ticket)
	if err != nil {
		return nil, err
	}
	sd, err := pk.takeCeremony(ctx, ceremony, kindMFA, u.ID)
	if err != nil {
		return nil, pk.refuse(ctx, "mfa", u.ID, err)
	}
	wu, keys, err := pk.loadUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credentialJSON)
	if err != nil {
		return nil, pk.refuse(ctx, "mfa", u.ID, err)
	}
	cred, err := pk.wa.ValidateLogin(wu, *sd, parsed)
	if err != nil {
		return nil, pk.refuse(ctx, "mfa", u.ID, err)
	}
	stored := findStored(keys, parsed.RawID)
	if stored == nil {
		return nil, pk.refuse(ctx, "mfa", u.ID, errUnknownCredential)
	}
	if err := pk.recordUse(ctx, u.ID, stored, cred); err != nil {
		return nil, err
	}
	return pk.a.RedeemMFATicket(ctx, ticket, "webauthn")
}

// List returns the user's passkeys, oldest first.
func (pk *Passkeys) List(ctx context.Context, userID string) ([]Info, error) {
	keys, err := pk.st.Passkeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey: list passkeys: %w", err)
	}
	out := make([]Info, 0, len(keys))
	for _, p := range keys {
		out = append(out, info(p))
	}
	return out, nil
}

// ErrPasskeyNotFound is answered for a passkey id the caller does not
// have (another user's included).
var ErrPasskeyNotFound = &auth.Error{Code: "NOT_FOUND", Status: http.StatusNotFound, Message: "Passkey not found"}

// Rename sets the name of the user's passkey id.
func (pk *Passkeys) Rename(ctx context.Context, userID, id, name string) error {
	err := pk.st.RenamePasskey(ctx, userID, id, name)
	if errors.Is(err, auth.ErrNotFound) {
		return ErrPasskeyNotFound
	}
	return err
}

// Remove deletes the user's passkey id; signing in with it fails from then
// on. It refuses with [auth.ErrLastSignInMethod] to delete the only passkey
// of an account without a password or a linked provider.
func (pk *Passkeys) Remove(ctx context.Context, userID, id string) error {
	m, err := pk.a.SignInMethods(ctx, userID)
	if err != nil {
		return err
	}
	// Without a password the account must keep a way in. A store that also
	// keeps the external identities counts them with the passkeys,
	// atomically; otherwise a linked provider seen now is enough.
	_, both := pk.st.(auth.ExternalIdentityStore)
	keepOne := !m.Password && (both || m.Identities == 0)
	err = pk.st.DeletePasskey(ctx, userID, id, keepOne)
	if errors.Is(err, auth.ErrNotFound) {
		return ErrPasskeyNotFound
	}
	if errors.Is(err, auth.ErrLastSignInMethod) {
		return auth.ErrLastSignInMethod
	}
	if err != nil {
		return fmt.Errorf("passkey: delete passkey: %w", err)
	}
	pk.a.Audit(ctx, auth.AuditPasskeyRemove, "user_id", userID, "credential_id", id)
	return nil
}

// DeleteExpired removes ceremonies that expired, for the application to
// schedule next to [auth.Authenticator.DeleteExpired].
func (pk *Passkeys) DeleteExpired(ctx context.Context) (int64, error) {
	return pk.st.DeleteExpiredPasskeyCeremonies(ctx, pk.now().UTC())
}
