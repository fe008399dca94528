package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ingestiq/auth/internal/jose"
)

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
// Mount it under a prefix with [http.StripPrefix]; it routes on the
// request's URL.Path, whatever the router:
//
//	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
//
// Every answer is JSON; errors have the shape
// {"error":{"code":"...","message":"..."}}. Each route is also available on
// its own ([Authenticator.RegisterHandler] and the others) for applications
// that route themselves.
func (a *Authenticator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/register", a.RegisterHandler())
	mux.Handle("/login", a.LoginHandler())
	mux.Handle("/refresh", a.RefreshHandler())
	mux.Handle("/logout", a.LogoutHandler())
	mux.Handle("/me", a.MeHandler())
	mux.Handle("/sessions", a.SessionsHandler())
	mux.Handle("/sessions/{id}", a.EndSessionHandler())
	mux.Handle("/logout-all", a.LogoutAllHandler())
	mux.Handle("/password", a.ChangePasswordHandler())
	mux.Handle("/password/forgot", a.ForgotPasswordHandler())
	mux.Handle("/password/reset", a.ResetPasswordHandler())
	mux.Handle("/verify-email", a.VerifyEmailHandler())
	mux.Handle("/mfa", a.MFAStatusHandler())
	mux.Handle("/mfa/totp", a.TOTPHandler())
	mux.Handle("/mfa/totp/confirm", a.ConfirmTOTPHandler())
	mux.Handle("/mfa/recovery-codes", a.RecoveryCodesHandler())
	mux.Handle("/mfa/verify", a.VerifyMFAHandler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, ErrRouteNotFound)
	})
	return mux
}

// RegisterHandler returns the handler of POST /register: it creates a user
// and answers 201 with the user and the new session's tokens.
func (a *Authenticator) RegisterHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Email    *string `json:"email"`
			Password *string `json:"password"`
			Name     *string `json:"name"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"email": req.Email, "password": req.Password, "name": req.Name}); err != nil {
			return err
		}
		res, err := a.Register(r.Context(), RegisterInput{Email: *req.Email, Password: *req.Password, Name: *req.Name})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, a.authResponse(w, r, res))
		return nil
	})
}

// LoginHandler returns the handler of POST /login: it checks an email and
// password and answers 200 with the user and a new session's tokens.
func (a *Authenticator) LoginHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Email       *string `json:"email"`
			Password    *string `json:"password"`
			DeviceToken string  `json:"deviceToken"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"email": req.Email, "password": req.Password}); err != nil {
			return err
		}
		ctx := r.Context()
		if req.DeviceToken == "" {
			req.DeviceToken = a.browser.deviceFromCookie(r)
		}
		if req.DeviceToken != "" {
			ctx = WithDeviceToken(ctx, req.DeviceToken)
		}
		res, err := a.Login(ctx, *req.Email, *req.Password)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a.authResponse(w, r, res))
		return nil
	})
}

