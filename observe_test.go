package auth_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// recorder is an Observer that writes down what it is told.
type recorder struct {
	mu        sync.Mutex
	started   []auth.Operation
	ended     map[auth.Operation][]auth.OperationEnd
	hashWaits int
	rules     map[string][]bool
}

type opKey struct{}

func (r *recorder) OperationStart(ctx context.Context, op auth.Operation) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, op)
	return context.WithValue(ctx, opKey{}, op)
}

func (r *recorder) OperationEnd(ctx context.Context, op auth.Operation, end auth.OperationEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(opKey{}) != op {
		panic("OperationEnd without OperationStart's context")
	}
	r.ended[op] = append(r.ended[op], end)
}

func (r *recorder) HashWait(ctx context.Context, waited time.Duration, queued int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if queued >= 1 && ok {
		r.hashWaits++
	}
}

func (r *recorder) Throttle(ctx context.Context, rule string, allowed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules[rule] = append(r.rules[rule], allowed)
}

// TestObserver checks that the observer hears of operations with their
// outcome (a refresh replayed in the reuse window, a reused token), of
// hashing-slot waits and of throttling decisions.
func TestObserver(t *testing.T) {
	rec := &recorder{ended: map[auth.Operation][]auth.OperationEnd{}, rules: map[string][]bool{}}
	e := newEnv(t, withThrottling, func(c *auth.Config) { c.Observer = rec })
	ctx := auth.WithClientIP(t.Context(), netip.MustParseAddr("192.0.2.7"))
	res, err := e.a.Register(ctx, auth.RegisterInput{Email: "obs@example.com", Password: "correct horse battery", Name: "O"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Login(ctx, "obs@example.com", "wrong password here"); err == nil {
		t.Fatal("wrong password logged in")
	}
	if _, err := e.a.Verify(ctx, res.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Refresh(ctx, res.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Refresh(ctx, res.RefreshToken); err != nil { // within the reuse window
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.a.Refresh(ctx, res.RefreshToken); err == nil {
		t.Fatal("reuse after the window refreshed")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.ended[auth.OpRegister]; len(got) != 1 || got[0].Err != nil {
		t.Errorf("register ends %+v", got)
	}
	if got := rec.ended[auth.OpLogin]; len(got) != 1 || got[0].Code != "INVALID_CREDENTIALS" {
		t.Errorf("login ends %+v", got)
	}
	if got := rec.ended[auth.OpVerify]; len(got) != 1 || got[0].Err != nil {
		t.Errorf("verify ends %+v", got)
	}
	r := rec.ended[auth.OpRefresh]
	if len(r) != 3 || r[0].Replay || r[0].Reuse || !r[1].Replay || r[1].Reuse || r[2].Replay || !r[2].Reuse || r[2].Code != "INVALID_TOKEN" {
		t.Errorf("refresh ends %+v, want plain, replay, reuse", r)
	}
	if len(rec.started) != 6 {
		t.Errorf("started %v", rec.started)
	}
	if rec.hashWaits < 2 {
		t.Errorf("hash waits %d, want one per hashing call", rec.hashWaits)
	}
	for _, rule := range []string{"register.address", "login.pair", "refresh.address"} {
		if len(rec.rules[rule]) == 0 || !rec.rules[rule][0] {
			t.Errorf("throttle rule %q decisions %v", rule, rec.rules[rule])
		}
	}
}

// TestObserverPanic checks that an operation that panics (here a store's
// lookup during a login) is still ended for the observer, as an internal
// error, and that the panic goes on to the caller.
func TestObserverPanic(t *testing.T) {
	rec := &recorder{ended: map[auth.Operation][]auth.OperationEnd{}, rules: map[string][]bool{}}
	e := newEnv(t, func(c *auth.Config) { c.Observer = rec })
	e.store.lookup = func(string) { panic("store exploded") }
	func() {
		defer func() {
			if p := recover(); p != "store exploded" {
				t.Errorf("recovered %v, want the store's panic", p)
			}
		}()
		_, _ = e.a.Login(t.Context(), "ada@example.com", "correct horse battery")
		t.Error("Login returned; want its panic")
	}()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	ends := rec.ended[auth.OpLogin]
	if len(ends) != 1 || ends[0].Err == nil || ends[0].Code != "INTERNAL_ERROR" {
		t.Fatalf("OperationEnd for the panicking login = %+v, want one end with an INTERNAL_ERROR", ends)
	}
}

// TestObserverTypedNil checks that New refuses an Observer that is a nil
// pointer, which would otherwise panic on the first request.
func TestObserverTypedNil(t *testing.T) {
	var rec *recorder
	_, err := auth.New(auth.Config{Users: memstore.New(), Tokens: memstore.New(), Secret: testSecret, Observer: rec})
	if err == nil || !strings.Contains(err.Error(), "Observer") {
		t.Fatalf("New with a nil *recorder as Observer: err = %v, want an error naming Observer", err)
	}
}
