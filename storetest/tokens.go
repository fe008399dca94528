package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
)

// testSessionRoundTrip checks that CreateSession stores the session and its
// first refresh token with every field, and that Session returns the
// session unrevoked.
func testSessionRoundTrip(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	s, first := newSession(u.ID)
	// Distinct times for distinct fields, so that a swapped column shows.
	s.ExpiresAt = base.Add(30 * 24 * time.Hour)
	first.CreatedAt = base.Add(time.Second)
	f.mustCreateSession(t, s, first)
	other, otherFirst := newSession(u.ID)
	f.mustCreateSession(t, other, otherFirst)

	checkSession(t, "Session", f.mustSession(t, s.ID), s)
	checkSession(t, "Session(second session of the user)", f.mustSession(t, other.ID), other)

	// The only way to read a refresh token is to spend it.
	at := base.Add(time.Minute)
	got, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, successor(first, at), at)
	if err != nil {
		t.Fatalf("RotateRefreshToken(first token of a new session): %v", err)
	}
	checkToken(t, "RotateRefreshToken(first token of a new session)", oldOf(got), spent(first, at))
}

// testSessionCopies checks that the store keeps its own copies of a session
// and its refresh tokens: changing the values passed to CreateSession
// afterwards, or values returned, changes nothing stored.
func testSessionCopies(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	s, first := newSession(u.ID)
	wantSession, wantFirst := *s, *first
	f.mustCreateSession(t, s, first)
	later := base.AddDate(1, 0, 0)
	s.UserID, s.CreatedAt, s.ExpiresAt, s.RevokedAt = "scribbled", later, later, later
	first.SessionID, first.UserID, first.CreatedAt, first.ExpiresAt, first.UsedAt = "scribbled", "scribbled", later, later, later

	checkSession(t, "Session after changing the session passed to CreateSession", f.mustSession(t, wantSession.ID), &wantSession)
	got := f.mustSession(t, wantSession.ID)
	got.UserID, got.CreatedAt, got.ExpiresAt, got.RevokedAt = "scribbled", later, later, later
	checkSession(t, "Session after changing a session returned by Session", f.mustSession(t, wantSession.ID), &wantSession)

	at := base.Add(time.Minute)
	old, err := f.tokens.RotateRefreshToken(f.ctx, wantFirst.IDHash, successor(&wantFirst, at), at)
	if err != nil {
		t.Fatalf("RotateRefreshToken(first token): %v", err)
	}
	checkToken(t, "RotateRefreshToken after changing the token passed to CreateSession", oldOf(old), spent(&wantFirst, at))
	old.Old.SessionID, old.Old.UserID, old.Old.CreatedAt, old.Old.ExpiresAt, old.Old.UsedAt = "scribbled", "scribbled", later, later, time.Time{}
	again, err := f.tokens.RotateRefreshToken(f.ctx, wantFirst.IDHash, successor(&wantFirst, at), at)
	checkErr(t, "RotateRefreshToken(spent token)", err, auth.ErrTokenUsed)
	checkToken(t, "RotateRefreshToken(spent token) after changing the token it returned before", oldOf(again), spent(&wantFirst, at))
}

// testCreateSessionAtomic checks that CreateSession stores its session and
// first token together or not at all: when the first token cannot be
// stored because its IDHash is taken, the session is not stored either, and
// the token holding the IDHash is unchanged.
func testCreateSessionAtomic(t *testing.T, f *fixture) {
	u, _, taken := f.mustOpenSession(t)
	s, first := newSession(u.ID)
	first.IDHash = taken.IDHash
	if err := f.tokens.CreateSession(f.ctx, s, first); err == nil {
		t.Fatal("CreateSession with a first refresh token whose IDHash is already stored succeeded; IDHash is unique")
	}
	if _, err := f.tokens.Session(f.ctx, s.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(session whose CreateSession failed): error = %v, want %v; the session must not be stored without its first token", err, auth.ErrNotFound)
	}
	f.mustRotate(t, taken, successor(taken, base.Add(time.Minute)), base.Add(time.Minute))
}

// testRevokeSession checks that RevokeSession sets RevokedAt, keeps the
// first RevokedAt when called again, and touches no other session.
func testRevokeSession(t *testing.T, f *fixture) {
	u, s, _ := f.mustOpenSession(t)
	other, otherFirst := newSession(u.ID)
	f.mustCreateSession(t, other, otherFirst)

	first := base.Add(time.Hour)
	if err := f.tokens.RevokeSession(f.ctx, s.ID, first); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	want := *s
	want.RevokedAt = first
	checkSession(t, "Session after RevokeSession", f.mustSession(t, s.ID), &want)

	checkErr(t, "RevokeSession(revoked session)", f.tokens.RevokeSession(f.ctx, s.ID, first.Add(time.Hour)), nil)
	checkSession(t, "Session after a second RevokeSession", f.mustSession(t, s.ID), &want)

	checkSession(t, "Session(another session of the user) after RevokeSession", f.mustSession(t, other.ID), other)
}

