package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// testMissingRows checks that every method that looks a row up returns
// ErrNotFound when the row does not exist, and changes nothing.
func testMissingRows(t *testing.T, f *fixture) {
	// Rows that exist, so that a store answering with whatever row it
	// finds first fails.
	u, s, tok := f.mustOpenSession(t)
	missing := uuid.NewString()
	// A one-time token of the user, so that a store answering with the
	// first token it finds fails.
	oneTime, hasOneTime := f.tokens.(auth.OneTimeTokenStore)
	var ott *auth.OneTimeToken
	if hasOneTime {
		ott = newOneTimeToken(u.ID, auth.PurposePasswordReset)
		f.mustCreateOneTimeToken(t, oneTime, ott)
	}
	verifier, hasVerifier := f.users.(auth.EmailVerifier)
	tests := []struct {
		name string
		call func() error
		// iface is the optional interface the method belongs to, and has
		// whether the store implements it.
		iface string
		has   bool
	}{
		{"UserByID", func() error {
			_, err := f.users.UserByID(f.ctx, missing)
			return err
		}, "", true},
		{"UserByEmail", func() error {
			_, err := f.users.UserByEmail(f.ctx, "missing-"+u.Email)
			return err
		}, "", true},
		{"UpdatePasswordHash", func() error {
			return f.users.UpdatePasswordHash(f.ctx, missing, "$2a$10$"+newHash()[:53])
		}, "", true},
		{"DeleteUser", func() error {
			return f.users.DeleteUser(f.ctx, missing)
		}, "", true},
		{"Session", func() error {
			_, err := f.tokens.Session(f.ctx, missing)
			return err
		}, "", true},
		{"RevokeSession", func() error {
			return f.tokens.RevokeSession(f.ctx, missing, base)
		}, "", true},
		{"RotateRefreshToken", func() error {
			_, err := f.tokens.RotateRefreshToken(f.ctx, newHash(), successor(tok, base), base)
			return err
		}, "", true},
		{"ConsumeOneTimeToken", func() error {
			_, err := oneTime.ConsumeOneTimeToken(f.ctx, newHash(), auth.PurposePasswordReset, base)
			return err
		}, "OneTimeTokenStore", hasOneTime},
		{"OneTimeToken", func() error {
			_, err := oneTime.OneTimeToken(f.ctx, newHash(), auth.PurposePasswordReset)
			return err
		}, "OneTimeTokenStore", hasOneTime},
		{"SetEmailVerified", func() error {
			return verifier.SetEmailVerified(f.ctx, missing, base)
		}, "EmailVerifier", hasVerifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.iface != "" && !tt.has {
				t.Skip(skipMessage(tt.iface))
			}
			checkErr(t, tt.name+"(missing row)", tt.call(), auth.ErrNotFound)
		})
	}
	checkUser(t, "UserByID after calls on missing rows", f.mustUserByID(t, u.ID), u)
	checkSession(t, "Session after calls on missing rows", f.mustSession(t, s.ID), s)
	f.mustRotate(t, tok, successor(tok, base.Add(time.Minute)), base.Add(time.Minute))
	if hasOneTime {
		f.mustConsume(t, oneTime, ott, base.Add(time.Minute))
	}
}

