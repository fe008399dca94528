package totp

import (
	"net/url"
	"testing"
	"time"
)

// RFC 4226 Appendix D.
func TestHOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := HOTP(SHA1, secret, uint64(i), 6); got != w {
			t.Errorf("HOTP(%d) = %s, want %s", i, got, w)
		}
	}
}

// RFC 6238 Appendix B.
func TestTOTPVectors(t *testing.T) {
	seeds := map[Algorithm][]byte{
		SHA1:   []byte("12345678901234567890"),
		SHA256: []byte("12345678901234567890123456789012"),
		SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	vectors := []struct {
		unix int64
		alg  Algorithm
		code string
	}{
		{59, SHA1, "94287082"}, {59, SHA256, "46119246"}, {59, SHA512, "90693936"},
		{1111111109, SHA1, "07081804"}, {1111111109, SHA256, "68084774"}, {1111111109, SHA512, "25091201"},
		{1111111111, SHA1, "14050471"}, {1111111111, SHA256, "67062674"}, {1111111111, SHA512, "99943326"},
		{1234567890, SHA1, "89005924"}, {1234567890, SHA256, "91819424"}, {1234567890, SHA512, "93441116"},
		{2000000000, SHA1, "69279037"}, {2000000000, SHA256, "90698825"}, {2000000000, SHA512, "38618901"},
		{20000000000, SHA1, "65353130"}, {20000000000, SHA256, "77737706"}, {20000000000, SHA512, "47863826"},
	}
	for _, v := range vectors {
		if got := TOTP(v.alg, seeds[v.alg], time.Unix(v.unix, 0), Period, 8); got != v.code {
			t.Errorf("TOTP(%d, %v) = %s, want %s", v.unix, v.alg, got, v.code)
		}
	}
}

func TestMatch(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	center := Step(now, Period)
	for _, d := range []int64{-1, 0, 1} {
		code := HOTP(SHA1, secret, uint64(center+d), 6)
		step, ok := Match(SHA1, secret, code, center, 1, 6)
		if !ok || step != center+d {
			t.Errorf("offset %d: got %d %v", d, step, ok)
		}
	}
	for _, d := range []int64{-2, 2} {
		if _, ok := Match(SHA1, secret, HOTP(SHA1, secret, uint64(center+d), 6), center, 1, 6); ok {
			t.Errorf("offset %d matched with skew 1", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345"} {
		if _, ok := Match(SHA1, secret, bad, center, 1, 6); ok {
			t.Errorf("%q matched", bad)
		}
	}
}

func TestURI(t *testing.T) {
	u, err := url.Parse(URI("Acme Corp", "a@b.example", []byte("12345678901234567890"), SHA1, 6, Period))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Acme Corp:a@b.example" {
		t.Fatalf("uri %v", u)
	}
	q := u.Query()
	if q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "Acme Corp" ||
		q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		t.Fatalf("query %v", q)
	}
}
