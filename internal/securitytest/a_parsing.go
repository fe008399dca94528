package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ingestiq/auth/internal/testutil"
)

// Section A: request parsing and HTTP hygiene.
func rowsA() []row {
	return []row{
		{id: "A01", name: "bodies_not_exactly_one_object_are_invalid_request", fn: testBodiesNotOneObject},
		{id: "A02", name: "empty_body_without_content_type", fn: testEmptyBodyWithoutContentType},
		{id: "A07", name: "unknown_fields_never_bind", fn: testUnknownFieldsIgnored},
		{id: "A08", name: "wrong_types_are_validation_errors", fn: testWrongTypes},
		{id: "A09", name: "missing_null_empty_and_invalid_fields", fn: testMissingFields},
		{id: "A10", name: "deep_nesting_refused", fn: testDeepNesting},
		{id: "A11", name: "oversized_bodies_are_413", fn: testPayloadTooLarge},
		{id: "A12", name: "other_media_types_are_415", fn: testUnsupportedMediaType},
		{id: "A13", name: "json_media_type_any_case", fn: testMediaTypeCase},
		{id: "A14", name: "other_methods_are_405", fn: testMethodNotAllowed},
		{id: "A15", name: "cors_preflight_reflects_no_origin", fn: testCORSPreflight},
		{id: "A16", name: "path_variants_never_serve", fn: testPathVariantsNeverServe},
		{id: "A17", name: "headers_on_every_endpoint", fn: testHeadersOnEveryEndpoint},
		{id: "A18", name: "credentials_never_taken_from_url", fn: testCredentialsNeverTakenFromURL},
		{id: "A19", name: "huge_authorization_header_refused", fn: testHugeAuthorizationHeader},
	}
}

// testBodiesNotOneObject covers A01 (truncated JSON), A02 (empty body), A03
// (null), A04 (arrays and scalars), A05 (trailing data) and A06 (duplicate
// keys, also in another letter case).
func testBodiesNotOneObject(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "body@example.com")
	// Each route gets a body that would succeed on its own, so that a
	// decoder that reads only part of the input would answer 2xx.
	routes := []struct{ path, valid, key string }{
		{"/register", testutil.RegisterBody("fresh@example.com", goodPassword, "Fresh"), "email"},
		{"/login", testutil.LoginBody("body@example.com", goodPassword), "email"},
		{"/refresh", testutil.RefreshBody(sess.refresh), "refreshToken"},
	}
	for _, rt := range routes {
		cases := []struct{ name, body string }{
			{"truncated", rt.valid[:len(rt.valid)/2]},
			{"empty", ""},
			{"white space", " \n "},
			{"null", "null"},
			{"empty array", "[]"},
			{"array of the object", "[" + rt.valid + "]"},
			{"string", `"x"`},
			{"number", "123"},
			{"boolean", "true"},
			{"two objects", rt.valid + rt.valid},
			{"object then empty object", rt.valid + "{}"},
			{"trailing junk", rt.valid + " junk"},
			{"trailing comma", rt.valid[:len(rt.valid)-1] + ",}"},
			{"duplicate key", `{"` + rt.key + `":"dup@example.com",` + rt.valid[1:]},
			{"duplicate key in another case", `{"` + strings.ToUpper(rt.key) + `":"dup@example.com",` + rt.valid[1:]},
			{"invalid UTF-8", `{"junk":"` + "\xff\xfe" + `",` + rt.valid[1:]},
		}
		for _, c := range cases {
			r := e.postJSON(rt.path, c.body)
			checkError(t, rt.path+": "+c.name, r, http.StatusBadRequest, "INVALID_REQUEST")
		}
	}
	if n := e.createdCount(); n != 1 {
		t.Errorf("store saw %d successful CreateUser calls, want 1 (the setup's)", n)
	}
	// The refresh token was never spent by the rejected bodies.
	e.refreshHTTP(t, sess.refresh)
}

