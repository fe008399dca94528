package storetest

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// The checks of the optional interfaces behind the account-lifecycle
// features: auth.SessionLister, auth.OneTimeTokenStore and
// auth.EmailVerifier. Each skips, saying so, when the store lacks its
// interface.

// skipMessage is the reason a check of an optional interface is skipped.
func skipMessage(iface string) string {
	return "store does not implement auth." + iface + "; skipping its checks"
}

// lister returns the TokenStore as an auth.SessionLister, or skips the test.
func (f *fixture) lister(t *testing.T) auth.SessionLister {
	t.Helper()
	l, ok := f.tokens.(auth.SessionLister)
	if !ok {
		t.Skip(skipMessage("SessionLister"))
	}
	return l
}

// oneTime returns the TokenStore as an auth.OneTimeTokenStore, or skips the
// test.
func (f *fixture) oneTime(t *testing.T) auth.OneTimeTokenStore {
	t.Helper()
	o, ok := f.tokens.(auth.OneTimeTokenStore)
	if !ok {
		t.Skip(skipMessage("OneTimeTokenStore"))
	}
	return o
}

// verifier returns the UserStore as an auth.EmailVerifier, or skips the
// test.
func (f *fixture) verifier(t *testing.T) auth.EmailVerifier {
	t.Helper()
	v, ok := f.users.(auth.EmailVerifier)
	if !ok {
		t.Skip(skipMessage("EmailVerifier"))
	}
	return v
}

// east is a location other than UTC that times are passed in, so that a
// store that keeps the location shows.
var east = time.FixedZone("UTC+05:30", 5*3600+30*60)

// odd returns t in location east with a sub-millisecond part added, as the
// Authenticator's clock may give it.
func odd(t time.Time) time.Time {
	return t.Add(456_789 * time.Nanosecond).In(east)
}

// newSessionAt returns an unstored session of the user created at the given
// time, with its first refresh token issued then.
func newSessionAt(userID string, at time.Time) (*auth.Session, *auth.RefreshToken) {
	s, first := newSession(userID)
	s.CreatedAt, first.CreatedAt = at, at
	return s, first
}

// newOneTimeToken returns an unstored one-time token of the user for the
// given purpose, issued at base and expiring an hour later.
func newOneTimeToken(userID, purpose string) *auth.OneTimeToken {
	return &auth.OneTimeToken{
		IDHash:    newHash(),
		Purpose:   purpose,
		UserID:    userID,
		CreatedAt: base,
		ExpiresAt: base.Add(time.Hour),
	}
}

// mustCreateOneTimeToken stores tok.
func (f *fixture) mustCreateOneTimeToken(t *testing.T, o auth.OneTimeTokenStore, tok *auth.OneTimeToken) {
	t.Helper()
	if err := o.CreateOneTimeToken(f.ctx, tok); err != nil {
		t.Fatalf("CreateOneTimeToken(%s): %v", tok.IDHash, err)
	}
}

// mustConsume spends tok at the given time, expects success, and checks the
// token returned.
func (f *fixture) mustConsume(t *testing.T, o auth.OneTimeTokenStore, tok *auth.OneTimeToken, at time.Time) {
	t.Helper()
	got, err := o.ConsumeOneTimeToken(f.ctx, tok.IDHash, tok.Purpose, at)
	if err != nil {
		t.Fatalf("ConsumeOneTimeToken(%s, %s): %v", tok.IDHash, tok.Purpose, err)
	}
	want := *tok
	want.UsedAt = at
	checkOneTimeToken(t, "ConsumeOneTimeToken(unused token)", got, &want)
}

// checkNotConsumable reports an error unless consuming tok's hash with
// tok's purpose gives ErrNotFound.
func (f *fixture) checkNotConsumable(t *testing.T, o auth.OneTimeTokenStore, what string, tok *auth.OneTimeToken) {
	t.Helper()
	got, err := o.ConsumeOneTimeToken(f.ctx, tok.IDHash, tok.Purpose, base.Add(2*time.Hour))
	if !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("%s: ConsumeOneTimeToken gave %+v, error %v; want %v", what, got, err, auth.ErrNotFound)
	}
}

