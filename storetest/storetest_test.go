package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/storetest"
)

// faultEnv names the fault TestBrokenStore runs the suite against.
const faultEnv = "STORETEST_FAULT"

// store is a UserStore and a TokenStore in one value.
type store interface {
	auth.UserStore
	auth.TokenStore
}

// TestSuiteCatchesBrokenStores runs the suite against stores that each
// break one rule of the contract, and checks that it fails, in the subtests
// meant to catch that fault. Each run is a child process running
// TestBrokenStore, since a failing suite fails its test.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	var cancelled []string
	for _, m := range []string{"CreateUser", "UserByID", "UserByEmail", "UpdatePasswordHash", "DeleteUser", "CreateSession", "Session", "RevokeSession", "RotateRefreshToken", "DeleteExpired",
		"UserSessions", "RevokeUserSessions", "CreateOneTimeToken", "ConsumeOneTimeToken", "SetEmailVerified"} {
		cancelled = append(cancelled, "CancelledContext/"+m)
	}
	optional := []string{
		"SessionMetadata", "UserSessions", "UserSessionsLastUsed", "RevokeUserSessions",
		"OneTimeTokenConsume", "OneTimeTokenPurpose", "ConcurrentOneTimeTokenConsume", "OneTimeTokenDeleteExpired", "DeleteUserWithOneTimeTokens",
		"SetEmailVerified",
		"MissingRows/ConsumeOneTimeToken", "MissingRows/SetEmailVerified",
		"CancelledContext/UserSessions", "CancelledContext/RevokeUserSessions", "CancelledContext/CreateOneTimeToken", "CancelledContext/ConsumeOneTimeToken", "CancelledContext/SetEmailVerified",
	}
	tests := []struct {
		fault   string
		failing []string // subtests of Run that must fail; none: the suite passes
		skipped []string // subtests of Run that must be skipped, saying why
	}{
		{"none", nil, nil},
		{"NoOptionalInterfaces", nil, optional},
		{"FoldsEmailCase", []string{"EmailsComparedByteForByte/Case"}, nil},
		{"AcceptsDuplicateEmail", []string{"DuplicateEmail", "ConcurrentCreateUser"}, nil},
		{"SharesReturnedUser", []string{"UserCopies"}, nil},
		{"TruncatesToSeconds", []string{"UserRoundTrip", "Times"}, nil},
		{"ReturnsLocalTimes", []string{"SessionRoundTrip", "RevokeSession", "Times"}, nil},
		{"WrapsNoNotFound", []string{"MissingRows/DeleteUser", "DeleteUser"}, nil},
		{"CreatesSessionWithoutToken", []string{"CreateSessionAtomic"}, nil},
		{"RotatesSpentToken", []string{"RotateUsedToken", "ConcurrentRotation"}, nil},
		{"StoresSuccessorOfSpentToken", []string{"RotateUsedToken", "ConcurrentRotation"}, nil},
		{"RotatesInRevokedSession", []string{"RotateRevokedSession/FirstToken", "RotateRevokedSession/LaterToken"}, nil},
		{"DeletesAtCutoff", []string{"DeleteExpired"}, nil},
		{"CountsNothing", []string{"DeleteExpired"}, nil},
		{"IgnoresCancellation", cancelled, nil},
		{"ConsumesTwice", []string{"OneTimeTokenConsume", "ConcurrentOneTimeTokenConsume"}, nil},
		{"IgnoresPurpose", []string{"OneTimeTokenPurpose/password_reset", "OneTimeTokenPurpose/email_verification"}, nil},
		{"KeepsExpiredOneTimeTokens", []string{"OneTimeTokenDeleteExpired"}, nil},
		{"RevokesExceptedSession", []string{"RevokeUserSessions"}, nil},
		{"ListsOldestFirst", []string{"SessionMetadata", "UserSessions", "UserSessionsLastUsed"}, nil},
		{"LastUsedIsCreation", []string{"UserSessionsLastUsed"}, nil},
		{"OverwritesVerification", []string{"SetEmailVerified"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenStore$", "-test.v")
			cmd.Env = append(os.Environ(), faultEnv+"="+tt.fault)
			out, err := cmd.CombinedOutput()
			if tt.failing == nil {
				if err != nil {
					t.Fatalf("the suite failed a correct store: %v\n%s", err, out)
				}
				for _, name := range tt.skipped {
					if !bytes.Contains(out, []byte("--- SKIP: TestBrokenStore/"+name+" (")) {
						t.Errorf("subtest %s was not skipped for fault %s", name, tt.fault)
					}
				}
				if tt.skipped != nil && !bytes.Contains(out, []byte("store does not implement auth.SessionLister; skipping its checks")) {
					t.Errorf("the suite does not say why it skipped the checks of auth.SessionLister")
				}
				if t.Failed() {
					t.Logf("output:\n%s", out)
				}
				return
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a store with fault %s (error %v)\n%s", tt.fault, err, out)
			}
			for _, name := range tt.failing {
				if !bytes.Contains(out, []byte("--- FAIL: TestBrokenStore/"+name+" (")) {
					t.Errorf("subtest %s did not fail for fault %s", name, tt.fault)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// TestBrokenStore runs the suite against the faulty store named by the
// environment; TestSuiteCatchesBrokenStores runs it.
func TestBrokenStore(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	storetest.Run(t, func(t *testing.T) (auth.UserStore, auth.TokenStore) {
		s := faulty(fault, memstore.New())
		if s == nil {
			t.Fatalf("unknown fault %q", fault)
		}
		return s, s
	})
}

// faulty returns s with the named fault, or nil for an unknown name.
func faulty(fault string, s *memstore.Store) store {
	switch fault {
	case "none":
		return s
	case "NoOptionalInterfaces":
		return baseOnly{s, s}
	case "ConsumesTwice":
		return &consumesTwice{Store: s, spent: make(map[string]*auth.OneTimeToken)}
	case "IgnoresPurpose":
		return ignoresPurpose{s}
	case "KeepsExpiredOneTimeTokens":
		return &keepsExpiredOneTimeTokens{Store: s, created: make(map[string]*auth.OneTimeToken)}
	case "RevokesExceptedSession":
		return revokesExceptedSession{s}
	case "ListsOldestFirst":
		return listsOldestFirst{s}
	case "LastUsedIsCreation":
		return lastUsedIsCreation{s}
	case "OverwritesVerification":
		return &overwritesVerification{Store: s, verified: make(map[string]time.Time)}
	case "FoldsEmailCase":
		return foldsEmailCase{s}
	case "AcceptsDuplicateEmail":
		return acceptsDuplicateEmail{s}
	case "SharesReturnedUser":
		return &sharesReturnedUser{Store: s, users: make(map[string]*auth.User)}
	case "TruncatesToSeconds":
		return truncatesToSeconds{s}
	case "ReturnsLocalTimes":
		return returnsLocalTimes{s}
	case "WrapsNoNotFound":
		return wrapsNoNotFound{s}
	case "CreatesSessionWithoutToken":
		return createsSessionWithoutToken{s}
	case "RotatesSpentToken":
		return rotatesSpentToken{s}
	case "StoresSuccessorOfSpentToken":
		return storesSuccessorOfSpentToken{s}
	case "RotatesInRevokedSession":
		return rotatesInRevokedSession{s}
	case "DeletesAtCutoff":
		return deletesAtCutoff{s}
	case "CountsNothing":
		return countsNothing{s}
	case "IgnoresCancellation":
		return ignoresCancellation{s}
	}
	return nil
}

// foldsEmailCase compares emails case-insensitively, as a database with a
// case-insensitive collation would.
type foldsEmailCase struct{ *memstore.Store }

func (s foldsEmailCase) CreateUser(ctx context.Context, u *auth.User) error {
	c := *u
	c.Email = strings.ToLower(c.Email)
	return s.Store.CreateUser(ctx, &c)
}

func (s foldsEmailCase) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return s.Store.UserByEmail(ctx, strings.ToLower(email))
}

// acceptsDuplicateEmail reports success for a duplicate email.
type acceptsDuplicateEmail struct{ *memstore.Store }

func (s acceptsDuplicateEmail) CreateUser(ctx context.Context, u *auth.User) error {
	if err := s.Store.CreateUser(ctx, u); !errors.Is(err, auth.ErrEmailExists) {
		return err
	}
	return nil
}

// sharesReturnedUser returns the same *User from every UserByID call for an
// id, as a careless cache would.
type sharesReturnedUser struct {
	*memstore.Store
	mu    sync.Mutex
	users map[string]*auth.User
}

func (s *sharesReturnedUser) UserByID(ctx context.Context, id string) (*auth.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		return u, nil
	}
	u, err := s.Store.UserByID(ctx, id)
	if err == nil {
		s.users[id] = u
	}
	return u, err
}

// truncatesToSeconds keeps users' times to the second only.
type truncatesToSeconds struct{ *memstore.Store }

func (s truncatesToSeconds) UserByID(ctx context.Context, id string) (*auth.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	if u != nil {
		u.CreatedAt = u.CreatedAt.Truncate(time.Second)
	}
	return u, err
}

// returnsLocalTimes returns sessions' times in a location other than UTC.
type returnsLocalTimes struct{ *memstore.Store }

func (s returnsLocalTimes) Session(ctx context.Context, id string) (*auth.Session, error) {
	sess, err := s.Store.Session(ctx, id)
	if sess != nil {
		zone := time.FixedZone("UTC+01", 3600)
		sess.CreatedAt = sess.CreatedAt.In(zone)
		sess.ExpiresAt = sess.ExpiresAt.In(zone)
		if !sess.RevokedAt.IsZero() {
			sess.RevokedAt = sess.RevokedAt.In(zone)
		}
	}
	return sess, err
}

// wrapsNoNotFound reports a missing user to DeleteUser with an error of its
// own instead of auth.ErrNotFound.
type wrapsNoNotFound struct{ *memstore.Store }

func (s wrapsNoNotFound) DeleteUser(ctx context.Context, id string) error {
	if err := s.Store.DeleteUser(ctx, id); err != nil {
		return errors.New("no rows affected")
	}
	return nil
}

// createsSessionWithoutToken keeps the session when its first token cannot
// be stored, as two statements outside a transaction would.
type createsSessionWithoutToken struct{ *memstore.Store }

func (s createsSessionWithoutToken) CreateSession(ctx context.Context, sess *auth.Session, first *auth.RefreshToken) error {
	err := s.Store.CreateSession(ctx, sess, first)
	if err != nil && ctx.Err() == nil {
		other := *first
		other.IDHash = uuid.NewString()
		_ = s.Store.CreateSession(ctx, sess, &other)
	}
	return err
}

// rotatesSpentToken lets a spent token be rotated again.
type rotatesSpentToken struct{ *memstore.Store }

func (s rotatesSpentToken) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if errors.Is(err, auth.ErrTokenUsed) {
		return old, nil
	}
	return old, err
}

// storesSuccessorOfSpentToken stores the successor offered for a spent
// token while reporting ErrTokenUsed.
type storesSuccessorOfSpentToken struct{ *memstore.Store }

func (s storesSuccessorOfSpentToken) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if errors.Is(err, auth.ErrTokenUsed) {
		// memstore files a token under its session only; give it one.
		sess := &auth.Session{ID: uuid.NewString(), UserID: next.UserID, CreatedAt: at, ExpiresAt: next.ExpiresAt}
		tok := *next
		tok.SessionID = sess.ID
		_ = s.Store.CreateSession(ctx, sess, &tok)
	}
	return old, err
}

// rotatesInRevokedSession reports success for a token of a revoked
// session, as a store that forgets to check revocation would.
type rotatesInRevokedSession struct{ *memstore.Store }

func (s rotatesInRevokedSession) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if errors.Is(err, auth.ErrSessionRevoked) {
		old.Old.UsedAt = at
		return old, nil
	}
	return old, err
}

