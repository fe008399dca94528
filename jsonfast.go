package auth

import "encoding/json"

// The refresh route's body and answer are the hottest JSON of the library:
// a refresh token of about 500 bytes in, two tokens out. encoding/json
// scans every byte of them several times (validation, the duplicate-key
// walk, decoding). Tokens are base64url segments joined by dots, which JSON
// writes and reads verbatim, so the canonical forms below are recognised,
// or written, directly; anything else goes through encoding/json as
// before. FuzzRefreshBodyFastPath and FuzzTokenPairFastPath check that
// both paths agree.

// refreshBodyToken returns the token of a body that is exactly
// {"refreshToken":"<token>"}, with JSON white space allowed between the
// tokens of the object, and a token made only of base64url characters and
// dots. It reports false for every other body, which the caller decodes in
// full; for these, encoding/json gives the same token.
func refreshBodyToken(data []byte) (string, bool) {
	const key = `"refreshToken"`
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return "", false
	}
	i = skipSpace(data, i+1)
	if len(data)-i < len(key) || string(data[i:i+len(key)]) != key {
		return "", false
	}
	i = skipSpace(data, i+len(key))
	if i >= len(data) || data[i] != ':' {
		return "", false
	}
	i = skipSpace(data, i+1)
	if i >= len(data) || data[i] != '"' {
		return "", false
	}
	start := i + 1
	i = start
	for i < len(data) && isTokenByte(data[i]) {
		i++
	}
	if i == start || i >= len(data) || data[i] != '"' {
		return "", false
	}
	token := string(data[start:i])
	i = skipSpace(data, i+1)
	if i >= len(data) || data[i] != '}' {
		return "", false
	}
	if skipSpace(data, i+1) != len(data) {
		return "", false
	}
	return token, true
}

// isTokenByte reports whether c is a base64url character or a dot: the
// bytes of a JWT, which JSON strings hold without escaping.
func isTokenByte(c byte) bool { return tokenBytes[c] }

// tokenBytes marks the base64url characters and the dot.
var tokenBytes = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'] = true, true, true
	return t
}()

// isTokenString reports whether s is made only of isTokenByte bytes.
func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// tokenPairJSON returns the JSON form of p, with a final newline, as
// writeJSON writes it: directly when both tokens are made of token bytes
// (always, for the library's own tokens), through encoding/json otherwise.
func tokenPairJSON(p *TokenPair) ([]byte, error) {
	if !isTokenString(p.AccessToken) || !isTokenString(p.RefreshToken) {
		b, err := json.Marshal(p)
		return append(b, '\n'), err
	}
	b := make([]byte, 0, len(`{"accessToken":"","refreshToken":""}`)+len(p.AccessToken)+len(p.RefreshToken)+1)
	b = append(b, `{"accessToken":"`...)
	b = append(b, p.AccessToken...)
	if p.RefreshToken != "" {
		b = append(b, `","refreshToken":"`...)
		b = append(b, p.RefreshToken...)
	}
	return append(b, "\"}\n"...), nil
}