// testRotateRefreshToken checks that rotation spends the old token, returns
// it with UsedAt set, stores the successor so that it can be rotated in
// turn, and leaves the session unrevoked.
func testRotateRefreshToken(t *testing.T, f *fixture) {
	_, s, tok := f.mustOpenSession(t)
	at := base
	for range 3 {
		at = at.Add(15 * time.Minute)
		tok = f.mustRotate(t, tok, successor(tok, at), at)
	}
	checkSession(t, "Session after rotations", f.mustSession(t, s.ID), s)
}

// testRotateUsedToken checks that rotating a spent token returns the token
// as it was spent, with ErrTokenUsed, and does not store the successor
// offered.
func testRotateUsedToken(t *testing.T, f *fixture) {
	_, _, first := f.mustOpenSession(t)
	firstSpent := base.Add(time.Minute)
	second := f.mustRotate(t, first, successor(first, firstSpent), firstSpent)
	secondSpent := firstSpent.Add(time.Minute)
	f.mustRotate(t, second, successor(second, secondSpent), secondSpent)

	tests := []struct {
		name    string
		tok     *auth.RefreshToken
		spentAt time.Time
	}{
		{"FirstToken", first, firstSpent},
		{"LaterToken", second, secondSpent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: a failed rotation changes nothing, UsedAt included.
			for i := range 2 {
				at := base.Add(time.Duration(i+1) * time.Hour)
				offered := successor(tt.tok, at)
				got, err := f.tokens.RotateRefreshToken(f.ctx, tt.tok.IDHash, offered, at)
				checkErr(t, "RotateRefreshToken(spent token)", err, auth.ErrTokenUsed)
				// The Authenticator revokes the session the returned
				// token names.
				checkToken(t, "RotateRefreshToken(spent token)", oldOf(got), spent(tt.tok, tt.spentAt))
				f.checkNotStored(t, "RotateRefreshToken(spent token)", offered)
			}
		})
	}
}

// testRotateRevokedSession checks that rotating a token of a revoked
// session returns the unspent token and ErrSessionRevoked, and does not
// store the successor offered.
func testRotateRevokedSession(t *testing.T, f *fixture) {
	tests := []struct {
		name      string
		rotations int // before the session is revoked
	}{
		{"FirstToken", 0},
		{"LaterToken", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s, tok := f.mustOpenSession(t)
			at := base
			for range tt.rotations {
				at = at.Add(time.Minute)
				tok = f.mustRotate(t, tok, successor(tok, at), at)
			}
			if err := f.tokens.RevokeSession(f.ctx, s.ID, at.Add(time.Minute)); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
			at = at.Add(time.Hour)
			offered := successor(tok, at)
			got, err := f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, offered, at)
			checkErr(t, "RotateRefreshToken(token of a revoked session)", err, auth.ErrSessionRevoked)
			checkToken(t, "RotateRefreshToken(token of a revoked session)", oldOf(got), tok)
			f.checkNotStored(t, "RotateRefreshToken(token of a revoked session)", offered)
		})
	}
}

// testRotateUnknownToken checks that rotating an IDHash that was never
// stored gives ErrNotFound and does not store the successor offered.
func testRotateUnknownToken(t *testing.T, f *fixture) {
	_, _, tok := f.mustOpenSession(t)
	unknown := successor(tok, base)
	offered := successor(tok, base)
	_, err := f.tokens.RotateRefreshToken(f.ctx, unknown.IDHash, offered, base)
	checkErr(t, "RotateRefreshToken(unknown IDHash)", err, auth.ErrNotFound)
	f.checkNotStored(t, "RotateRefreshToken(unknown IDHash)", offered)
}