// testEmptyBodyWithoutContentType: A02 as a bare client sends it, with
// Content-Length 0 and no Content-Type.
func testEmptyBodyWithoutContentType(t *testing.T, s *suite) {
	e := s.env(t)
	for _, path := range []string{"/register", "/login", "/refresh"} {
		r := e.do(http.MethodPost, path, strings.NewReader(""), nil)
		checkError(t, "POST "+path+" with an empty body and no Content-Type", r, http.StatusBadRequest, "INVALID_REQUEST")
		r = e.do(http.MethodPost, path, nil, nil)
		checkError(t, "POST "+path+" with no body at all", r, http.StatusBadRequest, "INVALID_REQUEST")
	}
}

// testUnknownFieldsIgnored: A07. Unknown fields are ignored; they never
// bind to identity, role, verification or the password hash.
func testUnknownFieldsIgnored(t *testing.T, s *suite) {
	e := s.env(t)
	const forcedID = "00000000-0000-4000-8000-000000000000"
	const forcedHash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	r := e.postJSON("/register", `{"email":"extra@example.com","password":"correct horse battery staple","name":"X",`+
		`"role":"admin","id":"`+forcedID+`","organizationId":"org","email_verified":true,"emailVerified":true,`+
		`"password_hash":"`+forcedHash+`","passwordHash":"`+forcedHash+`","createdAt":"2000-01-01T00:00:00.000Z"}`)
	reg := mustSession(t, r, http.StatusCreated)
	r = e.do(http.MethodGet, "/me", nil, bearer(reg.access))
	var me struct {
		User struct{ ID, Role, OrganizationID, CreatedAt string }
	}
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	if me.User.Role != "owner" || me.User.ID == forcedID || me.User.OrganizationID == "org" || strings.HasPrefix(me.User.CreatedAt, "2000") {
		t.Errorf("unknown fields bound to the new user: %s", r.body)
	}
	u, err := e.users.UserByEmail(context.Background(), "extra@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash == forcedHash || !u.EmailVerifiedAt.IsZero() {
		t.Errorf("stored user %+v took the password hash or the verification from the request", u)
	}
	e.loginHTTP(t, "extra@example.com", goodPassword)
}

