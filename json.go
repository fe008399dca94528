package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
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
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := make(map[string]struct{}, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		k := foldKey(key)
		if _, dup := seen[k]; dup {
			return false
		}
		seen[k] = struct{}{}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
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
