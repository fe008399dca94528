package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
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
	for _, m := range []string{"CreateUser", "UserByID", "UserByEmail", "UpdatePasswordHash", "DeleteUser", "CreateSession", "Session", "RevokeSession", "RotateRefreshToken", "DeleteExpired"} {
		cancelled = append(cancelled, "CancelledContext/"+m)
	}
	tests := []struct {
		fault   string
		failing []string // subtests of Run that must fail; none: the suite passes
	}{
		{"none", nil},
		{"FoldsEmailCase", []string{"EmailsComparedByteForByte/Case"}},
		{"AcceptsDuplicateEmail", []string{"DuplicateEmail", "ConcurrentCreateUser"}},
		{"SharesReturnedUser", []string{"UserCopies"}},
		{"TruncatesToSeconds", []string{"UserRoundTrip", "Times"}},
		{"ReturnsLocalTimes", []string{"SessionRoundTrip", "RevokeSession", "Times"}},
		{"WrapsNoNotFound", []string{"MissingRows/DeleteUser", "DeleteUser"}},
		{"CreatesSessionWithoutToken", []string{"CreateSessionAtomic"}},
		{"RotatesSpentToken", []string{"RotateUsedToken", "ConcurrentRotation"}},
		{"StoresSuccessorOfSpentToken", []string{"RotateUsedToken", "ConcurrentRotation"}},
		{"RotatesInRevokedSession", []string{"RotateRevokedSession/FirstToken", "RotateRevokedSession/LaterToken"}},
		{"DeletesAtCutoff", []string{"DeleteExpired"}},
		{"CountsNothing", []string{"DeleteExpired"}},
		{"IgnoresCancellation", cancelled},
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

func (s rotatesSpentToken) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.RefreshToken, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if errors.Is(err, auth.ErrTokenUsed) {
		return old, nil
	}
	return old, err
}

// storesSuccessorOfSpentToken stores the successor offered for a spent
// token while reporting ErrTokenUsed.
type storesSuccessorOfSpentToken struct{ *memstore.Store }

func (s storesSuccessorOfSpentToken) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.RefreshToken, error) {
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

func (s rotatesInRevokedSession) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.RefreshToken, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if errors.Is(err, auth.ErrSessionRevoked) {
		old.UsedAt = at
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

func (s ignoresCancellation) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.RefreshToken, error) {
	return s.Store.RotateRefreshToken(context.WithoutCancel(ctx), oldHash, next, at)
}

func (s ignoresCancellation) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.DeleteExpired(context.WithoutCancel(ctx), before)
}
