// Package hashprobe lets the library's tests observe the password hashes it
// computes, through the context of the call that computes them: how many
// run at once, with which parameters. Production code never sets a probe;
// without one, a hash costs one context lookup more.
package hashprobe

import "context"

// Computation describes one password hash computation.
type Computation struct {
	// Algorithm is "argon2id" or "bcrypt".
	Algorithm string
	// Memory (KiB), Iterations and Parallelism are argon2id's parameters;
	// for bcrypt, Iterations is the cost and the others are zero.
	Memory      uint32
	Iterations  uint32
	Parallelism uint8
}

// Probe is called when a computation starts; the function it returns is
// called when the computation ends. It may be called from many goroutines
// at once.
type Probe func(Computation) (end func())

type key struct{}

// With returns a context whose hash computations are reported to p.
func With(ctx context.Context, p Probe) context.Context {
	return context.WithValue(ctx, key{}, p)
}

// From returns the probe of ctx, or nil.
func From(ctx context.Context) Probe {
	p, _ := ctx.Value(key{}).(Probe)
	return p
}
