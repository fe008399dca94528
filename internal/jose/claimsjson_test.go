package jose

import (
	"encoding/json"
	"reflect"
	"testing"
)

// claimsSeeds are payloads of the library's form and near misses that the
// fast path must leave to encoding/json.
var claimsSeeds = []string{
	`{"iss":"ingestiq-auth","sub":"59679d69-2248-4ea7-810f-07d1eed594d9","aud":["ingestiq-auth"],"exp":1738066530,"iat":1738065630,"jti":"he3PJB98Dsdr9YF7H5LJBA","sid":"a95e0264-3d57-41c5-b3d9-0cf7db01ece3","org":"881495a7-63cd-4453-8ebe-d0b814518f9a","role":"owner","amr":["pwd","otp"],"aal":2}`,
	`{"iss":"i","sub":"s","aud":"a","exp":1,"nbf":0,"iat":1,"jti":"j","sid":"x"}`,
	`{}`,
	`{"iss":"a","iss":"b"}`,
	`{"ISS":"a"}`,
	`{"Iss":"a","iss":"b"}`,
	`{"iss":"a\u0041"}`,
	`{"iss":"a\"b"}`,
	`{"iss":"é"}`,
	`{"iss":null}`,
	`{"exp":1.5}`,
	`{"exp":1e3}`,
	`{"exp":-1}`,
	`{"exp":01}`,
	`{"exp":0}`,
	`{"exp":1234567890123456}`,
	`{"exp":"123"}`,
	`{"aal":2.0}`,
	`{"aal":"2"}`,
	`{"aud":[]}`,
	`{"aud":["a",1]}`,
	`{"amr":["pwd"],"amr":["otp"]}`,
	`{"amr":[]}`,
	`{"other":1}`,
	`{"iss":"a"} `,
	` {"iss":"a"}`,
	`{"iss" : "a"}`,
	`{"iss":"a",}`,
	`{"iss":"a"}x`,
	`[1]`,
	`{"sid":"s","aal":99999999999999}`,
}

// FuzzDecodeClaimsMatchesJSON: DecodeClaims gives what json.Unmarshal
// gives (the same error or none, the same claims) for any input, and
// whenever the fast path takes an input, json.Unmarshal accepts it too.
func FuzzDecodeClaimsMatchesJSON(f *testing.F) {
	for _, s := range claimsSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, ref AccessClaims
		taken := decodeFlat(data, &fast)
		refErr := json.Unmarshal(data, &ref)
		if taken {
			if refErr != nil {
				t.Fatalf("fast path took %q; json.Unmarshal refuses it: %v", data, refErr)
			}
			if !reflect.DeepEqual(fast, ref) {
				t.Fatalf("%q: fast path %+v; json.Unmarshal %+v", data, fast, ref)
			}
		}
		var got AccessClaims
		err := DecodeClaims(data, &got)
		if (err == nil) != (refErr == nil) || err == nil && !reflect.DeepEqual(got, ref) {
			t.Fatalf("%q: DecodeClaims %+v, %v; json.Unmarshal %+v, %v", data, got, err, ref, refErr)
		}
	})
}

// TestDecodeClaimsFastPath pins which seeds the fast path takes, so that it
// is not silently bypassed.
func TestDecodeClaimsFastPath(t *testing.T) {
	takes := map[int]bool{0: true, 1: true, 2: true, 14: true, 30: true}
	for i, s := range claimsSeeds {
		var c AccessClaims
		if got := decodeFlat([]byte(s), &c); got != takes[i] {
			t.Errorf("decodeFlat(%s) = %v, want %v", s, got, takes[i])
		}
	}
}
