package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// raw sends a request with the given body bytes and headers, and returns
// the response (body read) so that headers can be checked too.
func raw(t *testing.T, method, url string, body []byte, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// TestContractBadInputOverHTTP sends the contract's bad-input rows to the
// reference server over real HTTP (default settings, throttling on,
// SQLite): every answer has the contract's status, code, error shape and
// headers, and none creates anything.
func TestContractBadInputOverHTTP(t *testing.T) {
	srv := start(t, map[string]string{"AUTH_SECRET": testSecret}, "-db", "sqlite:"+filepath.Join(t.TempDir(), "auth.db"))
	api := srv.url + "/api/v2/auth"
	jsonCT := map[string]string{"Content-Type": "application/json"}
	good := `{"email": "row@example.com", "password": "securepassword123", "name": "John Doe"}`

	cases := []struct {
		name, method, path string
		body               []byte
		headers            map[string]string
		status             int
		code               string
	}{
		{"truncated JSON", "POST", "/register", []byte(`{"email":"a@x.io","password":`), jsonCT, 400, "INVALID_REQUEST"},
		{"empty body", "POST", "/login", []byte{}, jsonCT, 400, "INVALID_REQUEST"},
		{"null body", "POST", "/register", []byte(`null`), jsonCT, 400, "INVALID_REQUEST"},
		{"array body", "POST", "/refresh", []byte(`[]`), jsonCT, 400, "INVALID_REQUEST"},
		{"two objects", "POST", "/register", []byte(good + `{"email":"b@x.io"}`), jsonCT, 400, "INVALID_REQUEST"},
		{"duplicate key", "POST", "/register", []byte(`{"email":"a@x.io","EMAIL":"b@x.io","password":"securepassword123","name":"J"}`), jsonCT, 400, "INVALID_REQUEST"},
		{"no content type", "POST", "/register", []byte(good), nil, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"text/plain", "POST", "/login", []byte(`{"email":"a@x.io","password":"securepassword123"}`), map[string]string{"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"over 64 KiB", "POST", "/register", []byte(`{"name":"` + strings.Repeat("x", 64<<10) + `"}`), jsonCT, 413, "PAYLOAD_TOO_LARGE"},
		{"missing field", "POST", "/register", []byte(`{"email":"a@x.io","password":"securepassword123"}`), jsonCT, 400, "VALIDATION_ERROR"},
		{"wrong type", "POST", "/register", []byte(`{"email":123,"password":"securepassword123","name":"J"}`), jsonCT, 400, "VALIDATION_ERROR"},
		{"short password", "POST", "/register", []byte(`{"email":"a@x.io","password":"short","name":"J"}`), jsonCT, 400, "VALIDATION_ERROR"},
		{"display-name email", "POST", "/register", []byte(`{"email":"Alice <a@x.io>","password":"securepassword123","name":"J"}`), jsonCT, 400, "VALIDATION_ERROR"},
		{"GET register", "GET", "/register", nil, nil, 405, "METHOD_NOT_ALLOWED"},
		{"POST me", "POST", "/me", nil, nil, 405, "METHOD_NOT_ALLOWED"},
		{"no bearer", "GET", "/me", nil, nil, 401, "UNAUTHORIZED"},
		{"garbage bearer", "GET", "/me", nil, map[string]string{"Authorization": "Bearer abc.def.ghi"}, 401, "INVALID_TOKEN"},
		{"garbage refresh", "POST", "/refresh", []byte(`{"refreshToken":"abc.def.ghi"}`), jsonCT, 401, "INVALID_TOKEN"},
		{"unknown route", "GET", "/nope", nil, nil, 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		resp, data := raw(t, tc.method, api+tc.path, tc.body, tc.headers)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(data, &e); err != nil || resp.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, data, tc.status, tc.code)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: Content-Type %q, nosniff %q", tc.name, ct, resp.Header.Get("X-Content-Type-Options"))
		}
		switch tc.status {
		case 401:
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
		case 405:
			if resp.Header.Get("Allow") == "" {
				t.Errorf("%s: 405 without Allow", tc.name)
			}
		}
	}
	// None of the failed registrations created a user.
	for _, email := range []string{"a@x.io", "b@x.io", "row@example.com"} {
		expectError(t, 401, "INVALID_CREDENTIALS", "POST", api+"/login", "", map[string]string{"email": email, "password": "securepassword123"})
	}
}

// TestContractConcurrencyOverHTTP runs the contract's concurrency rows
// against the reference server over real HTTP, with default settings
// (throttling on) on SQLite: 16 parallel refreshes of one token give one 200
// and fifteen 401; 16 parallel registrations of one email in mixed case give
// one 201 and fifteen 409; 64 parallel logins of one account all succeed.
// The logins queue for the hashing slots for as long as the machine needs
// (-hash-wait and -write-timeout are an hour): that they are not
// throttled is the property, not how fast a loaded machine hashes 64
// passwords.
func TestContractConcurrencyOverHTTP(t *testing.T) {
	srv := start(t, map[string]string{"AUTH_SECRET": testSecret}, "-db", "sqlite:"+filepath.Join(t.TempDir(), "auth.db"),
		"-hash-wait", "1h", "-write-timeout", "1h")
	api := srv.url + "/api/v2/auth"

	parallel := func(n int, f func(i int) int) map[int]int {
		var mu sync.Mutex
		var wg sync.WaitGroup
		counts := map[int]int{}
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				s := f(i)
				mu.Lock()
				counts[s]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		return counts
	}

	variants := []string{"race@example.com", "RACE@example.com", "Race@Example.com", "rAcE@eXaMpLe.CoM"}
	regs := parallel(16, func(i int) int {
		s, _ := call(t, "POST", api+"/register", "", map[string]string{"email": variants[i%len(variants)], "password": "securepassword123", "name": "Racer"})
		return s
	})
	if regs[201] != 1 || regs[409] != 15 {
		t.Fatalf("16 parallel registrations: %v, want one 201 and fifteen 409", regs)
	}

	var login authResult
	expect(t, 200, "POST", api+"/login", "", map[string]string{"email": "race@example.com", "password": "securepassword123"}, &login)
	refreshes := parallel(16, func(int) int {
		s, _ := call(t, "POST", api+"/refresh", "", map[string]string{"refreshToken": login.RefreshToken})
		return s
	})
	// Within the default reuse window every one gets the same successor.
	if refreshes[200] != 16 {
		t.Fatalf("16 parallel refreshes of one token: %v, want 16 × 200 (the reuse window)", refreshes)
	}

	logins := parallel(64, func(int) int {
		s, _ := call(t, "POST", api+"/login", "", map[string]string{"email": "Race@example.com", "password": "securepassword123"})
		return s
	})
	if logins[200] != 64 {
		t.Fatalf("64 parallel logins: %v, want 64 × 200", logins)
	}
}
