package otelauth_test

// This file compiles once auth.Config has its Observer field: rename it to
// scenario_test.go then.

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestAuthenticatorScenario runs a real Authenticator (memstore, cheap
// Argon2, the harness's clock) with the Observer through register, a
// failed login, a throttled login, a login from elsewhere, a refresh, a
// replay within the reuse window, a reuse after it and a logout, and
// checks the spans and metrics it left. auth.verify spans and counts are
// left out of the comparison: whether Logout's own token check is
// observed as a verify is the core's business, not this package's.
func TestAuthenticatorScenario(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const (
		email    = "scenario-user@example.com"
		password = "correct horse battery staple"
		wrong    = "not the password at all"
	)
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users: st, Tokens: st,
		Secret: []byte("otelauth scenario secret, 32+ bytes long"),
		Now:    h.clock.Now,
		Logger: slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{
			Argon2:                   auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1},
			InsecureAllowWeakHashing: true,
		},
		// One free failure per (account, address), then a minute's wait.
		Throttle: auth.ThrottleConfig{LoginAccountBackoff: auth.Backoff{Free: 1, Base: time.Minute, Max: time.Minute, Window: time.Hour}},
		Observer: h.obs,
	})
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	here := auth.WithClientIP(context.Background(), netip.MustParseAddr("192.0.2.1"))
	there := auth.WithClientIP(context.Background(), netip.MustParseAddr("198.51.100.7"))

	reg, err := a.Register(here, auth.RegisterInput{Email: email, Password: password, Name: "Scenario"})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := a.Login(here, email, wrong); !isCode(err, "INVALID_CREDENTIALS") {
		t.Fatalf("wrong password: %v, want INVALID_CREDENTIALS", err)
	}
	if _, err := a.Login(here, email, password); !isCode(err, "RATE_LIMITED") {
		t.Fatalf("second attempt: %v, want RATE_LIMITED", err)
	}
	other, err := a.Login(there, email, password)
	if err != nil {
		t.Fatalf("login from another address: %v", err)
	}
	next, err := a.Refresh(here, reg.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	again, err := a.Refresh(here, reg.RefreshToken)
	if err != nil || again.RefreshToken != next.RefreshToken {
		t.Fatalf("replay within the window: %v (same successor: %v)", err, err == nil && again.RefreshToken == next.RefreshToken)
	}
	h.clock.Advance(auth.DefaultRefreshReuseWindow + time.Second)
	if _, err := a.Refresh(here, reg.RefreshToken); !isCode(err, "INVALID_TOKEN") {
		t.Fatalf("reuse after the window: %v, want INVALID_TOKEN", err)
	}
	if err := a.Logout(there, other.AccessToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}

	// Spans, in order of ending.
	type span struct {
		name, outcome, errType string
		replay, reuse          string // "true"/"false" on refresh spans
		throttled              bool   // has an auth.throttled event
	}
	want := []span{
		{name: "auth.register", outcome: "success"},
		{name: "auth.login", outcome: "failure", errType: "INVALID_CREDENTIALS"},
		{name: "auth.login", outcome: "failure", errType: "RATE_LIMITED", throttled: true},
		{name: "auth.login", outcome: "success"},
		{name: "auth.refresh", outcome: "success", replay: "false", reuse: "false"},
		{name: "auth.refresh", outcome: "success", replay: "true", reuse: "false"},
		{name: "auth.refresh", outcome: "failure", errType: "INVALID_TOKEN", replay: "false", reuse: "true"},
		{name: "auth.logout", outcome: "success"},
	}
	var got []span
	secrets := []string{email, password, wrong, reg.AccessToken, reg.RefreshToken, next.RefreshToken, other.AccessToken, other.RefreshToken}
	for _, s := range h.spans.Ended() {
		checkNoSecrets(t, "span "+s.Name(), s.Attributes(), secrets)
		if s.Name() == "auth.verify" {
			continue
		}
		set := attribute.NewSet(s.Attributes()...)
		g := span{name: s.Name()}
		if v, ok := set.Value("auth.outcome"); ok {
			g.outcome = v.AsString()
		}
		if v, ok := set.Value("error.type"); ok {
			g.errType = v.AsString()
		}
		if v, ok := set.Value("auth.refresh.replay"); ok {
			g.replay = v.String()
		}
		if v, ok := set.Value("auth.refresh.reuse"); ok {
			g.reuse = v.String()
		}
		for _, e := range s.Events() {
			checkNoSecrets(t, "event "+e.Name, e.Attributes, secrets)
			g.throttled = g.throttled || e.Name == "auth.throttled"
		}
		if s.Status().Code.String() == "Error" {
			t.Errorf("span %s (%s): status Error, want unset for an expected outcome", g.name, g.errType)
		}
		got = append(got, g)
	}
	if len(got) != len(want) {
		t.Fatalf("spans %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	// Metrics.
	m := h.metrics(t)
	for _, mm := range m {
		forEachAttrs(mm.Data, func(a attribute.Set) { checkNoSecrets(t, "metric "+mm.Name, a.ToSlice(), secrets) })
	}
	ops := map[string]int64{}
	for _, p := range m["auth.operations"].Data.(metricdata.Sum[int64]).DataPoints {
		ops[key(p.Attributes, "auth.operation", "auth.outcome", "error.type")] = p.Value
	}
	delete(ops, "verify/success")
	wantOps := map[string]int64{
		"register/success":                  1,
		"login/failure/INVALID_CREDENTIALS": 1,
		"login/failure/RATE_LIMITED":        1,
		"login/success":                     1,
		"refresh/success":                   2,
		"refresh/failure/INVALID_TOKEN":     1,
		"logout/success":                    1,
	}
	if !equalCounts(ops, wantOps) {
		t.Errorf("auth.operations %v, want %v", ops, wantOps)
	}

	// Every operation is timed, on the injected clock, which did not move
	// while any ran.
	durs := map[string]int64{}
	for _, p := range m["auth.operation.duration"].Data.(metricdata.Histogram[float64]).DataPoints {
		durs[key(p.Attributes, "auth.operation", "auth.outcome")] = int64(p.Count)
		if p.Sum != 0 {
			t.Errorf("auth.operation.duration %v: sum %v, want 0 on a still clock", p.Attributes.ToSlice(), p.Sum)
		}
	}
	delete(durs, "verify/success")
	wantDurs := map[string]int64{"register/success": 1, "login/failure": 2, "login/success": 1, "refresh/success": 2, "refresh/failure": 1, "logout/success": 1}
	if !equalCounts(durs, wantDurs) {
		t.Errorf("auth.operation.duration counts %v, want %v", durs, wantDurs)
	}

	// Four hashing slots, each taken alone: registration and every login,
	// the throttled one too (Login checks the throttle while it holds a
	// slot).
	hashes := map[string]int64{}
	for _, p := range m["auth.password_hash.wait"].Data.(metricdata.Histogram[float64]).DataPoints {
		hashes[key(p.Attributes, "auth.operation", "auth.password_hash.acquired")] += int64(p.Count)
	}
	wantHashes := map[string]int64{"register/true": 1, "login/true": 3}
	if !equalCounts(hashes, wantHashes) {
		t.Errorf("auth.password_hash.wait counts %v, want %v", hashes, wantHashes)
	}
	var queued, queues uint64
	for _, p := range m["auth.password_hash.queue"].Data.(metricdata.Histogram[int64]).DataPoints {
		queued += uint64(p.Sum)
		queues += p.Count
	}
	if queues != 4 || queued != 4 {
		t.Errorf("auth.password_hash.queue: %d requests, %d queued in all; want 4 alone", queues, queued)
	}

	// Throttling: exactly one refusal, of a login rule; allowed decisions
	// besides.
	var denied, allowed int64
	for _, p := range m["auth.throttle.decisions"].Data.(metricdata.Sum[int64]).DataPoints {
		rule, _ := p.Attributes.Value("auth.throttle.rule")
		ok, _ := p.Attributes.Value("auth.throttle.allowed")
		if ok.AsBool() {
			allowed += p.Value
			continue
		}
		denied += p.Value
		if !strings.HasPrefix(rule.AsString(), "login") {
			t.Errorf("refusal by rule %q, want a login rule", rule.AsString())
		}
	}
	if denied != 1 || allowed == 0 {
		t.Errorf("auth.throttle.decisions: %d refused, %d allowed; want 1 and some", denied, allowed)
	}

	for _, name := range []string{"auth.refresh.replays", "auth.refresh.reuse_detected"} {
		pts := m[name].Data.(metricdata.Sum[int64]).DataPoints
		if len(pts) != 1 || pts[0].Value != 1 {
			t.Errorf("%s %+v, want 1", name, pts)
		}
	}
}

func isCode(err error, code string) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Code == code
}

// key joins the values of keys in set with "/", skipping absent ones.
func key(set attribute.Set, keys ...attribute.Key) string {
	var parts []string
	for _, k := range keys {
		if v, ok := set.Value(k); ok {
			parts = append(parts, v.String())
		}
	}
	return strings.Join(parts, "/")
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkNoSecrets fails if any attribute value contains one of secrets.
func checkNoSecrets(t *testing.T, where string, kvs []attribute.KeyValue, secrets []string) {
	t.Helper()
	for _, kv := range kvs {
		v := kv.Value.String()
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				t.Errorf("%s: attribute %s carries a secret", where, kv.Key)
			}
		}
	}
}

// forEachAttrs calls f with the attributes of every data point of data.
func forEachAttrs(data metricdata.Aggregation, f func(attribute.Set)) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			f(p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			f(p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			f(p.Attributes)
		}
	}
}
