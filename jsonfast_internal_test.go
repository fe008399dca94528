package auth

import (
	"bytes"
	"encoding/json"
	"testing"
)

// refreshBodySeeds are bodies the fast path takes and bodies it must leave
// to encoding/json.
var refreshBodySeeds = []string{
	`{"refreshToken":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"}`,
	" {\n\t\"refreshToken\" : \"a.b-c_d\" }\r\n",
	`{"refreshToken":""}`,
	`{"refreshToken":"a\u002eb"}`,
	`{"refreshToken":"a/b+c="}`,
	`{"RefreshToken":"abc"}`,
	`{"refreshtoken":"abc"}`,
	`{"refreshToken":"abc","refreshToken":"def"}`,
	`{"refreshToken":"abc","other":1}`,
	`{"refreshToken":"abc"}x`,
	`{"refreshToken":"abc"}{}`,
	`{"refreshToken":"abc"`,
	`{"refreshToken":abc}`,
	`{"refreshToken":null}`,
	`{"refreshToken":1}`,
	`["refreshToken","abc"]`,
	`{"refreshToken":"abc\"}`,
	"{\"refreshToken\":\"abc\"}\x00",
	"{\"refreshToken\":\"abc\"}\u00a0",
	`{}`,
	``,
}

// FuzzRefreshBodyFastPath: whenever refreshBodyToken takes a body, the
// full decoding (decodeJSONObject without the fast path) accepts it too,
// with the same token.
func FuzzRefreshBodyFastPath(f *testing.F) {
	for _, s := range refreshBodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		token, ok := refreshBodyToken(data)
		if !ok {
			return
		}
		var full struct {
			RefreshToken *string `json:"refreshToken"`
		} // the same fields as refreshRequest, without its fast path
		if err := decodeJSONObject(data, &full); err != nil {
			t.Fatalf("fast path took %q as %q; the full decoding refuses it: %v", data, token, err)
		}
		if full.RefreshToken == nil || *full.RefreshToken != token {
			t.Fatalf("fast path took %q as %q; the full decoding gives %v", data, token, full.RefreshToken)
		}
	})
}

// TestRefreshBodyFastPath pins which seeds the fast path takes, so that it
// is not silently bypassed, and that decodeJSONObject answers as before
// for the others.
func TestRefreshBodyFastPath(t *testing.T) {
	takes := map[string]string{
		refreshBodySeeds[0]: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
		refreshBodySeeds[1]: "a.b-c_d",
	}
	for _, s := range refreshBodySeeds {
		token, ok := refreshBodyToken([]byte(s))
		if want, wantOK := takes[s]; ok != wantOK || token != want {
			t.Errorf("refreshBodyToken(%q) = %q, %v; want %q, %v", s, token, ok, want, wantOK)
		}
		var fast refreshRequest
		var full struct {
			RefreshToken *string `json:"refreshToken"`
		}
		errFast, errFull := decodeJSONObject([]byte(s), &fast), decodeJSONObject([]byte(s), &full)
		if (errFast == nil) != (errFull == nil) || errFast != nil && errFast.Error() != errFull.Error() {
			t.Errorf("%q: decodeJSONObject %v with the fast path, %v without", s, errFast, errFull)
		}
		if errFast == nil && (fast.RefreshToken == nil) != (full.RefreshToken == nil) ||
			fast.RefreshToken != nil && full.RefreshToken != nil && *fast.RefreshToken != *full.RefreshToken {
			t.Errorf("%q: token %v with the fast path, %v without", s, fast.RefreshToken, full.RefreshToken)
		}
	}
}

// FuzzTokenPairFastPath: tokenPairJSON writes exactly what json.Marshal
// (plus a newline) writes, for any pair of strings.
func FuzzTokenPairFastPath(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "a.b-c_d")
	f.Add("abc", "")
	f.Add("", "")
	f.Add("a<b", "c&d")
	f.Add("\u2028", "\"\\")
	f.Add("a\x00b", "\xff")
	f.Fuzz(func(t *testing.T, access, refresh string) {
		p := &TokenPair{AccessToken: access, RefreshToken: refresh}
		got, err := tokenPairJSON(p)
		want, werr := json.Marshal(p)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%+v: error %v, json.Marshal %v", p, err, werr)
		}
		if err == nil && !bytes.Equal(got, append(want, '\n')) {
			t.Fatalf("%+v: %q; json.Marshal gives %q", p, got, want)
		}
	})
}
