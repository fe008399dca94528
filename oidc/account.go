package oidc

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/ingestiq/auth"
)

func (m *Module) serveExchange(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code *string `json:"code"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	if err := dec.Decode(&in); err != nil {
		return auth.ErrInvalidRequest
	}
	if in.Code == nil {
		return &auth.Error{Code: auth.ErrValidation.Code, Status: auth.ErrValidation.Status, Message: auth.ErrValidation.Message, Fields: map[string]string{"code": "is required"}}
	}
	res, err := m.cfg.Auth.RedeemSignInCode(r.Context(), *in.Code, amr)
	if err != nil {
		return err
	}
	m.cfg.Auth.WriteAuthResult(w, r, http.StatusOK, res)
	return nil
}

// identityJSON is one entry of GET /identities.
type identityJSON struct {
	ID        string    `json:"id"`
	Issuer    string    `json:"issuer"`
	Provider  string    `json:"provider,omitempty"`
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

func (m *Module) serveIdentities(w http.ResponseWriter, r *http.Request) error {
	c, ok := auth.ClaimsFromContext(r.Context())
	if !ok {
		return auth.ErrUnauthorized
	}
	ids, err := m.cfg.Auth.ExternalIdentities(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	out := make([]identityJSON, 0, len(ids))
	for _, id := range ids {
		j := identityJSON{ID: id.ID, Issuer: id.Issuer, Email: id.Email, CreatedAt: id.CreatedAt}
		for _, n := range m.order {
			if m.providers[n].Issuer == id.Issuer {
				j.Provider = n
				break
			}
		}
		out = append(out, j)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"identities": out})
}

func (m *Module) serveUnlink(w http.ResponseWriter, r *http.Request) error {
	c, ok := auth.ClaimsFromContext(r.Context())
	if !ok {
		return auth.ErrUnauthorized
	}
	if err := m.cfg.Auth.UnlinkExternal(r.Context(), c.UserID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