// mustUserSessions returns the user's sessions as UserSessions lists them.
func (f *fixture) mustUserSessions(t *testing.T, l auth.SessionLister, userID string) []*auth.Session {
	t.Helper()
	list, err := l.UserSessions(f.ctx, userID)
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", userID, err)
	}
	for i, s := range list {
		if s == nil {
			t.Fatalf("UserSessions(%s): session #%d is nil", userID, i)
		}
	}
	return list
}

// listed is a session UserSessions should return, with its LastUsedAt.
type listed struct {
	s        *auth.Session
	lastUsed time.Time
}

// checkListed reports an error unless got holds exactly the sessions of
// want, in that order, each with every field and its LastUsedAt.
func checkListed(t *testing.T, what string, got []*auth.Session, want []listed) {
	t.Helper()
	ids := func() string {
		var b strings.Builder
		for _, s := range got {
			b.WriteString(" " + s.ID)
		}
		return b.String()
	}
	if len(got) != len(want) {
		var w strings.Builder
		for _, l := range want {
			w.WriteString(" " + l.s.ID)
		}
		t.Errorf("%s: %d sessions:%s; want %d, most recently created first:%s", what, len(got), ids(), len(want), w.String())
		return
	}
	for i, l := range want {
		if got[i].ID != l.s.ID {
			t.Errorf("%s: session #%d is %s, want %s (most recently created first; got%s)", what, i, got[i].ID, l.s.ID, ids())
			continue
		}
		checkSession(t, what, got[i], l.s)
		checkTime(t, what+": session "+l.s.ID, "LastUsedAt", got[i].LastUsedAt, l.lastUsed)
	}
}

// testSessionMetadata checks that CreateSession stores UserAgent and
// IPAddress, that Session and UserSessions return them, and that
// CreateSession ignores LastUsedAt.
func testSessionMetadata(t *testing.T, f *fixture) {
	l := f.lister(t)
	u := f.mustCreateUser(t)
	browser, browserFirst := newSessionAt(u.ID, base)
	browser.UserAgent = `Mozilla/5.0 (X11; Linux x86_64) Zoë/1.0 "quoted" 'single' \ 100%_`
	browser.IPAddress = "2001:db8::1"
	browser.AMR, browser.AAL = "pwd otp", 2
	browser.LastUsedAt = base.AddDate(1, 0, 0) // ignored
	long, longFirst := newSessionAt(u.ID, base.Add(time.Minute))
	long.UserAgent = strings.Repeat("Agent/1.0 ", 51) + "xx" // 512 bytes
	long.IPAddress = "203.0.113.7"
	bare, bareFirst := newSessionAt(u.ID, base.Add(2*time.Minute))

	for _, c := range []struct {
		s     *auth.Session
		first *auth.RefreshToken
	}{{browser, browserFirst}, {long, longFirst}, {bare, bareFirst}} {
		before := *c.s
		f.mustCreateSession(t, c.s, c.first)
		if *c.s != before {
			t.Errorf("CreateSession changed its argument: got %+v, want %+v", *c.s, before)
		}
		checkSession(t, "Session", f.mustSession(t, c.s.ID), c.s)
	}
	want := []listed{{bare, bare.CreatedAt}, {long, long.CreatedAt}, {browser, browser.CreatedAt}}
	checkListed(t, "UserSessions", f.mustUserSessions(t, l, u.ID), want)

	// The copies handed out are the caller's.
	for _, s := range f.mustUserSessions(t, l, u.ID) {
		s.UserAgent, s.IPAddress, s.UserID = "scribbled", "scribbled", "scribbled"
		s.CreatedAt, s.LastUsedAt = base.AddDate(1, 0, 0), base.AddDate(1, 0, 0)
	}
	checkListed(t, "UserSessions after changing sessions it returned", f.mustUserSessions(t, l, u.ID), want)
}

