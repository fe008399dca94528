package otelauth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/otelauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is an Observer wired to an in-memory span recorder and a manual
// metric reader.
type harness struct {
	obs    *otelauth.Observer
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	clock  *clock
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(), clock: newClock()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	obs, err := otelauth.New(otelauth.WithTracerProvider(tp), otelauth.WithMeterProvider(mp), otelauth.WithClock(h.clock.Now))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.obs = obs
	return h
}

// metrics collects the metrics of the Observer's scope by name.
func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelauth.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelauth.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// step is one operation of a scripted sequence: what happens between its
// start and its end, how long it takes, and how it ends.
type step struct {
	op     auth.Operation
	during func(ctx context.Context, o *otelauth.Observer)
	took   time.Duration
	end    auth.OperationEnd
}

func (h *harness) run(steps []step) {
	for _, s := range steps {
		ctx := h.obs.OperationStart(context.Background(), s.op)
		if s.during != nil {
			s.during(ctx, h.obs)
		}
		h.clock.Advance(s.took)
		h.obs.OperationEnd(ctx, s.op, s.end)
		h.clock.Advance(time.Second) // between operations
	}
}

func failed(e *auth.Error) auth.OperationEnd { return auth.OperationEnd{Err: e, Code: e.Code} }

// scenario is the sequence both the unit test and the Prometheus test of
// the reference server script: register, a failed login, a throttled
// login, a refresh, a replay within the window, a reuse, a logout. The
// durations are exact binary fractions so that sums compare exactly.
var scenario = []step{
	{op: auth.OpRegister, took: 250 * time.Millisecond, during: func(ctx context.Context, o *otelauth.Observer) {
		o.Throttle(ctx, "register.address", true)
		o.HashWait(ctx, 0, 1, true)
	}},
	{op: auth.OpLogin, took: 125 * time.Millisecond, end: failed(auth.ErrInvalidCredentials), during: func(ctx context.Context, o *otelauth.Observer) {
		o.Throttle(ctx, "login.account_address", true)
		o.HashWait(ctx, 1953125*time.Nanosecond, 3, true) // 2^-9 s
	}},
	{op: auth.OpLogin, took: 1953125 * time.Nanosecond, end: failed(auth.ErrRateLimited), during: func(ctx context.Context, o *otelauth.Observer) {
		o.Throttle(ctx, "login.account_address", false)
	}},
	{op: auth.OpRefresh, took: 15625 * time.Microsecond}, // 2^-6 s
	{op: auth.OpRefresh, took: 15625 * time.Microsecond, end: auth.OperationEnd{Replay: true}},
	{op: auth.OpRefresh, took: 15625 * time.Microsecond, end: auth.OperationEnd{Err: auth.ErrInvalidToken, Code: "INVALID_TOKEN", Reuse: true}},
	{op: auth.OpLogout, took: 7812500 * time.Nanosecond}, // 2^-7 s
}

type wantSpan struct {
	name   string
	attrs  []attribute.KeyValue
	status codes.Code
	desc   string
	events []string
}

