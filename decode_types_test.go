package auth_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestWrongJSONTypeNamesTheType checks the message of a field whose value
// has the wrong JSON type: it names the JSON type the field takes.
func TestWrongJSONTypeNamesTheType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct{ body, field, want string }{
		{`{"email":5,"password":"correct horse battery staple","name":"N"}`, "email", "must be a string"},
		{`{"email":"a@example.com","password":["x"],"name":"N"}`, "password", "must be a string"},
		{`{"email":"a@example.com","password":"correct horse battery staple","name":{"a":1}}`, "name", "must be a string"},
	} {
		r := e.postJSON("/register", c.body)
		fields := checkError(t, c.body, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if fields[c.field] != c.want {
			t.Errorf("%s: fields %v, want %s: %q", c.body, fields, c.field, c.want)
		}
	}
	s := e.registerHTTP(t, "typed@example.com")
	r := e.do(http.MethodPost, "/logout-all", strings.NewReader(`{"keepCurrent":"yes"}`), append(hdr{{"Content-Type", "application/json"}}, bearer(s.access)...))
	if fields := checkError(t, "keepCurrent as a string", r, http.StatusBadRequest, "VALIDATION_ERROR"); fields["keepCurrent"] != "must be a boolean" {
		t.Errorf("keepCurrent as a string: fields %v, want keepCurrent: %q", fields, "must be a boolean")
	}
	e.refreshHTTP(t, s.refresh) // nothing was ended
}
