package jose

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The access tokens' header segment, as package auth signs it.
var testPrefix = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "."

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	testEpoch = time.Unix(1_800_000_000, 0)
)

// signed returns the token of payload under testKey with the access
// tokens' header, its signature flipped in one bit when forge is set.
func signed(payload string, forge bool) string {
	input := testPrefix + base64.RawURLEncoding.EncodeToString([]byte(payload))
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(input))
	sig := m.Sum(nil)
	if forge {
		sig[3] ^= 0x10
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// bothAt returns the answers of the golang-jwt parser and of HS256 for
// token at the instant now.
func bothAt(token string, now time.Time) (*Claims, Fault, *Claims, Fault) {
	clock := func() time.Time { return now }
	p := NewParser("HS256", "iss.example", "aud.example", 5*time.Second, clock)
	keyFunc := func(t *jwt.Token) (any, error) {
		if err := CheckHeader(t, AccessTokenType); err != nil {
			return nil, err
		}
		return testKey, nil
	}
	c1, f1 := ParseAccess(p, keyFunc, token)
	c2, f2 := NewHS256(testPrefix, testKey, "iss.example", "aud.example", 5*time.Second, clock).ParseAccess(token)
	return c1, f1, c2, f2
}

const goodPayload = `{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900,"org":"o1","role":"owner","amr":["pwd"],"aal":1}`

var hs256Seeds = []string{
	goodPayload,
	`{"iss":"iss.example","aud":["x","aud.example"],"sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900}`,
	`{"iss":"iss.example","aud":"other","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900}`,
	`{"iss":"evil","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":"1800000900"}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1799999000}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1799999000,"nbf":1900000000}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1900000000,"exp":1900000900}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","jti":"j1","iat":1800000000,"exp":1800000900}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","exp":1800000900}`,
	`{"ISS":"iss.example","Aud":"aud.example","SUB":"u1","sid":"s1","jti":"j1","iat":1800000000,"EXP":1800000900}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900,"exp":1}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1e300}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000.5,"exp":1800000900.25}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900,"amr":"pwd"}`,
	`{"iss":"iss.example","aud":"aud.example","sub":"u1","sid":"s1","jti":"j1","iat":1800000000,"exp":1800000900} trailing`,
	`null`, `[]`, `"x"`, `{}`, `{`, ``,
}

// TestHS256MatchesParser: on tokens whose claims are right, wrong in each
// way, or forged, at instants before, during and after their lifetime,
// HS256 answers exactly as the golang-jwt parser does, and accepts the
// good token.
func TestHS256MatchesParser(t *testing.T) {
	accepted := 0
	for _, payload := range hs256Seeds {
		for _, forge := range []bool{false, true} {
			for _, at := range []time.Duration{-time.Hour, 0, 899 * time.Second, 904 * time.Second, 906 * time.Second, time.Hour} {
				token := signed(payload, forge)
				c1, f1, c2, f2 := bothAt(token, testEpoch.Add(at))
				if f1 != f2 || !reflect.DeepEqual(c1, c2) {
					t.Errorf("%s forged=%v at %v: parser (%+v, %v), HS256 (%+v, %v)", payload, forge, at, c1, f1, c2, f2)
				}
				if f2 == OK {
					accepted++
				}
			}
		}
	}
	if _, f := NewHS256(testPrefix, testKey, "iss.example", "aud.example", 0, func() time.Time { return testEpoch }).ParseAccess(signed(goodPayload, false)); f != OK {
		t.Fatalf("the good token: %v, want OK", f)
	}
	if accepted == 0 {
		t.Fatal("no token accepted: the comparison proves nothing")
	}
	for _, token := range []string{
		"", testPrefix, testPrefix + ".", signed(goodPayload, false) + ".x",
		signed(goodPayload, false) + "=", signed(goodPayload, false)[:len(signed(goodPayload, false))-1],
		"eyJhbGciOiJIUzI1NiJ9." + signed(goodPayload, false)[len(testPrefix):],
	} {
		c1, f1, c2, f2 := bothAt(token, testEpoch)
		if f1 != f2 || !reflect.DeepEqual(c1, c2) || f2 == OK {
			t.Errorf("%q: parser (%v), HS256 (%v); want the same refusal", token, f1, f2)
		}
	}
}

// FuzzHS256MatchesParser: for any claims payload, signed or forged, and
// any instant, and for any token string at all, HS256 and the golang-jwt
// parser give the same claims or the same refusal.
func FuzzHS256MatchesParser(f *testing.F) {
	for _, p := range hs256Seeds {
		f.Add(p, false, int64(0), "")
		f.Add(p, true, int64(905), "")
	}
	f.Add("", false, int64(0), signed(goodPayload, false)+"\n")
	f.Fuzz(func(t *testing.T, payload string, forge bool, offset int64, raw string) {
		token := raw
		if token == "" {
			token = signed(payload, forge)
		}
		at := testEpoch.Add(time.Duration(offset%(1<<40)) * time.Second)
		c1, f1, c2, f2 := bothAt(token, at)
		if f1 != f2 || !reflect.DeepEqual(c1, c2) {
			t.Fatalf("%q at %v: parser (%+v, %v), HS256 (%+v, %v)", token, at, c1, f1, c2, f2)
		}
	})
}

// TestSignMatchesGolangJWT: Sign gives, byte for byte, the token that
// golang-jwt's SignedString gives for the same header and claims, and
// HS256 accepts it.
func TestSignMatchesGolangJWT(t *testing.T) {
	h := NewHS256(testPrefix, testKey, "iss.example", "aud.example", 0, func() time.Time { return testEpoch })
	for _, c := range []*AccessClaims{
		{RegisteredClaims: RegisteredClaims{Issuer: "iss.example", Subject: "u1", Audience: jwt.ClaimStrings{"aud.example"},
			ExpiresAt: NewDate(testEpoch.Add(time.Minute)), IssuedAt: NewDate(testEpoch), ID: "j1"}, SessionID: "s1", Role: "owner", AMR: []string{"pwd", "otp"}, AAL: 2},
		{RegisteredClaims: RegisteredClaims{Issuer: "iss.example", Subject: "ü <&> \"q\"", Audience: jwt.ClaimStrings{"aud.example"},
			ExpiresAt: NewDate(testEpoch.Add(time.Minute)), IssuedAt: NewDate(testEpoch), ID: "j2"}, SessionID: "s2"},
	} {
		ours, err := h.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["typ"] = AccessTokenType
		theirs, err := tok.SignedString(testKey)
		if err != nil {
			t.Fatal(err)
		}
		if ours != theirs {
			t.Errorf("Sign = %q\ngolang-jwt = %q", ours, theirs)
		}
		if _, f := h.ParseAccess(ours); f != OK {
			t.Errorf("ParseAccess(Sign(...)) = %v", f)
		}
	}
}