func TestScenarioSpans(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(scenario)

	want := []wantSpan{
		{name: "auth.register", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "register"), attribute.String("auth.outcome", "success"),
		}, events: []string{"auth.password_hash.slot"}},
		{name: "auth.login", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "login"), attribute.String("auth.outcome", "failure"),
			attribute.String("error.type", "INVALID_CREDENTIALS"),
		}, events: []string{"auth.password_hash.slot"}},
		{name: "auth.login", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "login"), attribute.String("auth.outcome", "failure"),
			attribute.String("error.type", "RATE_LIMITED"),
		}, events: []string{"auth.throttled"}},
		{name: "auth.refresh", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "refresh"), attribute.String("auth.outcome", "success"),
			attribute.Bool("auth.refresh.replay", false), attribute.Bool("auth.refresh.reuse", false),
		}},
		{name: "auth.refresh", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "refresh"), attribute.String("auth.outcome", "success"),
			attribute.Bool("auth.refresh.replay", true), attribute.Bool("auth.refresh.reuse", false),
		}},
		{name: "auth.refresh", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "refresh"), attribute.String("auth.outcome", "failure"),
			attribute.String("error.type", "INVALID_TOKEN"),
			attribute.Bool("auth.refresh.replay", false), attribute.Bool("auth.refresh.reuse", true),
		}},
		{name: "auth.logout", attrs: []attribute.KeyValue{
			attribute.String("auth.operation", "logout"), attribute.String("auth.outcome", "success"),
		}},
	}
	got := h.spans.Ended()
	if len(got) != len(want) {
		t.Fatalf("%d spans ended, want %d", len(got), len(want))
	}
	start := newClock().Now()
	for i, w := range want {
		s := got[i]
		if s.Name() != w.name {
			t.Errorf("span %d: name %q, want %q", i, s.Name(), w.name)
		}
		if s.SpanKind() != trace.SpanKindInternal {
			t.Errorf("span %d (%s): kind %v, want internal", i, w.name, s.SpanKind())
		}
		if gs, ws := attribute.NewSet(s.Attributes()...), attribute.NewSet(w.attrs...); !gs.Equals(&ws) {
			t.Errorf("span %d (%s): attributes %v, want %v", i, w.name, gs.ToSlice(), ws.ToSlice())
		}
		if st := s.Status(); st.Code != w.status || st.Description != w.desc {
			t.Errorf("span %d (%s): status %v %q, want %v %q", i, w.name, st.Code, st.Description, w.status, w.desc)
		}
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		if !equalStrings(events, w.events) {
			t.Errorf("span %d (%s): events %v, want %v", i, w.name, events, w.events)
		}
		if s.Parent().IsValid() {
			t.Errorf("span %d (%s): has a parent, want a root span", i, w.name)
		}
		if !s.StartTime().Equal(start) || !s.EndTime().Equal(start.Add(scenario[i].took)) {
			t.Errorf("span %d (%s): from %v to %v, want the clock's %v to %v", i, w.name,
				s.StartTime(), s.EndTime(), start, start.Add(scenario[i].took))
		}
		start = start.Add(scenario[i].took + time.Second)
	}

	// The events carry what they say and nothing else.
	ev := got[1].Events()[0]
	wantEv := attribute.NewSet(
		attribute.Float64("auth.password_hash.wait", 1.0/512),
		attribute.Int("auth.password_hash.queue", 3),
		attribute.Bool("auth.password_hash.acquired", true))
	if gs := attribute.NewSet(ev.Attributes...); !gs.Equals(&wantEv) {
		t.Errorf("hash event attributes %v, want %v", gs.ToSlice(), wantEv.ToSlice())
	}
	ev = got[2].Events()[0]
	wantEv = attribute.NewSet(attribute.String("auth.throttle.rule", "login.account_address"))
	if gs := attribute.NewSet(ev.Attributes...); !gs.Equals(&wantEv) {
		t.Errorf("throttled event attributes %v, want %v", gs.ToSlice(), wantEv.ToSlice())
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func attrs(kv ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kv...) }

var (
	opRegister = attribute.String("auth.operation", "register")
	opLogin    = attribute.String("auth.operation", "login")
	opRefresh  = attribute.String("auth.operation", "refresh")
	opLogout   = attribute.String("auth.operation", "logout")
	success    = attribute.String("auth.outcome", "success")
	failure    = attribute.String("auth.outcome", "failure")
)