// testConcurrentRotation checks that of many concurrent rotations of one
// token, each offering its own successor, exactly one succeeds, the others
// get ErrTokenUsed with the token, and only the winner's successor is
// stored.
func testConcurrentRotation(t *testing.T, f *fixture) {
	const n = 50
	_, s, tok := f.mustOpenSession(t)
	at := base.Add(time.Minute)
	offered := make([]*auth.RefreshToken, n)
	for i := range offered {
		offered[i] = successor(tok, at)
	}
	got := make([]*auth.Rotation, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, next := range offered {
		wg.Go(func() {
			<-start
			got[i], errs[i] = f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, next, at)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("RotateRefreshToken #%d and #%d of the same token both succeeded", winner, i)
		case err == nil:
			winner = i
			checkToken(t, "RotateRefreshToken(winner)", oldOf(got[i]), spent(tok, at))
		case !errors.Is(err, auth.ErrTokenUsed):
			t.Errorf("RotateRefreshToken #%d: error = %v, want %v", i, err, auth.ErrTokenUsed)
		case got[i] == nil || got[i].Old == nil || got[i].Old.SessionID != s.ID:
			t.Errorf("RotateRefreshToken #%d returned %+v with ErrTokenUsed, want the spent token of session %s", i, got[i], s.ID)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent rotations of one token succeeded", n)
	}
	// Every loser saw the winner's commit: they all name one successor,
	// the winner's, and report it unspent.
	for i, r := range got {
		if i == winner || r == nil || r.Old == nil {
			continue
		}
		if r.Old.SuccessorHash != offered[winner].IDHash {
			t.Errorf("RotateRefreshToken #%d (a loser): SuccessorHash = %q, want the winner's successor %q", i, r.Old.SuccessorHash, offered[winner].IDHash)
		}
		if r.Successor == nil || r.Successor.IDHash != offered[winner].IDHash {
			t.Errorf("RotateRefreshToken #%d (a loser): Successor = %+v, want the winner's successor, unspent", i, r.Successor)
		}
	}
	for i, next := range offered {
		if i != winner {
			f.checkNotStored(t, "concurrent RotateRefreshToken (a loser)", next)
		}
	}
	f.mustRotate(t, offered[winner], successor(offered[winner], at), at)
}

// testRotationReportsSuccessor checks what rotating a spent token reports
// for the reuse window: the token with the SuccessorHash it was spent with,
// and the successor itself while that is unused and the session live; no
// successor once it is spent (a grandparent) or the session is revoked.
// Nothing is stored by these calls.
func testRotationReportsSuccessor(t *testing.T, f *fixture) {
	u, s, first := f.mustOpenSession(t)
	at := base.Add(time.Minute)
	second := f.mustRotate(t, first, successor(first, at), at)

	later := at.Add(time.Second)
	for i := range 2 { // a failed rotation changes nothing
		offered := successor(first, later)
		r, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, offered, later)
		checkErr(t, "RotateRefreshToken(spent token)", err, auth.ErrTokenUsed)
		want := spent(first, at)
		want.SuccessorHash = second.IDHash
		checkToken(t, "RotateRefreshToken(spent token)", oldOf(r), want)
		if r == nil || r.Successor == nil {
			t.Fatalf("RotateRefreshToken(spent token) #%d: no successor reported, want %s unused", i, second.IDHash)
		}
		checkToken(t, "RotateRefreshToken(spent token): Successor", r.Successor, second)
		if r.UserRead && (r.OrganizationID != u.OrganizationID || r.Role != u.Role) {
			t.Errorf("RotateRefreshToken(spent token): organization %q role %q, want %q %q", r.OrganizationID, r.Role, u.OrganizationID, u.Role)
		}
		f.checkNotStored(t, "RotateRefreshToken(spent token)", offered)
	}

	// The grandparent: its successor is spent too.
	f.mustRotate(t, second, successor(second, later), later)
	r, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, successor(first, later), later)
	checkErr(t, "RotateRefreshToken(grandparent)", err, auth.ErrTokenUsed)
	if r != nil && r.Successor != nil {
		t.Errorf("RotateRefreshToken(grandparent): Successor = %+v, want none (it is spent)", r.Successor)
	}

	// A revoked session: no successor is handed out.
	if err := f.tokens.RevokeSession(f.ctx, s.ID, later); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	r, err = f.tokens.RotateRefreshToken(f.ctx, second.IDHash, successor(second, later), later)
	checkErr(t, "RotateRefreshToken(spent token of a revoked session)", err, auth.ErrTokenUsed)
	if r != nil && r.Successor != nil {
		t.Errorf("RotateRefreshToken(spent token of a revoked session): Successor = %+v, want none", r.Successor)
	}
}

// testRotationReadsUser checks that a store that keeps users too reports
// the user's organization and role with a rotation, and that once the user
// is deleted its tokens cannot be rotated.
func testRotationReadsUser(t *testing.T, f *fixture) {
	u, _, first := f.mustOpenSession(t)
	at := base.Add(time.Minute)
	next := successor(first, at)
	r, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, next, at)
	if err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	if _, keepsUsers := f.tokens.(auth.UserStore); keepsUsers && !r.UserRead {
		t.Errorf("RotateRefreshToken: UserRead is false from a store that keeps users")
	}
	if r.UserRead && (r.OrganizationID != u.OrganizationID || r.Role != u.Role) {
		t.Errorf("RotateRefreshToken: organization %q role %q, want %q %q", r.OrganizationID, r.Role, u.OrganizationID, u.Role)
	}
	if _, keepsUsers := f.tokens.(auth.UserStore); !keepsUsers {
		return
	}
	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for name, tok := range map[string]*auth.RefreshToken{"unused": next, "spent": first} {
		_, err := f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, successor(tok, at), at)
		checkErr(t, "RotateRefreshToken("+name+" token of a deleted user)", err, auth.ErrNotFound)
	}
}

