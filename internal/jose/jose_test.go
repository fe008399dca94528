package jose

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func headerToken(header string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + ".e30.sig"
}

func TestHeaderKid(t *testing.T) {
	for _, tc := range []struct {
		header    string
		kid       string
		found, ok bool
	}{
		{`{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`, "k1", true, true},
		{` { "kid" : "k1" } `, "k1", true, true},
		{`{"alg":"HS256","typ":"at+jwt"}`, "", false, true},
		{`{}`, "", false, true},
		{`{"x":{"kid":"inner"},"y":["kid"],"kid":"outer"}`, "outer", true, true},
		{`{"n":12,"b":true,"kid":"k"}`, "k", true, true},
		{`{"kid":"a\"b"}`, "", true, false},
		{`{"kid":7}`, "", true, false},
		{`{"k\u0069d":"k"}`, "", false, true}, // an escaped name is not matched
		{`{"kid":"k"`, "k", true, true},       // lenient past the kid
		{`{"alg":"EdDSA"`, "", false, false},
		{`[]`, "", false, false},
		{`{"alg" "x"}`, "", false, false},
		{`{"kid":"` + strings.Repeat("k", MaxHeaderBytes) + `"}`, "", false, false},
	} {
		var buf [MaxHeaderBytes]byte
		kid, found, ok := HeaderKid(headerToken(tc.header), &buf)
		if string(kid) != tc.kid || found != tc.found || ok != tc.ok {
			t.Errorf("%s: (%q, %v, %v), want (%q, %v, %v)", tc.header, kid, found, ok, tc.kid, tc.found, tc.ok)
		}
	}
	var buf [MaxHeaderBytes]byte
	for _, token := range []string{"", "no-dot", "!!!.e30.sig"} {
		if _, _, ok := HeaderKid(token, &buf); ok {
			t.Errorf("HeaderKid(%q) ok", token)
		}
	}
}

// BenchmarkHeaderKid measures the kid scan, which is meant to allocate
// nothing (part of G17, no per-request key work): its allocs/op is
// reported, not asserted, as instrumented builds (-race, -cover) allocate
// where the plain build does not.
func BenchmarkHeaderKid(b *testing.B) {
	token := headerToken(`{"alg":"EdDSA","kid":"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs","typ":"at+jwt"}`)
	byKid := map[string]int{"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs": 1}
	b.ReportAllocs()
	for b.Loop() {
		var buf [MaxHeaderBytes]byte
		kid, _, _ := HeaderKid(token, &buf)
		if byKid[string(kid)] != 1 {
			b.Fatal("kid not found")
		}
	}
}

// FuzzHeaderKid checks that a kid the scanner reports is the one
// encoding/json reads from the same header, whenever that is valid JSON.
func FuzzHeaderKid(f *testing.F) {
	for _, h := range []string{`{"alg":"EdDSA","kid":"k1","typ":"at+jwt"}`, `{"x":{"kid":1},"kid":"k"}`, `{"kid":"\u006b"}`} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		var buf [MaxHeaderBytes]byte
		kid, found, ok := HeaderKid(headerToken(header), &buf)
		var h map[string]json.RawMessage
		if !ok || !found || json.Unmarshal([]byte(header), &h) != nil {
			return
		}
		var want string
		if err := json.Unmarshal(h["kid"], &want); err != nil || want != string(kid) {
			t.Fatalf("%s: kid %q, encoding/json reads %s", header, kid, h["kid"])
		}
	})
}

func TestBearerToken(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		values []string
		token  string
		fault  Fault
	}{
		{nil, "", NoToken},
		{[]string{"Bearer abc.def-_~+/=="}, "abc.def-_~+/==", OK},
		{[]string{"bEaReR   abc  "}, "abc", OK},
		{[]string{"Bearer abc", "Bearer abc"}, "", Invalid},
		{[]string{"Basic abc"}, "", NoToken},
		{[]string{"Bearer"}, "", NoToken},
		{[]string{"Bearer   "}, "", NoToken},
		{[]string{"Bearerabc"}, "", NoToken},
		{[]string{"Bearer\tabc"}, "", Invalid},
		{[]string{"Bearer a=b"}, "", Invalid},
		{[]string{"Bearer =="}, "", Invalid},
		{[]string{"Bearer a b"}, "", Invalid},
		{[]string{"Bearer " + long}, "", Invalid},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("Authorization", v)
		}
		token, fault := BearerToken(h, 64)
		if token != tc.token || fault != tc.fault {
			t.Errorf("%q: (%q, %v), want (%q, %v)", tc.values, token, fault, tc.token, tc.fault)
		}
	}
}

func TestNumericDateStrict(t *testing.T) {
	for in, wantErr := range map[string]bool{`1700000000`: false, `-1`: false, `1.5`: false, `"1700000000"`: true, `null`: true, `true`: true} {
		var d NumericDate
		if err := json.Unmarshal([]byte(in), &d); (err != nil) != wantErr {
			t.Errorf("%s: error %v, want error %v", in, err, wantErr)
		}
	}
}

func TestClassify(t *testing.T) {
	expired := fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, jwt.ErrTokenExpired)
	for err, want := range map[error]Fault{
		expired: Expired,
		fmt.Errorf("%w, %w", expired, jwt.ErrTokenInvalidAudience):  Invalid,
		fmt.Errorf("%w, %w", expired, jwt.ErrTokenSignatureInvalid): Invalid,
		jwt.ErrTokenMalformed: Invalid,
	} {
		if got := Classify(err); got != want {
			t.Errorf("Classify(%v) = %v, want %v", err, got, want)
		}
	}
}

// TestNumericDateAsGolangJWT: a number decodes to the same instant, or the
// same refusal, as jwt.NumericDate decodes it.
func TestNumericDateAsGolangJWT(t *testing.T) {
	for _, in := range []string{`1700000000`, `-1`, `-0`, `0`, `1.5`, `1700000000.999999999`, `0.000000001`,
		`1e300`, `1e400`, `-1e400`, `9223372036854775807`, `1e19`, `-1e19`, `17e8`, `1.7E9`, `123456789012345678901234567890`} {
		var ours NumericDate
		var theirs jwt.NumericDate
		errOurs := json.Unmarshal([]byte(in), &ours)
		errTheirs := json.Unmarshal([]byte(in), &theirs)
		if (errOurs != nil) != (errTheirs != nil) || !ours.Time.Equal(theirs.Time) || ours.Time.Location() != theirs.Time.Location() {
			t.Errorf("%s: ours (%v, %v), golang-jwt's (%v, %v)", in, ours.Time, errOurs, theirs.Time, errTheirs)
		}
	}
}

// FuzzNumericDateAsGolangJWT: any JSON number decodes to the same instant,
// or the same refusal, as jwt.NumericDate decodes it.
func FuzzNumericDateAsGolangJWT(f *testing.F) {
	for _, s := range []string{`1700000000`, `-1.25`, `1e400`, `0.1e-7`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) || in == "" || (in[0] != '-' && (in[0] < '0' || in[0] > '9')) {
			return
		}
		var ours NumericDate
		var theirs jwt.NumericDate
		errOurs := json.Unmarshal([]byte(in), &ours)
		errTheirs := json.Unmarshal([]byte(in), &theirs)
		if (errOurs != nil) != (errTheirs != nil) || !ours.Time.Equal(theirs.Time) {
			t.Fatalf("%s: ours (%v, %v), golang-jwt's (%v, %v)", in, ours.Time, errOurs, theirs.Time, errTheirs)
		}
	})
}
