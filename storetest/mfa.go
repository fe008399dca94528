package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// secondFactor returns the UserStore as an auth.SecondFactorStore, or skips
// the test.
func (f *fixture) secondFactor(t *testing.T) auth.SecondFactorStore {
	t.Helper()
	s, ok := f.users.(auth.SecondFactorStore)
	if !ok {
		t.Skip(skipMessage("SecondFactorStore"))
	}
	return s
}

// newFactor returns an unverified factor of the user with a fresh id and a
// 60-byte sealed secret (the size the Authenticator stores).
func newFactor(userID string) *auth.SecondFactor {
	secret := make([]byte, 60)
	copy(secret, uuid.NewString())
	secret[59] = 0xff // not valid UTF-8: the column must hold bytes
	return &auth.SecondFactor{ID: uuid.NewString(), UserID: userID, Secret: secret, CreatedAt: base}
}

func recoveryHashes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = newHash()
	}
	return out
}

func checkFactor(t *testing.T, what string, got, want *auth.SecondFactor) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil factor", what)
		return
	}
	checkField(t, what, "ID", got.ID, want.ID)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	if !bytes.Equal(got.Secret, want.Secret) {
		t.Errorf("%s: Secret = %x, want %x", what, got.Secret, want.Secret)
	}
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "VerifiedAt", got.VerifiedAt, want.VerifiedAt)
	if got.LastStep != want.LastStep {
		t.Errorf("%s: LastStep = %d, want %d", what, got.LastStep, want.LastStep)
	}
}

func (f *fixture) mustFactor(t *testing.T, s auth.SecondFactorStore, userID string) *auth.SecondFactor {
	t.Helper()
	got, err := s.SecondFactor(f.ctx, userID)
	if err != nil {
		t.Fatalf("SecondFactor: %v", err)
	}
	return got
}

func (f *fixture) codesLeft(t *testing.T, s auth.SecondFactorStore, userID string) int {
	t.Helper()
	n, err := s.RecoveryCodesLeft(f.ctx, userID)
	if err != nil {
		t.Fatalf("RecoveryCodesLeft: %v", err)
	}
	return n
}

// testSecondFactorRoundTrip checks that a factor is stored and read back
// whole, as a copy; that enrolling again replaces an unverified factor; and
// that a verified factor is never replaced.
func testSecondFactorRoundTrip(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	if _, err := s.SecondFactor(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SecondFactor(no factor): error = %v, want %v", err, auth.ErrNotFound)
	}
	first := newFactor(u.ID)
	before := *first
	if err := s.CreateSecondFactor(f.ctx, first); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	checkFactor(t, "CreateSecondFactor argument", first, &before)
	got := f.mustFactor(t, s, u.ID)
	checkFactor(t, "SecondFactor", got, first)
	got.Secret[0] ^= 1
	got.LastStep = 99
	checkFactor(t, "SecondFactor after scribbling on a copy", f.mustFactor(t, s, u.ID), first)

	second := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, second); err != nil {
		t.Fatalf("CreateSecondFactor(replacing an unverified factor): %v", err)
	}
	checkFactor(t, "SecondFactor after re-enrolling", f.mustFactor(t, s, u.ID), second)

	if err := s.ConfirmSecondFactor(f.ctx, second.ID, 10, base, recoveryHashes(2)); err != nil {
		t.Fatalf("ConfirmSecondFactor: %v", err)
	}
	third := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, third); !errors.Is(err, auth.ErrFactorEnrolled) {
		t.Errorf("CreateSecondFactor(over a verified factor): error = %v, want %v", err, auth.ErrFactorEnrolled)
	}
	want := *second
	want.VerifiedAt, want.LastStep = base, 10
	checkFactor(t, "SecondFactor after a refused enrollment", f.mustFactor(t, s, u.ID), &want)
}

