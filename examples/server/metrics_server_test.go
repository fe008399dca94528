package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestServerMetrics runs the observability scenario against the reference
// server started with -metrics, over HTTP (register, a failed login, a
// refresh, a replay within the reuse window, a reuse after the successor
// was spent, logout, a throttled login), then scrapes GET /metrics and
// parses it with the Prometheus text parser.
func TestServerMetrics(t *testing.T) {
	srv := start(t, nil, "-db", "memory", "-metrics")
	api := srv.url + "/api/v2/auth"
	var reg struct{ AccessToken, RefreshToken string }
	status, body := call(t, http.MethodPost, api+"/register", "", map[string]string{"email": "metrics@example.com", "password": "securepassword123", "name": "M"})
	if status != http.StatusCreated || json.Unmarshal(body, &reg) != nil {
		t.Fatalf("register: %d %s", status, body)
	}
	if status, body := call(t, http.MethodPost, api+"/login", "", map[string]string{"email": "metrics@example.com", "password": "wrong password!"}); status != http.StatusUnauthorized {
		t.Fatalf("wrong login: %d %s", status, body)
	}
	refresh := func(tok string) (int, string, string) {
		var p struct{ AccessToken, RefreshToken string }
		st, b := call(t, http.MethodPost, api+"/refresh", "", map[string]string{"refreshToken": tok})
		_ = json.Unmarshal(b, &p)
		return st, p.AccessToken, p.RefreshToken
	}
	st, _, rt2 := refresh(reg.RefreshToken)
	if st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	if st, _, _ := refresh(reg.RefreshToken); st != http.StatusOK {
		t.Fatalf("replay within the window: %d", st)
	}
	if st, _, _ := refresh(rt2); st != http.StatusOK {
		t.Fatalf("refresh of the successor: %d", st)
	}
	if st, _, _ := refresh(reg.RefreshToken); st != http.StatusUnauthorized {
		t.Fatalf("grandparent: %d, want 401", st)
	}
	// Another session to log out of (the reuse revoked the first).
	var login struct{ AccessToken string }
	status, body = call(t, http.MethodPost, api+"/login", "", map[string]string{"email": "metrics@example.com", "password": "securepassword123"})
	if status != http.StatusOK || json.Unmarshal(body, &login) != nil {
		t.Fatalf("login: %d %s", status, body)
	}
	if status, body := call(t, http.MethodPost, api+"/logout", login.AccessToken, nil); status != http.StatusOK {
		t.Fatalf("logout: %d %s", status, body)
	}
	// Wrong passwords until the throttle answers: the login above reset
	// the (account, address) count, so five free failures, then a refusal.
	for i := range 6 {
		status, body := call(t, http.MethodPost, api+"/login", "", map[string]string{"email": "metrics@example.com", "password": "wrong password!"})
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("wrong login %d after logout: %d %s, want %d", i+1, status, body, want)
		}
	}

	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	ops := map[string]float64{}
	for _, m := range families["auth_operations_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		ops[l["auth_operation"]+"/"+l["auth_outcome"]+"/"+l["error_type"]] += m.GetCounter().GetValue()
	}
	for k, want := range map[string]float64{
		"register/success/":                 1,
		"login/failure/INVALID_CREDENTIALS": 6,
		"login/failure/RATE_LIMITED":        1,
		"login/success/":                    1,
		"refresh/success/":                  3,
		"refresh/failure/INVALID_TOKEN":     1,
		"logout/success/":                   1,
	} {
		if ops[k] != want {
			t.Errorf("auth_operations_total{%s} = %v, want %v (all: %v)", k, ops[k], want, ops)
		}
	}
	one := func(name string) float64 {
		f := families[name]
		if f == nil || len(f.GetMetric()) != 1 {
			t.Errorf("%s: %v", name, f)
			return -1
		}
		return f.GetMetric()[0].GetCounter().GetValue()
	}
	if got := one("auth_refresh_replays_total"); got != 1 {
		t.Errorf("auth_refresh_replays_total = %v, want 1", got)
	}
	if got := one("auth_refresh_reuse_detected_total"); got != 1 {
		t.Errorf("auth_refresh_reuse_detected_total = %v, want 1", got)
	}
	refused := 0.0
	for _, m := range families["auth_throttle_decisions_total"].GetMetric() {
		for _, p := range m.GetLabel() {
			if p.GetName() == "auth_throttle_allowed" && p.GetValue() == "false" {
				refused += m.GetCounter().GetValue()
			}
		}
	}
	if refused < 1 {
		t.Errorf("auth_throttle_decisions_total shows no refusal")
	}
	if families["auth_operation_duration_seconds"] == nil || families["auth_password_hash_wait_seconds"] == nil {
		t.Errorf("duration or hash-wait histograms missing: %v", keys(families))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
