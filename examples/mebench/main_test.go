package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRunCountsRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	var out strings.Builder
	if err := run([]string{"-url", srv.URL, "-c", "4", "-d", "200ms", "-H", "Authorization: Bearer t0k"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Requests/sec: ") || strings.Contains(out.String(), "Requests/sec: 0.00") {
		t.Errorf("output:\n%s", out.String())
	}

	out.Reset()
	if err := run([]string{"-url", srv.URL, "-c", "2", "-d", "100ms"}, &out); err == nil || !strings.Contains(out.String(), "Non-2xx") {
		t.Errorf("401s were not reported: err %v, output:\n%s", err, out.String())
	}
}

func TestRunRefusesOtherHosts(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1/", "http://example.com/", "/relative"} {
		if err := run([]string{"-url", u, "-d", "10ms"}, new(strings.Builder)); err == nil {
			t.Errorf("-url %s was accepted", u)
		}
	}
}