// testConfirmSecondFactor checks that confirmation happens once, only for
// the factor named and only with a step above the last one, and installs
// the recovery codes with it.
func testConfirmSecondFactor(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	fac := newFactor(u.ID)
	fac.LastStep = 5
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	for _, c := range []struct {
		what string
		id   string
		step int64
	}{{"unknown id", uuid.NewString(), 10}, {"step equal to LastStep", fac.ID, 5}, {"step below LastStep", fac.ID, 4}} {
		if err := s.ConfirmSecondFactor(f.ctx, c.id, c.step, base, recoveryHashes(1)); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("ConfirmSecondFactor(%s): error = %v, want %v", c.what, err, auth.ErrNotFound)
		}
	}
	checkFactor(t, "SecondFactor after refused confirmations", f.mustFactor(t, s, u.ID), fac)
	if n := f.codesLeft(t, s, u.ID); n != 0 {
		t.Errorf("RecoveryCodesLeft after refused confirmations = %d, want 0", n)
	}
	at := base.Add(time.Minute)
	if err := s.ConfirmSecondFactor(f.ctx, fac.ID, 6, at, recoveryHashes(10)); err != nil {
		t.Fatalf("ConfirmSecondFactor: %v", err)
	}
	want := *fac
	want.VerifiedAt, want.LastStep = at, 6
	checkFactor(t, "SecondFactor after confirmation", f.mustFactor(t, s, u.ID), &want)
	if n := f.codesLeft(t, s, u.ID); n != 10 {
		t.Errorf("RecoveryCodesLeft = %d, want 10", n)
	}
	if err := s.ConfirmSecondFactor(f.ctx, fac.ID, 7, at, recoveryHashes(1)); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ConfirmSecondFactor(again): error = %v, want %v", err, auth.ErrNotFound)
	}
	if n := f.codesLeft(t, s, u.ID); n != 10 {
		t.Errorf("RecoveryCodesLeft after a second confirmation = %d, want 10", n)
	}
}

// testUseSecondFactorStep checks that a step is accepted only when above
// the last accepted one.
func testUseSecondFactorStep(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	fac := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	if err := s.UseSecondFactorStep(f.ctx, uuid.NewString(), 1); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseSecondFactorStep(unknown id): error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := s.UseSecondFactorStep(f.ctx, fac.ID, 100); err != nil {
		t.Fatalf("UseSecondFactorStep(100): %v", err)
	}
	for _, step := range []int64{100, 99, 0} {
		if err := s.UseSecondFactorStep(f.ctx, fac.ID, step); !errors.Is(err, auth.ErrTokenUsed) {
			t.Errorf("UseSecondFactorStep(%d) after 100: error = %v, want %v", step, err, auth.ErrTokenUsed)
		}
	}
	if got := f.mustFactor(t, s, u.ID).LastStep; got != 100 {
		t.Errorf("LastStep = %d, want 100", got)
	}
	if err := s.UseSecondFactorStep(f.ctx, fac.ID, 101); err != nil {
		t.Errorf("UseSecondFactorStep(101): %v", err)
	}
}

// concurrently runs fn n times at once and returns the errors.
func concurrently(n int, fn func() error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// exactlyOne checks that exactly one of errs is nil and every other is
// want.
func exactlyOne(t *testing.T, what string, errs []error, want error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, want):
			t.Errorf("%s #%d: error = %v, want %v", what, i, err, want)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d concurrent calls succeeded, want exactly 1", what, wins, len(errs))
	}
}

// testConcurrentSecondFactorStep checks that of 50 concurrent uses of one
// code (one step), exactly one is accepted.
func testConcurrentSecondFactorStep(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	fac := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	errs := concurrently(50, func() error { return s.UseSecondFactorStep(f.ctx, fac.ID, 42) })
	exactlyOne(t, "UseSecondFactorStep", errs, auth.ErrTokenUsed)
}

