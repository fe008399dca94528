package auth

import (
	"fmt"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
)

// route is one row of the route table: a path relative to wherever
// [Authenticator.Handler] is mounted, a method, and what serves it.
type route struct {
	path, method string
	serve        routeFunc
}

// routeTable lists every route of the HTTP contract. A new route is one
// row here and one method on the Authenticator.
func (a *Authenticator) routeTable() []route {
	const get, post, del, patch = http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPatch
	return []route{
		{"/register", post, jsonRoute(a, public, bodyJSON, a.serveRegister)},
		{"/login", post, jsonRoute(a, public, bodyJSON, a.serveLogin)},
		{"/refresh", post, jsonRoute(a, public, bodyJSON, a.serveRefresh)},
		{"/logout", post, jsonRoute(a, public, bodyNone, a.serveLogout)},
		{"/me", get, jsonRoute(a, bearer, bodyNone, a.serveMe)},
		{"/me", del, jsonRoute(a, bearer, bodyJSON, a.serveDeleteAccount)},
		{"/sessions", get, jsonRoute(a, bearer, bodyNone, a.serveSessions)},
		{"/sessions/{id}", del, jsonRoute(a, bearer, bodyNone, a.serveEndSession)},
		{"/logout-all", post, jsonRoute(a, bearer, bodyOptional, a.serveLogoutAll)},
		{"/password", post, jsonRoute(a, bearer, bodyJSON, a.serveChangePassword)},
		{"/password/forgot", post, jsonRoute(a, public, bodyJSON, a.serveForgotPassword)},
		{"/password/reset", post, jsonRoute(a, public, bodyJSON, a.serveResetPassword)},
		{"/verify-email", post, jsonRoute(a, public, bodyJSON, a.serveVerifyEmail)},
		{"/mfa", get, jsonRoute(a, bearer, bodyNone, a.serveMFAStatus)},
		{"/mfa/totp", post, jsonRoute(a, bearer, bodyOptional, a.serveEnrollTOTP)},
		{"/mfa/totp", del, jsonRoute(a, bearer, bodyJSON, a.serveRemoveTOTP)},
		{"/mfa/totp/confirm", post, jsonRoute(a, bearer, bodyJSON, a.serveConfirmTOTP)},
		{"/mfa/recovery-codes", post, jsonRoute(a, bearer, bodyJSON, a.serveRegenerateRecoveryCodes)},
		{"/mfa/verify", post, jsonRoute(a, public, bodyJSON, a.serveVerifyMFA)},
		{"/orgs", get, jsonRoute(a, bearer, bodyNone, a.serveOrgs)},
		{"/orgs", post, jsonRoute(a, bearer, bodyJSON, a.serveCreateOrg)},
		{"/orgs/{id}", get, jsonRoute(a, bearer, bodyNone, a.serveOrg)},
		{"/orgs/{id}", patch, jsonRoute(a, bearer, bodyJSON, a.serveRenameOrg)},
		{"/orgs/{id}/members", get, jsonRoute(a, bearer, bodyNone, a.serveMembers)},
		{"/orgs/{id}/members/{userId}", patch, jsonRoute(a, bearer, bodyJSON, a.serveSetRole)},
		{"/orgs/{id}/members/{userId}", del, jsonRoute(a, bearer, bodyNone, a.serveRemoveMember)},
		{"/orgs/{id}/leave", post, jsonRoute(a, bearer, bodyNone, a.serveLeave)},
		{"/orgs/{id}/transfer", post, jsonRoute(a, bearer, bodyJSON, a.serveTransfer)},
		{"/orgs/{id}/invitations", get, jsonRoute(a, bearer, bodyNone, a.serveInvitations)},
		{"/orgs/{id}/invitations", post, jsonRoute(a, bearer, bodyJSON, a.serveInvite)},
		{"/orgs/{id}/invitations/{invitationId}", del, jsonRoute(a, bearer, bodyNone, a.serveRevokeInvitation)},
		{"/invitations/accept", post, jsonRoute(a, bearer, bodyJSON, a.serveAcceptInvitation)},
		{"/orgs/{id}/switch", post, jsonRoute(a, bearer, bodyNone, a.serveSwitch)},
	}
}

