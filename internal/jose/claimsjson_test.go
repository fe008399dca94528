package jose

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// FuzzEncodeClaimsMatchesJSON: EncodeClaims writes exactly the bytes of
// json.Marshal for any access claims, plain or not.
func FuzzEncodeClaimsMatchesJSON(f *testing.F) {
	f.Add("ingestiq-auth", "59679d69-2248", "ingestiq-auth", "jti-1", "sid-1", "org-1", "owner", "pwd", int64(1738066530), int64(1738065630), int64(0), 2, uint8(0))
	f.Add("", "", "", "", "", "", "", "", int64(0), int64(0), int64(-5), 0, uint8(0xff))
	f.Add("a<b", "c&d", "\"q\"", "\\", "\u2028", "é", "\x00", "\x7f", int64(-1), int64(1<<40), int64(1), -3, uint8(0x15))
	f.Fuzz(func(t *testing.T, iss, sub, aud, jti, sid, org, role, amr string, exp, iat, nbf int64, aal int, flags uint8) {
		c := AccessClaims{
			RegisteredClaims: RegisteredClaims{Issuer: iss, Subject: sub, ID: jti},
			SessionID:        sid, OrganizationID: org, Role: role, AAL: aal,
		}
		const span = 1 << 40 // keep times where time.Unix is exact
		if flags&1 != 0 {
			c.ExpiresAt = NewDate(time.Unix(exp%span, 0))
		}
		if flags&2 != 0 {
			c.IssuedAt = NewDate(time.Unix(iat%span, int64(flags)*1e6))
		}
		if flags&4 != 0 {
			c.NotBefore = NewDate(time.Unix(nbf%span, 0))
		}
		if flags&8 != 0 {
			c.Audience = jwt.ClaimStrings{aud}
		}
		if flags&16 != 0 {
			c.Audience = append(c.Audience, iss)
		}
		if flags&32 != 0 {
			c.AMR = []string{amr}
		}
		if flags&64 != 0 {
			c.AMR = append(c.AMR, role)
		}
		if flags&128 != 0 {
			c.AMR = []string{}
		}
		got, err := EncodeClaims(&c)
		want, werr := json.Marshal(&c)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\nEncodeClaims %s, %v\njson.Marshal %s, %v", c, got, err, want, werr)
		}
	})
}