// deletesAtCutoff also removes rows that expire exactly at the cut-off.
type deletesAtCutoff struct{ *memstore.Store }

func (s deletesAtCutoff) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.DeleteExpired(ctx, before.Add(time.Millisecond))
}

// countsNothing reports no rows removed.
type countsNothing struct{ *memstore.Store }

func (s countsNothing) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	_, err := s.Store.DeleteExpired(ctx, before)
	return 0, err
}

// ignoresCancellation runs every call to completion, cancelled or not.
type ignoresCancellation struct{ *memstore.Store }

func (s ignoresCancellation) CreateUser(ctx context.Context, u *auth.User) error {
	return s.Store.CreateUser(context.WithoutCancel(ctx), u)
}

func (s ignoresCancellation) UserByID(ctx context.Context, id string) (*auth.User, error) {
	return s.Store.UserByID(context.WithoutCancel(ctx), id)
}

func (s ignoresCancellation) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	return s.Store.UserByEmail(context.WithoutCancel(ctx), email)
}

func (s ignoresCancellation) UpdatePasswordHash(ctx context.Context, id, hash string) error {
	return s.Store.UpdatePasswordHash(context.WithoutCancel(ctx), id, hash)
}

func (s ignoresCancellation) DeleteUser(ctx context.Context, id string) error {
	return s.Store.DeleteUser(context.WithoutCancel(ctx), id)
}