// RefreshHandler returns the handler of POST /refresh: it spends a refresh
// token and answers 200 with a new access token and its successor.
func (a *Authenticator) RefreshHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			RefreshToken *string `json:"refreshToken"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if req.RefreshToken == nil && a.browser.cookieMode(r) {
			t, ok := a.browser.refreshFromCookie(r)
			if !ok {
				// A browser without the cookie is simply not signed in.
				return ErrUnauthorized
			}
			req.RefreshToken = &t
		}
		if err := required(map[string]*string{"refreshToken": req.RefreshToken}); err != nil {
			return err
		}
		pair, err := a.Refresh(r.Context(), *req.RefreshToken)
		if err != nil {
			if errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrTokenExpired) {
				a.browser.clear(w, r)
			}
			return err
		}
		pair.RefreshToken = a.browser.setTokens(w, r, pair.AccessToken, pair.RefreshToken, a.cfg.RefreshTokenTTL, a.cfg.AccessTokenTTL)
		writeJSON(w, http.StatusOK, pair)
		return nil
	})
}

// LogoutHandler returns the handler of POST /logout: it revokes the session
// of the bearer access token and answers 200. A body, if any, is ignored.
func (a *Authenticator) LogoutHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		token, err := a.accessToken(r)
		if err != nil {
			return err
		}
		if err := a.Logout(r.Context(), token); err != nil {
			return err
		}
		a.browser.clear(w, r)
		writeJSON(w, http.StatusOK, struct {
			Message string `json:"message"`
		}{"Logged out successfully"})
		return nil
	})
}

// MeHandler returns the handler of /me: GET answers 200 with the user the
// bearer access token belongs to; DELETE, with the body {"password"},
// deletes that user's account (see [Authenticator.DeleteAccount]).
func (a *Authenticator) MeHandler() http.Handler {
	return a.routes(map[string]routeFunc{
		http.MethodGet: a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
			u, err := a.User(r.Context(), c.UserID)
			if errors.Is(err, ErrNotFound) {
				return ErrInvalidToken
			}
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, struct {
				User *User `json:"user"`
			}{u})
			return nil
		}),
		http.MethodDelete: a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
			var req struct {
				Password *string `json:"password"`
			}
			if err := a.decode(w, r, &req); err != nil {
				return err
			}
			if err := required(map[string]*string{"password": req.Password}); err != nil {
				return err
			}
			if err := a.DeleteAccount(r.Context(), c.UserID, *req.Password); err != nil {
				return err
			}
			a.browser.clear(w, r)
			writeMessage(w, http.StatusOK, "Account deleted")
			return nil
		}),
	})
}

// SessionsHandler returns the handler of GET /sessions: it lists the live
// sessions of the bearer's user as {"sessions":[{"id","createdAt",
// "lastUsedAt","userAgent","ipAddress","current"}]}.
func (a *Authenticator) SessionsHandler() http.Handler {
	return a.route(http.MethodGet, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		list, err := a.Sessions(r.Context(), c.UserID, c.SessionID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, struct {
			Sessions []SessionInfo `json:"sessions"`
		}{list})
		return nil
	}))
}

// EndSessionHandler returns the handler of DELETE /sessions/{id}: it ends
// one of the bearer's own sessions. Mounted on its own it must be
// registered with a pattern that names {id}, such as
// "DELETE /auth/sessions/{id}".
func (a *Authenticator) EndSessionHandler() http.Handler {
	return a.route(http.MethodDelete, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		if err := a.EndSession(r.Context(), c.UserID, r.PathValue("id")); err != nil {
			return err
		}
		writeMessage(w, http.StatusOK, "Session ended")
		return nil
	}))
}

// LogoutAllHandler returns the handler of POST /logout-all: it ends every
// session of the bearer's user, or every other one with the optional body
// {"keepCurrent": true}.
func (a *Authenticator) LogoutAllHandler() http.Handler {
	return a.route(http.MethodPost, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		var req struct {
			KeepCurrent *bool `json:"keepCurrent"`
		}
		if r.ContentLength != 0 {
			if err := a.decode(w, r, &req); err != nil {
				return err
			}
		}
		keep := ""
		if req.KeepCurrent != nil && *req.KeepCurrent {
			keep = c.SessionID
		}
		n, err := a.LogoutAll(r.Context(), c.UserID, keep)
		if err != nil {
			return err
		}
		if keep == "" {
			a.browser.clear(w, r)
		}
		writeJSON(w, http.StatusOK, struct {
			Message       string `json:"message"`
			SessionsEnded int64  `json:"sessionsEnded"`
		}{"Logged out of all sessions", n})
		return nil
	}))
}

// ChangePasswordHandler returns the handler of POST /password, with the
// body {"currentPassword","newPassword"}: it changes the bearer's password
// and ends their other sessions.
func (a *Authenticator) ChangePasswordHandler() http.Handler {
	return a.route(http.MethodPost, a.authed(func(w http.ResponseWriter, r *http.Request, c *Claims) error {
		var req struct {
			CurrentPassword *string `json:"currentPassword"`
			NewPassword     *string `json:"newPassword"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"currentPassword": req.CurrentPassword, "newPassword": req.NewPassword}); err != nil {
			return err
		}
		if err := a.ChangePassword(r.Context(), c.UserID, c.SessionID, *req.CurrentPassword, *req.NewPassword); err != nil {
			return err
		}
		writeMessage(w, http.StatusOK, "Password changed")
		return nil
	}))
}

