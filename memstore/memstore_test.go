package memstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/storetest"
)

// base is the instant the records of these tests are created at.
var base = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
		s := memstore.New()
		return s, s
	})
}

// newHash returns a fresh IDHash, a hex SHA-256 as the Authenticator
// computes it.
func newHash() string {
	sum := sha256.Sum256([]byte(uuid.NewString()))
	return hex.EncodeToString(sum[:])
}

// newSession returns a session of the given user and its first refresh
// token, created at base and expiring a week later.
func newSession(userID string) (*auth.Session, *auth.RefreshToken) {
	s := &auth.Session{ID: uuid.NewString(), UserID: userID, CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)}
	return s, &auth.RefreshToken{IDHash: newHash(), SessionID: s.ID, UserID: userID, CreatedAt: base, ExpiresAt: s.ExpiresAt}
}

// successor returns a refresh token that follows tok in its session,
// created at base and expiring a week later.
func successor(tok *auth.RefreshToken) *auth.RefreshToken {
	return &auth.RefreshToken{IDHash: newHash(), SessionID: tok.SessionID, UserID: tok.UserID, CreatedAt: base, ExpiresAt: base.Add(7 * 24 * time.Hour)}
}

func TestStoresAreIndependent(t *testing.T) {
	ctx := t.Context()
	a, b := memstore.New(), memstore.New()
	u := &auth.User{ID: uuid.NewString(), Email: "alice@example.com", CreatedAt: base}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID on another Store: error = %v, want %v", err, auth.ErrNotFound)
	}
	if err := b.CreateUser(ctx, u); err != nil {
		t.Errorf("CreateUser of the same user on another Store: %v", err)
	}
}

func TestKeepsFullPrecision(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	created := time.Date(2026, 3, 4, 5, 6, 7, 123_456_789, time.FixedZone("UTC+05:30", 5*3600+30*60))
	u := &auth.User{ID: uuid.NewString(), Email: "alice@example.com", CreatedAt: created}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := created.UTC(); got.CreatedAt != want {
		t.Errorf("CreatedAt = %v, want %v exactly", got.CreatedAt, want)
	}
}

// TestDeleteExpiredCount checks the count DeleteExpired documents: every
// session and token removed, including the tokens removed with their
// session.
func TestDeleteExpiredCount(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	cutoff := base.Add(time.Hour)

	expired, first := newSession("u1") // goes with its three tokens
	expired.ExpiresAt = cutoff.Add(-time.Nanosecond)
	if err := s.CreateSession(ctx, expired, first); err != nil {
		t.Fatal(err)
	}
	tok := first
	for range 2 {
		next := successor(tok)
		if _, err := s.RotateRefreshToken(ctx, tok.IDHash, next, base); err != nil {
			t.Fatal(err)
		}
		tok = next
	}

	live, liveFirst := newSession("u1") // keeps its second token only
	liveFirst.ExpiresAt = cutoff.Add(-time.Nanosecond)
	if err := s.CreateSession(ctx, live, liveFirst); err != nil {
		t.Fatal(err)
	}
	liveNext := successor(liveFirst)
	if _, err := s.RotateRefreshToken(ctx, liveFirst.IDHash, liveNext, base); err != nil {
		t.Fatal(err)
	}

	n, err := s.DeleteExpired(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("DeleteExpired = %d, want 5 (1 session + its 3 tokens + 1 expired token)", n)
	}
	if _, err := s.RotateRefreshToken(ctx, liveNext.IDHash, successor(liveNext), base); err != nil {
		t.Errorf("RotateRefreshToken(unexpired token) after DeleteExpired: %v", err)
	}
}

