package auth_test

import (
	"net/http"
	"testing"
)

// TestDuplicateKeysUnderUnicodeFolding checks that a body whose keys
// differ only under the case folding encoding/json uses to bind fields
// (Unicode simple folding: 'ſ' folds to 's', the Kelvin sign 'K' to 'k') is
// refused as ambiguous, like {"email":..,"EMAIL":..}, rather than bound to
// whichever key came last.
func TestDuplicateKeysUnderUnicodeFolding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.registerHTTP(t, "fold@example.com")
	bodies := []string{
		// The second key binds Password: a wrong then the right password.
		`{"email":"fold@example.com","password":"wrong password here","pa\u017f\u017fword":"` + goodPassword + `"}`,
		`{"email":"fold@example.com","password":"wrong password here","paſſword":"` + goodPassword + `"}`,
		// Kelvin sign in "token" of a refresh body.
		`{"refreshToken":"x","refreshto\u212aen":"y"}`,
		`{"email":"fold@example.com","EMAIL":"other@example.com","password":"` + goodPassword + `"}`,
	}
	paths := []string{"/login", "/login", "/refresh", "/login"}
	for i, body := range bodies {
		r := e.postJSON(paths[i], body)
		checkError(t, body, r, http.StatusBadRequest, "INVALID_REQUEST")
	}
	// Distinct names that only look alike stay distinct.
	r := e.postJSON("/login", `{"email":"fold@example.com","password":"`+goodPassword+`","pass\u0175ord":"x"}`)
	if r.status != http.StatusOK {
		t.Fatalf("login with an unrelated extra key: %d %s", r.status, r.body)
	}
}
