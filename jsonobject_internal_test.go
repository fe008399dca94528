package auth

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// isSingleObjectByTokens is the former isSingleObject, a walk over
// encoding/json's tokens, kept as the reference the scan must match.
func isSingleObjectByTokens(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]struct{}{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		k := foldKey(key)
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

var singleObjectSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":1,"A":2}`, `{"a":1,"b":2}`, `{"password":1,"paſſword":2}`, `{"k":1,"\u212a":2}`,
	`{"a":"x\"y","b":"}"}`, `{"a\"":1,"a\\"":2}`, `{"\u0061":1,"a":2}`, `{"a":{"a":1,"a":2},"b":[1,{"c":"]"}]}`,
	`{"a":true,"b":false,"c":null,"d":-1.5e3}`, `{} {}`, `{}x`, `[]`, `null`, `"x"`, ``, `{`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, "{\"a\":1}\n", "\t{\"a\" : [ ] , \"b\" : { } }\r\n", `{"\ud800":1,"\ufffd":2}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"A":11}`,
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11}`,
	`{"a":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`,
}

// TestIsSingleObjectMatchesTokens: the scan gives the token walk's answer
// on bodies that are one object or not, with keys distinct or equal under
// folding, escaped or not, before and after the switch to a map.
func TestIsSingleObjectMatchesTokens(t *testing.T) {
	yes := 0
	for _, s := range singleObjectSeeds {
		got, want := isSingleObject([]byte(s)), isSingleObjectByTokens([]byte(s))
		if got != want {
			t.Errorf("%q: scan %v, tokens %v", s, got, want)
		}
		if got {
			yes++
		}
	}
	if yes == 0 || yes == len(singleObjectSeeds) {
		t.Fatalf("%d of %d accepted: the seeds do not cover both answers", yes, len(singleObjectSeeds))
	}
}

// FuzzIsSingleObject: for any bytes, the scan gives the token walk's
// answer.
func FuzzIsSingleObject(f *testing.F) {
	for _, s := range singleObjectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := isSingleObject(data), isSingleObjectByTokens(data); got != want {
			t.Fatalf("%q: scan %v, tokens %v", data, got, want)
		}
	})
}
