package jose

import (
	"encoding/base64"
	"strings"
)

// MaxHeaderBytes bounds the decoded JOSE header scanned for a kid. The
// library's headers are under 100 bytes; a token with a longer one is
// rejected.
const MaxHeaderBytes = 512

// HeaderKid finds the "kid" member of a compact JWS's header without
// allocating (buf holds the decoded header). found reports whether the
// header has a kid; ok is false when the header cannot be read, or its kid
// is not a plain string. It only chooses which key to try: the key
// function then requires the kid golang-jwt decoded to be the key's own,
// before any signature is checked. The kid is used as nothing but a map
// key.
func HeaderKid(token string, buf *[MaxHeaderBytes]byte) (kid []byte, found, ok bool) {
	seg, _, dotted := strings.Cut(token, ".")
	if !dotted || base64.RawURLEncoding.DecodedLen(len(seg)) > len(buf) {
		return nil, false, false
	}
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg))
	if err != nil {
		return nil, false, false
	}
	return jsonStringMember(buf[:n], "kid")
}

// jsonStringMember scans the JSON object obj for the top-level member name
// and returns its value when that is a string without escapes. It is
// lenient about what it skips, and never reads past obj.
func jsonStringMember(obj []byte, name string) (val []byte, found, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false, false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil, false, true
	}
	for {
		key, escaped, j := scanString(obj, i)
		if j < 0 {
			return nil, false, false
		}
		i = skipSpace(obj, j)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false, false
		}
		i = skipSpace(obj, i+1)
		if !escaped && string(key) == name {
			v, vEscaped, j := scanString(obj, i)
			if j < 0 || vEscaped {
				return nil, true, false
			}
			return v, true, true
		}
		if i = skipValue(obj, i); i < 0 {
			return nil, false, false
		}
		i = skipSpace(obj, i)
		if i >= len(obj) {
			return nil, false, false
		}
		switch obj[i] {
		case '}':
			return nil, false, true
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return nil, false, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the JSON string starting at b[i] and returns its raw
// contents, whether they hold an escape, and the index after its closing
// quote, or -1.
func scanString(b []byte, i int) (s []byte, escaped bool, next int) {
	if i >= len(b) || b[i] != '"' {
		return nil, false, -1
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], escaped, j + 1
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, false, -1
		}
	}
	return nil, false, -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, next := scanString(b, i)
		return next
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, next := scanString(b, j)
				if next < 0 {
					return -1
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && strings.IndexByte(",}] \t\r\n", b[j]) < 0 {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
