package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// identities returns the UserStore as an auth.ExternalIdentityStore, or
// skips the test.
func (f *fixture) identities(t *testing.T) auth.ExternalIdentityStore {
	t.Helper()
	s, ok := f.users.(auth.ExternalIdentityStore)
	if !ok {
		t.Skip(skipMessage("ExternalIdentityStore"))
	}
	return s
}

// newIdentity returns an unstored identity of the user at a fresh subject.
func newIdentity(userID string, created time.Time) *auth.ExternalIdentity {
	return &auth.ExternalIdentity{
		ID: uuid.NewString(), UserID: userID, Issuer: "https://issuer.example.com",
		Subject: "sub-" + uuid.NewString(), Email: "someone@example.com", CreatedAt: created,
	}
}

func checkIdentity(t *testing.T, what string, got, want *auth.ExternalIdentity) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil identity", what)
		return
	}
	checkField(t, what, "ID", got.ID, want.ID)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	checkField(t, what, "Issuer", got.Issuer, want.Issuer)
	checkField(t, what, "Subject", got.Subject, want.Subject)
	checkField(t, what, "Email", got.Email, want.Email)
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
}

// testExternalIdentityRoundTrip checks that an identity is stored and read
// back by (issuer, subject) and by user, oldest first, that (issuer,
// subject) is unique and compared byte for byte, and that removal is
// refused for another user's identity.
func testExternalIdentityRoundTrip(t *testing.T, f *fixture) {
	s := f.identities(t)
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	if _, err := s.ExternalIdentity(f.ctx, "https://issuer.example.com", "nobody"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ExternalIdentity(missing): error = %v, want %v", err, auth.ErrNotFound)
	}
	first := newIdentity(u.ID, base)
	second := newIdentity(u.ID, base.Add(time.Second))
	second.Issuer = "https://github.com"
	for _, id := range []*auth.ExternalIdentity{second, first} {
		if err := s.CreateExternalIdentity(f.ctx, id); err != nil {
			t.Fatalf("CreateExternalIdentity: %v", err)
		}
	}
	got, err := s.ExternalIdentity(f.ctx, first.Issuer, first.Subject)
	if err != nil {
		t.Fatalf("ExternalIdentity: %v", err)
	}
	checkIdentity(t, "ExternalIdentity", got, first)
	// The same subject at another issuer, or in another letter case, is
	// another identity.
	if _, err := s.ExternalIdentity(f.ctx, second.Issuer, first.Subject); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ExternalIdentity(other issuer): error = %v, want %v", err, auth.ErrNotFound)
	}
	dup := newIdentity(other.ID, base)
	dup.Subject = first.Subject
	if err := s.CreateExternalIdentity(f.ctx, dup); !errors.Is(err, auth.ErrIdentityExists) {
		t.Errorf("CreateExternalIdentity(taken issuer and subject): error = %v, want %v", err, auth.ErrIdentityExists)
	}
	upper := newIdentity(other.ID, base)
	upper.Subject = "SUB-" + first.Subject[len("sub-"):]
	if err := s.CreateExternalIdentity(f.ctx, upper); err != nil {
		t.Errorf("CreateExternalIdentity(subject in another case): %v", err)
	}
	list, err := s.UserExternalIdentities(f.ctx, u.ID)
	if err != nil {
		t.Fatalf("UserExternalIdentities: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("UserExternalIdentities: %d identities, want 2", len(list))
	}
	checkIdentity(t, "UserExternalIdentities[0]", list[0], first)
	checkIdentity(t, "UserExternalIdentities[1]", list[1], second)
	if none, err := s.UserExternalIdentities(f.ctx, uuid.NewString()); err != nil || len(none) != 0 {
		t.Errorf("UserExternalIdentities(unknown user) = %v, %v; want empty", none, err)
	}
	if err := s.DeleteExternalIdentity(f.ctx, other.ID, first.ID, false); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteExternalIdentity(another user's): error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := s.DeleteExternalIdentity(f.ctx, u.ID, first.ID, true); err != nil {
		t.Fatalf("DeleteExternalIdentity(one of two, keepOne): %v", err)
	}
	if err := s.DeleteExternalIdentity(f.ctx, u.ID, second.ID, true); !errors.Is(err, auth.ErrLastSignInMethod) {
		t.Errorf("DeleteExternalIdentity(the last, keepOne): error = %v, want %v", err, auth.ErrLastSignInMethod)
	}
	if err := s.DeleteExternalIdentity(f.ctx, u.ID, second.ID, false); err != nil {
		t.Fatalf("DeleteExternalIdentity(the last): %v", err)
	}
	if err := s.DeleteExternalIdentity(f.ctx, u.ID, second.ID, false); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("DeleteExternalIdentity(removed): error = %v, want %v", err, auth.ErrNotFound)
	}
}

// testConcurrentExternalIdentity checks that of concurrent links of one
// (issuer, subject), to one user or several, exactly one is stored.
func testConcurrentExternalIdentity(t *testing.T, f *fixture) {
	s := f.identities(t)
	users := []*auth.User{f.mustCreateUser(t), f.mustCreateUser(t)}
	subject := "sub-" + uuid.NewString()
	ids := make([]*auth.ExternalIdentity, 20)
	for k := range ids {
		ids[k] = newIdentity(users[k%2].ID, base)
		ids[k].Subject = subject
	}
	next := make(chan *auth.ExternalIdentity, len(ids))
	for _, id := range ids {
		next <- id
	}
	errs := concurrently(len(ids), func() error { return s.CreateExternalIdentity(f.ctx, <-next) })
	exactlyOne(t, "CreateExternalIdentity", errs, auth.ErrIdentityExists)
}

// testConcurrentUnlinkLast checks that of concurrent removals of a user's
// last two identities with keepOne, exactly one succeeds.
func testConcurrentUnlinkLast(t *testing.T, f *fixture) {
	s := f.identities(t)
	u := f.mustCreateUser(t)
	a, b := newIdentity(u.ID, base), newIdentity(u.ID, base)
	for _, id := range []*auth.ExternalIdentity{a, b} {
		if err := s.CreateExternalIdentity(f.ctx, id); err != nil {
			t.Fatalf("CreateExternalIdentity: %v", err)
		}
	}
	which := make(chan string, 2)
	which <- a.ID
	which <- b.ID
	errs := concurrently(2, func() error { return s.DeleteExternalIdentity(f.ctx, u.ID, <-which, true) })
	exactlyOne(t, "DeleteExternalIdentity", errs, auth.ErrLastSignInMethod)
	if list, err := s.UserExternalIdentities(f.ctx, u.ID); err != nil || len(list) != 1 {
		t.Errorf("after the removals: %d identities, %v; want 1", len(list), err)
	}
}

// testDeleteUserWithIdentities checks that DeleteUser removes the user's
// identities, so that the provider account can be linked again.
func testDeleteUserWithIdentities(t *testing.T, f *fixture) {
	s := f.identities(t)
	u := f.mustCreateUser(t)
	id := newIdentity(u.ID, base)
	if err := s.CreateExternalIdentity(f.ctx, id); err != nil {
		t.Fatalf("CreateExternalIdentity: %v", err)
	}
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.ExternalIdentity(f.ctx, id.Issuer, id.Subject); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ExternalIdentity(of a deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	again := newIdentity(f.mustCreateUser(t).ID, base)
	again.Subject = id.Subject
	if err := s.CreateExternalIdentity(f.ctx, again); err != nil {
		t.Errorf("CreateExternalIdentity(after the user was deleted): %v", err)
	}
}
