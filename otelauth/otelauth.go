// Package otelauth reports what a github.com/ingestiq/auth Authenticator
// does as OpenTelemetry traces and metrics. Its [Observer] implements
// [auth.Observer]; set it as the Config's Observer:
//
//	obs, err := otelauth.New() // the global TracerProvider and MeterProvider
//	if err != nil { ... }
//	a, err := auth.New(auth.Config{..., Observer: obs})
//
// Each operation (register, login, refresh, ...) becomes a span named
// "auth." plus the operation ("auth.login"), of kind internal, and is
// counted and timed:
//
//   - auth.operations, a counter ({operation}) with auth.operation,
//     auth.outcome ("success" or "failure") and, on failure, error.type
//     (the contract's error code, such as "INVALID_CREDENTIALS");
//   - auth.operation.duration, a histogram (s) with auth.operation and
//     auth.outcome;
//   - auth.password_hash.wait, a histogram (s) of how long a
//     password-hashing request waited for a slot, with auth.operation and
//     auth.password_hash.acquired;
//   - auth.password_hash.queue, a histogram ({request}) of how many
//     requests were waiting for a slot, the asking one included, when one
//     asked, with auth.operation;
//   - auth.throttle.decisions, a counter ({decision}) with
//     auth.throttle.rule and auth.throttle.allowed;
//   - auth.refresh.replays, a counter ({refresh}) of refreshes answered
//     from the reuse window;
//   - auth.refresh.reuse_detected, a counter ({refresh}) of spent refresh
//     tokens presented outside the window, each of which revoked a session.
//
// A span's attributes are auth.operation, auth.outcome, error.type on
// failure, and on refresh spans auth.refresh.replay and auth.refresh.reuse.
// A span's status is Error only for server faults (an error whose HTTP
// status is 5xx, or one that is not an [*auth.Error]); an expected refusal
// such as INVALID_CREDENTIALS or RATE_LIMITED leaves it unset and is told
// by error.type and auth.outcome. The status description is the error
// code, never the error's text. A throttling refusal adds an
// "auth.throttled" event to the operation's span, and each wait for a
// hashing slot an "auth.password_hash.slot" event.
//
// Nothing recorded carries an email address, password, token, ticket or
// error message: the Authenticator hands the Observer none, and the
// Observer records error codes only.
package otelauth