// testRecoveryCodes checks that a recovery code is spent once, only by its
// user, that codes are counted and replaced whole, and that removing the
// factor removes them.
func testRecoveryCodes(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	if n := f.codesLeft(t, s, u.ID); n != 0 {
		t.Errorf("RecoveryCodesLeft(none) = %d, want 0", n)
	}
	fac := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	codes := recoveryHashes(3)
	if err := s.ConfirmSecondFactor(f.ctx, fac.ID, 1, base, codes); err != nil {
		t.Fatalf("ConfirmSecondFactor: %v", err)
	}
	if err := s.UseRecoveryCode(f.ctx, other.ID, codes[0]); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(another user's code): error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := s.UseRecoveryCode(f.ctx, u.ID, newHash()); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(unknown code): error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := s.UseRecoveryCode(f.ctx, u.ID, codes[0]); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	if err := s.UseRecoveryCode(f.ctx, u.ID, codes[0]); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(spent): error = %v, want %v", err, auth.ErrNotFound)
	}
	if n := f.codesLeft(t, s, u.ID); n != 2 {
		t.Errorf("RecoveryCodesLeft after one use = %d, want 2", n)
	}
	fresh := recoveryHashes(10)
	if err := s.ReplaceRecoveryCodes(f.ctx, u.ID, fresh); err != nil {
		t.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	if n := f.codesLeft(t, s, u.ID); n != 10 {
		t.Errorf("RecoveryCodesLeft after replacing = %d, want 10", n)
	}
	if err := s.UseRecoveryCode(f.ctx, u.ID, codes[1]); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode(replaced code): error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := s.DeleteSecondFactor(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteSecondFactor: %v", err)
	}
	if err := s.DeleteSecondFactor(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteSecondFactor(again): error = %v, want %v", err, auth.ErrNotFound)
	}
	if _, err := s.SecondFactor(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SecondFactor after delete: error = %v, want %v", err, auth.ErrNotFound)
	}
	if n := f.codesLeft(t, s, u.ID); n != 0 {
		t.Errorf("RecoveryCodesLeft after delete = %d, want 0", n)
	}
	if err := s.UseRecoveryCode(f.ctx, u.ID, fresh[0]); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UseRecoveryCode after delete: error = %v, want %v", err, auth.ErrNotFound)
	}
}

// testConcurrentRecoveryCode checks that of 50 concurrent uses of one
// recovery code exactly one succeeds.
func testConcurrentRecoveryCode(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	fac := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	codes := recoveryHashes(10)
	if err := s.ConfirmSecondFactor(f.ctx, fac.ID, 1, base, codes); err != nil {
		t.Fatalf("ConfirmSecondFactor: %v", err)
	}
	errs := concurrently(50, func() error { return s.UseRecoveryCode(f.ctx, u.ID, codes[3]) })
	exactlyOne(t, "UseRecoveryCode", errs, auth.ErrNotFound)
	if n := f.codesLeft(t, s, u.ID); n != 9 {
		t.Errorf("RecoveryCodesLeft = %d, want 9", n)
	}
}

// testDeleteUserWithSecondFactor checks that DeleteUser removes the user's
// factor and recovery codes.
func testDeleteUserWithSecondFactor(t *testing.T, f *fixture) {
	s := f.secondFactor(t)
	u := f.mustCreateUser(t)
	fac := newFactor(u.ID)
	if err := s.CreateSecondFactor(f.ctx, fac); err != nil {
		t.Fatalf("CreateSecondFactor: %v", err)
	}
	if err := s.ConfirmSecondFactor(f.ctx, fac.ID, 1, base, recoveryHashes(4)); err != nil {
		t.Fatalf("ConfirmSecondFactor: %v", err)
	}
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.SecondFactor(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("SecondFactor of a deleted user: error = %v, want %v", err, auth.ErrNotFound)
	}
	if n := f.codesLeft(t, s, u.ID); n != 0 {
		t.Errorf("RecoveryCodesLeft of a deleted user = %d, want 0", n)
	}
}
