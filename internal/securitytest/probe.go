package securitytest

import (
	"context"
	"sync"
	"time"

	"github.com/ingestiq/auth"
)

// probe is the pair of stores as the Authenticator sees them: it forwards
// every call to the stores as opened, counts the records the Authenticator
// creates, and can make a method fail, panic, or block until its context
// is done. It forwards the lifecycle capabilities (probe_optional.go).
type probe struct {
	auth.UserStore
	auth.TokenStore

	mu     sync.Mutex
	faults map[string]fault
	n      counts
	// lookup, when set, is called with the email of every UserByEmail call
	// before the call is served. Set it before the store is shared.
	lookup func(email string)
}

// counts are the records the Authenticator created through a probe.
type counts struct {
	usersCreated, usersDeleted int
	sessions                   int // sessions created, each with its first refresh token
	rotations                  int // refresh tokens stored by a rotation
}

// fault is what a probed method does instead of its work.
type fault struct {
	err   error
	panic bool
	// block makes the method wait until its context is done, as a database
	// that does not answer would, and return the context's error; blocked
	// receives the method's name first.
	block   bool
	blocked chan<- string
}

func newProbe(users auth.UserStore, tokens auth.TokenStore) *probe {
	return &probe{UserStore: users, TokenStore: tokens, faults: map[string]fault{}}
}

// setFault makes method misbehave as f says from now on.
func (p *probe) setFault(method string, f fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults[method] = f
}

// setFail makes method return err from now on; a nil err restores it.
func (p *probe) setFail(method string, err error) {
	if err == nil {
		p.mu.Lock()
		delete(p.faults, method)
		p.mu.Unlock()
		return
	}
	p.setFault(method, fault{err: err})
}

// heal removes every fault.
func (p *probe) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.faults)
}

// counts returns what the Authenticator has created so far.
func (p *probe) counts() counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// enter applies the fault of method, if any.
func (p *probe) enter(ctx context.Context, method string) error {
	p.mu.Lock()
	f, ok := p.faults[method]
	p.mu.Unlock()
	switch {
	case !ok:
		return nil
	case f.panic:
		panic("securitytest: " + method + " panics (injected)")
	case f.block:
		if f.blocked != nil {
			f.blocked <- method
		}
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

func (p *probe) count(f func(n *counts)) {
	p.mu.Lock()
	f(&p.n)
	p.mu.Unlock()
}

func (p *probe) CreateUser(ctx context.Context, u *auth.User) error {
	if err := p.enter(ctx, "CreateUser"); err != nil {
		return err
	}
	if err := p.UserStore.CreateUser(ctx, u); err != nil {
		return err
	}
	p.count(func(n *counts) { n.usersCreated++ })
	return nil
}

func (p *probe) DeleteUser(ctx context.Context, id string) error {
	if err := p.enter(ctx, "DeleteUser"); err != nil {
		return err
	}
	if err := p.UserStore.DeleteUser(ctx, id); err != nil {
		return err
	}
	p.count(func(n *counts) { n.usersDeleted++ })
	return nil
}

func (p *probe) UserByEmail(ctx context.Context, email string) (*auth.User, error) {
	if p.lookup != nil {
		p.lookup(email)
	}
	if err := p.enter(ctx, "UserByEmail"); err != nil {
		return nil, err
	}
	return p.UserStore.UserByEmail(ctx, email)
}

func (p *probe) UserByID(ctx context.Context, id string) (*auth.User, error) {
	if err := p.enter(ctx, "UserByID"); err != nil {
		return nil, err
	}
	return p.UserStore.UserByID(ctx, id)
}

func (p *probe) UpdatePasswordHash(ctx context.Context, id, hash string) error {
	if err := p.enter(ctx, "UpdatePasswordHash"); err != nil {
		return err
	}
	return p.UserStore.UpdatePasswordHash(ctx, id, hash)
}

func (p *probe) CreateSession(ctx context.Context, s *auth.Session, first *auth.RefreshToken) error {
	if err := p.enter(ctx, "CreateSession"); err != nil {
		return err
	}
	if err := p.TokenStore.CreateSession(ctx, s, first); err != nil {
		return err
	}
	p.count(func(n *counts) { n.sessions++ })
	return nil
}

func (p *probe) Session(ctx context.Context, id string) (*auth.Session, error) {
	if err := p.enter(ctx, "Session"); err != nil {
		return nil, err
	}
	return p.TokenStore.Session(ctx, id)
}

func (p *probe) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := p.enter(ctx, "RevokeSession"); err != nil {
		return err
	}
	return p.TokenStore.RevokeSession(ctx, id, at)
}

func (p *probe) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	if err := p.enter(ctx, "RotateRefreshToken"); err != nil {
		return nil, err
	}
	old, err := p.TokenStore.RotateRefreshToken(ctx, oldHash, next, at)
	if err == nil {
		p.count(func(n *counts) { n.rotations++ })
	}
	return old, err
}

// userCount returns how many users the Authenticators of the env hold in
// the store: created less deleted through the probe.
func (e *env) userCount() int {
	n := e.probe.counts()
	return n.usersCreated - n.usersDeleted
}

// createdCount returns how many CreateUser calls through the probe
// succeeded.
func (e *env) createdCount() int { return e.probe.counts().usersCreated }