var (
	durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
	waitBounds     = []float64{0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	queueBounds    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
)

// bucketsOf returns the bucket counts of one value among bounds (upper
// bounds inclusive, as the SDK counts).
func bucketsOf(bounds []float64, values ...float64) []uint64 {
	counts := make([]uint64, len(bounds)+1)
	for _, v := range values {
		i := 0
		for i < len(bounds) && v > bounds[i] {
			i++
		}
		counts[i]++
	}
	return counts
}

func floatPoint(a attribute.Set, bounds []float64, values ...float64) metricdata.HistogramDataPoint[float64] {
	p := metricdata.HistogramDataPoint[float64]{Attributes: a, Bounds: bounds, BucketCounts: bucketsOf(bounds, values...), Count: uint64(len(values))}
	lo, hi := values[0], values[0]
	for _, v := range values {
		p.Sum += v
		lo, hi = min(lo, v), max(hi, v)
	}
	p.Min, p.Max = metricdata.NewExtrema(lo), metricdata.NewExtrema(hi)
	return p
}

func TestScenarioMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run(scenario)
	got := h.metrics(t)

	cumulative := func(points ...metricdata.DataPoint[int64]) metricdata.Sum[int64] {
		return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: points}
	}
	point := func(v int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attrs(kv...), Value: v}
	}
	want := []metricdata.Metrics{
		{
			Name: "auth.operations", Unit: "{operation}",
			Description: "Operations of the Authenticator, by operation, outcome and error code.",
			Data: cumulative(
				point(1, opRegister, success),
				point(1, opLogin, failure, attribute.String("error.type", "INVALID_CREDENTIALS")),
				point(1, opLogin, failure, attribute.String("error.type", "RATE_LIMITED")),
				point(2, opRefresh, success),
				point(1, opRefresh, failure, attribute.String("error.type", "INVALID_TOKEN")),
				point(1, opLogout, success),
			),
		},
		{
			Name: "auth.operation.duration", Unit: "s",
			Description: "How long operations of the Authenticator took.",
			Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
				floatPoint(attrs(opRegister, success), durationBounds, 0.25),
				floatPoint(attrs(opLogin, failure), durationBounds, 0.125, 1.0/512),
				floatPoint(attrs(opRefresh, success), durationBounds, 1.0/64, 1.0/64),
				floatPoint(attrs(opRefresh, failure), durationBounds, 1.0/64),
				floatPoint(attrs(opLogout, success), durationBounds, 1.0/128),
			}},
		},
		{
			Name: "auth.password_hash.wait", Unit: "s",
			Description: "How long password-hashing requests waited for a hashing slot.",
			Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
				floatPoint(attrs(opRegister, attribute.Bool("auth.password_hash.acquired", true)), waitBounds, 0),
				floatPoint(attrs(opLogin, attribute.Bool("auth.password_hash.acquired", true)), waitBounds, 1.0/512),
			}},
		},
		{
			Name: "auth.password_hash.queue", Unit: "{request}",
			Description: "How many password-hashing requests were waiting for a slot, the asking one included, when one asked.",
			Data: metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{
				{Attributes: attrs(opRegister), Bounds: queueBounds, BucketCounts: bucketsOf(queueBounds, 1), Count: 1, Sum: 1, Min: metricdata.NewExtrema[int64](1), Max: metricdata.NewExtrema[int64](1)},
				{Attributes: attrs(opLogin), Bounds: queueBounds, BucketCounts: bucketsOf(queueBounds, 3), Count: 1, Sum: 3, Min: metricdata.NewExtrema[int64](3), Max: metricdata.NewExtrema[int64](3)},
			}},
		},
		{
			Name: "auth.throttle.decisions", Unit: "{decision}",
			Description: "Throttling decisions, by rule and whether the request was let through.",
			Data: cumulative(
				point(1, attribute.String("auth.throttle.rule", "register.address"), attribute.Bool("auth.throttle.allowed", true)),
				point(1, attribute.String("auth.throttle.rule", "login.account_address"), attribute.Bool("auth.throttle.allowed", true)),
				point(1, attribute.String("auth.throttle.rule", "login.account_address"), attribute.Bool("auth.throttle.allowed", false)),
			),
		},
		{
			Name: "auth.refresh.replays", Unit: "{refresh}",
			Description: "Refreshes answered from the reuse window with the successor already issued.",
			Data:        cumulative(point(1)),
		},
		{
			Name: "auth.refresh.reuse_detected", Unit: "{refresh}",
			Description: "Spent refresh tokens presented outside the reuse window; each revoked its session.",
			Data:        cumulative(point(1)),
		},
	}
	if len(got) != len(want) {
		names := []string{}
		for n := range got {
			names = append(names, n)
		}
		t.Errorf("got metrics %v, want %d", names, len(want))
	}
	for _, w := range want {
		g, ok := got[w.Name]
		if !ok {
			t.Errorf("no metric %s", w.Name)
			continue
		}
		metricdatatest.AssertEqual(t, w, g, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	}
}