// testUserSessions checks that UserSessions lists the user's sessions that
// are not revoked, expired ones included, most recently created first, each
// with LastUsedAt equal to its creation while it was never refreshed; and
// nothing for a user without sessions.
func testUserSessions(t *testing.T, f *fixture) {
	l := f.lister(t)
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	create := func(userID string, created time.Time) *auth.Session {
		s, first := newSessionAt(userID, created)
		f.mustCreateSession(t, s, first)
		return s
	}
	// Created out of order, so that a store listing in insertion order
	// fails.
	mid := create(u.ID, base.Add(time.Hour))
	oldest := create(u.ID, base)
	newest := create(u.ID, odd(base.Add(2*time.Hour)))
	expired, expiredFirst := newSessionAt(u.ID, base.Add(30*time.Minute))
	expired.ExpiresAt = base.Add(31 * time.Minute)
	expiredFirst.ExpiresAt = expired.ExpiresAt
	f.mustCreateSession(t, expired, expiredFirst)
	revoked := create(u.ID, base.Add(3*time.Hour))
	if err := f.tokens.RevokeSession(f.ctx, revoked.ID, base.Add(4*time.Hour)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	others := create(other.ID, base.Add(5*time.Hour))

	checkListed(t, "UserSessions", f.mustUserSessions(t, l, u.ID), []listed{
		{newest, newest.CreatedAt},
		{mid, mid.CreatedAt},
		{expired, expired.CreatedAt},
		{oldest, oldest.CreatedAt},
	})
	checkListed(t, "UserSessions(another user)", f.mustUserSessions(t, l, other.ID), []listed{{others, others.CreatedAt}})

	onlyRevoked := f.mustCreateUser(t)
	s := create(onlyRevoked.ID, base)
	if err := f.tokens.RevokeSession(f.ctx, s.ID, base); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	checkListed(t, "UserSessions(user whose only session is revoked)", f.mustUserSessions(t, l, onlyRevoked.ID), nil)
	checkListed(t, "UserSessions(user without sessions)", f.mustUserSessions(t, l, f.mustCreateUser(t).ID), nil)
	checkListed(t, "UserSessions(unknown user)", f.mustUserSessions(t, l, uuid.NewString()), nil)
}

// testUserSessionsLastUsed checks that UserSessions gives each session the
// CreatedAt of its newest refresh token as LastUsedAt: its creation, then
// the successor's CreatedAt after each rotation, unchanged by a failed one.
func testUserSessionsLastUsed(t *testing.T, f *fixture) {
	l := f.lister(t)
	u, s, tok := f.mustOpenSession(t)
	idle, idleFirst := newSessionAt(u.ID, base.Add(-time.Hour))
	f.mustCreateSession(t, idle, idleFirst)
	checkListed(t, "UserSessions before any refresh", f.mustUserSessions(t, l, u.ID), []listed{{s, base}, {idle, idle.CreatedAt}})

	first := tok
	var at time.Time
	for i := range 2 {
		at = odd(base.Add(time.Duration(10*(i+1)) * time.Minute))
		tok = f.mustRotate(t, tok, successor(tok, at), at)
		checkListed(t, "UserSessions after a rotation", f.mustUserSessions(t, l, u.ID), []listed{{s, at}, {idle, idle.CreatedAt}})
	}

	later := base.Add(time.Hour)
	if _, err := f.tokens.RotateRefreshToken(f.ctx, first.IDHash, successor(first, later), later); !errors.Is(err, auth.ErrTokenUsed) {
		t.Fatalf("RotateRefreshToken(spent token): error = %v, want %v", err, auth.ErrTokenUsed)
	}
	checkListed(t, "UserSessions after a refused rotation", f.mustUserSessions(t, l, u.ID), []listed{{s, at}, {idle, idle.CreatedAt}})
}

// testRevokeUserSessions checks that RevokeUserSessions revokes the user's
// live sessions but the one excepted, counts them, keeps the RevokedAt of
// sessions revoked before, and leaves other users' sessions alone.
func testRevokeUserSessions(t *testing.T, f *fixture) {
	l := f.lister(t)
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	var (
		sessions []*auth.Session
		tokens   []*auth.RefreshToken
	)
	for i := range 4 {
		s, first := newSessionAt(u.ID, base.Add(time.Duration(i)*time.Minute))
		f.mustCreateSession(t, s, first)
		sessions, tokens = append(sessions, s), append(tokens, first)
	}
	kept, earlier := sessions[1], sessions[3]
	earlierAt := base.Add(time.Hour)
	if err := f.tokens.RevokeSession(f.ctx, earlier.ID, earlierAt); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	others, othersFirst := newSessionAt(other.ID, base)
	f.mustCreateSession(t, others, othersFirst)

	at := odd(base.Add(2 * time.Hour))
	n, err := l.RevokeUserSessions(f.ctx, u.ID, kept.ID, at)
	if err != nil {
		t.Fatalf("RevokeUserSessions(except one): %v", err)
	}
	if n != 2 {
		t.Errorf("RevokeUserSessions(except one) = %d, want 2 (4 sessions, one excepted, one revoked before)", n)
	}
	for i, s := range sessions {
		want := *s
		switch s {
		case kept:
		case earlier:
			want.RevokedAt = earlierAt
		default:
			want.RevokedAt = at
		}
		checkSession(t, "Session after RevokeUserSessions(except one)", f.mustSession(t, s.ID), &want)
		if s == kept {
			continue
		}
		tok := tokens[i]
		got, err := f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, successor(tok, at), at)
		checkErr(t, "RotateRefreshToken(token of a session revoked by RevokeUserSessions)", err, auth.ErrSessionRevoked)
		checkToken(t, "RotateRefreshToken(token of a session revoked by RevokeUserSessions)", oldOf(got), tok)
	}
	checkSession(t, "Session(another user's) after RevokeUserSessions", f.mustSession(t, others.ID), others)
	checkListed(t, "UserSessions after RevokeUserSessions(except one)", f.mustUserSessions(t, l, u.ID), []listed{{kept, kept.CreatedAt}})
	checkListed(t, "UserSessions(another user) after RevokeUserSessions", f.mustUserSessions(t, l, other.ID), []listed{{others, others.CreatedAt}})
	f.mustRotate(t, tokens[1], successor(tokens[1], at), at)

	// An except naming no session of the user excepts nothing.
	later := base.Add(3 * time.Hour)
	n, err = l.RevokeUserSessions(f.ctx, u.ID, others.ID, later)
	if err != nil || n != 1 {
		t.Errorf("RevokeUserSessions(except another user's session) = %d, %v; want 1, nil", n, err)
	}
	wantKept := *kept
	wantKept.RevokedAt = later
	checkSession(t, "Session after RevokeUserSessions(except another user's session)", f.mustSession(t, kept.ID), &wantKept)
	checkSession(t, "Session(another user's) after RevokeUserSessions", f.mustSession(t, others.ID), others)

	for _, tt := range []struct{ what, userID string }{
		{"user whose sessions are all revoked", u.ID},
		{"unknown user", uuid.NewString()},
	} {
		n, err := l.RevokeUserSessions(f.ctx, tt.userID, "", later.Add(time.Hour))
		if err != nil || n != 0 {
			t.Errorf("RevokeUserSessions(%s) = %d, %v; want 0, nil", tt.what, n, err)
		}
	}
	checkSession(t, "Session after a RevokeUserSessions that revoked nothing", f.mustSession(t, kept.ID), &wantKept)

	// Without except, every live session goes.
	s1, first1 := newSessionAt(other.ID, base.Add(time.Minute))
	f.mustCreateSession(t, s1, first1)
	n, err = l.RevokeUserSessions(f.ctx, other.ID, "", later)
	if err != nil || n != 2 {
		t.Errorf("RevokeUserSessions(no except) = %d, %v; want 2, nil", n, err)
	}
	for _, s := range []*auth.Session{others, s1} {
		want := *s
		want.RevokedAt = later
		checkSession(t, "Session after RevokeUserSessions(no except)", f.mustSession(t, s.ID), &want)
	}
	checkListed(t, "UserSessions after RevokeUserSessions(no except)", f.mustUserSessions(t, l, other.ID), nil)
}

