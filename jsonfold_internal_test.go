package auth

import (
	"strings"
	"testing"
)

// TestFoldKeyMatchesEqualFold checks foldKey against strings.EqualFold,
// whose simple folding encoding/json uses to match keys to fields.
func TestFoldKeyMatchesEqualFold(t *testing.T) {
	t.Parallel()
	words := []string{"password", "PASSWORD", "paſſword", "paSSword", "token", "to\u212aen", "toKen", "tok", "email", "émail", "ÉMAIL", "\u03a3", "\u03c3", "\u03c2", "ǅ", "ǆ", "Ǆ", "ß", "ẞ", "ss", "ı", "i", "I", "İ"}
	for _, x := range words {
		for _, y := range words {
			if got, want := foldKey(x) == foldKey(y), strings.EqualFold(x, y); got != want {
				t.Errorf("foldKey(%q) == foldKey(%q) is %v; strings.EqualFold says %v", x, y, got, want)
			}
		}
	}
}
