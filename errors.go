package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Error is an error the Authenticator reports to its callers and the HTTP
// handlers send to clients: a stable machine-readable code, the HTTP status
// it maps to, and a message safe to show to anyone. It never carries internal
// detail; causes are logged, not returned.
//
// Two *Error values match under [errors.Is] when their codes are equal, so
// errors.Is(err, ErrValidation) holds for every validation error whatever
// its fields.
type Error struct {
	// Code is the contract's error code, such as "INVALID_CREDENTIALS".
	Code string
	// Status is the HTTP status the code maps to.
	Status int
	// Message is a human-readable sentence safe to show to clients.
	Message string
	// Fields maps request field names to what is wrong with them; only
	// validation errors set it.
	Fields map[string]string
	// RetryAfter is how long the client should wait before trying again;
	// only RATE_LIMITED errors set it. The handlers send it as Retry-After
	// in whole seconds.
	RetryAfter time.Duration
	// Ticket is the signed, single-use ticket that [Authenticator.VerifyMFA]
	// takes with a second factor; only MFA_REQUIRED errors set it.
	Ticket string
	// Methods lists the second factors the ticket accepts ("totp",
	// "recovery_code", "webauthn" for a passkey); only MFA_REQUIRED errors
	// set it.
	Methods []string
}

// Error returns the message in Go's error style: prefixed with the package
// name and starting in lower case, as in "auth: invalid token".
func (e *Error) Error() string {
	if e.Message == "" {
		return "auth: " + strings.ToLower(e.Code)
	}
	return "auth: " + strings.ToLower(e.Message[:1]) + e.Message[1:]
}

// Is reports whether target is an *Error with the same code, such as the
// error variable a copy with details (fields, a ticket, Retry-After) was
// made from. Two distinct error variables of the package never match each
// other, even when they share a code: [ErrSessionNotFound] is not
// [ErrRouteNotFound], and [ErrCrossOrigin] is not [ErrForbidden]. A
// NOT_IMPLEMENTED error also matches [errors.ErrUnsupported].
func (e *Error) Is(target error) bool {
	if target == errors.ErrUnsupported {
		return e.Code == ErrNotImplemented.Code
	}
	t, ok := target.(*Error)
	if !ok || t.Code != e.Code {
		return false
	}
	_, eSentinel := errorBodies[e]
	_, tSentinel := errorBodies[t]
	return !eSentinel || !tSentinel // (e == t is decided before Is is called)
}