// TestSpanStatus: only server faults set the span's status to Error; the
// description is the code, never the error's text.
func TestSpanStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		end      auth.OperationEnd
		errType  string
		status   codes.Code
		descript string
	}{
		{"success", auth.OperationEnd{}, "", codes.Unset, ""},
		{"invalid credentials", failed(auth.ErrInvalidCredentials), "INVALID_CREDENTIALS", codes.Unset, ""},
		{"rate limited", failed(auth.ErrRateLimited), "RATE_LIMITED", codes.Unset, ""},
		{"validation", failed(auth.ErrValidation), "VALIDATION_ERROR", codes.Unset, ""},
		{"internal", failed(auth.ErrInternal), "INTERNAL_ERROR", codes.Error, "INTERNAL_ERROR"},
		{"wrapped internal", auth.OperationEnd{Err: errors.Join(errors.New("pq: user@example.com"), auth.ErrInternal), Code: "INTERNAL_ERROR"}, "INTERNAL_ERROR", codes.Error, "INTERNAL_ERROR"},
		{"code taken from the error", auth.OperationEnd{Err: auth.ErrEmailExists}, "EMAIL_EXISTS", codes.Unset, ""},
		{"foreign error", auth.OperationEnd{Err: errors.New("disk on fire: user@example.com")}, "_OTHER", codes.Error, "_OTHER"},
		{"code alone", auth.OperationEnd{Code: "INTERNAL_ERROR"}, "INTERNAL_ERROR", codes.Error, "INTERNAL_ERROR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			ctx := h.obs.OperationStart(context.Background(), auth.OpLogin)
			h.obs.OperationEnd(ctx, auth.OpLogin, c.end)
			spans := h.spans.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			if st := s.Status(); st.Code != c.status || st.Description != c.descript {
				t.Errorf("status %v %q, want %v %q", st.Code, st.Description, c.status, c.descript)
			}
			set := attribute.NewSet(s.Attributes()...)
			v, ok := set.Value("error.type")
			if c.errType == "" {
				if ok {
					t.Errorf("error.type %q on success", v.AsString())
				}
			} else if v.AsString() != c.errType {
				t.Errorf("error.type %q, want %q", v.AsString(), c.errType)
			}
			if len(s.Events()) != 0 {
				t.Errorf("events %v, want none (no error text is recorded)", s.Events())
			}
		})
	}
}

// TestChildOfCallerSpan: the operation's span is a child of the span the
// caller's context carries, and the context OperationStart returns
// carries the operation's span.
func TestChildOfCallerSpan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "POST /login")
	opCtx := h.obs.OperationStart(ctx, auth.OpLogin)
	inner := trace.SpanFromContext(opCtx)
	h.obs.OperationEnd(opCtx, auth.OpLogin, auth.OperationEnd{})
	parent.End()
	spans := h.spans.Ended()
	if len(spans) != 2 || spans[0].Name() != "auth.login" {
		t.Fatalf("spans %v, want auth.login then the parent", spans)
	}
	if spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("auth.login's parent %v, want %v", spans[0].Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if inner.SpanContext().SpanID() != spans[0].SpanContext().SpanID() {
		t.Errorf("the returned context carries span %v, want auth.login's %v", inner.SpanContext().SpanID(), spans[0].SpanContext().SpanID())
	}
}