// testCancelledContext checks that every method called with a context that
// is already cancelled returns an error wrapping [context.Canceled], as the
// contract requires ("returns its error (or one wrapping it)"), and changes
// nothing.
func testCancelledContext(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	owner, s, tok := f.mustOpenSession(t)
	expired, expiredFirst := newSession(owner.ID)
	expired.ExpiresAt = base.Add(time.Hour)
	expiredFirst.ExpiresAt = base.Add(time.Hour)
	f.mustCreateSession(t, expired, expiredFirst)

	newU := newUser()
	newS, newFirst := newSession(owner.ID)
	at := base.Add(time.Minute)
	next := successor(tok, at)

	lister, hasLister := f.tokens.(auth.SessionLister)
	oneTime, hasOneTime := f.tokens.(auth.OneTimeTokenStore)
	verifier, hasVerifier := f.users.(auth.EmailVerifier)
	var stored, newOTT *auth.OneTimeToken
	if hasOneTime {
		stored = newOneTimeToken(owner.ID, auth.PurposePasswordReset)
		f.mustCreateOneTimeToken(t, oneTime, stored)
		newOTT = newOneTimeToken(owner.ID, auth.PurposeEmailVerification)
	}

	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	tests := []struct {
		name string
		call func() error
		// unchanged checks that the call changed nothing; nil for reads.
		unchanged func(t *testing.T)
		// iface is the optional interface the method belongs to, and has
		// whether the store implements it.
		iface string
		has   bool
	}{
		{
			name: "CreateUser",
			call: func() error { return f.users.CreateUser(ctx, newU) },
			unchanged: func(t *testing.T) {
				if _, err := f.users.UserByID(f.ctx, newU.ID); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("UserByID(user passed with a cancelled context): error = %v, want %v", err, auth.ErrNotFound)
				}
			},
		},
		{
			name: "UserByID",
			call: func() error {
				_, err := f.users.UserByID(ctx, u.ID)
				return err
			},
		},
		{
			name: "UserByEmail",
			call: func() error {
				_, err := f.users.UserByEmail(ctx, u.Email)
				return err
			},
		},
		{
			name: "UpdatePasswordHash",
			call: func() error { return f.users.UpdatePasswordHash(ctx, u.ID, "$2a$10$"+newHash()[:53]) },
			unchanged: func(t *testing.T) {
				checkUser(t, "UserByID after UpdatePasswordHash with a cancelled context", f.mustUserByID(t, u.ID), u)
			},
		},
		{
			name: "DeleteUser",
			call: func() error { return f.users.DeleteUser(ctx, u.ID) },
			unchanged: func(t *testing.T) {
				checkUser(t, "UserByID after DeleteUser with a cancelled context", f.mustUserByID(t, u.ID), u)
			},
		},
		{
			name: "CreateSession",
			call: func() error { return f.tokens.CreateSession(ctx, newS, newFirst) },
			unchanged: func(t *testing.T) {
				if _, err := f.tokens.Session(f.ctx, newS.ID); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("Session(session passed with a cancelled context): error = %v, want %v", err, auth.ErrNotFound)
				}
				f.checkNotStored(t, "CreateSession with a cancelled context", newFirst)
			},
		},
		{
			name: "Session",
			call: func() error {
				_, err := f.tokens.Session(ctx, s.ID)
				return err
			},
		},
		{
			name: "RevokeSession",
			call: func() error { return f.tokens.RevokeSession(ctx, s.ID, at) },
			unchanged: func(t *testing.T) {
				checkSession(t, "Session after RevokeSession with a cancelled context", f.mustSession(t, s.ID), s)
			},
		},
		{
			name: "RotateRefreshToken",
			call: func() error {
				_, err := f.tokens.RotateRefreshToken(ctx, tok.IDHash, next, at)
				return err
			},
			unchanged: func(t *testing.T) {
				f.checkNotStored(t, "RotateRefreshToken with a cancelled context", next)
				// Last, as it spends the token: it was not spent before.
				f.mustRotate(t, tok, successor(tok, at), at)
			},
		},
		{
			name: "DeleteExpired",
			call: func() error {
				_, err := f.tokens.DeleteExpired(ctx, base.Add(2*time.Hour))
				return err
			},
			unchanged: func(t *testing.T) {
				checkSession(t, "Session(expired session) after DeleteExpired with a cancelled context", f.mustSession(t, expired.ID), expired)
				if hasOneTime {
					// Unspent one-time tokens were not deleted either (the
					// stored one expires before the cut-off).
					f.mustConsume(t, oneTime, stored, at)
					stored = newOneTimeToken(owner.ID, auth.PurposePasswordReset)
					f.mustCreateOneTimeToken(t, oneTime, stored)
				}
			},
		},
		{
			name: "UserSessions",
			call: func() error {
				_, err := lister.UserSessions(ctx, owner.ID)
				return err
			},
			iface: "SessionLister", has: hasLister,
		},
		{
			name: "RevokeUserSessions",
			call: func() error {
				_, err := lister.RevokeUserSessions(ctx, owner.ID, "", at)
				return err
			},
			unchanged: func(t *testing.T) {
				checkSession(t, "Session after RevokeUserSessions with a cancelled context", f.mustSession(t, s.ID), s)
				checkSession(t, "Session after RevokeUserSessions with a cancelled context", f.mustSession(t, expired.ID), expired)
			},
			iface: "SessionLister", has: hasLister,
		},
		{
			name: "CreateOneTimeToken",
			call: func() error { return oneTime.CreateOneTimeToken(ctx, newOTT) },
			unchanged: func(t *testing.T) {
				f.checkNotConsumable(t, oneTime, "one-time token passed to CreateOneTimeToken with a cancelled context", newOTT)
			},
			iface: "OneTimeTokenStore", has: hasOneTime,
		},
		{
			name: "OneTimeToken",
			call: func() error {
				_, err := oneTime.OneTimeToken(ctx, stored.IDHash, stored.Purpose)
				return err
			},
			iface: "OneTimeTokenStore", has: hasOneTime,
		},
		{
			name: "ConsumeOneTimeToken",
			call: func() error {
				_, err := oneTime.ConsumeOneTimeToken(ctx, stored.IDHash, stored.Purpose, at)
				return err
			},
			unchanged: func(t *testing.T) {
				// It was not spent before.
				f.mustConsume(t, oneTime, stored, at)
			},
			iface: "OneTimeTokenStore", has: hasOneTime,
		},
		{
			name: "SetEmailVerified",
			call: func() error { return verifier.SetEmailVerified(ctx, u.ID, at) },
			unchanged: func(t *testing.T) {
				checkUser(t, "UserByID after SetEmailVerified with a cancelled context", f.mustUserByID(t, u.ID), u)
			},
			iface: "EmailVerifier", has: hasVerifier,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.iface != "" && !tt.has {
				t.Skip(skipMessage(tt.iface))
			}
			if err := tt.call(); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: error = %v, want an error wrapping %v", tt.name, err, context.Canceled)
			}
			if tt.unchanged != nil {
				tt.unchanged(t)
			}
		})
	}
}

