package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, &out)
	}
	got := out.String()
	for _, want := range []string{
		"1. Register: created user ",
		"<alice@example.com>",
		`role "owner"`,
		"2. Register again in another letter case: auth: email already registered",
		"3. Login with a wrong password: auth: invalid email or password",
		"4. Login: new session",
		"5. Verify: user ",
		"6. User: Alice <alice@example.com>",
		"7. Refresh: ",
		"8. Refresh with the spent token again, at once: the same successor",
		"level=INFO msg=auth.refresh.replay",
		"9. Refresh with the first token after its successor was spent too: auth: invalid token",
		"level=WARN msg=auth.refresh.reuse",
		"The session's newest access and refresh tokens are rejected too",
		"10. Logout: ",
		"11. Verify after logout: auth: invalid token",
		"12. 16m0s later, Verify: auth: token has expired",
		"13. Refresh: a new access token, valid again",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}
