package jose

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The claims of the library's own tokens are a flat JSON object that the
// library wrote itself: lowercase keys, strings without escapes, whole
// numbers, arrays of such strings. DecodeClaims reads exactly that form
// directly, which costs a fraction of encoding/json's reflection, and hands
// anything else to encoding/json. For every input the fast path accepts,
// the result is the one json.Unmarshal gives (FuzzDecodeClaimsMatchesJSON);
// an input it cannot vouch for (an escape, a duplicate or unknown key, a
// null, a fraction, an empty array, ...) is decoded by json.Unmarshal
// from scratch.

// ClaimSetter is implemented by claims types that DecodeClaims can fill
// without encoding/json.
type ClaimSetter interface {
	// SetClaim stores the value of the claim key, reporting false for a key
	// it does not know or a value of a kind its field does not take as
	// encoding/json would (the whole object then goes to encoding/json).
	SetClaim(key string, v ClaimValue) bool
	// ResetClaims sets every field back to its zero value.
	ResetClaims()
}

// ClaimValue is one value of the fast path: a string (Str, IsStr), a whole
// number (Num, IsNum), or a non-empty array of strings (Strs).
type ClaimValue struct {
	Str   string
	Num   int64
	Strs  []string
	IsStr bool
	IsNum bool
}

// DecodeClaims decodes the JSON object data into dst, a pointer to a claims
// struct, as json.Unmarshal(data, dst) does.
func DecodeClaims(data []byte, dst any) error {
	if s, ok := dst.(ClaimSetter); ok {
		if decodeFlat(data, s) {
			return nil
		}
		s.ResetClaims()
	}
	return json.Unmarshal(data, dst)
}

// maxFastDigits keeps whole numbers exact as the float64 that encoding/json
// and NumericDate go through (below 2^53).
const maxFastDigits = 15

// decodeFlat fills s from data when data is a flat object in the library's
// form with distinct keys that s takes, and reports whether it did.
func decodeFlat(data []byte, s ClaimSetter) bool {
	i := 0
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i++
	var seen [16]string
	n := 0
	if i < len(data) && data[i] == '}' {
		return i+1 == len(data)
	}
	for {
		key, next, ok := plainString(data, i)
		if !ok || next >= len(data) || data[next] != ':' {
			return false
		}
		for _, k := range seen[:n] {
			if k == key {
				return false // encoding/json keeps the last; leave it to it
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = key
		n++
		var v ClaimValue
		i = next + 1
		if i >= len(data) {
			return false
		}
		switch c := data[i]; {
		case c == '"':
			v.Str, i, ok = plainString(data, i)
			v.IsStr = true
		case c >= '0' && c <= '9':
			v.Num, i, ok = wholeNumber(data, i)
			v.IsNum = true
		case c == '[':
			v.Strs, i, ok = stringArray(data, i)
		default:
			return false
		}
		if !ok || !s.SetClaim(key, v) || i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return i+1 == len(data)
		default:
			return false
		}
	}
}

// plainString reads the JSON string at data[i], which must be printable
// ASCII without a quote or a backslash, and returns it and the index after
// its closing quote.
func plainString(data []byte, i int) (string, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	for j := start; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return string(data[start:j]), j + 1, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", 0, false
		}
	}
	return "", 0, false
}

