package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// testUserRoundTrip checks that CreateUser stores every field, that
// UserByID and UserByEmail return each user's own fields, and that
// CreateUser does not change its argument.
func testUserRoundTrip(t *testing.T, f *fixture) {
	alice := newUser()
	alice.Name = "Alice O'Brien"
	alice.Role = "admin"
	bob := newUser()
	bob.Name = "Bøb"
	bob.CreatedAt = base.Add(25*time.Hour + time.Minute + time.Second + time.Millisecond)
	for _, u := range []*auth.User{alice, bob} {
		before := *u
		if err := f.users.CreateUser(f.ctx, u); err != nil {
			t.Fatalf("CreateUser(%q): %v", u.Email, err)
		}
		if *u != before {
			t.Errorf("CreateUser changed its argument: got %+v, want %+v", *u, before)
		}
	}
	for _, u := range []*auth.User{alice, bob} {
		checkUser(t, "UserByID", f.mustUserByID(t, u.ID), u)
		checkUser(t, "UserByEmail", f.mustUserByEmail(t, u.Email), u)
	}
}

// testUserCopies checks that the store keeps its own copy of a user:
// changing the value passed to CreateUser afterwards, or a value returned by
// UserByID or UserByEmail, changes nothing stored.
func testUserCopies(t *testing.T, f *fixture) {
	u := newUser()
	want := *u
	if err := f.users.CreateUser(f.ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	scribble := func(u *auth.User) {
		u.Email = "scribbled-" + uuid.NewString() + "@example.com"
		u.Name = "scribbled"
		u.OrganizationID = "scribbled"
		u.Role = "scribbled"
		u.PasswordHash = "scribbled"
		u.CreatedAt = base.AddDate(1, 0, 0)
	}
	scribble(u)
	checkUser(t, "UserByID after changing the user passed to CreateUser", f.mustUserByID(t, want.ID), &want)
	if _, err := f.users.UserByEmail(f.ctx, u.Email); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByEmail(email written into the user passed to CreateUser): error = %v, want %v", err, auth.ErrNotFound)
	}

	scribble(f.mustUserByID(t, want.ID))
	checkUser(t, "UserByID after changing a user returned by UserByID", f.mustUserByID(t, want.ID), &want)

	scribble(f.mustUserByEmail(t, want.Email))
	checkUser(t, "UserByEmail after changing a user returned by UserByEmail", f.mustUserByEmail(t, want.Email), &want)
}

// testDuplicateEmail checks that a second user with a stored email is
// refused with ErrEmailExists and leaves the first user as it was.
func testDuplicateEmail(t *testing.T, f *fixture) {
	first := f.mustCreateUser(t)
	dup := newUser()
	dup.Email = first.Email
	checkErr(t, "CreateUser(duplicate email)", f.users.CreateUser(f.ctx, dup), auth.ErrEmailExists)
	if _, err := f.users.UserByID(f.ctx, dup.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(refused user): error = %v, want %v", err, auth.ErrNotFound)
	}
	checkUser(t, "UserByEmail after a refused duplicate", f.mustUserByEmail(t, first.Email), first)
}

// testEmailsByteForByte checks that the store compares emails byte for
// byte: no case folding, accent folding, Unicode normalization or pattern
// matching. The Authenticator canonicalizes emails before it calls a store,
// so every difference a store sees is a real one.
func testEmailsByteForByte(t *testing.T, f *fixture) {
	tests := []struct {
		name          string
		stored, other string // local parts; other differs from stored
	}{
		{"Case", "alice", "Alice"},
		{"Accent", "alice", "alicé"},
		{"Normalization", "\u00e9lise", "e\u0301lise"}, // NFC and NFD spellings of "élise"
		{"Eszett", "strasse", "straße"},
		{"LikeWildcards", "axbyzc", "a_b%c"},
		{"Quote", "obrien", "o'brien"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain := newDomain()
			stored := newUser()
			stored.Email = tt.stored + "@" + domain
			other := newUser()
			other.Email = tt.other + "@" + domain
			if err := f.users.CreateUser(f.ctx, stored); err != nil {
				t.Fatalf("CreateUser(%q): %v", stored.Email, err)
			}
			if _, err := f.users.UserByEmail(f.ctx, other.Email); !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("UserByEmail(%q) with only %q stored: error = %v, want %v", other.Email, stored.Email, err, auth.ErrNotFound)
			}
			if err := f.users.CreateUser(f.ctx, other); err != nil {
				t.Fatalf("CreateUser(%q) with %q stored: %v; want success, emails are distinct byte for byte", other.Email, stored.Email, err)
			}
			checkUser(t, "UserByEmail", f.mustUserByEmail(t, stored.Email), stored)
			checkUser(t, "UserByEmail", f.mustUserByEmail(t, other.Email), other)
		})
	}
}

// testConcurrentCreateUser checks that of many concurrent registrations of
// one email exactly one succeeds, the others get ErrEmailExists, and only
// the winner is stored.
func testConcurrentCreateUser(t *testing.T, f *fixture) {
	const n = 24
	email := "race-" + uuid.NewString() + "@example.com"
	users := make([]*auth.User, n)
	for i := range users {
		users[i] = newUser()
		users[i].Email = email
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			<-start
			errs[i] = f.users.CreateUser(f.ctx, u)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("CreateUser #%d and #%d both succeeded with the same email", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, auth.ErrEmailExists):
			t.Errorf("CreateUser #%d: error = %v, want %v", i, err, auth.ErrEmailExists)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent CreateUser calls with one email succeeded", n)
	}
	checkUser(t, "UserByEmail after concurrent CreateUser", f.mustUserByEmail(t, email), users[winner])
	for i, u := range users {
		_, err := f.users.UserByID(f.ctx, u.ID)
		switch {
		case i == winner && err != nil:
			t.Errorf("UserByID(winner #%d): %v", i, err)
		case i != winner && !errors.Is(err, auth.ErrNotFound):
			t.Errorf("UserByID(refused #%d): error = %v, want %v", i, err, auth.ErrNotFound)
		}
	}
}

// testUpdatePasswordHash checks that UpdatePasswordHash changes the hash of
// its user only.
func testUpdatePasswordHash(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	want := *u
	want.PasswordHash = "$2a$10$" + newHash()[:53]
	if err := f.users.UpdatePasswordHash(f.ctx, u.ID, want.PasswordHash); err != nil {
		t.Fatalf("UpdatePasswordHash: %v", err)
	}
	checkUser(t, "UserByID after UpdatePasswordHash", f.mustUserByID(t, u.ID), &want)
	checkUser(t, "UserByEmail after UpdatePasswordHash", f.mustUserByEmail(t, u.Email), &want)
	checkUser(t, "UserByID(another user) after UpdatePasswordHash", f.mustUserByID(t, other.ID), other)
}

// testDeleteUser checks that DeleteUser removes its user only, that the
// email can then be registered again, and that deleting twice gives
// ErrNotFound.
func testDeleteUser(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := f.users.UserByID(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	if _, err := f.users.UserByEmail(f.ctx, u.Email); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByEmail(deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	checkErr(t, "DeleteUser(deleted user)", f.users.DeleteUser(f.ctx, u.ID), auth.ErrNotFound)
	checkUser(t, "UserByID(another user) after DeleteUser", f.mustUserByID(t, other.ID), other)

	again := newUser()
	again.Email = u.Email
	if err := f.users.CreateUser(f.ctx, again); err != nil {
		t.Fatalf("CreateUser with the email of a deleted user: %v", err)
	}
	checkUser(t, "UserByEmail after registering a deleted user's email", f.mustUserByEmail(t, u.Email), again)
}