// testOneTimeTokenConsume checks that a one-time token is stored with every
// field, can be read without being spent, is spent by its first
// consumption only, and is kept as a copy; and that tokens of one user are
// independent.
func testOneTimeTokenConsume(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	u := f.mustCreateUser(t)
	reset := newOneTimeToken(u.ID, auth.PurposePasswordReset)
	reset.CreatedAt = odd(base)
	reset.ExpiresAt = odd(base.Add(time.Hour))
	want := *reset
	f.mustCreateOneTimeToken(t, o, reset)
	if *reset != want {
		t.Errorf("CreateOneTimeToken changed its argument: got %+v, want %+v", *reset, want)
	}
	reset.Purpose, reset.UserID, reset.CreatedAt, reset.ExpiresAt, reset.UsedAt = "scribbled", "scribbled", base, base, base
	secondReset := newOneTimeToken(u.ID, auth.PurposePasswordReset)
	f.mustCreateOneTimeToken(t, o, secondReset)
	verify := newOneTimeToken(u.ID, auth.PurposeEmailVerification)
	verify.ExpiresAt = base.Add(48 * time.Hour)
	f.mustCreateOneTimeToken(t, o, verify)

	// Reading spends nothing and hands out copies.
	for i := range 2 {
		peek, err := o.OneTimeToken(f.ctx, want.IDHash, want.Purpose)
		if err != nil {
			t.Fatalf("OneTimeToken(unused token) #%d: %v", i+1, err)
		}
		checkOneTimeToken(t, "OneTimeToken(unused token)", peek, &want)
		peek.UserID, peek.UsedAt = "scribbled", base
	}
	if got, err := o.OneTimeToken(f.ctx, want.IDHash, auth.PurposeEmailVerification); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("OneTimeToken(reset token as a verification token) gave %+v, error %v; want %v", got, err, auth.ErrNotFound)
	}
	if got, err := o.OneTimeToken(f.ctx, newHash(), want.Purpose); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("OneTimeToken(unknown hash) gave %+v, error %v; want %v", got, err, auth.ErrNotFound)
	}

	at := odd(base.Add(time.Minute))
	got, err := o.ConsumeOneTimeToken(f.ctx, want.IDHash, want.Purpose, at)
	if err != nil {
		t.Fatalf("ConsumeOneTimeToken: %v", err)
	}
	if peek, err := o.OneTimeToken(f.ctx, want.IDHash, want.Purpose); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("OneTimeToken(spent token) gave %+v, error %v; want %v", peek, err, auth.ErrNotFound)
	}
	spentWant := want
	spentWant.UsedAt = at
	checkOneTimeToken(t, "ConsumeOneTimeToken(unused token)", got, &spentWant)
	got.UsedAt = time.Time{}

	for i := range 2 {
		again, err := o.ConsumeOneTimeToken(f.ctx, want.IDHash, want.Purpose, at.Add(time.Duration(i+1)*time.Minute))
		if !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("ConsumeOneTimeToken(spent token) #%d gave %+v, error %v; want %v", i+1, again, err, auth.ErrNotFound)
		}
	}
	f.checkNotConsumable(t, o, "unknown hash", newOneTimeToken(u.ID, auth.PurposePasswordReset))

	// Spending one token spends no other, of either purpose.
	f.mustConsume(t, o, verify, at)
	f.mustConsume(t, o, secondReset, at)
	f.checkNotConsumable(t, o, "spent verification token", verify)
}

