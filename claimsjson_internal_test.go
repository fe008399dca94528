package auth

import (
	"encoding/json"
	"reflect"
	"testing"

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
