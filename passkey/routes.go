package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/ingestiq/auth"
)

// maxBody bounds a request body; an attestation is a few kilobytes.
const maxBody = 64 << 10

// maxName bounds a passkey's name, in characters.
const maxName = 64

// Mount adds the passkey routes to those the Authenticator's Handler
// serves (so call it before [auth.Authenticator.Handler]):
//
//	POST   /passkeys/register/begin   {"password"?}            bearer
//	POST   /passkeys/register/finish  {"ceremony","credential","name"?} bearer
//	POST   /passkeys/login/begin      {}
//	POST   /passkeys/login/finish     {"ceremony","credential"}
//	POST   /mfa/passkey/begin         {"ticket"}
//	POST   /mfa/passkey/finish        {"ticket","ceremony","credential"}
//	GET    /passkeys                                            bearer
//	PATCH  /passkeys/{id}             {"name"}                  bearer
//	DELETE /passkeys/{id}                                       bearer
//
// The begin routes answer {"ceremony","publicKey"}; the sign-in routes
// answer what POST /login answers.
func (pk *Passkeys) Mount() {
	a := pk.a
	a.Handle("/passkeys/register/begin", a.Middleware(a.Route(http.MethodPost, pk.serveRegisterBegin)))
	a.Handle("/passkeys/register/finish", a.Middleware(a.Route(http.MethodPost, pk.serveRegisterFinish)))
	a.Handle("/passkeys/login/begin", a.Route(http.MethodPost, pk.serveLoginBegin))
	a.Handle("/passkeys/login/finish", a.Route(http.MethodPost, pk.serveLoginFinish))
	a.Handle("/mfa/passkey/begin", a.Route(http.MethodPost, pk.serveMFABegin))
	a.Handle("/mfa/passkey/finish", a.Route(http.MethodPost, pk.serveMFAFinish))
	a.Handle("/passkeys", a.Middleware(a.Route(http.MethodGet, pk.serveList)))
	rename := a.Middleware(a.Route(http.MethodPatch, pk.serveRename))
	remove := a.Middleware(a.Route(http.MethodDelete, pk.serveRemove))
	a.Handle("/passkeys/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			remove.ServeHTTP(w, r)
			return
		}
		rename.ServeHTTP(w, r)
	}))
}

type request struct {
	Password   string          `json:"password"`
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
	Name       *string         `json:"name"`
	Ticket     string          `json:"ticket"`
}

// decode reads the body as one JSON object; an empty body is {} when
// optional.
func decode(w http.ResponseWriter, r *http.Request, optional bool) (*request, error) {
	var req request
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, auth.ErrPayloadTooLarge
		}
		return nil, auth.ErrInvalidRequest
	}
	if len(bytes.TrimSpace(body)) == 0 && optional {
		return &req, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, auth.ErrUnsupportedMediaType
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&req); err != nil || d.More() || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil, auth.ErrInvalidRequest
	}
	return &req, nil
}

func validation(field, msg string) error {
	e := *auth.ErrValidation
	e.Fields = map[string]string{field: msg}
	return &e
}

func (req *request) needCredential() error {
	if req.Ceremony == "" {
		return validation("ceremony", "required")
	}
	if len(req.Credential) == 0 || !bytes.HasPrefix(bytes.TrimSpace(req.Credential), []byte("{")) {
		return validation("credential", "must be the PublicKeyCredential as a JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func claims(r *http.Request) *auth.Claims {
	c, _ := auth.ClaimsFromContext(r.Context())
	return c
}

func (pk *Passkeys) serveRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, true)
	if err != nil {
		return err
	}
	b, err := pk.BeginRegistration(r.Context(), claims(r), req.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func checkName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxName || strings.TrimSpace(name) == "" {
		return validation("name", "must be 1 to 64 characters")
	}
	return nil
}

func (pk *Passkeys) serveRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, false)
	if err != nil {
		return err
	}
	if err := req.needCredential(); err != nil {
		return err
	}
	name := ""
	if req.Name != nil {
		if err := checkName(*req.Name); err != nil {
			return err
		}
		name = strings.TrimSpace(*req.Name)
	}
	i, err := pk.FinishRegistration(r.Context(), claims(r), req.Ceremony, req.Credential, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, i)
}

func (pk *Passkeys) serveLoginBegin(w http.ResponseWriter, r *http.Request) error {
	if _, err := decode(w, r, true); err != nil {
		return err
	}
	b, err := pk.BeginLogin(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (pk *Passkeys) serveLoginFinish(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, false)
	if err != nil {
		return err
	}
	if err := req.needCredential(); err != nil {
		return err
	}
	res, err := pk.FinishLogin(r.Context(), req.Ceremony, req.Credential)
	if err != nil {
		return err
	}
	pk.a.WriteAuthResult(w, r, http.StatusOK, res)
	return nil
}

func (pk *Passkeys) serveMFABegin(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, false)
	if err != nil {
		return err
	}
	if req.Ticket == "" {
		return validation("ticket", "required")
	}
	b, err := pk.BeginSecondStep(r.Context(), req.Ticket)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (pk *Passkeys) serveMFAFinish(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, false)
	if err != nil {
		return err
	}
	if req.Ticket == "" {
		return validation("ticket", "required")
	}
	if err := req.needCredential(); err != nil {
		return err
	}
	res, err := pk.FinishSecondStep(r.Context(), req.Ticket, req.Ceremony, req.Credential)
	if err != nil {
		return err
	}
	pk.a.WriteAuthResult(w, r, http.StatusOK, res)
	return nil
}

func (pk *Passkeys) serveList(w http.ResponseWriter, r *http.Request) error {
	list, err := pk.List(r.Context(), claims(r).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"passkeys": list})
}

func (pk *Passkeys) serveRename(w http.ResponseWriter, r *http.Request) error {
	req, err := decode(w, r, false)
	if err != nil {
		return err
	}
	if req.Name == nil {
		return validation("name", "required")
	}
	if err := checkName(*req.Name); err != nil {
		return err
	}
	c := claims(r)
	if err := pk.Rename(r.Context(), c.UserID, r.PathValue("id"), strings.TrimSpace(*req.Name)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (pk *Passkeys) serveRemove(w http.ResponseWriter, r *http.Request) error {
	if err := pk.Remove(r.Context(), claims(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