// testDeleteExpired checks that DeleteExpired removes exactly the sessions
// and refresh tokens whose ExpiresAt is before the cut-off, with the tokens
// of every session it removes, keeps spent tokens that have not expired,
// and reports what it removed.
//
// The count must include every session and token whose own ExpiresAt is
// before the cut-off; whether it also counts the tokens removed only because
// their session was (as a cascading foreign key would remove them) is up to
// the store. So the count checked here lies between 2 and 3.
func testDeleteExpired(t *testing.T, f *fixture) {
	u := f.mustCreateUser(t)
	cutoff := base.Add(24 * time.Hour)

	// A: the session has expired, its token has not: both go.
	sessA, tokA := newSession(u.ID)
	sessA.ExpiresAt = cutoff.Add(-time.Millisecond)
	tokA.ExpiresAt = cutoff.Add(time.Hour)
	f.mustCreateSession(t, sessA, tokA)

	// B: the session lives on; its spent first token has expired and goes,
	// its successor stays.
	sessB, tokB1 := newSession(u.ID)
	tokB1.ExpiresAt = cutoff.Add(-time.Millisecond)
	f.mustCreateSession(t, sessB, tokB1)
	tokB2 := f.mustRotate(t, tokB1, successor(tokB1, base.Add(time.Minute)), base.Add(time.Minute))

	// C: the session and its spent first token expire exactly at the
	// cut-off, which is not before it: everything stays.
	sessC, tokC1 := newSession(u.ID)
	sessC.ExpiresAt = cutoff
	tokC1.ExpiresAt = cutoff
	f.mustCreateSession(t, sessC, tokC1)
	tokC2 := successor(tokC1, base.Add(time.Minute))
	tokC2.ExpiresAt = cutoff
	f.mustRotate(t, tokC1, tokC2, base.Add(time.Minute))

	n, err := f.tokens.DeleteExpired(f.ctx, base)
	if err != nil {
		t.Fatalf("DeleteExpired(before anything expired): %v", err)
	}
	if n != 0 {
		t.Errorf("DeleteExpired(before anything expired) = %d, want 0", n)
	}
	f.mustSession(t, sessA.ID)

	// The cut-off is passed in another location: stores compare instants.
	n, err = f.tokens.DeleteExpired(f.ctx, cutoff.In(time.FixedZone("UTC-10", -10*3600)))
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n < 2 || n > 3 {
		t.Errorf("DeleteExpired = %d, want 2 (the expired session and the expired token) or 3 (and the token of the expired session)", n)
	}

	if _, err := f.tokens.Session(f.ctx, sessA.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("Session(expired session) after DeleteExpired: error = %v, want %v", err, auth.ErrNotFound)
	}
	for _, tt := range []struct {
		what string
		tok  *auth.RefreshToken
	}{
		{"RotateRefreshToken(unexpired token of an expired session) after DeleteExpired", tokA},
		{"RotateRefreshToken(expired spent token) after DeleteExpired", tokB1},
	} {
		_, err := f.tokens.RotateRefreshToken(f.ctx, tt.tok.IDHash, successor(tt.tok, cutoff), cutoff)
		checkErr(t, tt.what, err, auth.ErrNotFound)
	}

	checkSession(t, "Session(unexpired session) after DeleteExpired", f.mustSession(t, sessB.ID), sessB)
	f.mustRotate(t, tokB2, successor(tokB2, cutoff), cutoff)
	checkSession(t, "Session(session expiring at the cut-off) after DeleteExpired", f.mustSession(t, sessC.ID), sessC)
	got, err := f.tokens.RotateRefreshToken(f.ctx, tokC1.IDHash, successor(tokC1, cutoff), cutoff)
	checkErr(t, "RotateRefreshToken(spent token expiring at the cut-off) after DeleteExpired", err, auth.ErrTokenUsed)
	checkToken(t, "RotateRefreshToken(spent token expiring at the cut-off) after DeleteExpired", oldOf(got), spent(tokC1, base.Add(time.Minute)))
	f.mustRotate(t, tokC2, successor(tokC2, cutoff), cutoff)
	checkUser(t, "UserByID after DeleteExpired", f.mustUserByID(t, u.ID), u)

	n, err = f.tokens.DeleteExpired(f.ctx, cutoff)
	if err != nil {
		t.Fatalf("DeleteExpired(again): %v", err)
	}
	if n != 0 {
		t.Errorf("DeleteExpired(again, same cut-off) = %d, want 0: nothing expired is left", n)
	}
}