// TestRejectsInconsistentRecords checks the errors for calls the
// Authenticator never makes, and that each leaves the store unchanged.
func TestRejectsInconsistentRecords(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	u := &auth.User{ID: uuid.NewString(), Email: "alice@example.com", CreatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess, first := newSession(u.ID)
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	otherSess, otherFirst := newSession(u.ID)
	if err := s.CreateSession(ctx, otherSess, otherFirst); err != nil {
		t.Fatal(err)
	}
	ott := &auth.OneTimeToken{IDHash: newHash(), Purpose: auth.PurposePasswordReset, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateOneTimeToken(ctx, ott); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"CreateUser(nil)", func() error { return s.CreateUser(ctx, nil) }},
		{"CreateUser(duplicate id)", func() error {
			return s.CreateUser(ctx, &auth.User{ID: u.ID, Email: "bob@example.com"})
		}},
		{"CreateSession(nil session)", func() error { return s.CreateSession(ctx, nil, successor(first)) }},
		{"CreateSession(nil token)", func() error {
			s2, _ := newSession(u.ID)
			return s.CreateSession(ctx, s2, nil)
		}},
		{"CreateSession(duplicate id)", func() error {
			_, tok := newSession(u.ID)
			tok.SessionID = sess.ID
			return s.CreateSession(ctx, sess, tok)
		}},
		{"CreateSession(token of another session)", func() error {
			s2, _ := newSession(u.ID)
			return s.CreateSession(ctx, s2, successor(first))
		}},
		{"RotateRefreshToken(nil successor)", func() error {
			_, err := s.RotateRefreshToken(ctx, first.IDHash, nil, base)
			return err
		}},
		{"RotateRefreshToken(successor in another session)", func() error {
			_, err := s.RotateRefreshToken(ctx, first.IDHash, successor(otherFirst), base)
			return err
		}},
		{"RotateRefreshToken(successor with a stored hash)", func() error {
			next := successor(first)
			next.IDHash = first.IDHash
			_, err := s.RotateRefreshToken(ctx, first.IDHash, next, base)
			return err
		}},
		{"CreateOneTimeToken(nil)", func() error { return s.CreateOneTimeToken(ctx, nil) }},
		{"CreateOneTimeToken(duplicate hash)", func() error {
			return s.CreateOneTimeToken(ctx, &auth.OneTimeToken{IDHash: ott.IDHash, Purpose: auth.PurposeEmailVerification, UserID: u.ID})
		}},
	}
	for _, tt := range tests {
		if err := tt.call(); err == nil {
			t.Errorf("%s succeeded, want an error", tt.name)
		}
	}

	if got, err := s.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail = %+v, %v; want the user stored first", got, err)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByEmail(email of a refused user): error = %v, want %v", err, auth.ErrNotFound)
	}
	// The first token was never spent and still belongs to its session.
	got, err := s.RotateRefreshToken(ctx, first.IDHash, successor(first), base)
	if err != nil {
		t.Fatalf("RotateRefreshToken(first token) after refused calls: %v", err)
	}
	if got.Old.SessionID != sess.ID {
		t.Errorf("RotateRefreshToken(first token): SessionID = %s, want %s", got.Old.SessionID, sess.ID)
	}
	// The one-time token keeps its purpose.
	if _, err := s.ConsumeOneTimeToken(ctx, ott.IDHash, ott.Purpose, base); err != nil {
		t.Errorf("ConsumeOneTimeToken after refused calls: %v", err)
	}
}