import (
	"context"
	"errors"
	"time"

	"github.com/ingestiq/auth"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the Observer's tracer and
// meter.
const ScopeName = "github.com/ingestiq/auth/otelauth"

// The attribute keys the Observer records.
const (
	// AttrOperation is the operation: "register", "login", ... (the
	// values of [auth.Operation]).
	AttrOperation = attribute.Key("auth.operation")
	// AttrOutcome is "success" or "failure".
	AttrOutcome = attribute.Key("auth.outcome")
	// AttrErrorType is the contract's error code of a failure, as in
	// OpenTelemetry's semantic conventions for error.type; "_OTHER" for an
	// error without one.
	AttrErrorType = attribute.Key("error.type")
	// AttrRefreshReplay is set on refresh spans: whether the refresh was
	// answered from the reuse window.
	AttrRefreshReplay = attribute.Key("auth.refresh.replay")
	// AttrRefreshReuse is set on refresh spans: whether a spent refresh
	// token was presented outside the reuse window.
	AttrRefreshReuse = attribute.Key("auth.refresh.reuse")
	// AttrThrottleRule is the throttling rule decided on, such as
	// "login.account_address".
	AttrThrottleRule = attribute.Key("auth.throttle.rule")
	// AttrThrottleAllowed is whether a throttling decision let the request
	// through.
	AttrThrottleAllowed = attribute.Key("auth.throttle.allowed")
	// AttrHashAcquired is whether a password-hashing request got its slot
	// (false: it gave up waiting).
	AttrHashAcquired = attribute.Key("auth.password_hash.acquired")
	// AttrHashWait is, on the "auth.password_hash.slot" span event, how
	// long the request waited for its slot, in seconds.
	AttrHashWait = attribute.Key("auth.password_hash.wait")
	// AttrHashQueue is, on the "auth.password_hash.slot" span event, how
	// many requests were waiting, the asking one included, when it asked.
	AttrHashQueue = attribute.Key("auth.password_hash.queue")
)

// The values of [AttrOutcome].
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// errorTypeOther is error.type for an error that has no contract code.
const errorTypeOther = "_OTHER"

// Bucket boundaries, in the instruments' units.
var (
	// durationBuckets are OpenTelemetry's advisory boundaries for request
	// durations in seconds.
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	// hashWaitBuckets start at zero so that requests that did not wait
	// stand apart.
	hashWaitBuckets = []float64{0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// queueBuckets are powers of two; the smallest queue is 1 (the
	// request itself).
	queueBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
)

// Option configures [New].
type Option func(*config)

type config struct {
	tp  trace.TracerProvider
	mp  metric.MeterProvider
	now func() time.Time
}

// WithTracerProvider sets where the spans go. The default is the global
// TracerProvider (otel.GetTracerProvider) at the time of New.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where the metrics go. The default is the global
// MeterProvider (otel.GetMeterProvider) at the time of New.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithClock sets the clock that times operations and stamps spans, for
// tests. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Observer is an [auth.Observer] that records spans and metrics with
// OpenTelemetry. It is safe for concurrent use and never blocks beyond
// what the providers' instruments do (the SDK's do not). Create it with
// [New].
type Observer struct {
	tracer trace.Tracer
	now    func() time.Time

	operations metric.Int64Counter
	duration   metric.Float64Histogram
	hashWait   metric.Float64Histogram
	hashQueue  metric.Int64Histogram
	throttle   metric.Int64Counter
	replays    metric.Int64Counter
	reuse      metric.Int64Counter
}

var _ auth.Observer = (*Observer)(nil)

// New returns an Observer that records through the given providers (by
// default the global ones). It fails only if the MeterProvider refuses an
// instrument.
func New(opts ...Option) (*Observer, error) {
	c := config{}
	for _, opt := range opts {
		opt(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.now == nil {
		c.now = time.Now
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName), now: c.now}
	var errs [7]error
	o.operations, errs[0] = m.Int64Counter("auth.operations",
		metric.WithUnit("{operation}"),
		metric.WithDescription("Operations of the Authenticator, by operation, outcome and error code."))
	o.duration, errs[1] = m.Float64Histogram("auth.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("How long operations of the Authenticator took."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	o.hashWait, errs[2] = m.Float64Histogram("auth.password_hash.wait",
		metric.WithUnit("s"),
		metric.WithDescription("How long password-hashing requests waited for a hashing slot."),
		metric.WithExplicitBucketBoundaries(hashWaitBuckets...))
	o.hashQueue, errs[3] = m.Int64Histogram("auth.password_hash.queue",
		metric.WithUnit("{request}"),
		metric.WithDescription("How many password-hashing requests were waiting for a slot, the asking one included, when one asked."),
		metric.WithExplicitBucketBoundaries(queueBuckets...))
	o.throttle, errs[4] = m.Int64Counter("auth.throttle.decisions",
		metric.WithUnit("{decision}"),
		metric.WithDescription("Throttling decisions, by rule and whether the request was let through."))
	o.replays, errs[5] = m.Int64Counter("auth.refresh.replays",
		metric.WithUnit("{refresh}"),
		metric.WithDescription("Refreshes answered from the reuse window with the successor already issued."))
	o.reuse, errs[6] = m.Int64Counter("auth.refresh.reuse_detected",
		metric.WithUnit("{refresh}"),
		metric.WithDescription("Spent refresh tokens presented outside the reuse window; each revoked its session."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return o, nil
}

// contextKey is the type of the key under which OperationStart leaves the
// operation's state in its context.
type contextKey struct{ name string }

var stateKey = &contextKey{"otelauth operation"}

// opState is what OperationEnd needs of OperationStart.
type opState struct {
	op    auth.Operation
	start time.Time
	span  trace.Span
}

func stateFrom(ctx context.Context) *opState {
	st, _ := ctx.Value(stateKey).(*opState)
	return st
}

// OperationStart starts the operation's span, a child of whatever span ctx
// carries, and returns a context carrying it and the start time.
func (o *Observer) OperationStart(ctx context.Context, op auth.Operation) context.Context {
	start := o.now()
	ctx, span := o.tracer.Start(ctx, "auth."+string(op),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(start),
		trace.WithAttributes(AttrOperation.String(string(op))))
	return context.WithValue(ctx, stateKey, &opState{op: op, start: start, span: span})
}

// OperationEnd counts the operation and, given the context OperationStart
// returned, records its duration and ends its span. Given another context
// it only counts.
func (o *Observer) OperationEnd(ctx context.Context, op auth.Operation, end auth.OperationEnd) {
	now := o.now()
	outcome, errType, fault := classify(end)

	opAttr := AttrOperation.String(string(op))
	outAttr := AttrOutcome.String(outcome)
	if errType != "" {
		o.operations.Add(ctx, 1, metric.WithAttributes(opAttr, outAttr, AttrErrorType.String(errType)))
	} else {
		o.operations.Add(ctx, 1, metric.WithAttributes(opAttr, outAttr))
	}
	if end.Replay {
		o.replays.Add(ctx, 1)
	}
	if end.Reuse {
		o.reuse.Add(ctx, 1)
	}

	st := stateFrom(ctx)
	if st == nil || st.op != op {
		return
	}
	o.duration.Record(ctx, now.Sub(st.start).Seconds(), metric.WithAttributes(opAttr, outAttr))

	span := st.span
	span.SetAttributes(outAttr)
	if errType != "" {
		span.SetAttributes(AttrErrorType.String(errType))
	}
	if op == auth.OpRefresh {
		span.SetAttributes(AttrRefreshReplay.Bool(end.Replay), AttrRefreshReuse.Bool(end.Reuse))
	}
	if fault {
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(now))
}

// classify returns an operation's outcome, its error.type ("" on success)
// and whether it is a server fault, which sets the span's status to Error.
func classify(end auth.OperationEnd) (outcome, errType string, fault bool) {
	if end.Err == nil && end.Code == "" {
		return OutcomeSuccess, "", false
	}
	var ae *auth.Error
	isAuthErr := errors.As(end.Err, &ae)
	errType = end.Code
	if errType == "" && isAuthErr {
		errType = ae.Code
	}
	if errType == "" {
		errType = errorTypeOther
	}
	switch {
	case isAuthErr:
		fault = ae.Status >= 500
	case end.Err != nil:
		// Not one of the contract's errors: something went wrong inside.
		fault = true
	default:
		// A code without an error: the code alone tells.
		fault = errType == auth.ErrInternal.Code
	}
	return OutcomeFailure, errType, fault
}

// HashWait records the wait and the queue length, with the operation of
// ctx when it came from OperationStart, and adds an
// "auth.password_hash.slot" event to the operation's span.
func (o *Observer) HashWait(ctx context.Context, waited time.Duration, queued int, ok bool) {
	acq := AttrHashAcquired.Bool(ok)
	st := stateFrom(ctx)
	if st != nil {
		opAttr := AttrOperation.String(string(st.op))
		o.hashWait.Record(ctx, waited.Seconds(), metric.WithAttributes(opAttr, acq))
		o.hashQueue.Record(ctx, int64(queued), metric.WithAttributes(opAttr))
		st.span.AddEvent("auth.password_hash.slot", trace.WithTimestamp(o.now()), trace.WithAttributes(
			AttrHashWait.Float64(waited.Seconds()), AttrHashQueue.Int(queued), acq))
		return
	}
	o.hashWait.Record(ctx, waited.Seconds(), metric.WithAttributes(acq))
	o.hashQueue.Record(ctx, int64(queued))
}

// Throttle counts the decision and, when it refused the request, adds an
// "auth.throttled" event to the operation's span.
func (o *Observer) Throttle(ctx context.Context, rule string, allowed bool) {
	ruleAttr := AttrThrottleRule.String(rule)
	o.throttle.Add(ctx, 1, metric.WithAttributes(ruleAttr, AttrThrottleAllowed.Bool(allowed)))
	if !allowed {
		if st := stateFrom(ctx); st != nil {
			st.span.AddEvent("auth.throttled", trace.WithTimestamp(o.now()), trace.WithAttributes(ruleAttr))
		}
	}
}
