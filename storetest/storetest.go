// Package storetest is the conformance suite for implementations of
// [auth.UserStore] and [auth.TokenStore], and of the optional
// [auth.SessionLister], [auth.OneTimeTokenStore], [auth.EmailVerifier],
// [auth.SecondFactorStore] and [auth.OrgStore] (whose checks race two owners'
// demotions and many acceptances of one invitation).
// Every store in this module runs it, and so should any third-party store:
// call [Run] from a test, with a function that opens a fresh, empty store.
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
//			s := mystore.New(...)
//			return s, s
//		})
//	}
//
// The suite is black-box: it uses only the exported API of package auth and
// of the store, and it checks the contract documented on the interfaces, reporting each failure with the method, the record and the
// field at fault. It works through one store value, so the atomicity across
// processes that the contract also demands is exercised only as far as that
// value's connections to its database are independent of each other.
//
// The checks of an optional interface run when the store has it: the
// [auth.TokenStore] for [auth.SessionLister] and [auth.OneTimeTokenStore],
// the [auth.UserStore] for [auth.EmailVerifier], as the Authenticator finds
// them. For a store without one, each of its subtests is skipped with the
// message "store does not implement auth.<Interface>; skipping its checks",
// so that go test -v shows what was not checked.
//
// # What a store can rely on
//
// The suite drives a store the way the Authenticator does, so a store may
// enforce the same invariants a database schema would:
//
//   - ids are fresh UUIDs and IDHash values fresh 64-character hex strings,
//     except where a check offers a taken IDHash on purpose; emails are
//     canonical unless a check is about byte-for-byte comparison;
//   - a session or a one-time token is created only for a stored user, and
//     a refresh token always names its session and that session's user;
//   - a one-time token's Purpose is [auth.PurposePasswordReset] or
//     [auth.PurposeEmailVerification], and a session's UserAgent is at most
//     512 bytes and its IPAddress a textual IPv4 or IPv6 address or empty;
//   - a user is deleted only while it has no sessions;
//   - times lie in 2026, in UTC and in other locations.
//
// Each subtest calls open once and uses the store it returns alone; subtests
// do not run in parallel, but three checks call one store from up to 32
// goroutines at once. Open may register clean-up with t.Cleanup. Checks read rows
// only through the store and never count rows they did not create, so a
// store whose tables are shared with other data passes as long as each store
// opened is otherwise empty.
//
// # How the suite reads the contract
//
// Where the contract leaves a detail open, the suite checks this reading:
//
//   - A time read back is in UTC (Location() == [time.UTC]) and within a
//     millisecond of the time written; finer precision is not required.
//   - A method called with a cancelled context returns an error for which
//     errors.Is(err, context.Canceled) holds, and changes nothing.
//   - DeleteExpired keeps a row whose ExpiresAt equals the cut-off ("before"
//     is strict), compares instants whatever the cut-off's location, and
//     removes the refresh tokens of every session it removes, expired or
//     not, so that rotating one gives [auth.ErrNotFound]. The count it
//     returns includes every session and token whose own ExpiresAt is
//     before the cut-off; whether it also counts the tokens removed only
//     with their session (as a cascading foreign key removes them) is left
//     to the store.
//   - CreateSession fails, and stores nothing, when the first token's IDHash
//     is taken, since IDHash is unique.
//   - A failed rotation changes nothing: the old token keeps its UsedAt
//     (zero when its session is revoked) and the successor is not stored.
//   - Values passed in are copied: changing them after the call, or changing
//     values returned, leaves the stored records as they were.
//   - CreateSession stores UserAgent and IPAddress and ignores LastUsedAt.
//     Session may leave LastUsedAt zero; UserSessions sets it to the
//     CreatedAt of the session's newest refresh token, which for a session
//     that was never refreshed is its first token's, equal to the session's
//     CreatedAt. Sessions that UserSessions returns with equal CreatedAt
//     may come in any order.
//   - RevokeUserSessions with an except that names no session of the user
//     revokes all of the user's live sessions, and returns 0 for a user
//     without live sessions, known or not.
//   - CreateUser stores EmailVerifiedAt too (for a store that is an
//     [auth.EmailVerifier]). SetEmailVerified on a verified user keeps the
//     first time; the suite calls it again only with later times.
//   - DeleteExpired removes one-time tokens whose ExpiresAt is before the
//     cut-off, spent or not, and counts them; "before" is strict here too.
//   - DeleteUser succeeds for a user with one-time tokens, spent or not
//     (the Authenticator deletes accounts with a reset token outstanding).
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// base is the instant the suite's records are created at. Its millisecond
// part is non-zero and it has no sub-millisecond part, so a store with
// millisecond precision returns it exactly.
var base = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// ttl is the lifetime of the suite's sessions and refresh tokens unless a
// check needs another.
const ttl = 7 * 24 * time.Hour