// Handler returns an http.Handler serving the routes of the HTTP contract
// relative to wherever it is mounted:
//
//	POST /register   POST /login   POST /refresh   POST /logout   GET /me
//
// and the account-lifecycle routes beside them:
//
//	GET /sessions   DELETE /sessions/{id}   POST /logout-all   POST /password
//	POST /password/forgot   POST /password/reset   POST /verify-email   DELETE /me
//
// and the two-step sign-in routes (see [Authenticator.VerifyMFA]):
//
//	GET /mfa   POST /mfa/totp   POST /mfa/totp/confirm   DELETE /mfa/totp
//	POST /mfa/recovery-codes   POST /mfa/verify
//
// and the organization routes (see [Authenticator.Invite]):
//
//	GET|POST /orgs   GET|PATCH /orgs/{id}   GET /orgs/{id}/members
//	PATCH|DELETE /orgs/{id}/members/{userId}   POST /orgs/{id}/leave
//	POST /orgs/{id}/transfer   GET|POST /orgs/{id}/invitations
//	DELETE /orgs/{id}/invitations/{invitationId}   POST /invitations/accept
//	POST /orgs/{id}/switch
//
// and the routes added with [Authenticator.Handle]. Mount it under a prefix
// with [http.StripPrefix]; it routes on the request's URL.Path, whatever
// the router:
//
//	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
//
// Every answer is JSON; errors have the shape
// {"error":{"code":"...","message":"..."}}.
func (a *Authenticator) Handler() http.Handler {
	a.extraMu.Lock()
	a.handlerBuilt = true
	extra := slices.Clone(a.extra)
	a.extraMu.Unlock()
	mux := http.NewServeMux()
	byPath := map[string]map[string]routeFunc{}
	var paths []string
	for _, rt := range a.routeTable() {
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]routeFunc{}
			paths = append(paths, rt.path)
		}
		byPath[rt.path][rt.method] = rt.serve
	}
	for _, p := range paths {
		mux.Handle(p, a.routes(byPath[p]))
	}
	for _, e := range extra {
		mux.Handle(e.pattern, e.h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, ErrRouteNotFound)
	})
	return mux
}

// extraRoute is a route added with [Authenticator.Handle].
type extraRoute struct {
	pattern string
	h       http.Handler
}

// Handle adds a route to those [Authenticator.Handler] serves, for a
// further way in (a nested module's passkey or OpenID Connect routes, say):
// pattern is an [http.ServeMux] pattern relative to where Handler is
// mounted, such as "/passkey/login". Wrap h's logic with
// [Authenticator.Route] to serve it as the built-in routes are served. Call
// Handle before the first call to Handler; it panics after it, or when
// pattern conflicts with a route already served.
func (a *Authenticator) Handle(pattern string, h http.Handler) {
	a.extraMu.Lock()
	defer a.extraMu.Unlock()
	if a.handlerBuilt {
		panic("auth: Authenticator.Handle called after Handler")
	}
	probe := http.NewServeMux()
	probe.Handle("/", h) // Handler's not-found answer
	seen := map[string]bool{}
	for _, rt := range a.routeTable() {
		if !seen[rt.path] {
			seen[rt.path] = true
			probe.Handle(rt.path, h)
		}
	}
	for _, e := range a.extra {
		probe.Handle(e.pattern, e.h)
	}
	probe.Handle(pattern, h) // panics on a conflict
	// A pattern with a method or a host ("POST /login") is more specific
	// than a built-in path and would not conflict in the ServeMux, yet
	// would take the built-in route over: refuse any pattern whose path is
	// one of Handler's own.
	path := pattern
	if i := strings.IndexByte(path, ' '); i >= 0 {
		path = strings.TrimLeft(path[i+1:], " \t")
	}
	if i := strings.IndexByte(path, '/'); i > 0 {
		path = path[i:] // drop a host
	}
	if seen[path] || seen[strings.TrimSuffix(path, "{$}")] {
		panic(fmt.Sprintf("auth: Authenticator.Handle(%q): the path is one of Handler's own routes", pattern))
	}
	a.extra = append(a.extra, extraRoute{pattern, h})
}

// Route returns an http.Handler that serves fn for one method the way the
// built-in routes are served: other methods are answered 405 with an Allow
// header; a panic is logged and answered 500; in browser mode an unsafe
// cross-origin request is refused; the request's context carries the
// client's address and User-Agent (for throttling and audit records); and
// an error fn returns becomes the contract's error response (an [*Error] as
// is, any other error as INTERNAL_ERROR, logged with its cause). It is the
// building block of routes added with [Authenticator.Handle].
func (a *Authenticator) Route(method string, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return a.routes(map[string]routeFunc{method: fn})
}