// testOneTimeTokenPurpose checks that a one-time token is spent only for its
// own purpose: asking with another gives ErrNotFound and leaves it unspent.
func testOneTimeTokenPurpose(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	u := f.mustCreateUser(t)
	for _, tt := range []struct{ purpose, wrong string }{
		{auth.PurposePasswordReset, auth.PurposeEmailVerification},
		{auth.PurposeEmailVerification, auth.PurposePasswordReset},
	} {
		t.Run(tt.purpose, func(t *testing.T) {
			tok := newOneTimeToken(u.ID, tt.purpose)
			f.mustCreateOneTimeToken(t, o, tok)
			for _, wrong := range []string{tt.wrong, "", strings.ToUpper(tt.purpose)} {
				got, err := o.ConsumeOneTimeToken(f.ctx, tok.IDHash, wrong, base.Add(time.Minute))
				if !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("ConsumeOneTimeToken(%s token as %q) gave %+v, error %v; want %v", tt.purpose, wrong, got, err, auth.ErrNotFound)
				}
			}
			f.mustConsume(t, o, tok, base.Add(2*time.Minute))
		})
	}
}

// testConcurrentOneTimeTokenConsume checks that of many concurrent
// consumptions of one token exactly one succeeds and the others get
// ErrNotFound.
func testConcurrentOneTimeTokenConsume(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	const n = 16
	u := f.mustCreateUser(t)
	tok := newOneTimeToken(u.ID, auth.PurposePasswordReset)
	f.mustCreateOneTimeToken(t, o, tok)
	at := base.Add(time.Minute)
	got := make([]*auth.OneTimeToken, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = o.ConsumeOneTimeToken(f.ctx, tok.IDHash, tok.Purpose, at)
		})
	}
	close(start)
	wg.Wait()

	want := *tok
	want.UsedAt = at
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("ConsumeOneTimeToken #%d and #%d of the same token both succeeded", winner, i)
		case err == nil:
			winner = i
			checkOneTimeToken(t, "ConsumeOneTimeToken(winner)", got[i], &want)
		case !errors.Is(err, auth.ErrNotFound):
			t.Errorf("ConsumeOneTimeToken #%d: error = %v, want %v", i, err, auth.ErrNotFound)
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d concurrent consumptions of one token succeeded", n)
	}
	f.checkNotConsumable(t, o, "token spent by concurrent consumptions", tok)
}