// precision is the coarsest time precision a store may have: a time read
// back must lie within it of the time written.
const precision = time.Millisecond

// Run runs the conformance suite against the store returned by open, one
// subtest per behaviour of the contract. Open is called once per subtest and
// must return a fresh, empty store; the [auth.UserStore] and the
// [auth.TokenStore] it returns may be the same value, and must share their
// data.
func Run(t *testing.T, open func(t *testing.T) (auth.UserStore, auth.TokenStore)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserCopies", testUserCopies},
		{"MissingRows", testMissingRows},
		{"DuplicateEmail", testDuplicateEmail},
		{"EmailsComparedByteForByte", testEmailsByteForByte},
		{"ConcurrentCreateUser", testConcurrentCreateUser},
		{"UpdatePasswordHash", testUpdatePasswordHash},
		{"DeleteUser", testDeleteUser},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionCopies", testSessionCopies},
		{"CreateSessionAtomic", testCreateSessionAtomic},
		{"RevokeSession", testRevokeSession},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"RotateUsedToken", testRotateUsedToken},
		{"RotateRevokedSession", testRotateRevokedSession},
		{"RotateUnknownToken", testRotateUnknownToken},
		{"ConcurrentRotation", testConcurrentRotation},
		{"RotationReportsSuccessor", testRotationReportsSuccessor},
		{"RotationReadsUser", testRotationReadsUser},
		{"DeleteExpired", testDeleteExpired},
		{"Times", testTimes},
		{"CancelledContext", testCancelledContext},

		// SessionLister.
		{"SessionMetadata", testSessionMetadata},
		{"UserSessions", testUserSessions},
		{"UserSessionsLastUsed", testUserSessionsLastUsed},
		{"RevokeUserSessions", testRevokeUserSessions},

		// OneTimeTokenStore.
		{"OneTimeTokenConsume", testOneTimeTokenConsume},
		{"OneTimeTokenPurpose", testOneTimeTokenPurpose},
		{"ConcurrentOneTimeTokenConsume", testConcurrentOneTimeTokenConsume},
		{"OneTimeTokenRevoke", testOneTimeTokenRevoke},
		{"OneTimeTokenDeleteExpired", testOneTimeTokenDeleteExpired},
		{"DeleteUserWithOneTimeTokens", testDeleteUserWithOneTimeTokens},

		// EmailVerifier.
		{"SetEmailVerified", testSetEmailVerified},

		// SecondFactorStore.
		{"SecondFactorRoundTrip", testSecondFactorRoundTrip},
		{"ConfirmSecondFactor", testConfirmSecondFactor},
		{"UseSecondFactorStep", testUseSecondFactorStep},
		{"ConcurrentSecondFactorStep", testConcurrentSecondFactorStep},
		{"RecoveryCodes", testRecoveryCodes},
		{"ConcurrentRecoveryCode", testConcurrentRecoveryCode},
		{"DeleteUserWithSecondFactor", testDeleteUserWithSecondFactor},

		// OrgStore.
		{"OrgCreateUser", testOrgCreateUser},
		{"OrgConcurrentDemotion", testOrgConcurrentDemotion},
		{"OrgOwnerDeletion", testOrgOwnerDeletion},
		{"OrgConcurrentAccept", testOrgConcurrentAccept},
		{"OrgRotation", testOrgRotation},
		// PasskeyStore.
		{"PasskeyRoundTrip", testPasskeyRoundTrip},
		{"DuplicatePasskey", testDuplicatePasskey},
		{"PasskeySignCountForwardOnly", testPasskeySignCount},
		{"ConcurrentPasskeyUse", testConcurrentPasskeyUse},
		{"RenameDeletePasskey", testRenameDeletePasskey},
		{"ConcurrentDeleteLastPasskeys", testConcurrentDeleteLastPasskeys},
		{"DeleteLastWayInAcrossKinds", testDeleteLastWayInAcrossKinds},
		{"PasskeyCeremonySingleUse", testPasskeyCeremonySingleUse},
		{"ConcurrentPasskeyCeremony", testConcurrentPasskeyCeremony},
		{"PasskeyCeremonyDeleteExpired", testPasskeyCeremonyDeleteExpired},
		{"DeleteUserWithPasskeys", testDeleteUserWithPasskeys},
		// ExternalIdentityStore.
		{"ExternalIdentityRoundTrip", testExternalIdentityRoundTrip},
		{"ConcurrentExternalIdentity", testConcurrentExternalIdentity},
		{"ConcurrentUnlinkLast", testConcurrentUnlinkLast},
		{"DeleteUserWithIdentities", testDeleteUserWithIdentities},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, tokens := open(t)
			if users == nil || tokens == nil {
				t.Fatal("open returned a nil store")
			}
			tt.fn(t, &fixture{users: users, tokens: tokens, ctx: t.Context()})
		})
	}
}

