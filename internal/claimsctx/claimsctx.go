// Package claimsctx holds the context key under which verified claims
// travel from a middleware (package auth's, package verifier's) to
// auth.ClaimsFromContext and auth.RequireRole. It is internal so that no
// code outside the module can plant claims that RequireRole would trust.
package claimsctx

import "context"

type key struct{}

// With returns a copy of ctx carrying c, which must be the *auth.Claims of
// a verified token.
func With(ctx context.Context, c any) context.Context {
	return context.WithValue(ctx, key{}, c)
}

// From returns what With stored in ctx, or nil.
func From(ctx context.Context) any {
	return ctx.Value(key{})
}
