package auth

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Observer is told what the Authenticator does, for traces and metrics,
// in the style of pgx's tracers: the Authenticator calls OperationStart
// when an operation begins and OperationEnd, with the context
// OperationStart returned, when it ends. Package otelauth implements it
// with OpenTelemetry. When [Config.Observer] is nil no method is called.
//
// Implementations must be safe for concurrent use and must not block: they
// run inline on every request. They receive no email, password or token.
type Observer interface {
	// OperationStart is called when op begins. The context it returns is
	// the operation's from then on (a tracer puts its span there).
	OperationStart(ctx context.Context, op Operation) context.Context

	// OperationEnd is called once when op ends, with its outcome.
	OperationEnd(ctx context.Context, op Operation, end OperationEnd)

	// HashWait is called after a password-hashing request got a hashing
	// slot (or gave up), with how long it waited and how many requests
	// were waiting, itself included, when it asked.
	HashWait(ctx context.Context, waited time.Duration, queued int, ok bool)

	// Throttle is called for each throttling decision: the rule applied
	// (such as "login.account_address") and whether the request was let
	// through.
	Throttle(ctx context.Context, rule string, allowed bool)
}

// Operation names an operation of the Authenticator, as an [Observer]
// sees it.
type Operation string

// The operations an [Observer] sees.
const (
	OpRegister       Operation = "register"
	OpLogin          Operation = "login"
	OpSecondFactor   Operation = "second_factor" // POST /mfa/verify
	OpRefresh        Operation = "refresh"
	OpLogout         Operation = "logout"
	OpVerify         Operation = "verify" // access-token verification (Verify, Middleware)
	OpLogoutAll      Operation = "logout_all"
	OpEndSession     Operation = "end_session"
	OpChangePassword Operation = "change_password"
	OpForgotPassword Operation = "forgot_password"
	OpResetPassword  Operation = "reset_password"
	OpVerifyEmail    Operation = "verify_email"
	OpDeleteAccount  Operation = "delete_account"
)

// OperationEnd is how an operation ended.
type OperationEnd struct {
	// Err is the operation's error, nil on success.
	Err error
	// Code is the contract's error code of Err ("INVALID_CREDENTIALS",
	// "RATE_LIMITED", ...), or "" on success.
	Code string
	// Replay is set on a refresh answered from the reuse window (the
	// successor returned again).
	Replay bool
	// Reuse is set on a refresh that presented a spent token outside the
	// window, and so revoked its session.
	Reuse bool
}

// operationEnd tells the observer that op ended with err; end carries the
// refresh flags.
func (a *Authenticator) operationEnd(ctx context.Context, op Operation, err error, end OperationEnd) {
	end.Err = err
	if err != nil {
		end.Code = publicError(err).Code
	}
	a.obs.OperationEnd(ctx, op, end)
}

// verifyObserved is Verify with the observer told, kept apart so that
// Verify without an observer costs one nil check.
func (a *Authenticator) verifyObserved(ctx context.Context, accessToken string) (c *Claims, err error) {
	ctx = a.obs.OperationStart(ctx, OpVerify)
	ended := false
	defer a.endOnPanic(ctx, OpVerify, &ended)
	c, err = a.verify(ctx, accessToken, !a.cfg.Sessions.InsecureSkipSessionCheck)
	ended = true
	a.operationEnd(ctx, OpVerify, err, OperationEnd{})
	return c, err
}

// observeThrottle tells the observer of a throttling decision on key; the
// rule is the key's kind ("login.pair", "refresh.address", ...), which
// names no email or address.
func (a *Authenticator) observeThrottle(ctx context.Context, key string, allowed bool) {
	if a.obs == nil {
		return
	}
	rule := key
	if i := strings.IndexByte(key, ':'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], ':'); j >= 0 {
			rule = key[:i] + "." + key[i+1:i+1+j]
		}
	}
	a.obs.Throttle(ctx, rule, allowed)
}

// observe runs fn as op, telling the observer (which must be set) of its
// start and end.
func observe[T any](a *Authenticator, ctx context.Context, op Operation, fn func(context.Context) (T, error)) (T, error) {
	ctx = a.obs.OperationStart(ctx, op)
	ended := false
	defer a.endOnPanic(ctx, op, &ended)
	v, err := fn(ctx)
	ended = true
	a.operationEnd(ctx, op, err, OperationEnd{})
	return v, err
}

// errPanicked is the error an [Observer] is told of when an operation
// panicked (a store or a hook, say); the panic itself goes on unrecovered.
var errPanicked = errors.New("auth: operation panicked")

// endOnPanic, deferred by an observed operation, ends op with errPanicked
// unless *ended says it ended normally, so that a panic never leaves a span
// open. It does not recover: the panic goes on to the caller (net/http, for
// a handler).
func (a *Authenticator) endOnPanic(ctx context.Context, op Operation, ended *bool) {
	if !*ended {
		a.operationEnd(ctx, op, errPanicked, OperationEnd{})
	}
}

// checkObserver refuses an Observer that is a nil pointer (or another nil
// value) in a non-nil interface: it would panic on the first request
// instead of meaning "no observer".
func checkObserver(o Observer) error {
	if o == nil {
		return nil
	}
	switch v := reflect.ValueOf(o); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		if v.IsNil() {
			return fmt.Errorf("auth: Config.Observer is a nil %T; leave it nil for no observer", o)
		}
	}
	return nil
}