// testWrongTypes: A08. A field of the wrong type is VALIDATION_ERROR naming
// it, never coerced to a string.
func testWrongTypes(t *testing.T, s *suite) {
	e := s.env(t)
	cases := []struct {
		path, body string
		fields     []string
	}{
		{"/register", `{"email":123,"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"/register", `{"email":["a@x.io"],"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"/register", `{"email":{"$ne":null},"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"/register", `{"email":"a@x.io","password":true,"name":"A"}`, []string{"password"}},
		{"/register", `{"email":"a@x.io","password":12345678,"name":"A"}`, []string{"password"}},
		{"/register", `{"email":"a@x.io","password":"correct horse battery staple","name":7}`, []string{"name"}},
		{"/login", `{"email":123,"password":"correct horse battery staple"}`, []string{"email"}},
		{"/login", `{"email":"a@x.io","password":["x"]}`, []string{"password"}},
		{"/login", `{"email":{"$ne":null},"password":{"$ne":null}}`, []string{"email"}},
		{"/refresh", `{"refreshToken":123}`, []string{"refreshToken"}},
		{"/refresh", `{"refreshToken":["x"]}`, []string{"refreshToken"}},
		{"/refresh", `{"refreshToken":{"$ne":null}}`, []string{"refreshToken"}},
	}
	for _, c := range cases {
		fields := checkError(t, c.path+" "+c.body, e.postJSON(c.path, c.body), http.StatusBadRequest, "VALIDATION_ERROR")
		for _, f := range c.fields {
			if fields[f] == "" {
				t.Errorf("%s %s: fields %v do not name %q", c.path, c.body, fields, f)
			}
		}
	}
	if n := e.createdCount(); n != 0 {
		t.Errorf("failed registrations created %d users, want 0", n)
	}
}

// testMissingFields: A09, and the contract's rule for the display name. A
// missing, null or empty field is VALIDATION_ERROR naming it; no user with
// an empty email, hash or name is created.
func testMissingFields(t *testing.T, s *suite) {
	e := s.env(t)
	cases := []struct {
		path, body string
		fields     []string // fields that must be named
	}{
		{"/register", `{}`, []string{"email", "password", "name"}},
		{"/register", `{"password":"correct horse battery staple","name":"A"}`, []string{"email"}},
		{"/register", `{"email":"a@x.io","name":"A"}`, []string{"password"}},
		{"/register", `{"email":"a@x.io","password":"correct horse battery staple"}`, []string{"name"}},
		{"/register", `{"email":null,"password":null,"name":null}`, []string{"email", "password", "name"}},
		{"/register", `{"email":"","password":"","name":""}`, []string{"email", "password", "name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, "   "), []string{"name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, strings.Repeat("é", 201)), []string{"name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, "Ada\x00Lovelace"), []string{"name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, "Ada\nLovelace"), []string{"name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, "Ada\x1b[31mLovelace"), []string{"name"}},
		{"/register", testutil.RegisterBody("a@x.io", goodPassword, "Ada\x7f"), []string{"name"}},
		{"/login", `{"email":"a@x.io"}`, []string{"password"}},
		{"/login", `{"password":"correct horse battery staple"}`, []string{"email"}},
		{"/login", `{"email":null,"password":"x"}`, []string{"email"}},
		{"/login", `{}`, []string{"email"}},
		{"/refresh", `{}`, []string{"refreshToken"}},
		{"/refresh", `{"refreshToken":null}`, []string{"refreshToken"}},
		{"/refresh", `{"refresh_token":"x"}`, []string{"refreshToken"}},
	}
	for _, c := range cases {
		fields := checkError(t, c.path+" "+c.body, e.postJSON(c.path, c.body), http.StatusBadRequest, "VALIDATION_ERROR")
		for _, f := range c.fields {
			if fields[f] == "" {
				t.Errorf("%s %s: fields %v do not name %q", c.path, c.body, fields, f)
			}
		}
	}
	// An empty email or password at login is a failed login, like any
	// other wrong credentials.
	for _, body := range []string{`{"email":"","password":""}`, testutil.LoginBody("", goodPassword)} {
		checkError(t, "/login "+body, e.postJSON("/login", body), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	if n := e.createdCount(); n != 0 {
		t.Errorf("failed registrations created %d users, want 0", n)
	}
	// The boundary on the other side is accepted.
	r := e.postJSON("/register", testutil.RegisterBody("name@example.com", goodPassword, strings.Repeat("é", 200)))
	if r.status != http.StatusCreated {
		t.Errorf("200-character name: status %d, want 201; body %s", r.status, r.body)
	} else {
		e.loginHTTP(t, "name@example.com", goodPassword)
	}
}

// testDeepNesting: A10. Deeply nested JSON within the size cap is refused
// without exhausting the stack.
func testDeepNesting(t *testing.T, s *suite) {
	e := s.env(t)
	const depth = 30000 // 60 KB, under the 64 KiB cap
	for _, c := range []struct{ name, body string }{
		{"bare arrays", strings.Repeat("[", depth) + strings.Repeat("]", depth)},
		{"arrays in a field", `{"email":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`},
		{"objects in a field", `{"email":` + strings.Repeat(`{"a":`, depth/5) + "1" + strings.Repeat("}", depth/5) + `}`},
		{"unclosed arrays", `{"email":` + strings.Repeat("[", depth)},
	} {
		for _, path := range []string{"/register", "/login", "/refresh"} {
			r := e.postJSON(path, c.body)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s %s: status %d, want 400; body %s", path, c.name, r.status, r.body)
			}
		}
	}
}

// testPayloadTooLarge: A11. Bodies over the cap are 413 whether or not
// they announce their length, and nothing is hashed or stored.
func testPayloadTooLarge(t *testing.T, s *suite) {
	e := s.env(t)
	// bodyOf returns a register body of exactly n bytes.
	bodyOf := func(n int) string {
		head, tail := `{"email":"big@example.com","password":"correct horse battery staple","name":"`, `"}`
		return head + strings.Repeat("n", n-len(head)-len(tail)) + tail
	}
	over, limit := bodyOf(64<<10+1), bodyOf(64<<10)
	for _, path := range []string{"/register", "/login", "/refresh"} {
		r := e.postJSON(path, over)
		checkError(t, path+" with 64 KiB + 1 (Content-Length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		// Without a Content-Length the cap applies while reading.
		r = e.do(http.MethodPost, path, io.MultiReader(strings.NewReader(over)), jsonHeaders)
		checkError(t, path+" with 64 KiB + 1 (no length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		r = e.do(http.MethodPost, path, io.MultiReader(strings.NewReader(over+strings.Repeat(" ", 1<<20))), jsonHeaders)
		checkError(t, path+" with 1 MiB more (no length)", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		r = e.postJSON(path, `{"email":"big@example.com","password":"`+strings.Repeat("p", 1<<20)+`","name":"N"}`)
		checkError(t, path+" with a 1 MiB password", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	}
	// Exactly 64 KiB is read and judged on its fields.
	r := e.postJSON("/register", limit)
	fields := checkError(t, "register with exactly 64 KiB", r, http.StatusBadRequest, "VALIDATION_ERROR")
	if fields["name"] == "" {
		t.Errorf("register with exactly 64 KiB: fields %v, want name named", fields)
	}
	if n := e.createdCount(); n != 0 {
		t.Errorf("store saw %d successful CreateUser calls, want 0", n)
	}
}

// testUnsupportedMediaType: A12. A body sent as anything but JSON is 415,
// so that a cross-site "simple request" cannot log in or register.
func testUnsupportedMediaType(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "media@example.com")
	routes := []struct{ path, valid string }{
		{"/register", testutil.RegisterBody("media2@example.com", goodPassword, "M")},
		{"/login", testutil.LoginBody("media@example.com", goodPassword)},
		{"/refresh", testutil.RefreshBody(sess.refresh)},
	}
	types := []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "json", "application/json; charset=latin1"}
	for _, rt := range routes {
		for _, ct := range types {
			var h hdr
			if ct != "" {
				h = hdr{{"Content-Type", ct}}
			}
			r := e.do(http.MethodPost, rt.path, strings.NewReader(rt.valid), h)
			checkError(t, rt.path+" with Content-Type "+ct, r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		}
		r := e.do(http.MethodPost, rt.path, strings.NewReader("email=media%40example.com&password=x"), hdr{{"Content-Type", "application/x-www-form-urlencoded"}})
		checkError(t, rt.path+" with a form", r, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
	}
	if n := e.createdCount(); n != 1 {
		t.Errorf("store saw %d successful CreateUser calls, want 1", n)
	}
	// The refresh token was not spent.
	e.refreshHTTP(t, sess.refresh)
}

// testMediaTypeCase: A13. Media types compare without regard to case, and
// the UTF-8 charset is fine.
func testMediaTypeCase(t *testing.T, s *suite) {
	e := s.env(t)
	for i, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8", "APPLICATION/JSON; Charset=\"utf-8\""} {
		email := fmt.Sprintf("accepted%d@example.com", i)
		r := e.do(http.MethodPost, "/register", strings.NewReader(testutil.RegisterBody(email, goodPassword, "A")), hdr{{"Content-Type", ct}})
		if r.status != http.StatusCreated {
			t.Errorf("register with Content-Type %q: status %d, want 201; body %s", ct, r.status, r.body)
		}
		r = e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody(email, goodPassword)), hdr{{"Content-Type", ct}})
		if r.status != http.StatusOK {
			t.Errorf("login with Content-Type %q: status %d, want 200; body %s", ct, r.status, r.body)
		}
	}
}

// testMethodNotAllowed: A14, and H08 (GET /logout changes nothing).
func testMethodNotAllowed(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "method@example.com")
	cases := []struct{ method, path, allow string }{
		{http.MethodGet, "/register", "POST"},
		{http.MethodPut, "/register", "POST"},
		{http.MethodPatch, "/register", "POST"},
		{http.MethodDelete, "/register", "POST"},
		{http.MethodGet, "/login", "POST"},
		{http.MethodPut, "/login", "POST"},
		{http.MethodDelete, "/login", "POST"},
		{http.MethodPatch, "/login", "POST"},
		{http.MethodGet, "/refresh", "POST"},
		{http.MethodPut, "/refresh", "POST"},
		{http.MethodDelete, "/refresh", "POST"},
		{http.MethodPatch, "/refresh", "POST"},
		{http.MethodGet, "/logout", "POST"},
		{http.MethodPut, "/logout", "POST"},
		{http.MethodDelete, "/logout", "POST"},
		{http.MethodPatch, "/logout", "POST"},
		{http.MethodPost, "/me", "GET"},
		{http.MethodPut, "/me", "GET"},
		{http.MethodPatch, "/me", "GET"},
		{"TRACE", "/me", "GET"},
		{"TRACE", "/login", "POST"},
		{"TRACE", "/register", "POST"},
		{"TRACE", "/refresh", "POST"},
		{"TRACE", "/logout", "POST"},
	}
	for _, c := range cases {
		h := append(hdr{{"Authorization", "Bearer " + sess.access}}, jsonHeaders...)
		r := e.do(c.method, c.path, strings.NewReader(testutil.LoginBody("method@example.com", goodPassword)), h)
		checkError(t, c.method+" "+c.path, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		if got := r.header.Get("Allow"); !strings.Contains(got, c.allow) {
			t.Errorf("%s %s: Allow %q, want it to list %s", c.method, c.path, got, c.allow)
		}
	}
	// GET /logout did not log out.
	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Errorf("after GET /logout, /me answered %d; the session must be live", r.status)
	}
	if n := e.probe.counts().sessions; n != 1 {
		t.Errorf("the refused methods opened %d sessions, want only the registration's", n-1)
	}
}

// testCORSPreflight: A15. The library sets no CORS headers at all, which
// satisfies "never reflect an arbitrary origin"; a preflight is not served
// either (OPTIONS is 405).
func testCORSPreflight(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "cors@example.com")
	for _, path := range []string{"/register", "/login", "/refresh", "/logout", "/me"} {
		r := e.do(http.MethodOptions, path, nil, hdr{
			{"Origin", "https://evil.example"},
			{"Access-Control-Request-Method", "POST"},
			{"Access-Control-Request-Headers", "authorization, content-type"},
		})
		checkError(t, "OPTIONS "+path, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		checkNoCORS(t, "OPTIONS "+path, r.header)
	}
	// Nor on actual requests with an Origin.
	evil := hdr{{"Origin", "https://evil.example"}}
	r := e.do(http.MethodPost, "/login", strings.NewReader(testutil.LoginBody("cors@example.com", goodPassword)), append(evil, jsonHeaders...))
	mustSession(t, r, http.StatusOK)
	checkNoCORS(t, "POST /login with an Origin", r.header)
	r = e.do(http.MethodGet, "/me", nil, append(evil, bearer(sess.access)...))
	if r.status != http.StatusOK {
		t.Errorf("GET /me with an Origin: status %d", r.status)
	}
	checkNoCORS(t, "GET /me with an Origin", r.header)
}

func checkNoCORS(t *testing.T, what string, h http.Header) {
	t.Helper()
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			t.Errorf("%s: answer carries %s: %q", what, name, h.Values(name))
		}
	}
}

// testPathVariantsNeverServe: A16.
func testPathVariantsNeverServe(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerHTTP(t, "path@example.com")
	for _, p := range []string{
		"//api/v2/auth/login/",
		"//API/V2/AUTH/LOGIN",
		"//api/v2/auth/LOGIN",
		"//Api/v2/auth/login",
		"//api/v2/auth/./login",
		"//api/v2/auth//login",
		"//api/v2/auth/login/x",
		"//api/v2/auth/login.json",
		"//api/v2/auth/login%2f",
		"//api/v2/login",
		"//login",
	} {
		r := e.do(http.MethodPost, p, strings.NewReader(testutil.LoginBody("path@example.com", goodPassword)), jsonHeaders)
		if r.status/100 == 2 || bytes.Contains(r.body, []byte("eyJ")) {
			t.Errorf("POST %s: status %d, body %s; want no success on an alternate path", p[1:], r.status, r.body)
		}
	}
	if n := e.probe.counts().sessions; n != 1 {
		t.Errorf("alternate paths opened %d sessions", n-1)
	}
}

// testHeadersOnEveryEndpoint: A17. Every answer of every endpoint, success
// or failure, is JSON with a charset and nosniff; token answers are not
// cacheable. The invariant checks assert this on every request of the
// suite; this row makes sure each endpoint is seen both ways.
func testHeadersOnEveryEndpoint(t *testing.T, s *suite) {
	e := s.env(t)
	r := e.postJSON("/register", testutil.RegisterBody("hdrs@example.com", goodPassword, "H"))
	checkTokenHeaders(t, "register 201", r.header)
	reg := mustSession(t, r, http.StatusCreated)
	checkCommonHeaders(t, "register 409", e.postJSON("/register", testutil.RegisterBody("hdrs@example.com", goodPassword, "H")).header)
	r = e.postJSON("/login", testutil.LoginBody("hdrs@example.com", goodPassword))
	checkTokenHeaders(t, "login 200", r.header)
	checkCommonHeaders(t, "login 401", e.postJSON("/login", testutil.LoginBody("hdrs@example.com", "wrong password")).header)
	r = e.postJSON("/refresh", testutil.RefreshBody(reg.refresh))
	checkTokenHeaders(t, "refresh 200", r.header)
	checkCommonHeaders(t, "refresh 401", e.postJSON("/refresh", testutil.RefreshBody(reg.refresh)).header)
	login := mustSession(t, e.postJSON("/login", testutil.LoginBody("hdrs@example.com", goodPassword)), http.StatusOK)
	r = e.do(http.MethodGet, "/me", nil, bearer(login.access))
	if r.status != http.StatusOK {
		t.Fatalf("me: status %d", r.status)
	}
	checkCommonHeaders(t, "me 200", r.header)
	checkCommonHeaders(t, "me 401", e.do(http.MethodGet, "/me", nil, nil).header)
	r = e.do(http.MethodPost, "/logout", nil, bearer(login.access))
	if r.status != http.StatusOK {
		t.Fatalf("logout: status %d", r.status)
	}
	checkCommonHeaders(t, "logout 200", r.header)
	checkCommonHeaders(t, "logout 401", e.do(http.MethodPost, "/logout", nil, bearer(login.access)).header)
	checkCommonHeaders(t, "unknown route 404", e.do(http.MethodGet, "/nothing-here", nil, nil).header)
}

// testCredentialsNeverTakenFromURL: A18.
func testCredentialsNeverTakenFromURL(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "url@example.com")
	q := "?email=url%40example.com&password=" + strings.ReplaceAll(goodPassword, " ", "+")
	fields := checkError(t, "login with credentials in the query", e.postJSON("/login"+q, `{}`), http.StatusBadRequest, "VALIDATION_ERROR")
	if fields["email"] == "" || fields["password"] == "" {
		t.Errorf("fields %v, want email and password named", fields)
	}
	checkError(t, "me with the token in the query", e.do(http.MethodGet, "/me?access_token="+sess.access, nil, nil), http.StatusUnauthorized, "UNAUTHORIZED")
	checkError(t, "logout with the token in the query", e.do(http.MethodPost, "/logout?access_token="+sess.access, nil, nil), http.StatusUnauthorized, "UNAUTHORIZED")
	checkError(t, "refresh with the token in the query", e.postJSON("/refresh?refreshToken="+sess.refresh, `{}`), http.StatusBadRequest, "VALIDATION_ERROR")
	fields = checkError(t, "register with the fields in the query", e.postJSON("/register?email=q%40example.com&name=Q&password="+strings.ReplaceAll(goodPassword, " ", "+"), `{}`), http.StatusBadRequest, "VALIDATION_ERROR")
	if len(fields) != 3 {
		t.Errorf("fields %v, want email, password and name named", fields)
	}
	// The session is intact: nothing above logged it out or spent it.
	if r := e.do(http.MethodGet, "/me", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Errorf("me after the attempts: status %d", r.status)
	}
	e.refreshHTTP(t, sess.refresh)
}

// testHugeAuthorizationHeader: A19. A huge header is refused without
// parsing it.
func testHugeAuthorizationHeader(t *testing.T, s *suite) {
	e := s.env(t)
	for _, c := range []struct{ name, token string }{
		{"1 MiB of dots", strings.Repeat(".", 1<<20)},
		{"100 KB token", "eyJ" + strings.Repeat("a", 100<<10) + ".e30.x"},
		{"4097 bytes", strings.Repeat("a", 4097)},
	} {
		for _, path := range []string{"/me", "/logout"} {
			method := http.MethodGet
			if path == "/logout" {
				method = http.MethodPost
			}
			r := e.do(method, path, nil, bearer(c.token))
			checkError(t, c.name+" on "+path, r, http.StatusUnauthorized, "INVALID_TOKEN")
		}
	}
}