// TestDeleteUserRemovesOneTimeTokens checks that DeleteUser removes the
// user's one-time tokens only, and leaves its sessions to expire.
func TestDeleteUserRemovesSessionsAndOneTimeTokens(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	var tokens []*auth.OneTimeToken
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		u := &auth.User{ID: uuid.NewString(), Email: email, CreatedAt: base}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok := &auth.OneTimeToken{IDHash: newHash(), Purpose: auth.PurposePasswordReset, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if err := s.CreateOneTimeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	sess, first := newSession(tokens[0].UserID)
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, tokens[0].UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeOneTimeToken(ctx, tokens[0].IDHash, tokens[0].Purpose, base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("ConsumeOneTimeToken(token of a deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	if _, err := s.ConsumeOneTimeToken(ctx, tokens[1].IDHash, tokens[1].Purpose, base); err != nil {
		t.Errorf("ConsumeOneTimeToken(token of another user): %v", err)
	}
	if list, err := s.UserSessions(ctx, tokens[0].UserID); err != nil || len(list) != 0 {
		t.Errorf("UserSessions(deleted user) = %d sessions, %v; want none: sessions go with the user", len(list), err)
	}
	if _, err := s.Session(ctx, sess.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(session of a deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	if _, err := s.RotateRefreshToken(ctx, first.IDHash, &auth.RefreshToken{IDHash: newHash(), SessionID: sess.ID, UserID: sess.UserID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}, base); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("RotateRefreshToken(token of a deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
}

// TestSessionIndexAfterDeleteExpired checks that the per-user index of
// sessions follows DeleteExpired: removed sessions are neither listed nor
// counted by RevokeUserSessions, and the index takes new sessions again.
func TestSessionIndexAfterDeleteExpired(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	cutoff := base.Add(time.Hour)
	var live []*auth.Session
	for i := range 6 {
		sess, first := newSession("u1")
		sess.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if i%2 == 0 {
			sess.ExpiresAt = cutoff.Add(-time.Millisecond)
		} else {
			live = append(live, sess)
		}
		if err := s.CreateSession(ctx, sess, first); err != nil {
			t.Fatal(err)
		}
	}
	gone, goneFirst := newSession("u2")
	gone.ExpiresAt = cutoff.Add(-time.Millisecond)
	if err := s.CreateSession(ctx, gone, goneFirst); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpired(ctx, cutoff); err != nil || n != 8 {
		t.Fatalf("DeleteExpired = %d, %v; want 8 (4 sessions with a token each)", n, err)
	}
	list, err := s.UserSessions(ctx, "u1")
	if err != nil || len(list) != 3 {
		t.Fatalf("UserSessions after DeleteExpired = %d sessions, %v; want 3", len(list), err)
	}
	for i, sess := range list {
		if want := live[len(live)-1-i].ID; sess.ID != want {
			t.Errorf("UserSessions #%d = %s, want %s", i, sess.ID, want)
		}
	}
	if list, err := s.UserSessions(ctx, "u2"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("UserSessions(user whose sessions all expired) = %v, %v; want an empty slice", list, err)
	}
	again, againFirst := newSession("u2")
	if err := s.CreateSession(ctx, again, againFirst); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeUserSessions(ctx, "u2", "", cutoff); err != nil || n != 1 {
		t.Errorf("RevokeUserSessions(u2) = %d, %v; want 1", n, err)
	}
	if n, err := s.RevokeUserSessions(ctx, "u1", live[0].ID, cutoff); err != nil || n != 2 {
		t.Errorf("RevokeUserSessions(u1, except one) = %d, %v; want 2", n, err)
	}
}

// TestLastUsedAfterDeleteExpired checks that LastUsedAt comes from the
// refresh tokens still stored: the newest one's CreatedAt, or the session's
// when DeleteExpired removed them all.
func TestLastUsedAfterDeleteExpired(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	sess, first := newSession("u1")
	sess.CreatedAt = base.Add(-time.Hour)
	first.ExpiresAt = base.Add(time.Minute)
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		list, err := s.UserSessions(ctx, "u1")
		if err != nil || len(list) != 1 {
			t.Fatalf("UserSessions = %d sessions, %v; want 1", len(list), err)
		}
		return list[0].LastUsedAt
	}
	if got := lastUsed(); !got.Equal(base) {
		t.Errorf("LastUsedAt = %v, want the first token's CreatedAt %v", got, base)
	}
	if _, err := s.DeleteExpired(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(sess.CreatedAt) {
		t.Errorf("LastUsedAt with no token left = %v, want the session's CreatedAt %v", got, sess.CreatedAt)
	}
}