// fixture is the store under test in one subtest, with helpers that build
// and store records.
type fixture struct {
	users  auth.UserStore
	tokens auth.TokenStore
	// ctx is the subtest's context, live until the subtest ends.
	ctx context.Context
}

// newUser returns an unstored user with a fresh id and email and every
// field set.
func newUser() *auth.User {
	id := uuid.NewString()
	return &auth.User{
		ID:             id,
		Email:          "user-" + id + "@example.com",
		Name:           "Zoë Test",
		OrganizationID: uuid.NewString(),
		Role:           "owner",
		PasswordHash:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$" + newHash(),
		CreatedAt:      base,
	}
}

// newDomain returns a fresh email domain, so that emails a check spells out
// cannot collide with another check's.
func newDomain() string {
	return uuid.NewString()[:8] + ".example.com"
}

// newHash returns a fresh IDHash: the hex SHA-256 of a random id, as the
// Authenticator computes it.
func newHash() string {
	sum := sha256.Sum256([]byte(uuid.NewString()))
	return hex.EncodeToString(sum[:])
}

// newSession returns an unstored session of the user with the given id and
// its first refresh token, both created at base and expiring ttl later.
func newSession(userID string) (*auth.Session, *auth.RefreshToken) {
	s := &auth.Session{
		ID:        uuid.NewString(),
		UserID:    userID,
		CreatedAt: base,
		ExpiresAt: base.Add(ttl),
	}
	return s, &auth.RefreshToken{
		IDHash:    newHash(),
		SessionID: s.ID,
		UserID:    userID,
		CreatedAt: base,
		ExpiresAt: base.Add(ttl),
	}
}

// successor returns an unstored refresh token that follows tok in its
// session, issued at the given time.
func successor(tok *auth.RefreshToken, at time.Time) *auth.RefreshToken {
	return &auth.RefreshToken{
		IDHash:    newHash(),
		SessionID: tok.SessionID,
		UserID:    tok.UserID,
		CreatedAt: at,
		ExpiresAt: at.Add(ttl),
	}
}

// spent returns a copy of tok with UsedAt set to at.
func spent(tok *auth.RefreshToken, at time.Time) *auth.RefreshToken {
	c := *tok
	c.UsedAt = at
	return &c
}

// mustCreateUser stores a fresh user and returns it.
func (f *fixture) mustCreateUser(t *testing.T) *auth.User {
	t.Helper()
	u := newUser()
	if err := f.users.CreateUser(f.ctx, u); err != nil {
		t.Fatalf("CreateUser(%q): %v", u.Email, err)
	}
	return u
}

// mustCreateSession stores s and first.
func (f *fixture) mustCreateSession(t *testing.T, s *auth.Session, first *auth.RefreshToken) {
	t.Helper()
	if err := f.tokens.CreateSession(f.ctx, s, first); err != nil {
		t.Fatalf("CreateSession(%s): %v", s.ID, err)
	}
}

// mustOpenSession stores a fresh user and a session of it, and returns the
// user, the session and its first refresh token as passed to the store.
func (f *fixture) mustOpenSession(t *testing.T) (*auth.User, *auth.Session, *auth.RefreshToken) {
	t.Helper()
	u := f.mustCreateUser(t)
	s, first := newSession(u.ID)
	f.mustCreateSession(t, s, first)
	return u, s, first
}

// mustRotate rotates old into next at the given time, expects success, and
// returns next.
func (f *fixture) mustRotate(t *testing.T, old, next *auth.RefreshToken, at time.Time) *auth.RefreshToken {
	t.Helper()
	got, err := f.tokens.RotateRefreshToken(f.ctx, old.IDHash, next, at)
	if err != nil {
		t.Fatalf("RotateRefreshToken(%s): %v", old.IDHash, err)
	}
	checkToken(t, "RotateRefreshToken(unused token)", oldOf(got), spent(old, at))
	if got != nil && got.Old != nil && got.Old.SuccessorHash != next.IDHash {
		t.Errorf("RotateRefreshToken(unused token): SuccessorHash = %q, want the successor's IDHash %q", got.Old.SuccessorHash, next.IDHash)
	}
	return next
}

// mustSession returns the stored session with the given id.
func (f *fixture) mustSession(t *testing.T, id string) *auth.Session {
	t.Helper()
	s, err := f.tokens.Session(f.ctx, id)
	if err != nil {
		t.Fatalf("Session(%s): %v", id, err)
	}
	if s == nil {
		t.Fatalf("Session(%s) returned a nil session and no error", id)
	}
	return s
}

