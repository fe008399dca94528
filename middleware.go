package auth

import (
	"context"
	"net/http"
	"slices"

	"github.com/ingestiq/auth/internal/claimsctx"
)

// contextKey is the type of the package's context keys; a pointer to an
// unexported type cannot collide with other keys.
type contextKey struct{ name string }

// Middleware protects next: a request must carry a valid access token in
// an "Authorization: Bearer" header, checked as by [Authenticator.Verify].
// Requests without one are answered 401 in the contract's error shape, with
// a WWW-Authenticate header; the others reach next with the token's claims
// in their context, for [ClaimsFromContext].
//
// Its shape, func(http.Handler) http.Handler, fits net/http and routers
// such as chi (r.Use(a.Middleware)) unchanged.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := a.accessToken(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := a.transport.check(r); err != nil {
			a.fail(w, r, err)
			return
		}
		c, err := a.Verify(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(claimsctx.With(r.Context(), c)))
	})
}

// ClaimsFromContext returns the claims [Authenticator.Middleware] (or the
// middleware of package verifier) stored in ctx, and whether there were
// any. Only those middlewares can store claims, so that no other code can
// plant claims that [RequireRole] trusts.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := claimsctx.From(ctx).(*Claims)
	return c, ok && c != nil
}

// RequireRole returns a middleware that lets a request through only when
// the claims in its context (put there by [Authenticator.Middleware], which
// must run first) carry one of the given roles. Others are answered 403
// FORBIDDEN, and requests without claims 401 UNAUTHORIZED.
//
//	mux.Handle("/admin", a.Middleware(auth.RequireRole("owner", "admin")(adminHandler)))
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	allowed := slices.Clone(roles)
	return func(next http.Handler) http.Handler {
		return requireClaims(next, func(c *Claims) bool { return slices.Contains(allowed, c.Role) })
	}
}

// requireClaims lets a request through to next when the claims in its
// context pass ok: 401 UNAUTHORIZED without claims, 403 FORBIDDEN when ok
// refuses them.
func requireClaims(next http.Handler, ok func(*Claims) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, found := ClaimsFromContext(r.Context())
		if !found {
			writeError(w, ErrUnauthorized)
			return
		}
		if !ok(c) {
			writeError(w, ErrForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