func (s ignoresCancellation) CreateSession(ctx context.Context, sess *auth.Session, first *auth.RefreshToken) error {
	return s.Store.CreateSession(context.WithoutCancel(ctx), sess, first)
}

func (s ignoresCancellation) Session(ctx context.Context, id string) (*auth.Session, error) {
	return s.Store.Session(context.WithoutCancel(ctx), id)
}

func (s ignoresCancellation) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.Store.RevokeSession(context.WithoutCancel(ctx), id, at)
}

func (s ignoresCancellation) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	return s.Store.RotateRefreshToken(context.WithoutCancel(ctx), oldHash, next, at)
}

func (s ignoresCancellation) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.DeleteExpired(context.WithoutCancel(ctx), before)
}

func (s ignoresCancellation) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	return s.Store.UserSessions(context.WithoutCancel(ctx), userID)
}

func (s ignoresCancellation) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int64, error) {
	return s.Store.RevokeUserSessions(context.WithoutCancel(ctx), userID, except, at)
}

func (s ignoresCancellation) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken) error {
	return s.Store.CreateOneTimeToken(context.WithoutCancel(ctx), t)
}

func (s ignoresCancellation) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	return s.Store.ConsumeOneTimeToken(context.WithoutCancel(ctx), hash, purpose, at)
}