// routeFunc is a route's logic; a returned error becomes the response.
type routeFunc func(http.ResponseWriter, *http.Request) error

// routes serves a path's methods; see [Authenticator.Route].
func (a *Authenticator) routes(methods map[string]routeFunc) http.Handler {
	names := make([]string, 0, len(methods))
	for m := range methods {
		names = append(names, m)
	}
	slices.Sort(names)
	allow := strings.Join(names, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := methods[r.Method]
		if !ok {
			w.Header().Set("Allow", allow)
			writeError(w, ErrMethodNotAllowed)
			return
		}
		defer a.recoverPanic(w, r)
		if err := a.transport.check(r); err != nil {
			a.fail(w, r, err)
			return
		}
		r = r.WithContext(withClient(r.Context(), r, a.cfg.Throttle.TrustedProxies))
		a.noteUnknownAddress(r.Context(), r)
		if err := fn(w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// recoverPanic turns a panic in a route (a store that panics, say) into a
// logged cause and a generic 500, so that one bad request neither takes the
// server's connection down nor shows a stack trace.
func (a *Authenticator) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	a.log.ErrorContext(r.Context(), "auth: panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	writeError(w, ErrInternal)
}

// fail answers err in the contract's shape. Errors that are not an *Error
// are logged with their cause and answered as INTERNAL_ERROR.
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := publicError(err)
	if e == ErrInternal {
		a.log.ErrorContext(r.Context(), "auth: internal error", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeError(w, e)
}

// access says whether a route needs a valid access token.
type access bool

const (
	public access = false
	bearer access = true
)

// bodyMode says what a route reads of the request body.
type bodyMode uint8

const (
	bodyNone     bodyMode = iota // nothing; a body, if any, is ignored
	bodyJSON                     // one JSON object, see decode
	bodyOptional                 // one JSON object, or no body at all
)

// none is the request type of a route that reads no body.
type none struct{}

// jsonRoute is the one JSON route: it checks the access token (bearer
// routes, before anything is read), decodes the body into a Req, checks
// that the fields tagged `auth:"required"` (pointers) are present and not
// null, and calls serve with the token's claims (nil on public routes) and
// the request.
func jsonRoute[Req any](a *Authenticator, acc access, body bodyMode, serve func(http.ResponseWriter, *http.Request, *Claims, *Req) error) routeFunc {
	req := requiredFields(reflect.TypeFor[Req]())
	return func(w http.ResponseWriter, r *http.Request) error {
		var c *Claims
		if acc == bearer {
			token, err := a.accessToken(r)
			if err != nil {
				return err
			}
			if c, err = a.Verify(r.Context(), token); err != nil {
				return err
			}
		}
		var in Req
		if body == bodyJSON || (body == bodyOptional && r.ContentLength != 0) {
			if err := a.decode(w, r, &in); err != nil {
				return err
			}
		}
		if err := req.check(reflect.ValueOf(&in).Elem()); err != nil {
			return err
		}
		return serve(w, r, c, &in)
	}
}

// fieldList is the required fields of a request type: their indexes and
// JSON names.
type fieldList []struct {
	index int
	name  string
}

func requiredFields(t reflect.Type) fieldList {
	var l fieldList
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("auth") != "required" {
			continue
		}
		if f.Type.Kind() != reflect.Pointer {
			panic("auth: required field " + f.Name + " is not a pointer")
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		l = append(l, struct {
			index int
			name  string
		}{i, name})
	}
	return l
}

// check returns a VALIDATION_ERROR naming every required field of v that
// is missing or null.
func (l fieldList) check(v reflect.Value) error {
	var missing map[string]string
	for _, f := range l {
		if v.Field(f.index).IsNil() {
			if missing == nil {
				missing = map[string]string{}
			}
			missing[f.name] = "is required"
		}
	}
	if missing != nil {
		return validationError(missing)
	}
	return nil
}

// HTTPConfig configures the HTTP handlers. Zero fields mean their documented
// default.
type HTTPConfig struct {
	// MaxBodyBytes caps request bodies read by the handlers; larger bodies
	// are answered 413 PAYLOAD_TOO_LARGE. The default is 64 KiB.
	MaxBodyBytes int64
}