// testTimes checks that every time the store returns is in UTC and equals,
// to the millisecond, the time stored, whatever the location and
// sub-millisecond part of the time passed in.
func testTimes(t *testing.T, f *fixture) {
	east := time.FixedZone("UTC+05:30", 5*3600+30*60)
	west := time.FixedZone("UTC-07", -7*3600)
	// Each time has a non-zero millisecond part and more digits after it.
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 123_456_789, east)
	later := func(d time.Duration, loc *time.Location) time.Time {
		return t0.Add(d + 333_333*time.Nanosecond).In(loc)
	}

	u := newUser()
	u.CreatedAt = t0
	if err := f.users.CreateUser(f.ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	checkUser(t, "UserByID", f.mustUserByID(t, u.ID), u)
	checkUser(t, "UserByEmail", f.mustUserByEmail(t, u.Email), u)

	s, first := newSession(u.ID)
	s.CreatedAt = later(time.Second, west)
	s.ExpiresAt = later(ttl+time.Second, east)
	first.CreatedAt = later(time.Second, east)
	first.ExpiresAt = later(ttl, west)
	f.mustCreateSession(t, s, first)
	checkSession(t, "Session", f.mustSession(t, s.ID), s)

	usedAt := later(time.Minute, west)
	next := successor(first, later(time.Minute, east))
	f.mustRotate(t, first, next, usedAt)
	got, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, successor(first, usedAt), usedAt)
	checkErr(t, "RotateRefreshToken(spent token)", err, auth.ErrTokenUsed)
	checkToken(t, "RotateRefreshToken(spent token)", got, spent(first, usedAt))
	nextUsedAt := later(2*time.Minute, east)
	f.mustRotate(t, next, successor(next, nextUsedAt), nextUsedAt)

	revokedAt := later(time.Hour, west)
	if err := f.tokens.RevokeSession(f.ctx, s.ID, revokedAt); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	want := *s
	want.RevokedAt = revokedAt
	checkSession(t, "Session after RevokeSession", f.mustSession(t, s.ID), &want)
}
