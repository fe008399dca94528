package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsDisabled: without -metrics there is no Observer, no handler,
// and a shutdown that does nothing.
func TestMetricsDisabled(t *testing.T) {
	obs, h, shutdown, err := metricsSetup(false)
	if err != nil || obs != nil || h != nil || shutdown == nil {
		t.Fatalf("metricsSetup(false) = %v, %v, shutdown set %v, %v; want nil, nil, a shutdown, nil", obs, h, shutdown != nil, err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestMetricsScrape drives the Observer of -metrics through register, a
// failed login, a throttled login, a refresh, a replay, a reuse and a
// logout, scrapes GET /metrics and checks the families and values a
// Prometheus server would read.
func TestMetricsScrape(t *testing.T) {
	obs, h, shutdown, err := metricsSetup(true)
	if err != nil {
		t.Fatalf("metricsSetup: %v", err)
	}
	defer func() {
		if err := shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()

	type step struct {
		op     auth.Operation
		during func(ctx context.Context)
		end    auth.OperationEnd
	}
	fail := func(e *auth.Error) auth.OperationEnd { return auth.OperationEnd{Err: e, Code: e.Code} }
	for _, s := range []step{
		{op: auth.OpRegister, during: func(ctx context.Context) {
			obs.Throttle(ctx, "register.address", true)
			obs.HashWait(ctx, 0, 1, true)
		}},
		{op: auth.OpLogin, end: fail(auth.ErrInvalidCredentials), during: func(ctx context.Context) {
			obs.Throttle(ctx, "login.account_address", true)
			obs.HashWait(ctx, 1953125*time.Nanosecond, 3, true) // 2^-9 s
		}},
		{op: auth.OpLogin, end: fail(auth.ErrRateLimited), during: func(ctx context.Context) {
			obs.Throttle(ctx, "login.account_address", false)
		}},
		{op: auth.OpRefresh},
		{op: auth.OpRefresh, end: auth.OperationEnd{Replay: true}},
		{op: auth.OpRefresh, end: auth.OperationEnd{Err: auth.ErrInvalidToken, Code: "INVALID_TOKEN", Reuse: true}},
		{op: auth.OpLogout},
	} {
		ctx := obs.OperationStart(context.Background(), s.op)
		if s.during != nil {
			s.during(ctx)
		}
		obs.OperationEnd(ctx, s.op, s.end)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}

	// family returns the family called name after checking its type, and
	// its metrics by the labels named (absent ones skipped), "/"-joined.
	family := func(name string, typ dto.MetricType, labels ...string) map[string]*dto.Metric {
		t.Helper()
		f, ok := families[name]
		if !ok {
			t.Errorf("no family %s", name)
			return nil
		}
		if f.GetType() != typ {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s: no HELP", name)
		}
		out := map[string]*dto.Metric{}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["otel_scope_name"] != "github.com/ingestiq/auth/otelauth" {
				t.Errorf("%s: otel_scope_name %q", name, got["otel_scope_name"])
			}
			var parts []string
			for _, l := range labels {
				if v, ok := got[l]; ok {
					parts = append(parts, v)
				}
			}
			out[strings.Join(parts, "/")] = m
		}
		return out
	}
	counters := func(ms map[string]*dto.Metric) map[string]float64 {
		out := map[string]float64{}
		for k, m := range ms {
			out[k] = m.GetCounter().GetValue()
		}
		return out
	}
	histCounts := func(ms map[string]*dto.Metric) map[string]float64 {
		out := map[string]float64{}
		for k, m := range ms {
			out[k] = float64(m.GetHistogram().GetSampleCount())
		}
		return out
	}
	check := func(name string, got, want map[string]float64) {
		t.Helper()
		if !equalFloats(got, want) {
			t.Errorf("%s = %v, want %v", name, sorted(got), sorted(want))
		}
	}

	check("auth_operations_total", counters(family("auth_operations_total", dto.MetricType_COUNTER, "auth_operation", "auth_outcome", "error_type")), map[string]float64{
		"register/success":                  1,
		"login/failure/INVALID_CREDENTIALS": 1,
		"login/failure/RATE_LIMITED":        1,
		"refresh/success":                   2,
		"refresh/failure/INVALID_TOKEN":     1,
		"logout/success":                    1,
	})
	// Durations are the real clock's here: only counted.
	check("auth_operation_duration_seconds count", histCounts(family("auth_operation_duration_seconds", dto.MetricType_HISTOGRAM, "auth_operation", "auth_outcome")), map[string]float64{
		"register/success": 1, "login/failure": 2, "refresh/success": 2, "refresh/failure": 1, "logout/success": 1,
	})

	waits := family("auth_password_hash_wait_seconds", dto.MetricType_HISTOGRAM, "auth_operation", "auth_password_hash_acquired")
	check("auth_password_hash_wait_seconds count", histCounts(waits), map[string]float64{"register/true": 1, "login/true": 1})
	if w := waits["login/true"]; w != nil {
		hist := w.GetHistogram()
		if hist.GetSampleSum() != 1.0/512 {
			t.Errorf("login hash wait sum %v, want %v", hist.GetSampleSum(), 1.0/512)
		}
		// Cumulative buckets: the wait of 2^-9 s is above 0 and 0.001, at
		// most 0.005.
		for _, b := range hist.GetBucket() {
			want := uint64(0)
			if b.GetUpperBound() >= 0.005 {
				want = 1
			}
			if b.GetCumulativeCount() != want {
				t.Errorf("login hash wait bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
	}
	if w := waits["register/true"]; w != nil {
		// A wait of zero falls in the le="0" bucket.
		if b := w.GetHistogram().GetBucket(); len(b) == 0 || b[0].GetUpperBound() != 0 || b[0].GetCumulativeCount() != 1 {
			t.Errorf("register hash wait buckets %v, want the zero wait under le=0", b)
		}
	}
	queues := family("auth_password_hash_queue", dto.MetricType_HISTOGRAM, "auth_operation")
	qs := map[string]float64{}
	for k, m := range queues {
		qs[k] = m.GetHistogram().GetSampleSum()
	}
	check("auth_password_hash_queue sum", qs, map[string]float64{"register": 1, "login": 3})

	check("auth_throttle_decisions_total", counters(family("auth_throttle_decisions_total", dto.MetricType_COUNTER, "auth_throttle_rule", "auth_throttle_allowed")), map[string]float64{
		"register.address/true":       1,
		"login.account_address/true":  1,
		"login.account_address/false": 1,
	})
	check("auth_refresh_replays_total", counters(family("auth_refresh_replays_total", dto.MetricType_COUNTER)), map[string]float64{"": 1})
	check("auth_refresh_reuse_detected_total", counters(family("auth_refresh_reuse_detected_total", dto.MetricType_COUNTER)), map[string]float64{"": 1})

	// The Go runtime's metrics come along.
	if _, ok := families["go_goroutines"]; !ok {
		t.Errorf("no go_goroutines family")
	}
}

func equalFloats(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sorted(m map[string]float64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%g", k, v))
	}
	sort.Strings(out)
	return out
}
