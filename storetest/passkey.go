package storetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// passkeys returns the UserStore as an auth.PasskeyStore, or skips the
// test.
func (f *fixture) passkeys(t *testing.T) auth.PasskeyStore {
	t.Helper()
	s, ok := f.users.(auth.PasskeyStore)
	if !ok {
		t.Skip(skipMessage("PasskeyStore"))
	}
	return s
}

// newPasskey returns an unstored passkey of the user with a fresh
// credential id and every field set.
func newPasskey(userID string) *auth.Passkey {
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	key := make([]byte, 77)
	_, _ = rand.Read(key)
	return &auth.Passkey{
		ID:                base64.RawURLEncoding.EncodeToString(id),
		UserID:            userID,
		Name:              "Laptop ✓",
		PublicKey:         key,
		SignCount:         7,
		Transports:        []string{"internal", "hybrid"},
		AttestationType:   "none",
		AttestationFormat: "none",
		Flags:             0x5d, // UP, UV, BE, BS, AT
		BackupEligible:    true,
		BackupState:       true,
		AAGUID:            bytes.Repeat([]byte{0xad}, 16),
		CreatedAt:         base,
	}
}

func checkPasskey(t *testing.T, what string, got, want *auth.Passkey) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil passkey", what)
		return
	}
	checkField(t, what, "ID", got.ID, want.ID)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	checkField(t, what, "Name", got.Name, want.Name)
	checkField(t, what, "AttestationType", got.AttestationType, want.AttestationType)
	checkField(t, what, "AttestationFormat", got.AttestationFormat, want.AttestationFormat)
	if !bytes.Equal(got.PublicKey, want.PublicKey) || !bytes.Equal(got.AAGUID, want.AAGUID) {
		t.Errorf("%s: PublicKey/AAGUID = %x/%x, want %x/%x", what, got.PublicKey, got.AAGUID, want.PublicKey, want.AAGUID)
	}
	if got.SignCount != want.SignCount || got.Flags != want.Flags || got.BackupEligible != want.BackupEligible || got.BackupState != want.BackupState {
		t.Errorf("%s: SignCount, Flags, BE, BS = %d, %#x, %v, %v; want %d, %#x, %v, %v", what,
			got.SignCount, got.Flags, got.BackupEligible, got.BackupState, want.SignCount, want.Flags, want.BackupEligible, want.BackupState)
	}
	if !slices.Equal(got.Transports, want.Transports) {
		t.Errorf("%s: Transports = %q, want %q", what, got.Transports, want.Transports)
	}
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

func (f *fixture) mustCreatePasskey(t *testing.T, st auth.PasskeyStore, p *auth.Passkey) {
	t.Helper()
	if err := st.CreatePasskey(f.ctx, p); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
}

func testPasskeyRoundTrip(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u := f.mustCreateUser(t)
	p := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, p)
	got, err := st.Passkey(f.ctx, p.ID)
	if err != nil {
		t.Fatalf("Passkey: %v", err)
	}
	checkPasskey(t, "Passkey", got, p)
	got.PublicKey[0] ^= 0xff
	got.Transports[0] = "usb"
	again, _ := st.Passkey(f.ctx, p.ID)
	checkPasskey(t, "Passkey after changing a returned copy", again, p)

	bare := newPasskey(u.ID)
	bare.Transports, bare.AAGUID, bare.CreatedAt = nil, nil, base.Add(time.Second)
	f.mustCreatePasskey(t, st, bare)
	list, err := st.Passkeys(f.ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("Passkeys = %d, %v; want 2 passkeys", len(list), err)
	}
	checkPasskey(t, "Passkeys[0]", list[0], p)
	checkPasskey(t, "Passkeys[1] (no transports, no AAGUID)", list[1], bare)
	if list, err := st.Passkeys(f.ctx, f.mustCreateUser(t).ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Passkeys of a user without any = %v, %v; want an empty list", list, err)
	}
	_, err = st.Passkey(f.ctx, "no-such-credential")
	checkErr(t, "Passkey of an unknown id", err, auth.ErrNotFound)
}

func testDuplicatePasskey(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	p := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, p)
	dup := newPasskey(other.ID)
	dup.ID = p.ID
	checkErr(t, "CreatePasskey with another user's credential id", st.CreatePasskey(f.ctx, dup), auth.ErrCredentialExists)
	got, _ := st.Passkey(f.ctx, p.ID)
	checkPasskey(t, "the first passkey after the duplicate", got, p)
	if list, _ := st.Passkeys(f.ctx, other.ID); len(list) != 0 {
		t.Errorf("the duplicate was stored for the other user: %d passkeys", len(list))
	}
}