// testOneTimeTokenDeleteExpired checks that DeleteExpired removes the
// one-time tokens that expired before the cut-off, spent or not, counts
// them, and keeps the others.
func testOneTimeTokenDeleteExpired(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	u := f.mustCreateUser(t)
	cutoff := base.Add(24 * time.Hour)
	token := func(expires time.Time) *auth.OneTimeToken {
		tok := newOneTimeToken(u.ID, auth.PurposePasswordReset)
		tok.ExpiresAt = expires
		f.mustCreateOneTimeToken(t, o, tok)
		return tok
	}
	expired := token(cutoff.Add(-time.Millisecond))
	expiredSpent := token(cutoff.Add(-time.Millisecond))
	f.mustConsume(t, o, expiredSpent, base.Add(time.Minute))
	atCutoff := token(cutoff)
	live := token(cutoff.Add(time.Hour))

	n, err := f.tokens.DeleteExpired(f.ctx, base)
	if err != nil || n != 0 {
		t.Errorf("DeleteExpired(before anything expired) = %d, %v; want 0, nil", n, err)
	}
	n, err = f.tokens.DeleteExpired(f.ctx, cutoff.In(east))
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 2 {
		t.Errorf("DeleteExpired = %d, want 2 (the expired one-time tokens, spent or not)", n)
	}
	f.checkNotConsumable(t, o, "expired one-time token after DeleteExpired", expired)
	f.mustConsume(t, o, atCutoff, cutoff)
	f.mustConsume(t, o, live, cutoff)
	checkUser(t, "UserByID after DeleteExpired", f.mustUserByID(t, u.ID), u)

	n, err = f.tokens.DeleteExpired(f.ctx, cutoff)
	if err != nil || n != 0 {
		t.Errorf("DeleteExpired(again, same cut-off) = %d, %v; want 0, nil", n, err)
	}
}