// wholeNumber reads the whole number at data[i]: digits without a leading
// zero (a lone 0 aside), at most maxFastDigits of them, not followed by a
// fraction or an exponent.
func wholeNumber(data []byte, i int) (int64, int, bool) {
	start := i
	var n int64
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		n = n*10 + int64(data[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > maxFastDigits || digits > 1 && data[start] == '0' {
		return 0, 0, false
	}
	if i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return 0, 0, false
	}
	return n, i, true
}

// stringArray reads a non-empty array of plain strings at data[i].
func stringArray(data []byte, i int) ([]string, int, bool) {
	i++ // '['
	var out []string
	for {
		s, next, ok := plainString(data, i)
		if !ok || next >= len(data) {
			return nil, 0, false
		}
		out = append(out, s)
		switch data[next] {
		case ',':
			i = next + 1
		case ']':
			return out, next + 1, true
		default:
			return nil, 0, false
		}
	}
}

// fastDate is the NumericDate that NumericDate.UnmarshalJSON makes of the
// whole number n.
func fastDate(n int64) *NumericDate { return NewDate(time.Unix(n, 0)) }

// SetRegistered stores a registered claim, reporting false for another key
// or a value of the wrong kind.
func (c *RegisteredClaims) SetRegistered(key string, v ClaimValue) bool {
	switch key {
	case "iss":
		c.Issuer = v.Str
		return v.IsStr
	case "sub":
		c.Subject = v.Str
		return v.IsStr
	case "jti":
		c.ID = v.Str
		return v.IsStr
	case "aud":
		switch {
		case v.IsStr:
			c.Audience = jwt.ClaimStrings{v.Str}
		case v.Strs != nil:
			c.Audience = jwt.ClaimStrings(v.Strs)
		default:
			return false
		}
		return true
	case "exp":
		c.ExpiresAt = fastDate(v.Num)
		return v.IsNum
	case "nbf":
		c.NotBefore = fastDate(v.Num)
		return v.IsNum
	case "iat":
		c.IssuedAt = fastDate(v.Num)
		return v.IsNum
	}
	return false
}

// SetClaim implements [ClaimSetter].
func (c *AccessClaims) SetClaim(key string, v ClaimValue) bool {
	switch key {
	case "sid":
		c.SessionID = v.Str
		return v.IsStr
	case "org":
		c.OrganizationID = v.Str
		return v.IsStr
	case "role":
		c.Role = v.Str
		return v.IsStr
	case "amr":
		c.AMR = v.Strs
		return v.Strs != nil
	case "aal":
		c.AAL = int(v.Num)
		return v.IsNum
	}
	return c.SetRegistered(key, v)
}

// ResetClaims implements [ClaimSetter].
func (c *AccessClaims) ResetClaims() { *c = AccessClaims{} }

// ClaimAppender is implemented by claims types that EncodeClaims can write
// without encoding/json.
type ClaimAppender interface {
	// AppendClaims appends the JSON object of the claims, as json.Marshal
	// writes it, to w, which reports whether every value was plain.
	AppendClaims(w *ClaimWriter)
}

// EncodeClaims returns json.Marshal(c): written directly when c is a
// ClaimAppender whose strings need no escaping and golang-jwt's encoding
// settings are its defaults, through encoding/json otherwise.
// FuzzEncodeClaimsMatchesJSON holds the two to the same bytes.
func EncodeClaims(c any) ([]byte, error) {
	if a, ok := c.(ClaimAppender); ok && jwt.TimePrecision == time.Second && jwt.MarshalSingleStringAsArray {
		w := ClaimWriter{b: make([]byte, 0, 512), ok: true}
		w.b = append(w.b, '{')
		a.AppendClaims(&w)
		if w.ok {
			return append(w.b, '}'), nil
		}
	}
	return json.Marshal(c)
}

// ClaimWriter writes the members of a claims object in order, as
// encoding/json would with the fields' tags.
type ClaimWriter struct {
	b     []byte
	ok    bool
	comma bool
}

func (w *ClaimWriter) key(k string) {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = true
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *ClaimWriter) quoted(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			w.ok = false // encoding/json would escape it
			return
		}
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, s...)
	w.b = append(w.b, '"')
}

// String writes a string member; with omitEmpty ("omitempty") an empty
// one is left out.
func (w *ClaimWriter) String(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.key(k)
	w.quoted(v)
}

// Strings writes a []string member; with omitEmpty an empty one is left
// out, and otherwise a nil one is null.
func (w *ClaimWriter) Strings(k string, v []string, omitEmpty bool) {
	if omitEmpty && len(v) == 0 {
		return
	}
	w.key(k)
	if v == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.quoted(s)
	}
	w.b = append(w.b, ']')
}

// Int writes an integer member; with omitEmpty a zero is left out.
func (w *ClaimWriter) Int(k string, v int64, omitEmpty bool) {
	if omitEmpty && v == 0 {
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// Date writes a NumericDate member as golang-jwt writes it at a precision
// of a second; with omitEmpty a nil one is left out, and otherwise it is
// null.
func (w *ClaimWriter) Date(k string, d *NumericDate, omitEmpty bool) {
	if d == nil {
		if !omitEmpty {
			w.key(k)
			w.b = append(w.b, "null"...)
		}
		return
	}
	w.key(k)
	w.b = strconv.AppendInt(w.b, d.Truncate(time.Second).Unix(), 10)
}

// AppendRegistered writes the registered claims, in the order and with the
// omissions of their tags.
func (c *RegisteredClaims) AppendRegistered(w *ClaimWriter) {
	w.String("iss", c.Issuer, true)
	w.String("sub", c.Subject, true)
	w.Strings("aud", c.Audience, true)
	w.Date("exp", c.ExpiresAt, true)
	w.Date("nbf", c.NotBefore, true)
	w.Date("iat", c.IssuedAt, true)
	w.String("jti", c.ID, true)
}

// AppendClaims implements [ClaimAppender].
func (c *AccessClaims) AppendClaims(w *ClaimWriter) {
	c.AppendRegistered(w)
	w.String("sid", c.SessionID, false)
	w.String("org", c.OrganizationID, true)
	w.String("role", c.Role, true)
	w.Strings("amr", c.AMR, true)
	w.Int("aal", int64(c.AAL), true)
}