// mustUserByID returns the stored user with the given id.
func (f *fixture) mustUserByID(t *testing.T, id string) *auth.User {
	t.Helper()
	u, err := f.users.UserByID(f.ctx, id)
	if err != nil {
		t.Fatalf("UserByID(%s): %v", id, err)
	}
	if u == nil {
		t.Fatalf("UserByID(%s) returned a nil user and no error", id)
	}
	return u
}

// mustUserByEmail returns the stored user with the given email.
func (f *fixture) mustUserByEmail(t *testing.T, email string) *auth.User {
	t.Helper()
	u, err := f.users.UserByEmail(f.ctx, email)
	if err != nil {
		t.Fatalf("UserByEmail(%q): %v", email, err)
	}
	if u == nil {
		t.Fatalf("UserByEmail(%q) returned a nil user and no error", email)
	}
	return u
}

// checkNotStored reports an error unless no refresh token with tok's
// IDHash is stored. It probes by rotating tok, which changes nothing when
// the store is correct.
func (f *fixture) checkNotStored(t *testing.T, what string, tok *auth.RefreshToken) {
	t.Helper()
	_, err := f.tokens.RotateRefreshToken(f.ctx, tok.IDHash, successor(tok, base), base)
	if !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("%s: refresh token %s was stored: rotating it gave error %v, want %v", what, tok.IDHash, err, auth.ErrNotFound)
	}
}

// checkErr reports an error unless errors.Is(err, want); a nil want expects
// no error.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}

// checkUser reports every field in which got differs from want.
func checkUser(t *testing.T, what string, got, want *auth.User) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil user", what)
		return
	}
	checkField(t, what, "ID", got.ID, want.ID)
	checkField(t, what, "Email", got.Email, want.Email)
	checkField(t, what, "Name", got.Name, want.Name)
	checkField(t, what, "OrganizationID", got.OrganizationID, want.OrganizationID)
	checkField(t, what, "Role", got.Role, want.Role)
	checkField(t, what, "PasswordHash", got.PasswordHash, want.PasswordHash)
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "EmailVerifiedAt", got.EmailVerifiedAt, want.EmailVerifiedAt)
}

// checkSession reports every field in which got differs from want.
func checkSession(t *testing.T, what string, got, want *auth.Session) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil session", what)
		return
	}
	checkField(t, what, "ID", got.ID, want.ID)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, what, "RevokedAt", got.RevokedAt, want.RevokedAt)
	checkField(t, what, "UserAgent", got.UserAgent, want.UserAgent)
	checkField(t, what, "IPAddress", got.IPAddress, want.IPAddress)
	checkField(t, what, "AMR", got.AMR, want.AMR)
	if got.AAL != want.AAL {
		t.Errorf("%s: AAL = %d, want %d", what, got.AAL, want.AAL)
	}
}

// checkToken reports every field in which got differs from want.
func checkToken(t *testing.T, what string, got, want *auth.RefreshToken) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil refresh token", what)
		return
	}
	checkField(t, what, "IDHash", got.IDHash, want.IDHash)
	checkField(t, what, "SessionID", got.SessionID, want.SessionID)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, what, "UsedAt", got.UsedAt, want.UsedAt)
	if want.SuccessorHash != "" {
		checkField(t, what, "SuccessorHash", got.SuccessorHash, want.SuccessorHash)
	}
}

// oldOf returns the token a rotation reports, or nil.
func oldOf(r *auth.Rotation) *auth.RefreshToken {
	if r == nil {
		return nil
	}
	return r.Old
}

// checkOneTimeToken reports every field in which got differs from want.
func checkOneTimeToken(t *testing.T, what string, got, want *auth.OneTimeToken) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got a nil one-time token", what)
		return
	}
	checkField(t, what, "IDHash", got.IDHash, want.IDHash)
	checkField(t, what, "Purpose", got.Purpose, want.Purpose)
	checkField(t, what, "UserID", got.UserID, want.UserID)
	checkTime(t, what, "CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, what, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, what, "UsedAt", got.UsedAt, want.UsedAt)
}

// checkField reports an error unless got equals want.
func checkField(t *testing.T, what, field, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %s = %q, want %q", what, field, got, want)
	}
}

// checkTime reports an error unless got is the zero time when want is, and
// otherwise is in UTC and within [precision] of want.
func checkTime(t *testing.T, what, field string, got, want time.Time) {
	t.Helper()
	switch {
	case want.IsZero():
		if !got.IsZero() {
			t.Errorf("%s: %s = %v, want the zero time", what, field, got)
		}
	case got.Location() != time.UTC:
		t.Errorf("%s: %s = %v, in location %q, want UTC", what, field, got, got.Location())
	case got.Sub(want).Abs() >= precision:
		t.Errorf("%s: %s = %v, want %v (to the millisecond)", what, field, got, want.UTC())
	}
}