func (s ignoresCancellation) SetEmailVerified(ctx context.Context, userID string, at time.Time) error {
	return s.Store.SetEmailVerified(context.WithoutCancel(ctx), userID, at)
}

// baseOnly is a correct store that implements none of the optional
// interfaces.
type baseOnly struct {
	auth.UserStore
	auth.TokenStore
}

// consumesTwice lets a spent one-time token be consumed again, as a store
// that reads the token and then writes it without a condition would.
type consumesTwice struct {
	*memstore.Store
	mu    sync.Mutex // makes each call's consume-and-record one step
	spent map[string]*auth.OneTimeToken
}

func (s *consumesTwice) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.Store.ConsumeOneTimeToken(ctx, hash, purpose, at)
	if err == nil {
		c := *tok
		s.spent[hash] = &c
		return tok, nil
	}
	if prev, ok := s.spent[hash]; ok && prev.Purpose == purpose && errors.Is(err, auth.ErrNotFound) {
		c := *prev
		c.UsedAt = at
		return &c, nil
	}
	return tok, err
}

// ignoresPurpose spends a one-time token whatever purpose it is asked for.
type ignoresPurpose struct{ *memstore.Store }

func (s ignoresPurpose) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	tok, err := s.Store.ConsumeOneTimeToken(ctx, hash, purpose, at)
	for _, p := range []string{auth.PurposePasswordReset, auth.PurposeEmailVerification} {
		if !errors.Is(err, auth.ErrNotFound) {
			break
		}
		tok, err = s.Store.ConsumeOneTimeToken(ctx, hash, p, at)
	}
	return tok, err
}

