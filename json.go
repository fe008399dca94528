package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Ticket  string            `json:"ticket,omitempty"`
	Methods []string          `json:"methods,omitempty"`
}

// writeError writes e as the contract's error body with its status.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(e.RetryAfter)))
	}
	if e.Status == http.StatusUnauthorized {
		// Assigned under the canonical key, which "WWW-Authenticate" is not,
		// to spare the rejection path a key canonicalization.
		if e.Code == ErrInvalidToken.Code || e.Code == ErrTokenExpired.Code {
			h["Www-Authenticate"] = []string{`Bearer error="invalid_token"`}
		} else {
			h["Www-Authenticate"] = []string{"Bearer"}
		}
	}
	if e.Fields == nil {
		if body, ok := errorBodies[e]; ok {
			writeBody(w, e.Status, body)
			return
		}
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Fields: e.Fields, Ticket: e.Ticket, Methods: e.Methods}})
}

// writeJSON writes v as the JSON body with the given status, with headers
// that keep tokens and personal data out of caches and content sniffing.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, errorBodies[ErrInternal])
		return
	}
	writeBody(w, status, append(body, '\n'))
}

// writeBody writes an encoded JSON body with the headers every answer
// carries.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decode reads the request body into dst. The body must be sent as
// application/json (else 415), be at most MaxBodyBytes (else 413), and be
// exactly one JSON object in valid UTF-8 with no key given twice (else 400
// INVALID_REQUEST). A field of the wrong type is 400 VALIDATION_ERROR.
// Unknown fields are ignored.
func (a *Authenticator) decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || r.ContentLength != 0 {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return ErrUnsupportedMediaType
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return ErrUnsupportedMediaType
		}
	}
	limit := a.cfg.HTTP.MaxBodyBytes
	if r.ContentLength > limit {
		return ErrPayloadTooLarge
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ErrPayloadTooLarge
		}
		return ErrInvalidRequest
	}
	return decodeJSONObject(data, dst)
}

// decodeJSONObject decodes data, which must be exactly one JSON object with
// distinct keys, into dst.
func decodeJSONObject(data []byte, dst any) error {
	if req, ok := dst.(*refreshRequest); ok {
		if token, ok := refreshBodyToken(data); ok {
			req.RefreshToken = &token
			return nil
		}
	}
	if !utf8.Valid(data) || !isSingleObject(data) {
		return ErrInvalidRequest
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return validationError(map[string]string{typeErr.Field: "must be a " + jsonTypeName(typeErr.Type.Kind().String())})
		}
		return ErrInvalidRequest
	}
	return nil
}

// jsonTypeName names the JSON type of a Go kind, for the message of a
// field whose value has the wrong type. encoding/json reports the type
// behind a pointer, so kind is never "ptr".
func jsonTypeName(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return kind
}

// isSingleObject reports whether data holds exactly one JSON object, with
// nothing but white space after it, whose keys are distinct even when
// compared the way encoding/json binds keys to fields: without regard to
// case under Unicode simple folding (so {"email":..,"EMAIL":..} and
// {"password":..,"paſſword":..} would be ambiguous).
func isSingleObject(data []byte) bool {
	// One pass of the standard scanner proves the syntax (a single value,
	// white space around it); the walk below then only has to find the
	// top-level keys, each string and nested value being well formed.
	if !json.Valid(data) {
		return false
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return false
	}
	i++
	var few [8]string
	keys := few[:0]
	var many map[string]struct{}
	for {
		i = skipSpace(data, i)
		switch data[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(data, i+1)
		}
		end := stringEnd(data, i)
		key := string(data[i+1 : end-1])
		if bytes.IndexByte(data[i+1:end-1], '\\') >= 0 {
			if json.Unmarshal(data[i:end], &key) != nil {
				return false
			}
		}
		k := foldKey(key)
		switch {
		case many != nil:
			if _, dup := many[k]; dup {
				return false
			}
			many[k] = struct{}{}
		case slices.Contains(keys, k):
			return false
		case len(keys) < cap(keys):
			keys = append(keys, k)
		default:
			many = make(map[string]struct{}, 2*len(keys))
			for _, old := range keys {
				many[old] = struct{}{}
			}
			many[k] = struct{}{}
		}
		i = skipSpace(data, end) + 1 // the colon
		i = skipValue(data, skipSpace(data, i))
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at i,
// in data that json.Valid accepted.
func stringEnd(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// skipValue returns the index just past the JSON value that starts at i,
// in data that json.Valid accepted.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch data[j] {
			case '"':
				j = stringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(data) && !strings.ContainsRune(",}] \t\r\n", rune(data[j])) {
		j++
	}
	return j
}

// foldKey returns key folded so that foldKey(x) == foldKey(y) exactly when
// strings.EqualFold(x, y), the rule by which encoding/json matches an
// object key to a field name: ASCII letters are upper-cased and every other
// rune becomes the smallest rune of its Unicode simple-folding orbit ('s'
// and 'ſ' become 'S'; 'k' and the Kelvin sign become 'K'). It mirrors
// encoding/json's own folding of field names.
func foldKey(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			continue
		}
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}

// required returns a VALIDATION_ERROR naming every field that is missing or
// null.
func required(fields map[string]*string) error {
	var missing map[string]string
	for name, v := range fields {
		if v == nil {
			if missing == nil {
				missing = map[string]string{}
			}
			missing[name] = "is required"
		}
	}
	if missing != nil {
		return validationError(missing)
	}
	return nil
}
