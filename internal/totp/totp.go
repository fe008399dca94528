// Package totp implements HOTP (RFC 4226) and TOTP (RFC 6238) with the
// standard library alone: codes of 6 to 8 digits, HMAC-SHA-1, SHA-256 or
// SHA-512, and the otpauth:// key URI that authenticator apps read.
package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the HMAC hash of a code.
type Algorithm int

// The algorithms of RFC 6238. Authenticator apps support SHA1 reliably; the
// others exist for the RFC's test vectors.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

func (a Algorithm) new() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return sha1.New
}

// String returns the algorithm's name as the key URI writes it.
func (a Algorithm) String() string {
	switch a {
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return "SHA1"
}

// Period is the standard time step.
const Period = 30 * time.Second

// Encoding is unpadded base32 (RFC 4648), the form of the secret in a key
// URI and in authenticator apps.
var Encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// HOTP returns the RFC 4226 code of counter under secret with the given
// number of digits (6 to 8), zero-padded.
func HOTP(alg Algorithm, secret []byte, counter uint64, digits int) string {
	if digits < 6 || digits > 8 {
		panic("totp: digits must be 6, 7 or 8")
	}
	m := hmac.New(alg.new(), secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	s := strconv.FormatUint(uint64(bin%pow10[digits]), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// Step returns the time step of t with period p (T0 = 0).
func Step(t time.Time, p time.Duration) int64 {
	return t.Unix() / int64(p/time.Second)
}

// TOTP returns the RFC 6238 code at time t.
func TOTP(alg Algorithm, secret []byte, t time.Time, p time.Duration, digits int) string {
	return HOTP(alg, secret, uint64(Step(t, p)), digits)
}

// Match looks for code among the steps from center-skew to center+skew, and
// returns the step it matched, trying every step so that the time taken does
// not tell which one matched. A code that is not exactly digits ASCII
// digits matches nothing.
func Match(alg Algorithm, secret []byte, code string, center int64, skew, digits int) (int64, bool) {
	if len(code) != digits {
		return 0, false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, false
		}
	}
	var step int64
	found := 0
	for s := center - int64(skew); s <= center+int64(skew); s++ {
		if s < 0 {
			continue
		}
		eq := subtle.ConstantTimeCompare([]byte(HOTP(alg, secret, uint64(s), digits)), []byte(code))
		if eq == 1 && found == 0 {
			step, found = s, 1
		}
	}
	return step, found == 1
}

// URI returns the otpauth:// key URI of a TOTP secret, as documented by
// Google Authenticator's Key Uri Format: the label is "issuer:account", and
// the issuer is repeated as a parameter.
func URI(issuer, account string, secret []byte, alg Algorithm, digits int, p time.Duration) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{}
	q.Set("secret", Encoding.EncodeToString(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", alg.String())
	q.Set("digits", strconv.Itoa(digits))
	q.Set("period", strconv.Itoa(int(p/time.Second)))
	return "otpauth://totp/" + label + "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
}