// TestEndWithoutStart: OperationEnd given a context that did not come from
// OperationStart (or from another operation's) counts the operation but
// neither times it nor ends any span; HashWait and Throttle outside an
// operation record their metrics without the operation.
func TestEndWithoutStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.obs.OperationEnd(context.Background(), auth.OpLogout, auth.OperationEnd{})
	ctx := h.obs.OperationStart(context.Background(), auth.OpLogin)
	h.obs.OperationEnd(ctx, auth.OpLogout, auth.OperationEnd{}) // not this context's operation
	h.obs.HashWait(context.Background(), 0, 1, false)
	h.obs.Throttle(context.Background(), "refresh.address", false)

	if n := len(h.spans.Ended()); n != 0 {
		t.Errorf("%d spans ended, want 0", n)
	}
	got := h.metrics(t)
	ops := got["auth.operations"].Data.(metricdata.Sum[int64])
	if len(ops.DataPoints) != 1 || ops.DataPoints[0].Value != 2 ||
		!ops.DataPoints[0].Attributes.Equals(ptr(attrs(opLogout, success))) {
		t.Errorf("auth.operations %+v, want 2 successful logouts", ops.DataPoints)
	}
	if _, ok := got["auth.operation.duration"]; ok {
		t.Errorf("auth.operation.duration recorded without a start")
	}
	wait := got["auth.password_hash.wait"].Data.(metricdata.Histogram[float64])
	if len(wait.DataPoints) != 1 || wait.DataPoints[0].Count != 1 ||
		!wait.DataPoints[0].Attributes.Equals(ptr(attrs(attribute.Bool("auth.password_hash.acquired", false)))) {
		t.Errorf("auth.password_hash.wait %+v, want one abandoned wait without an operation", wait.DataPoints)
	}
	thr := got["auth.throttle.decisions"].Data.(metricdata.Sum[int64])
	if len(thr.DataPoints) != 1 || thr.DataPoints[0].Value != 1 {
		t.Errorf("auth.throttle.decisions %+v, want one", thr.DataPoints)
	}
}

func ptr[T any](v T) *T { return &v }

// TestConcurrent: the Observer is safe for concurrent use (run with
// -race) and loses no count.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ctx := h.obs.OperationStart(context.Background(), auth.OpLogin)
				h.obs.Throttle(ctx, "login.account_address", true)
				h.obs.HashWait(ctx, time.Millisecond, 2, true)
				h.obs.OperationEnd(ctx, auth.OpLogin, failed(auth.ErrInvalidCredentials))
			}
		})
	}
	wg.Wait()
	if n := len(h.spans.Ended()); n != workers*each {
		t.Errorf("%d spans, want %d", n, workers*each)
	}
	got := h.metrics(t)
	ops := got["auth.operations"].Data.(metricdata.Sum[int64])
	if len(ops.DataPoints) != 1 || ops.DataPoints[0].Value != workers*each {
		t.Errorf("auth.operations %+v, want %d", ops.DataPoints, workers*each)
	}
	q := got["auth.password_hash.queue"].Data.(metricdata.Histogram[int64])
	if len(q.DataPoints) != 1 || q.DataPoints[0].Count != workers*each || q.DataPoints[0].Sum != 2*workers*each {
		t.Errorf("auth.password_hash.queue %+v, want %d requests of 2", q.DataPoints, workers*each)
	}
}

// TestDefaultProviders: without options the Observer uses the global
// providers (no-ops unless the program set them) and works.
func TestDefaultProviders(t *testing.T) {
	t.Parallel()
	obs, err := otelauth.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := obs.OperationStart(context.Background(), auth.OpVerify)
	obs.Throttle(ctx, "x", true)
	obs.HashWait(ctx, 0, 1, true)
	obs.OperationEnd(ctx, auth.OpVerify, auth.OperationEnd{})
}