// The errors of the HTTP contract. Methods of [Authenticator] return them (or
// an *Error with the same code); the handlers answer them with their status
// and code.
var (
	// ErrInvalidCredentials is returned by [Authenticator.Login] for an
	// unknown email or a wrong password, which are indistinguishable.
	ErrInvalidCredentials = newError("INVALID_CREDENTIALS", http.StatusUnauthorized, "Invalid email or password")

	// ErrEmailExists is returned by [Authenticator.Register] when the email
	// is already registered in any letter case. Stores return it from
	// [UserStore.CreateUser] for a duplicate email.
	ErrEmailExists = newError("EMAIL_EXISTS", http.StatusConflict, "Email already registered")

	// ErrTokenExpired is returned by [Authenticator.Verify],
	// [Authenticator.Refresh] and [Authenticator.Logout] for a token whose
	// signature is valid but whose lifetime has passed.
	ErrTokenExpired = newError("TOKEN_EXPIRED", http.StatusUnauthorized, "Token has expired")

	// ErrInvalidToken is returned by [Authenticator.Verify],
	// [Authenticator.Refresh] and [Authenticator.Logout] for a token that is
	// malformed, forged, of the wrong kind, revoked or reused.
	ErrInvalidToken = newError("INVALID_TOKEN", http.StatusUnauthorized, "Invalid token")

	// ErrUnauthorized is answered by the handlers and the middleware when a
	// request carries no bearer token.
	ErrUnauthorized = newError("UNAUTHORIZED", http.StatusUnauthorized, "Authentication required")

	// ErrForbidden is answered by [RequireRole] when the caller's role is not
	// one of those allowed.
	ErrForbidden = newError("FORBIDDEN", http.StatusForbidden, "Insufficient permissions")

	// ErrValidation is the code of the errors returned by
	// [Authenticator.Register] and the handlers when a field is missing, of
	// the wrong type or breaks its rule. The errors returned carry Fields;
	// test for them with errors.Is(err, ErrValidation).
	ErrValidation = newError("VALIDATION_ERROR", http.StatusBadRequest, "Invalid request fields")

	// ErrInvalidRequest is answered by the handlers when the body is not
	// exactly one JSON object.
	ErrInvalidRequest = newError("INVALID_REQUEST", http.StatusBadRequest, "Request body must be a single JSON object")

	// ErrUnsupportedMediaType is answered by the handlers when a body is
	// sent without Content-Type: application/json.
	ErrUnsupportedMediaType = newError("UNSUPPORTED_MEDIA_TYPE", http.StatusUnsupportedMediaType, "Content-Type must be application/json")

	// ErrPayloadTooLarge is answered by the handlers when a body exceeds
	// [HTTPConfig.MaxBodyBytes].
	ErrPayloadTooLarge = newError("PAYLOAD_TOO_LARGE", http.StatusRequestEntityTooLarge, "Request body is too large")

	// ErrMethodNotAllowed is answered by the handlers for a method a route
	// does not serve, with an Allow header.
	ErrMethodNotAllowed = newError("METHOD_NOT_ALLOWED", http.StatusMethodNotAllowed, "Method not allowed")

	// ErrRouteNotFound is answered by [Authenticator.Handler] for a path it
	// does not serve.
	ErrRouteNotFound = newError("NOT_FOUND", http.StatusNotFound, "Not found")

	// ErrRateLimited is returned when a client or an account has made too
	// many attempts; the handlers add a Retry-After header.
	ErrRateLimited = newError("RATE_LIMITED", http.StatusTooManyRequests, "Too many attempts, try again later")

	// ErrEmailNotVerified is returned by [Authenticator.Login] when
	// [MailConfig.RequireVerifiedEmail] is set and the password is right but
	// the account's email address is not verified yet.
	ErrEmailNotVerified = newError("EMAIL_NOT_VERIFIED", http.StatusForbidden, "Email address not verified")

	// ErrSessionNotFound is returned by [Authenticator.EndSession] for a
	// session that does not exist, has ended, or belongs to another user:
	// the three are indistinguishable.
	ErrSessionNotFound = newError("NOT_FOUND", http.StatusNotFound, "Session not found")

	// ErrNotImplemented is returned by the account-lifecycle methods when
	// the stores lack the optional interface they need, or no [Mailer] is
	// configured. It matches [errors.ErrUnsupported].
	ErrNotImplemented = newError("NOT_IMPLEMENTED", http.StatusNotImplemented, "Not supported by this server")

	// ErrMFARequired is the code of the error [Authenticator.Login] returns
	// for a right password of an account with a second factor: it carries
	// no tokens but a Ticket and the Methods to redeem it with at
	// POST /mfa/verify. Test for it with errors.Is(err, ErrMFARequired).
	ErrMFARequired = newError("MFA_REQUIRED", http.StatusUnauthorized, "A second factor is required")

	// ErrInvalidCode is returned for a wrong, malformed or already used
	// TOTP or recovery code.
	ErrInvalidCode = newError("INVALID_CODE", http.StatusUnauthorized, "Invalid verification code")

	// ErrMFAEnabled is returned when enrolling a TOTP factor while a
	// verified one exists: remove it first.
	ErrMFAEnabled = newError("MFA_ALREADY_ENABLED", http.StatusConflict, "A second factor is already enabled")

	// ErrMFANotEnabled is returned when confirming, removing or using a
	// factor that is not there (or, for confirmation, already verified).
	ErrMFANotEnabled = newError("MFA_NOT_ENABLED", http.StatusConflict, "No second factor to act on")

	// ErrFreshLoginRequired is returned when enrolling a factor from a
	// session opened more than [MFAConfig.FreshLogin] ago without the
	// password.
	ErrFreshLoginRequired = newError("FRESH_LOGIN_REQUIRED", http.StatusForbidden, "Confirm your password or log in again")

	// ErrInternal is answered for any other failure, such as a store that is
	// down. Its message never carries the cause, which is logged instead.
	ErrInternal = newError("INTERNAL_ERROR", http.StatusInternalServerError, "Internal server error")

	// ErrInvalidPasskey is returned by the passkey routes for an assertion
	// or attestation that is not accepted: unknown or foreign credential,
	// bad signature, wrong origin, replayed, expired or spent ceremony, a
	// sign count that went backwards.
	ErrInvalidPasskey = newError("INVALID_PASSKEY", http.StatusUnauthorized, "Passkey not accepted")

	// ErrPasskeyExists is returned when registering a passkey whose
	// credential is registered already.
	ErrPasskeyExists = newError("PASSKEY_EXISTS", http.StatusConflict, "Passkey already registered")
)

// errorBodies holds the encoded body of every error made by newError, so
// that rejecting a request costs no JSON encoding. newError fills it, so no
// error of the contract can be left out.
var errorBodies = map[*Error][]byte{}

// newError makes one of the contract's errors and registers its encoded
// body. Every exported *Error variable of the package is made with it.
func newError(code string, status int, message string) *Error {
	e := &Error{Code: code, Status: status, Message: message}
	b, err := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: message}})
	if err != nil {
		panic(err)
	}
	errorBodies[e] = append(b, '\n')
	return e
}

// validationError returns a VALIDATION_ERROR carrying the given field
// messages.
func validationError(fields map[string]string) *Error {
	return &Error{Code: ErrValidation.Code, Status: ErrValidation.Status, Message: ErrValidation.Message, Fields: fields}
}

// publicError returns the *Error to show a client for err: err itself when
// it is an *Error, and [ErrInternal] for anything else.
func publicError(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrInternal
}
