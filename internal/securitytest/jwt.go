package securitytest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/testutil"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(t testing.TB, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

// jwtPart decodes the header (0) or payload (1) of a compact JWT.
func jwtPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q does not have three parts", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("token part %d: %v", i, err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("token part %d %s: %v", i, raw, err)
	}
	return m
}

// claimString returns a string claim of a token's payload.
func claimString(t testing.TB, token, name string) string {
	t.Helper()
	s, _ := jwtPart(t, token, 1)[name].(string)
	return s
}

// claimOf returns a string claim of a token's payload, or "" when the
// token cannot be read. Unlike claimString it may be called from any
// goroutine.
func claimOf(token, name string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

// claimInt returns a numeric claim of a token's payload.
func claimInt(t testing.TB, token, name string) int64 {
	t.Helper()
	n, ok := jwtPart(t, token, 1)[name].(json.Number)
	if !ok {
		t.Fatalf("claim %q of %s is not a number", name, token)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %q: %v", name, err)
	}
	return v
}

// bitTwin returns token with the base64url value of its last character
// changed in its lowest bit. The 43rd character of an HS256 signature
// carries only two bits of the signature, so a lenient decoder maps the
// twin to the same bytes (spec/security.md §3.5).
func bitTwin(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[i^1])
}

// withPayload returns token with its payload replaced by the JSON of
// claims, keeping the original header and signature.
func withPayload(t testing.TB, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(testutil.MustJSON(claims))) + "." + parts[2]
}

// withHeader returns token with its header replaced by the JSON of h,
// keeping payload and signature.
func withHeader(t testing.TB, token string, h map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(testutil.MustJSON(h))) + "." + parts[1] + "." + parts[2]
}

// signWith signs claims with the given method and key and sets the given
// header fields, except alg, which is always the method's; a nil header
// value removes the field.
func signWith(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	for k, v := range header {
		if k == "alg" {
			continue
		}
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// unsignedToken builds a compact JWT with the given header and claims and
// an empty signature.
func unsignedToken(header, claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(testutil.MustJSON(header))) + "." + enc([]byte(testutil.MustJSON(claims))) + "."
}

// edit returns a copy of claims with the given changes; a nil value removes
// the claim.
func edit(claims map[string]any, changes map[string]any) map[string]any {
	c := maps.Clone(claims)
	for k, v := range changes {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}