// testDeleteUserWithOneTimeTokens checks that a user with one-time tokens,
// spent and unspent, can be deleted and the email registered again.
func testDeleteUserWithOneTimeTokens(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	spentTok := newOneTimeToken(u.ID, auth.PurposeEmailVerification)
	f.mustCreateOneTimeToken(t, o, spentTok)
	f.mustConsume(t, o, spentTok, base.Add(time.Minute))
	f.mustCreateOneTimeToken(t, o, newOneTimeToken(u.ID, auth.PurposePasswordReset))
	othersTok := newOneTimeToken(other.ID, auth.PurposePasswordReset)
	f.mustCreateOneTimeToken(t, o, othersTok)

	if err := f.users.DeleteUser(f.ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser(user with one-time tokens): %v", err)
	}
	if _, err := f.users.UserByID(f.ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("UserByID(deleted user): error = %v, want %v", err, auth.ErrNotFound)
	}
	again := newUser()
	again.Email = u.Email
	if err := f.users.CreateUser(f.ctx, again); err != nil {
		t.Fatalf("CreateUser with the email of a deleted user: %v", err)
	}
	f.mustConsume(t, o, othersTok, base.Add(time.Minute))
}

// testSetEmailVerified checks that SetEmailVerified sets EmailVerifiedAt of
// its user only, keeps the first time when called again, survives a password
// change, and gives ErrNotFound for a missing user; and that CreateUser
// stores EmailVerifiedAt.
func testSetEmailVerified(t *testing.T, f *fixture) {
	v := f.verifier(t)
	u := f.mustCreateUser(t)
	other := f.mustCreateUser(t)
	checkUser(t, "UserByID(new user)", f.mustUserByID(t, u.ID), u)

	at := odd(base.Add(time.Hour))
	if err := v.SetEmailVerified(f.ctx, u.ID, at); err != nil {
		t.Fatalf("SetEmailVerified: %v", err)
	}
	want := *u
	want.EmailVerifiedAt = at
	checkUser(t, "UserByID after SetEmailVerified", f.mustUserByID(t, u.ID), &want)
	checkUser(t, "UserByEmail after SetEmailVerified", f.mustUserByEmail(t, u.Email), &want)
	checkUser(t, "UserByID(another user) after SetEmailVerified", f.mustUserByID(t, other.ID), other)

	for _, later := range []time.Time{at, base.Add(2 * time.Hour)} {
		if err := v.SetEmailVerified(f.ctx, u.ID, later); err != nil {
			t.Fatalf("SetEmailVerified(verified user): %v", err)
		}
		checkUser(t, "UserByID after a second SetEmailVerified", f.mustUserByID(t, u.ID), &want)
	}

	want.PasswordHash = "$2a$10$" + newHash()[:53]
	if err := f.users.UpdatePasswordHash(f.ctx, u.ID, want.PasswordHash); err != nil {
		t.Fatalf("UpdatePasswordHash: %v", err)
	}
	checkUser(t, "UserByEmail after UpdatePasswordHash of a verified user", f.mustUserByEmail(t, u.Email), &want)

	checkErr(t, "SetEmailVerified(missing user)", v.SetEmailVerified(f.ctx, uuid.NewString(), at), auth.ErrNotFound)

	imported := newUser()
	imported.EmailVerifiedAt = odd(base.Add(-time.Hour))
	if err := f.users.CreateUser(f.ctx, imported); err != nil {
		t.Fatalf("CreateUser(verified user): %v", err)
	}
	checkUser(t, "UserByID(user created verified)", f.mustUserByID(t, imported.ID), imported)
	checkUser(t, "UserByEmail(user created verified)", f.mustUserByEmail(t, imported.Email), imported)
}