// ForgotPasswordHandler returns the handler of POST /password/forgot, with
// the body {"email"}: it answers 202 whether or not the account exists.
func (a *Authenticator) ForgotPasswordHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Email *string `json:"email"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"email": req.Email}); err != nil {
			return err
		}
		if err := a.ForgotPassword(r.Context(), *req.Email); err != nil {
			return err
		}
		writeMessage(w, http.StatusAccepted, "If an account exists for this email, a password reset link has been sent")
		return nil
	})
}

// ResetPasswordHandler returns the handler of POST /password/reset, with
// the body {"token","newPassword"}.
func (a *Authenticator) ResetPasswordHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Token       *string `json:"token"`
			NewPassword *string `json:"newPassword"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"token": req.Token, "newPassword": req.NewPassword}); err != nil {
			return err
		}
		if err := a.ResetPassword(r.Context(), *req.Token, *req.NewPassword); err != nil {
			return err
		}
		a.browser.clear(w, r)
		writeMessage(w, http.StatusOK, "Password has been reset")
		return nil
	})
}

// VerifyEmailHandler returns the handler of POST /verify-email, with the
// body {"token"}.
func (a *Authenticator) VerifyEmailHandler() http.Handler {
	return a.route(http.MethodPost, func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			Token *string `json:"token"`
		}
		if err := a.decode(w, r, &req); err != nil {
			return err
		}
		if err := required(map[string]*string{"token": req.Token}); err != nil {
			return err
		}
		if err := a.VerifyEmail(r.Context(), *req.Token); err != nil {
			return err
		}
		writeMessage(w, http.StatusOK, "Email verified")
		return nil
	})
}

// writeMessage answers {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{msg})
}

// timeFormat is RFC 3339 in UTC with exactly three fractional digits, as in
// "2024-01-28T12:00:00.000Z".
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

type publicUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type authBody struct {
	User         publicUser `json:"user"`
	AccessToken  string     `json:"accessToken"`
	RefreshToken string     `json:"refreshToken,omitempty"`
	DeviceToken  string     `json:"deviceToken,omitempty"`
}

// authResponse is the body of a response that opens a session; a request
// in cookie mode gets its refresh token in a cookie instead of the body.
func (a *Authenticator) authResponse(w http.ResponseWriter, r *http.Request, res *AuthResult) authBody {
	return authBody{
		User:         publicUser{ID: res.User.ID, Email: res.User.Email, Name: res.User.Name},
		AccessToken:  res.AccessToken,
		RefreshToken: a.browser.setTokens(w, r, res.AccessToken, res.RefreshToken, a.cfg.RefreshTokenTTL, a.cfg.AccessTokenTTL),
		DeviceToken:  a.browser.setDevice(w, r, res.DeviceToken, a.cfg.Throttle.DeviceTokenTTL),
	}
}

// routeFunc is a route's logic; a returned error becomes the response.
type routeFunc func(http.ResponseWriter, *http.Request) error

// route serves fn for one method; see routes.
func (a *Authenticator) route(method string, fn routeFunc) http.Handler {
	return a.routes(map[string]routeFunc{method: fn})
}

// routes serves a route's methods: other methods are answered 405 with an
// Allow header; the request's context gets the client's address and
// User-Agent; a returned error becomes the contract's error response, with
// the cause of internal errors logged.
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
		if err := a.browser.checkOrigin(r); err != nil {
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

// authed wraps a route that needs a valid bearer access token, handing it
// the token's claims.
func (a *Authenticator) authed(fn func(http.ResponseWriter, *http.Request, *Claims) error) routeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, err := a.accessToken(r)
		if err != nil {
			return err
		}
		c, err := a.Verify(r.Context(), token)
		if err != nil {
			return err
		}
		return fn(w, r, c)
	}
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

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Ticket  string            `json:"ticket,omitempty"`
	Methods []string          `json:"methods,omitempty"`
}

// writeError writes e as the contract's error body with its status.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(e.RetryAfter)))
	}
	if e.Status == http.StatusUnauthorized {
		// Assigned under the canonical key, which "WWW-Authenticate" is not,
		// to spare the rejection path a key canonicalization.
		if e.Code == ErrInvalidToken.Code || e.Code == ErrTokenExpired.Code {
			h["Www-Authenticate"] = []string{`Bearer error="invalid_token"`}
		} else {
			h["Www-Authenticate"] = []string{"Bearer"}
		}
	}
	if e.Fields == nil {
		if body, ok := errorBodies[e]; ok {
			writeBody(w, e.Status, body)
			return
		}
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields, Ticket: e.Ticket, Methods: e.Methods}})
}

