package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ingestiq/auth"
)

// failingSessions fails every CreateSession.
type failingSessions struct{ auth.TokenStore }

var errSessionStoreDown = errors.New("session store down")

func (failingSessions) CreateSession(context.Context, *auth.Session, *auth.RefreshToken) error {
	return errSessionStoreDown
}

// TestOnRegisterUndo checks that when a registration fails after
// OnRegister accepted the user (a duplicate email, a failing session
// store), OnRegisterUndo is called once with the same user, so that the
// application can take back what OnRegister did; and that it is not called
// for a registration that succeeds or that OnRegister itself refused.
func TestOnRegisterUndo(t *testing.T) {
	t.Parallel()
	type record struct {
		mu           sync.Mutex
		done, undone []string // user ids
	}
	setup := func(rec *record, refuse bool) func(*auth.Config) {
		return func(c *auth.Config) {
			c.OnRegister = func(_ context.Context, u *auth.User) error {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				if refuse {
					return errors.New("not invited")
				}
				u.OrganizationID = "org-" + u.ID
				rec.done = append(rec.done, u.ID)
				return nil
			}
			c.OnRegisterUndo = func(ctx context.Context, u *auth.User) {
				if ctx.Err() != nil {
					t.Errorf("OnRegisterUndo got a done context: %v", ctx.Err())
				}
				if u.OrganizationID != "org-"+u.ID {
					t.Errorf("OnRegisterUndo got %+v, want the user as OnRegister left it", u)
				}
				rec.mu.Lock()
				defer rec.mu.Unlock()
				rec.undone = append(rec.undone, u.ID)
			}
		}
	}
	in := auth.RegisterInput{Email: "undo@example.com", Password: goodPassword, Name: "U"}
	ctx := context.Background()

	t.Run("DuplicateEmail", func(t *testing.T) {
		t.Parallel()
		var rec record
		e := newEnv(t, setup(&rec, false))
		if _, err := e.a.Register(ctx, in); err != nil {
			t.Fatal(err)
		}
		if len(rec.undone) != 0 {
			t.Fatalf("OnRegisterUndo called for a registration that succeeded: %v", rec.undone)
		}
		if _, err := e.a.Register(ctx, in); !errors.Is(err, auth.ErrEmailExists) {
			t.Fatalf("second Register: %v, want ErrEmailExists", err)
		}
		if len(rec.done) != 2 || len(rec.undone) != 1 || rec.undone[0] != rec.done[1] {
			t.Fatalf("OnRegister for %v, OnRegisterUndo for %v; want the second registration undone", rec.done, rec.undone)
		}
	})
	t.Run("SessionStoreFails", func(t *testing.T) {
		t.Parallel()
		var rec record
		e := newEnv(t, setup(&rec, false), func(c *auth.Config) { c.Tokens = failingSessions{c.Tokens} })
		if _, err := e.a.Register(ctx, in); !errors.Is(err, errSessionStoreDown) {
			t.Fatalf("Register: %v, want the session store's error", err)
		}
		if len(rec.done) != 1 || len(rec.undone) != 1 || rec.undone[0] != rec.done[0] {
			t.Fatalf("OnRegister for %v, OnRegisterUndo for %v; want the registration undone", rec.done, rec.undone)
		}
	})
	t.Run("RefusedByOnRegister", func(t *testing.T) {
		t.Parallel()
		var rec record
		e := newEnv(t, setup(&rec, true))
		if _, err := e.a.Register(ctx, in); err == nil {
			t.Fatal("Register succeeded although OnRegister refused")
		}
		if len(rec.undone) != 0 {
			t.Fatalf("OnRegisterUndo called after OnRegister refused: %v", rec.undone)
		}
	})
}
