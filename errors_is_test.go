package auth_test

import (
	"errors"
	"testing"

	"github.com/ingestiq/auth"
)

// TestErrorIsDistinguishesSentinels checks that two error variables that
// share a code are different errors, while an error with the same code
// made elsewhere (a copy with details) still matches its variable.
func TestErrorIsDistinguishesSentinels(t *testing.T) {
	for _, c := range []struct{ a, b error }{
		{auth.ErrSessionNotFound, auth.ErrRouteNotFound},
		{auth.ErrRouteNotFound, auth.ErrSessionNotFound},
		{auth.ErrCrossOrigin, auth.ErrForbidden},
		{auth.ErrSessionNotFound, auth.ErrNotFound},
		{auth.ErrRouteNotFound, auth.ErrNotFound},
	} {
		if errors.Is(c.a, c.b) {
			t.Errorf("errors.Is(%v, %v) = true", c.a, c.b)
		}
	}
	custom := &auth.Error{Code: auth.ErrEmailExists.Code, Status: 409, Message: "Taken here"}
	if !errors.Is(custom, auth.ErrEmailExists) || !errors.Is(auth.ErrSessionNotFound, auth.ErrSessionNotFound) {
		t.Error("an error of the same code no longer matches its variable")
	}
}