func testPasskeySignCount(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u := f.mustCreateUser(t)
	p := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, p)
	at := base.Add(time.Minute)
	if err := st.UsePasskey(f.ctx, p.ID, 8, 0x1d, false, at); err != nil {
		t.Fatalf("UsePasskey forward: %v", err)
	}
	p.SignCount, p.Flags, p.BackupState, p.LastUsedAt = 8, 0x1d, false, at
	got, _ := st.Passkey(f.ctx, p.ID)
	checkPasskey(t, "after a use", got, p)
	for _, n := range []uint32{8, 3, 0} {
		checkErr(t, "UsePasskey with a count not forward", st.UsePasskey(f.ctx, p.ID, n, 0x5d, true, at.Add(time.Minute)), auth.ErrTokenUsed)
	}
	got, _ = st.Passkey(f.ctx, p.ID)
	checkPasskey(t, "after refused uses", got, p)
	checkErr(t, "UsePasskey of an unknown id", st.UsePasskey(f.ctx, "no-such-credential", 9, 0, false, at), auth.ErrNotFound)

	// An authenticator without a counter reports zero every time.
	zero := newPasskey(u.ID)
	zero.SignCount = 0
	f.mustCreatePasskey(t, st, zero)
	for i := range 2 {
		if err := st.UsePasskey(f.ctx, zero.ID, 0, 0x5d, true, at.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatalf("UsePasskey with counts staying at zero: %v", err)
		}
	}
}

func testConcurrentPasskeyUse(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u := f.mustCreateUser(t)
	p := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, p)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = st.UsePasskey(f.ctx, p.ID, 100, 0x1d, false, base.Add(time.Duration(i+1)*time.Second))
		})
	}
	wg.Wait()
	if ok, _ := outcomes(t, "concurrent UsePasskey", errs, auth.ErrTokenUsed); ok != 1 {
		t.Errorf("%d concurrent uses with the same count succeeded, want 1", ok)
	}
}

func testRenameDeletePasskey(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	p := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, p)
	checkErr(t, "RenamePasskey of another user's passkey", st.RenamePasskey(f.ctx, other.ID, p.ID, "Mine"), auth.ErrNotFound)
	checkErr(t, "DeletePasskey of another user's passkey", st.DeletePasskey(f.ctx, other.ID, p.ID, false), auth.ErrNotFound)
	if err := st.RenamePasskey(f.ctx, u.ID, p.ID, "Phone"); err != nil {
		t.Fatalf("RenamePasskey: %v", err)
	}
	if err := st.RenamePasskey(f.ctx, u.ID, p.ID, "Phone"); err != nil {
		t.Fatalf("RenamePasskey to the same name: %v", err)
	}
	p.Name = "Phone"
	got, _ := st.Passkey(f.ctx, p.ID)
	checkPasskey(t, "after RenamePasskey", got, p)
	if err := st.DeletePasskey(f.ctx, u.ID, p.ID, false); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	_, err := st.Passkey(f.ctx, p.ID)
	checkErr(t, "Passkey after DeletePasskey", err, auth.ErrNotFound)
	checkErr(t, "DeletePasskey again", st.DeletePasskey(f.ctx, u.ID, p.ID, false), auth.ErrNotFound)
	checkErr(t, "RenamePasskey of a deleted passkey", st.RenamePasskey(f.ctx, u.ID, p.ID, "x"), auth.ErrNotFound)
}

func newCeremony(userID string) *auth.PasskeyCeremony {
	data := []byte(`{"challenge":"` + newHash() + `"}`)
	return &auth.PasskeyCeremony{IDHash: newHash(), Kind: "login", UserID: userID, Data: data, CreatedAt: base, ExpiresAt: base.Add(auth.PasskeyCeremonyTTL)}
}

func testPasskeyCeremonySingleUse(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u := f.mustCreateUser(t)
	for _, c := range []*auth.PasskeyCeremony{newCeremony(""), newCeremony(u.ID)} {
		if err := st.CreatePasskeyCeremony(f.ctx, c); err != nil {
			t.Fatalf("CreatePasskeyCeremony: %v", err)
		}
		got, err := st.ConsumePasskeyCeremony(f.ctx, c.IDHash)
		if err != nil {
			t.Fatalf("ConsumePasskeyCeremony: %v", err)
		}
		if got.IDHash != c.IDHash || got.Kind != c.Kind || got.UserID != c.UserID || !bytes.Equal(got.Data, c.Data) {
			t.Errorf("ConsumePasskeyCeremony = %+v, want %+v", got, c)
		}
		checkTime(t, "ceremony", "CreatedAt", got.CreatedAt, c.CreatedAt)
		checkTime(t, "ceremony", "ExpiresAt", got.ExpiresAt, c.ExpiresAt)
		_, err = st.ConsumePasskeyCeremony(f.ctx, c.IDHash)
		checkErr(t, "ConsumePasskeyCeremony again", err, auth.ErrNotFound)
	}
	_, err := st.ConsumePasskeyCeremony(f.ctx, newHash())
	checkErr(t, "ConsumePasskeyCeremony of an unknown hash", err, auth.ErrNotFound)
}

func testConcurrentPasskeyCeremony(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	c := newCeremony("")
	if err := st.CreatePasskeyCeremony(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = st.ConsumePasskeyCeremony(f.ctx, c.IDHash) })
	}
	wg.Wait()
	if ok, _ := outcomes(t, "concurrent ConsumePasskeyCeremony", errs, auth.ErrNotFound); ok != 1 {
		t.Errorf("%d concurrent consumptions succeeded, want 1", ok)
	}
}