// keepsExpiredOneTimeTokens leaves one-time tokens out of DeleteExpired, as
// a store that forgot their table would: it puts back, as they were, the
// ones the memstore removed, and does not count them.
type keepsExpiredOneTimeTokens struct {
	*memstore.Store
	mu      sync.Mutex
	created map[string]*auth.OneTimeToken
}

func (s *keepsExpiredOneTimeTokens) CreateOneTimeToken(ctx context.Context, t *auth.OneTimeToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.Store.CreateOneTimeToken(ctx, t)
	if err == nil {
		c := *t
		s.created[t.IDHash] = &c
	}
	return err
}

func (s *keepsExpiredOneTimeTokens) ConsumeOneTimeToken(ctx context.Context, hash, purpose string, at time.Time) (*auth.OneTimeToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, err := s.Store.ConsumeOneTimeToken(ctx, hash, purpose, at)
	if err == nil {
		s.created[hash].UsedAt = at
	}
	return tok, err
}

func (s *keepsExpiredOneTimeTokens) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.Store.DeleteExpired(ctx, before)
	if err != nil {
		return n, err
	}
	for _, t := range s.created {
		if t.ExpiresAt.Before(before) {
			c := *t
			if s.Store.CreateOneTimeToken(ctx, &c) == nil {
				n--
			}
		}
	}
	return n, nil
}

// revokesExceptedSession ignores except, as a store whose UPDATE lacks the
// condition on the id would.
type revokesExceptedSession struct{ *memstore.Store }

func (s revokesExceptedSession) RevokeUserSessions(ctx context.Context, userID, _ string, at time.Time) (int64, error) {
	return s.Store.RevokeUserSessions(ctx, userID, "", at)
}

// listsOldestFirst lists sessions in the reverse of the contract's order.
type listsOldestFirst struct{ *memstore.Store }

func (s listsOldestFirst) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	list, err := s.Store.UserSessions(ctx, userID)
	slices.Reverse(list)
	return list, err
}

// lastUsedIsCreation reports every session as last used when it was
// created, as a store that ignores the refresh tokens would.
type lastUsedIsCreation struct{ *memstore.Store }

func (s lastUsedIsCreation) UserSessions(ctx context.Context, userID string) ([]*auth.Session, error) {
	list, err := s.Store.UserSessions(ctx, userID)
	for _, sess := range list {
		sess.LastUsedAt = sess.CreatedAt
	}
	return list, err
}

// overwritesVerification replaces EmailVerifiedAt on every SetEmailVerified
// instead of keeping the first time.
type overwritesVerification struct {
	*memstore.Store
	mu       sync.Mutex
	verified map[string]time.Time
}

func (s *overwritesVerification) SetEmailVerified(ctx context.Context, userID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.Store.SetEmailVerified(ctx, userID, at)
	if err == nil {
		s.verified[userID] = at.UTC()
	}
	return err
}

func (s *overwritesVerification) UserByID(ctx context.Context, id string) (*auth.User, error) {
	u, err := s.Store.UserByID(ctx, id)
	return s.override(u), err
}

func (s *overwritesVerification) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	u, err := s.Store.UserByEmail(ctx, email)
	return s.override(u), err
}

func (s *overwritesVerification) override(u *auth.User) *auth.User {
	if u == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.verified[u.ID]; ok {
		u.EmailVerifiedAt = at
	}
	return u
}
