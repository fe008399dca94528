package auth

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ingestiq/auth/internal/jose"
)

// FuzzRefreshClaimsDecode: jose.DecodeClaims fills refresh-token claims
// exactly as json.Unmarshal does, for any input.
func FuzzRefreshClaimsDecode(f *testing.F) {
	for _, s := range []string{
		`{"iss":"ingestiq-auth","sub":"59679d69-2248-4ea7-810f-07d1eed594d9","aud":["ingestiq-auth"],"exp":1738670430,"iat":1738065630,"jti":"EV62uPuMJOs_aBw6nQt_3VGSFsUNKNTqo_yp5Bh7EQs","sid":"a95e0264-3d57-41c5-b3d9-0cf7db01ece3","sxp":1740657630,"amr":"pwd otp","aal":2}`,
		`{"sid":"s","sxp":"1"}`,
		`{"sxp":1.5}`,
		`{"amr":["pwd"]}`,
		`{"aal":-1}`,
		`{"SID":"s"}`,
		`{"sid":"s","sid":"t"}`,
		`{"sxp":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, ref refreshClaims
		err := jose.DecodeClaims(data, &got)
		refErr := json.Unmarshal(data, &ref)
		if (err == nil) != (refErr == nil) || err == nil && !reflect.DeepEqual(got, ref) {
			t.Fatalf("%q: DecodeClaims %+v, %v; json.Unmarshal %+v, %v", data, got, err, ref, refErr)
		}
	})
}

// FuzzRefreshClaimsEncode: jose.EncodeClaims writes refresh-token claims
// exactly as json.Marshal does.
func FuzzRefreshClaimsEncode(f *testing.F) {
	f.Add("ingestiq-auth", "59679d69", "jti-1", "sid-1", "pwd otp", int64(1738670430), int64(1740657630), 2, uint8(3))
	f.Add("", "", "", "", "", int64(0), int64(-1), 0, uint8(0))
	f.Add("<", "&", "\"", "\\", "\u2028", int64(1), int64(2), -1, uint8(1))
	f.Fuzz(func(t *testing.T, iss, sub, jti, sid, amr string, exp, sxp int64, aal int, flags uint8) {
		c := refreshClaims{
			RegisteredClaims: jose.RegisteredClaims{Issuer: iss, Subject: sub, ID: jti, Audience: jwt.ClaimStrings{iss}},
			SessionID:        sid, AMR: amr, AAL: aal,
		}
		const span = 1 << 40
		if flags&1 != 0 {
			c.ExpiresAt = jose.NewDate(time.Unix(exp%span, 0))
		}
		if flags&2 != 0 {
			c.SessionExpiresAt = jose.NewDate(time.Unix(sxp%span, 0))
		}
		got, err := jose.EncodeClaims(&c)
		want, werr := json.Marshal(&c)
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\nEncodeClaims %s, %v\njson.Marshal %s, %v", c, got, err, want, werr)
		}
	})
}
