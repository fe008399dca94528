// Package passkeytest is a software WebAuthn authenticator and the
// scenario suite of package passkey. The authenticator makes ES256
// credentials and answers creation options with a "none" attestation and
// request options with assertions, in the JSON forms a browser sends; it
// encodes with go-webauthn's CBOR and COSE types and never verifies
// anything itself: checking is the server's job. Its knobs (sign count,
// origin, flags, clones) let tests make the answers a broken or hostile
// authenticator would.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Authenticator is a software authenticator with resident keys. It is
// safe for concurrent use.
type Authenticator struct {
	mu sync.Mutex
	// Origin is the origin the client data names.
	Origin string
	// RPID is the relying party id whose hash starts the authenticator
	// data; "" means the one the options name.
	RPID string
	// NoUserVerification leaves the UV flag off.
	NoUserVerification bool
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible, BackupState bool
	// AAGUID is the model id reported at registration.
	AAGUID [16]byte
	creds  []*Credential
}

// Credential is one key pair the authenticator holds.
type Credential struct {
	// ID is the credential id.
	ID []byte
	// UserHandle is the user handle it was created for.
	UserHandle []byte
	// RPID is the relying party it belongs to.
	RPID string
	// SignCount is the counter the next assertion increments.
	SignCount uint32
	key       *ecdsa.PrivateKey
}

// New returns an authenticator whose client runs on origin.
func New(origin string) *Authenticator {
	a := &Authenticator{Origin: origin}
	copy(a.AAGUID[:], "passkeytest-0001")
	return a
}

// Credentials returns the credentials it holds.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

// Clone returns another authenticator holding copies of the same keys (a
// cloned device), whose counters go on independently.
func (a *Authenticator) Clone() *Authenticator {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := &Authenticator{Origin: a.Origin, RPID: a.RPID, NoUserVerification: a.NoUserVerification, BackupEligible: a.BackupEligible, BackupState: a.BackupState, AAGUID: a.AAGUID}
	for _, c := range a.creds {
		cc := *c
		b.creds = append(b.creds, &cc)
	}
	return b
}

// Forget drops every credential, as deleting them from the device does.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.creds = nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (a *Authenticator) flags(extra protocol.AuthenticatorFlags) byte {
	f := protocol.FlagUserPresent | extra
	if !a.NoUserVerification {
		f |= protocol.FlagUserVerified
	}
	if a.BackupEligible {
		f |= protocol.FlagBackupEligible
	}
	if a.BackupState {
		f |= protocol.FlagBackupState
	}
	return byte(f)
}

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append([]byte{}, h[:]...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func (a *Authenticator) clientData(typ protocol.CeremonyType, challenge string) []byte {
	b, _ := json.Marshal(protocol.CollectedClientData{Type: typ, Challenge: challenge, Origin: a.Origin})
	return b
}

// Create answers PublicKeyCredentialCreationOptionsJSON with a new
// credential, as navigator.credentials.create and toJSON do.
func (a *Authenticator) Create(options json.RawMessage) (json.RawMessage, error) {
	var opts protocol.PublicKeyCredentialCreationOptions
	if err := json.Unmarshal(options, &opts); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	rpID := a.RPID
	if rpID == "" {
		rpID = opts.RelyingParty.ID
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range opts.CredentialExcludeList {
		for _, c := range a.creds {
			if string(c.ID) == string(ex.CredentialID) {
				return nil, errors.New("passkeytest: InvalidStateError: a credential of the exclude list is here")
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	ecdh, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	pt := ecdh.Bytes() // 0x04 || X || Y
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        pt[1:33],
		YCoord:        pt[33:],
	})
	if err != nil {
		return nil, err
	}
	attested := append([]byte{}, a.AAGUID[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(id)))
	attested = append(attested, id...)
	attested = append(attested, cose...)
	uid, _ := opts.User.ID.(string)
	handle, err := base64.RawURLEncoding.DecodeString(uid)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	cred := &Credential{ID: id, UserHandle: handle, RPID: rpID, key: key}
	ad := authData(rpID, a.flags(protocol.FlagAttestedCredentialData), cred.SignCount, attested)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, cred)
	return json.Marshal(map[string]any{
		"id": b64(id), "rawId": b64(id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(a.clientData(protocol.CreateCeremony, b64(opts.Challenge))),
			"attestationObject": b64(att),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers PublicKeyCredentialRequestOptionsJSON with an assertion of
// the first credential of the relying party that the allow list names (or
// any, for a discoverable sign-in), as navigator.credentials.get does.
func (a *Authenticator) Get(options json.RawMessage) (json.RawMessage, error) {
	var opts protocol.PublicKeyCredentialRequestOptions
	if err := json.Unmarshal(options, &opts); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var cred *Credential
	for _, c := range a.creds {
		if c.RPID != opts.RelyingPartyID && a.RPID == "" {
			continue
		}
		if len(opts.AllowedCredentials) == 0 {
			cred = c
			break
		}
		for _, al := range opts.AllowedCredentials {
			if string(al.CredentialID) == string(c.ID) {
				cred = c
			}
		}
		if cred != nil {
			break
		}
	}
	if cred == nil {
		return nil, errors.New("passkeytest: NotAllowedError: no credential for these options")
	}
	cred.SignCount++
	return a.sign(cred, b64(opts.Challenge))
}

// Assert makes an assertion of cred for challenge (base64url) with its current sign
// count, without incrementing it first: with SetSignCount it makes
// counters that go backwards.
func (a *Authenticator) Assert(cred *Credential, challenge string) (json.RawMessage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sign(cred, challenge)
}

func (a *Authenticator) sign(cred *Credential, challenge string) (json.RawMessage, error) {
	rpID := a.RPID
	if rpID == "" {
		rpID = cred.RPID
	}
	ad := authData(rpID, a.flags(0), cred.SignCount, nil)
	cd := a.clientData(protocol.AssertCeremony, challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, cred.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64(cred.ID), "rawId": b64(cred.ID), "type": "public-key",
		"authenticatorAttachment": "platform",
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64(cd),
			"authenticatorData": b64(ad),
			"signature":         b64(sig),
			"userHandle":        b64(cred.UserHandle),
		},
	})
}
