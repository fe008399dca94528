package auth

import (
	"errors"
	"strings"
)

// MaxEmailBytes is the longest email address accepted, in bytes (RFC 5321's
// path limit less the angle brackets).
const MaxEmailBytes = 254

var errBadEmail = errors.New("auth: invalid email address")

// CanonicalEmail returns the canonical form of an email address, the one
// form used to store, look up and compare users: surrounding white space
// trimmed, ASCII letters lower-cased. It returns an error unless the rest is
// a bare RFC 5322 addr-spec of at most [MaxEmailBytes] bytes: a dot-atom
// local part of at most 64 bytes, "@", and a domain of two or more
// letter-digit-hyphen labels.
//
// Only ASCII is accepted. Display names ("Alice <a@x.io>"), comments, quoted
// local parts, IP-literal domains and non-ASCII characters are refused rather
// than guessed at, so that no two different inputs can canonicalize into each
// other through Unicode case mapping (the Kelvin sign, the dotted capital I)
// and every store compares the same bytes. CanonicalEmail is idempotent.
func CanonicalEmail(s string) (string, error) {
	s = strings.Trim(s, " \t\r\n")
	if len(s) == 0 || len(s) > MaxEmailBytes {
		return "", errBadEmail
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at > 64 || at == len(s)-1 {
		return "", errBadEmail
	}
	local, domain := s[:at], s[at+1:]
	if !validLocalPart(local) || !validDomain(domain) {
		return "", errBadEmail
	}
	return asciiLower(s), nil
}

// validLocalPart reports whether s is an RFC 5322 dot-atom: atext runs
// separated by single dots.
func validLocalPart(s string) bool {
	if s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	prevDot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if prevDot {
				return false
			}
			prevDot = true
			continue
		}
		prevDot = false
		if !isAtext(c) {
			return false
		}
	}
	return true
}

func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// validDomain reports whether s is two or more dot-separated labels of
// letters, digits and inner hyphens, each 1 to 63 bytes.
func validDomain(s string) bool {
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