// testOneTimeTokenRevoke checks auth.OneTimeTokenRevoker: every unspent
// token of the user with the purpose is spent, and nothing else; a race
// with ConsumeOneTimeToken spends each token exactly once.
func testOneTimeTokenRevoke(t *testing.T, f *fixture) {
	o := f.oneTime(t)
	r, ok := f.tokens.(auth.OneTimeTokenRevoker)
	if !ok {
		t.Skip(skipMessage("OneTimeTokenRevoker"))
	}
	u, other := f.mustCreateUser(t), f.mustCreateUser(t)
	var pending []*auth.OneTimeToken
	for range 3 {
		tok := newOneTimeToken(u.ID, auth.PurposeMFATicket)
		f.mustCreateOneTimeToken(t, o, tok)
		pending = append(pending, tok)
	}
	spent := pending[0]
	f.mustConsume(t, o, spent, base.Add(time.Minute))
	reset := newOneTimeToken(u.ID, auth.PurposePasswordReset)
	theirs := newOneTimeToken(other.ID, auth.PurposeMFATicket)
	f.mustCreateOneTimeToken(t, o, reset)
	f.mustCreateOneTimeToken(t, o, theirs)

	n, err := r.RevokeOneTimeTokens(f.ctx, u.ID, auth.PurposeMFATicket, base.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("RevokeOneTimeTokens = %d, %v; want 2 (the unspent ones)", n, err)
	}
	for _, tok := range pending {
		if _, err := o.OneTimeToken(f.ctx, tok.IDHash, tok.Purpose); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("OneTimeToken of a revoked token: %v; want ErrNotFound", err)
		}
		f.checkNotConsumable(t, o, "a revoked token", tok)
	}
	f.mustConsume(t, o, reset, base.Add(3*time.Minute))
	f.mustConsume(t, o, theirs, base.Add(3*time.Minute))
	if n, err := r.RevokeOneTimeTokens(f.ctx, u.ID, auth.PurposeMFATicket, base.Add(4*time.Minute)); err != nil || n != 0 {
		t.Errorf("RevokeOneTimeTokens again = %d, %v; want 0", n, err)
	}

	for round := range 8 {
		tok := newOneTimeToken(u.ID, auth.PurposeMFATicket)
		f.mustCreateOneTimeToken(t, o, tok)
		var (
			wg       sync.WaitGroup
			consumed bool
			revoked  int64
			cerr     error
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, cerr = o.ConsumeOneTimeToken(f.ctx, tok.IDHash, tok.Purpose, base.Add(5*time.Minute))
			consumed = cerr == nil
		}()
		go func() {
			defer wg.Done()
			var err error
			if revoked, err = r.RevokeOneTimeTokens(f.ctx, u.ID, auth.PurposeMFATicket, base.Add(5*time.Minute)); err != nil {
				t.Errorf("round %d: RevokeOneTimeTokens: %v", round, err)
			}
		}()
		wg.Wait()
		if cerr != nil && !errors.Is(cerr, auth.ErrNotFound) {
			t.Fatalf("round %d: ConsumeOneTimeToken: %v", round, cerr)
		}
		if consumed == (revoked == 1) || revoked > 1 {
			t.Errorf("round %d: consumed %v, revoked %d; want exactly one of them to spend the token", round, consumed, revoked)
		}
	}
}
