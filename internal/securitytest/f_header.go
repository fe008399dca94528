package securitytest

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// Section F: Authorization header variants.
func rowsF() []row {
	return []row{
		{id: "F01", name: "authorization_header_variants", fn: testAuthorizationHeaderVariants},
		{id: "F08", name: "header_name_in_lower_case_on_the_wire", fn: testLowerCaseHeaderName},
		{id: "F09", name: "token_in_a_cookie_ignored", fn: testTokenInCookie},
	}
}

// testAuthorizationHeaderVariants covers F01 (the scheme in any case), F02
// (several spaces: accepted, as RFC 6750's 1*SP allows), F03 (a trailing
// space accepted, a tab refused), F04 (no token), F05 (other schemes), F06
// (extra material around the token), F07 (several Authorization headers:
// refused, whichever comes first) and F10 (control and non-ASCII
// characters). An empty code accepts either 401 code.
func testAuthorizationHeaderVariants(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "hdr@example.com")
	bob := e.registerHTTP(t, "bob@example.com")
	tok := sess.access
	cases := []struct {
		name   string
		values []string // one Authorization header per value; nil for none
		status int
		code   string
	}{
		{"Bearer T", []string{"Bearer " + tok}, 200, ""},
		{"bearer T", []string{"bearer " + tok}, 200, ""},
		{"BEARER T", []string{"BEARER " + tok}, 200, ""},
		{"bEaReR T", []string{"bEaReR " + tok}, 200, ""},
		{"two spaces", []string{"Bearer  " + tok}, 200, ""},
		{"trailing space", []string{"Bearer " + tok + " "}, 200, ""},
		{"missing", nil, 401, "UNAUTHORIZED"},
		{"empty", []string{""}, 401, "UNAUTHORIZED"},
		{"Bearer alone", []string{"Bearer"}, 401, "UNAUTHORIZED"},
		{"Bearer and a space", []string{"Bearer "}, 401, "UNAUTHORIZED"},
		{`Bearer ""`, []string{`Bearer ""`}, 401, ""},
		{"Basic", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("hdr@example.com:"+goodPassword))}, 401, "UNAUTHORIZED"},
		{"Token T", []string{"Token " + tok}, 401, "UNAUTHORIZED"},
		{"JWT T", []string{"JWT " + tok}, 401, "UNAUTHORIZED"},
		{"raw T", []string{tok}, 401, "UNAUTHORIZED"},
		{"BearerT", []string{"Bearer" + tok}, 401, ""},
		{"Bearer T extra", []string{"Bearer " + tok + " extra"}, 401, ""},
		{"quoted T", []string{`Bearer "` + tok + `"`}, 401, ""},
		{"tab", []string{"Bearer\t" + tok}, 401, ""},
		{"leading tab", []string{"\tBearer " + tok}, 401, ""},
		{"two tokens in one header", []string{"Bearer " + tok + ",Bearer " + tok}, 401, ""},
		{"two tokens in one header, comma and space", []string{"Bearer " + tok + ", Bearer " + bob.access}, 401, ""},
		{"token pasted twice", []string{"Bearer " + tok + tok}, 401, ""},
		{"control character", []string{"Bearer " + tok + "\x01"}, 401, ""},
		{"NUL", []string{"Bearer " + tok + "\x00"}, 401, ""},
		{"DEL in the token", []string{"Bearer " + tok[:10] + "\x7f" + tok[10:]}, 401, ""},
		{"non-ASCII after the token", []string{"Bearer " + tok + "é"}, 401, ""},
		{"non-ASCII scheme", []string{"Bеarer " + tok}, 401, ""},
		{"invalid UTF-8", []string{"Bearer " + tok + "\xff"}, 401, ""},
		{"two headers, both valid", []string{"Bearer " + tok, "Bearer " + tok}, 401, "INVALID_TOKEN"},
		{"two headers, junk first", []string{"Bearer junk", "Bearer " + tok}, 401, "INVALID_TOKEN"},
		{"two headers, junk second", []string{"Bearer " + tok, "Bearer junk"}, 401, "INVALID_TOKEN"},
		{"two headers, alice then bob", []string{"Bearer " + tok, "Bearer " + bob.access}, 401, "INVALID_TOKEN"},
		{"two headers, empty first", []string{"", "Bearer " + tok}, 401, "INVALID_TOKEN"},
	}
	for _, c := range cases {
		var h hdr
		for _, v := range c.values {
			h = append(h, [2]string{"Authorization", v})
		}
		for _, route := range []struct{ method, path string }{{http.MethodGet, "/me"}, {http.MethodPost, "/logout"}} {
			if c.status == http.StatusOK && route.path == "/logout" {
				continue // it would end the session the other cases use
			}
			what := route.method + " " + route.path + " " + c.name
			r := e.do(route.method, route.path, nil, h)
			if c.status == http.StatusOK {
				if r.status != http.StatusOK {
					t.Errorf("%s: status %d, want 200; body %s", what, r.status, r.body)
				}
				continue
			}
			code := c.code
			if code == "" {
				code = "INVALID_TOKEN"
				if strings.Contains(string(r.body), "UNAUTHORIZED") {
					code = "UNAUTHORIZED"
				}
			}
			checkError(t, what, r, http.StatusUnauthorized, code)
		}
	}
	// None of the refused requests logged anyone out.
	for _, tok := range []string{sess.access, bob.access} {
		if r := e.do(http.MethodGet, "/me", nil, bearer(tok)); r.status != http.StatusOK {
			t.Errorf("GET /me after the variants: status %d", r.status)
		}
	}
}

// testLowerCaseHeaderName: F08. Header names are case-insensitive on the
// wire; the server canonicalizes "authorization".
func testLowerCaseHeaderName(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "lower@example.com")
	for _, name := range []string{"authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"} {
		req, err := http.NewRequest(http.MethodGet, e.server().URL+target("/me"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header[name] = []string{"Bearer " + sess.access} // sent as written
		r, err := e.roundTrip(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK {
			t.Errorf("header %q: status %d, want 200; body %s", name, r.status, r.body)
		}
	}
	// Two headers that differ only in case are two headers.
	req, err := http.NewRequest(http.MethodGet, e.server().URL+target("/me"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["authorization"] = []string{"Bearer " + sess.access}
	req.Header["Authorization"] = []string{"Bearer junk"}
	r, err := e.roundTrip(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, "authorization and Authorization", r, http.StatusUnauthorized, "INVALID_TOKEN")
}

// testTokenInCookie: F09. There is no cookie mode: a token in a cookie, or
// in any other header, authenticates nothing.
func testTokenInCookie(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "cookie@example.com")
	for _, h := range []hdr{
		{{"Cookie", "access_token=" + sess.access}},
		{{"Cookie", "accessToken=" + sess.access + "; token=" + sess.access}},
		{{"X-Access-Token", sess.access}},
		{{"X-Authorization", "Bearer " + sess.access}},
		{{"Proxy-Authorization", "Bearer " + sess.access}},
	} {
		for _, route := range []struct{ method, path string }{{http.MethodGet, "/me"}, {http.MethodPost, "/logout"}} {
			checkError(t, route.method+" "+route.path+" with "+h[0][0], e.do(route.method, route.path, nil, h), http.StatusUnauthorized, "UNAUTHORIZED")
		}
	}
	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Errorf("GET /me with the header after the attempts: status %d", r.status)
	}
}