// errorBodies holds the encoded bodies of the sentinel errors, so that
// rejecting a request costs no JSON encoding.
var errorBodies = func() map[*Error][]byte {
	m := map[*Error][]byte{}
	for _, e := range []*Error{
		ErrInvalidCredentials, ErrEmailExists, ErrTokenExpired, ErrInvalidToken, ErrUnauthorized,
		ErrForbidden, ErrInvalidRequest, ErrUnsupportedMediaType, ErrPayloadTooLarge,
		ErrMethodNotAllowed, ErrRouteNotFound, ErrEmailNotVerified, ErrSessionNotFound,
		ErrNotImplemented, ErrInternal, ErrCrossOrigin,
	} {
		b, err := json.Marshal(errorBody{Error: errorDetail{Code: e.Code, Message: e.Message}})
		if err != nil {
			panic(err)
		}
		m[e] = append(b, '\n')
	}
	return m
}()

// writeJSON writes v as the JSON body with the given status, with headers
// that keep tokens and personal data out of caches and content sniffing.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, errorBodies[ErrInternal])
		return
	}
	writeBody(w, status, append(body, '\n'))
}

// writeBody writes an encoded JSON body with the headers every answer
// carries.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decode reads the request body into dst. The body must be sent as
// application/json (else 415), be at most MaxBodyBytes (else 413), and be
// exactly one JSON object in valid UTF-8 with no key given twice (else 400
// INVALID_REQUEST). A field of the wrong type is 400 VALIDATION_ERROR.
// Unknown fields are ignored.
func (a *Authenticator) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return ErrUnsupportedMediaType
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return ErrUnsupportedMediaType
		}
	}
	limit := a.cfg.HTTP.MaxBodyBytes
	if r.ContentLength > limit {
		return ErrPayloadTooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ErrPayloadTooLarge
		}
		return ErrInvalidRequest
	}
	return decodeJSONObject(data, dst)
}

// decodeJSONObject decodes data, which must be exactly one JSON object with
// distinct keys, into dst.
func decodeJSONObject(data []byte, dst any) error {
	if !utf8.Valid(data) || !isSingleObject(data) {
		return ErrInvalidRequest
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return validationError(map[string]string{typeErr.Field: "must be a " + jsonTypeName(typeErr.Type.Kind().String())})
		}
		return ErrInvalidRequest
	}
	return nil
}

// jsonTypeName names the JSON type of a Go kind, for the message of a
// field whose value has the wrong type. encoding/json reports the type
// behind a pointer, so kind is never "ptr".
func jsonTypeName(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return kind
}

// isSingleObject reports whether data holds exactly one JSON object, with
// nothing but white space after it, whose keys are distinct even when
// compared the way encoding/json binds keys to fields: without regard to
// case under Unicode simple folding (so {"email":..,"EMAIL":..} and
// {"password":..,"paſſword":..} would be ambiguous).
func isSingleObject(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := make(map[string]struct{}, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		k := foldKey(key)
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// foldKey returns key folded so that foldKey(x) == foldKey(y) exactly when
// strings.EqualFold(x, y), the rule by which encoding/json matches an
// object key to a field name: ASCII letters are upper-cased and every other
// rune becomes the smallest rune of its Unicode simple-folding orbit ('s'
// and 'ſ' become 'S'; 'k' and the Kelvin sign become 'K'). It mirrors
// encoding/json's own folding of field names.
func foldKey(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}

// required returns a VALIDATION_ERROR naming every field that is missing or
// null.
func required(fields map[string]*string) error {
	var missing map[string]string
	for name, v := range fields {
		if v == nil {
			if missing == nil {
				missing = map[string]string{}
			}
			missing[name] = "is required"
		}
	}
	if missing != nil {
		return validationError(missing)
	}
	return nil
}

// bearerToken returns the token of the request's Authorization header. A
// request without the header, or with another scheme, or with an empty
// token, has sent no bearer token: [ErrUnauthorized]. More than one
// Authorization header, or a token that is not an RFC 6750 b64token, is
// [ErrInvalidToken]. The scheme is matched without regard to case.
func bearerToken(r *http.Request) (string, error) {
	token, f := jose.BearerToken(r.Header, MaxTokenLength)
	return token, faultErrors[f]
}
