package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// The seed corpora below run in every `go test`; `go test -fuzz=FuzzX`
// explores further.

func FuzzCanonicalEmail(f *testing.F) {
	for _, s := range []string{
		"user@example.com", "  User@Example.COM\t", "a@b.co", "plainaddress", "a@", "@x.io", "a@b@c.io",
		"Alice <alice@example.com>", "alice@example.com (comment)", `"a b"@example.com`, "a@[127.0.0.1]",
		"a@x.io\x00", "\u212Aate@example.com", "adm\u0130n@example.com", "\u017Fam@example.com", "аlice@example.com",
		"a'OR'1'='1@example.com", "first.last+tag@sub.example.co.uk", "a..b@example.com", ".a@example.com",
		"a.@example.com", "a@-x.io", "a@x-.io", "a@x..io", "a@x.io.", "A@X.IO", "\xff@example.com",
		strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 65) + "@example.com",
		"a@" + strings.Repeat("b", 63) + ".io", "a@" + strings.Repeat("b", 64) + ".io",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 94) + "io", "\r\n a@b.io \r\n", "a@b.io\v",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := auth.CanonicalEmail(s)
		if err != nil {
			if c != "" {
				t.Errorf("CanonicalEmail(%q) = %q with error %v; want no result with an error", s, c, err)
			}
			return
		}
		if len(c) == 0 || len(c) > 254 {
			t.Errorf("CanonicalEmail(%q) = %q: %d bytes, want 1..254", s, c, len(c))
		}
		for i := 0; i < len(c); i++ {
			if b := c[i]; b >= utf8.RuneSelf || 'A' <= b && b <= 'Z' || b <= ' ' || b == 0x7f {
				t.Fatalf("CanonicalEmail(%q) = %q: byte %#x at %d is not lower-case printable ASCII", s, c, b, i)
			}
		}
		if strings.Count(c, "@") != 1 {
			t.Errorf("CanonicalEmail(%q) = %q: want exactly one @", s, c)
		}
		if !strings.EqualFold(c, strings.TrimSpace(s)) {
			t.Errorf("CanonicalEmail(%q) = %q: want the trimmed input in lower case", s, c)
		}
		c2, err := auth.CanonicalEmail(c)
		if err != nil || c2 != c {
			t.Errorf("CanonicalEmail is not idempotent: %q -> %q -> %q (%v)", s, c, c2, err)
		}
	})
}

func FuzzRequestDecoding(f *testing.F) {
	e := newEnv(f)
	s := e.registerHTTP(f, "fuzz@example.com")
	for _, body := range []string{
		testutil.RegisterBody("new@example.com", goodPassword, "New"),
		testutil.RegisterBody("fuzz@example.com", goodPassword, "Dup"),
		testutil.RefreshBody(s.refresh),
		testutil.RefreshBody(s.access),
		testutil.LoginBody("fuzz@example.com", goodPassword),
		`{}`, `null`, `[]`, `"x"`, `123`, ``, `{`, `{"email":`, `{"email":"a@x.io","email":"b@x.io"}`,
		`{"email":"a@x.io","EMAIL":"b@x.io"}`, `{} {}`, `{}junk`, `{"email":123,"password":true,"name":null}`,
		`{"refreshToken":null}`, `{"refreshToken":""}`, `{"refreshToken":["x"]}`, `{"email":"\ud800@x.io"}`,
		"{\"name\":\"\xff\"}", `{"email":"a@x.io","password":"ééééééé","name":"A"}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"email":"big@x.io","password":"` + strings.Repeat("p", 70000) + `"}`,
	} {
		f.Add([]byte(body))
	}
	allowed := map[int]bool{200: true, 201: true, 400: true, 401: true, 409: true, 413: true, 415: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/register", "/refresh", "/login"} {
			r := e.do(http.MethodPost, path, bytes.NewReader(body), jsonHeaders)
			if !allowed[r.status] {
				t.Fatalf("POST %s %q: status %d, body %s", path, body, r.status, r.body)
			}
			checkCommonHeaders(t, path, r.header)
			if !json.Valid(r.body) {
				t.Fatalf("POST %s %q: answer %q is not JSON", path, body, r.body)
			}
			if r.status >= 400 {
				for _, m := range leakMarkers {
					if bytes.Contains(r.body, []byte(m)) {
						t.Fatalf("POST %s %q: error body carries %q: %s", path, body, m, r.body)
					}
				}
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	// A random secret, so that no token kept in a corpus from another run
	// can be genuine here.
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		f.Fatal(err)
	}
	e := newEnv(f, func(c *auth.Config) { c.Secret = secret })
	res := e.registerAPI(f, "verify@example.com")
	genuine := res.AccessToken
	dot := strings.LastIndexByte(genuine, '.')
	for _, s := range []string{
		genuine, res.RefreshToken, "", "abc", "a.b", "a.b.c", "..", genuine + "=", genuine + ".", "." + genuine,
		testutil.WithSignatureFlipped(genuine), genuine[:dot], genuine[:dot+1], genuine + genuine, strings.ToUpper(genuine),
		strings.Repeat(".", 5000), "eyJhbGciOiJub25lIn0.e30.", " " + genuine, genuine + " ",
		// The last character's bit-twin, which lenient base64 decoding
		// would map to the same signature bytes.
		bitTwin(genuine),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := e.a.Verify(context.Background(), s)
		switch {
		case s == genuine && err != nil:
			t.Fatalf("Verify of the genuine token: %v", err)
		case s != genuine && err == nil:
			t.Fatalf("Verify(%q) succeeded with claims %+v; only the genuine token may", s, c)
		case err != nil && !(errorIsOneOf(err, auth.ErrInvalidToken, auth.ErrTokenExpired)):
			t.Fatalf("Verify(%q): %v, want ErrInvalidToken or ErrTokenExpired", s, err)
		}

		r := e.do(http.MethodGet, "/me", nil, hdr{{"Authorization", "Bearer " + s}})
		// RFC 6750 allows several spaces after the scheme, and the library
		// ignores trailing ones.
		isGenuine := strings.Trim(s, " ") == genuine
		switch {
		case isGenuine && r.status != http.StatusOK:
			t.Fatalf("/me with the genuine token %q: status %d, body %s", s, r.status, r.body)
		case !isGenuine && r.status != http.StatusUnauthorized:
			t.Fatalf("/me with %q: status %d, want 401; body %s", s, r.status, r.body)
		}
		checkCommonHeaders(t, "/me", r.header)
	})
}

func errorIsOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// bitTwin returns token with the base64url value of its last character
// changed in its lowest bit. The 43rd character of an HS256 signature
// carries only two bits of the signature, so a lenient decoder maps the
// twin to the same bytes.
func bitTwin(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[i^1])
}