func testPasskeyCeremonyDeleteExpired(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	old, live := newCeremony(""), newCeremony("")
	old.ExpiresAt = base.Add(-time.Second)
	for _, c := range []*auth.PasskeyCeremony{old, live} {
		if err := st.CreatePasskeyCeremony(f.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.DeleteExpiredPasskeyCeremonies(f.ctx, base)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredPasskeyCeremonies = %d, %v; want 1", n, err)
	}
	_, err = st.ConsumePasskeyCeremony(f.ctx, old.IDHash)
	checkErr(t, "ConsumePasskeyCeremony of a swept ceremony", err, auth.ErrNotFound)
	if _, err := st.ConsumePasskeyCeremony(f.ctx, live.IDHash); err != nil {
		t.Errorf("ConsumePasskeyCeremony of a live ceremony after the sweep: %v", err)
	}
}

func testDeleteUserWithPasskeys(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	p, keep := newPasskey(u.ID), newPasskey(other.ID)
	f.mustCreatePasskey(t, st, p)
	f.mustCreatePasskey(t, st, keep)
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := st.Passkey(f.ctx, p.ID)
	checkErr(t, "Passkey of a deleted user", err, auth.ErrNotFound)
	if _, err := st.Passkey(f.ctx, keep.ID); err != nil {
		t.Errorf("another user's passkey after DeleteUser: %v", err)
	}
}

// testConcurrentDeleteLastPasskeys: with keepOne, the only passkey is
// refused with ErrLastSignInMethod, and of concurrent deletions of a user's
// last two passkeys exactly one succeeds.
func testConcurrentDeleteLastPasskeys(t *testing.T, f *fixture) {
	st := f.passkeys(t)
	u := f.mustCreateUser(t)
	only := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, only)
	checkErr(t, "DeletePasskey of the only passkey with keepOne", st.DeletePasskey(f.ctx, u.ID, only.ID, true), auth.ErrLastSignInMethod)
	checkErr(t, "DeletePasskey with keepOne of another user's passkey", st.DeletePasskey(f.ctx, f.mustCreateUser(t).ID, only.ID, true), auth.ErrNotFound)
	second := newPasskey(u.ID)
	f.mustCreatePasskey(t, st, second)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{only.ID, second.ID} {
		wg.Go(func() { errs[i] = st.DeletePasskey(f.ctx, u.ID, id, true) })
	}
	wg.Wait()
	ok, _ := outcomes(t, "concurrent DeletePasskey", errs, auth.ErrLastSignInMethod)
	left, err := st.Passkeys(f.ctx, u.ID)
	if ok != 1 || err != nil || len(left) != 1 {
		t.Errorf("%d of two concurrent deletions of the last two passkeys succeeded, %d left (%v); want 1 and 1", ok, len(left), err)
	}
}

// testDeleteLastWayInAcrossKinds: in a store that keeps both passkeys and
// external identities, keepOne counts the two kinds together. With one of
// each, removing either alone succeeds; removing both at once, one of
// each kind, leaves exactly one.
func testDeleteLastWayInAcrossKinds(t *testing.T, f *fixture) {
	pks := f.passkeys(t)
	ids := f.identities(t)
	u := f.mustCreateUser(t)
	pk := newPasskey(u.ID)
	f.mustCreatePasskey(t, pks, pk)
	id := newIdentity(u.ID, base)
	if err := ids.CreateExternalIdentity(f.ctx, id); err != nil {
		t.Fatal(err)
	}
	// One of each: the passkey may go (the identity stays), then the
	// identity is the last way in.
	if err := pks.DeletePasskey(f.ctx, u.ID, pk.ID, true); err != nil {
		t.Fatalf("DeletePasskey with keepOne while an identity remains: %v", err)
	}
	checkErr(t, "DeleteExternalIdentity of the last way in", ids.DeleteExternalIdentity(f.ctx, u.ID, id.ID, true), auth.ErrLastSignInMethod)

	for round := range 6 {
		u := f.mustCreateUser(t)
		pk := newPasskey(u.ID)
		f.mustCreatePasskey(t, pks, pk)
		id := newIdentity(u.ID, base)
		if err := ids.CreateExternalIdentity(f.ctx, id); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { errs[0] = pks.DeletePasskey(f.ctx, u.ID, pk.ID, true) })
		wg.Go(func() { errs[1] = ids.DeleteExternalIdentity(f.ctx, u.ID, id.ID, true) })
		wg.Wait()
		ok, _ := outcomes(t, fmt.Sprintf("round %d: concurrent removal", round), errs, auth.ErrLastSignInMethod)
		leftPks, err1 := pks.Passkeys(f.ctx, u.ID)
		leftIDs, err2 := ids.UserExternalIdentities(f.ctx, u.ID)
		if ok != 1 || err1 != nil || err2 != nil || len(leftPks)+len(leftIDs) != 1 {
			t.Errorf("round %d: %d of the two removals succeeded, %d passkeys and %d identities left (%v, %v); want 1 and one way in", round, ok, len(leftPks), len(leftIDs), err1, err2)
		}
	}
}
