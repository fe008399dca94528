package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/ingestiq/auth"
	"golang.org/x/oauth2"
)

// Errors the module's routes answer, in the contract's shape.
var (
	// ErrUnknownProvider is answered for a provider name that is not
	// configured.
	ErrUnknownProvider = &auth.Error{Code: "NOT_FOUND", Status: http.StatusNotFound, Message: "Unknown provider"}
	// ErrSignInFailed is the callback's answer when the provider's answer
	// does not prove a sign-in: a missing or forged state, a refused code,
	// an ID token whose signature, issuer, audience, nonce or expiry is
	// wrong. The cause is logged, never shown.
	ErrSignInFailed = &auth.Error{Code: "OIDC_FAILED", Status: http.StatusUnauthorized, Message: "Sign-in with the provider failed"}
)

// register adds the routes to the Authenticator's Handler.
func (m *Module) register() {
	a := m.cfg.Auth
	a.Handle("/oidc/providers", a.Route(http.MethodGet, m.serveProviders))
	a.Handle("/oidc/exchange", a.Route(http.MethodPost, m.serveExchange))
	a.Handle("/oidc/{provider}", a.Route(http.MethodGet, m.serveStart))
	a.Handle("/oidc/{provider}/callback", a.Route(http.MethodGet, m.serveCallback))
	a.Handle("/oidc/{provider}/link", a.Middleware(a.Route(http.MethodPost, m.serveLink)))
	a.Handle("/identities", a.Middleware(a.Route(http.MethodGet, m.serveIdentities)))
	a.Handle("/identities/{id}", a.Middleware(a.Route(http.MethodDelete, m.serveUnlink)))
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

func (m *Module) serveProviders(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{"providers": m.Providers()})
}

// begin sets the state cookie and returns the provider's authorization
// URL: state, nonce (OpenID Connect) and PKCE S256.
func (m *Module) begin(w http.ResponseWriter, p *provider, linkUser string) string {
	st := &flowState{
		Provider: p.Name, State: randomString(24), Nonce: randomString(24), Verifier: oauth2.GenerateVerifier(),
		LinkUser: linkUser, Expires: m.cfg.Now().Add(m.cfg.StateTTL).Unix(),
	}
	m.setState(w, st)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier)}
	if p.oidc != nil {
		opts = append(opts, oidc.Nonce(st.Nonce))
	}
	return p.oauth.AuthCodeURL(st.State, opts...)
}

func (m *Module) provider(r *http.Request) (*provider, error) {
	p, ok := m.providers[r.PathValue("provider")]
	if !ok {
		return nil, ErrUnknownProvider
	}
	return p, nil
}

func (m *Module) serveStart(w http.ResponseWriter, r *http.Request) error {
	p, err := m.provider(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, m.begin(w, p, ""), http.StatusFound)
	return nil
}

func (m *Module) serveLink(w http.ResponseWriter, r *http.Request) error {
	p, err := m.provider(r)
	if err != nil {
		return err
	}
	c, ok := auth.ClaimsFromContext(r.Context())
	if !ok {
		return auth.ErrUnauthorized
	}
	return writeJSON(w, http.StatusOK, map[string]string{"url": m.begin(w, p, c.UserID)})
}

// redirectFront sends the browser back to the front end with one fragment
// parameter.
func (m *Module) redirectFront(w http.ResponseWriter, r *http.Request, key, value string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, m.cfg.FrontendURL+"#"+key+"="+url.QueryEscape(value), http.StatusSeeOther)
}

func (m *Module) serveCallback(w http.ResponseWriter, r *http.Request) error {
	p, err := m.provider(r)
	if err != nil {
		return err
	}
	kind, value, err := m.callback(w, r, p)
	if err != nil {
		var (
			pub      *auth.Error
			internal *internalError
		)
		switch {
		case errors.As(err, &pub):
		case errors.As(err, &internal):
			// The library or its store failed (an outage, not the
			// provider's or the user's doing): the operator must see it.
			m.cfg.Logger.ErrorContext(r.Context(), "oidc: sign-in failed", "provider", p.Name, "error", internal.err.Error())
			pub = auth.ErrInternal
		default:
			m.cfg.Logger.WarnContext(r.Context(), "oidc: sign-in refused", "provider", p.Name, "reason", err.Error())
			pub = ErrSignInFailed
		}
		m.redirectFront(w, r, "oidc_error", pub.Code)
		return nil
	}
	m.redirectFront(w, r, kind, value)
	return nil
}

// callback checks the provider's answer and returns the fragment to send
// the browser back with.
func (m *Module) callback(w http.ResponseWriter, r *http.Request, p *provider) (string, string, error) {
	st, err := m.takeState(w, r, p.Name)
	if err != nil {
		return "", "", err
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", fmt.Errorf("provider answered error %.64q", e)
	}
	code := q.Get("code")
	if code == "" {
		return "", "", errors.New("no code")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	ctx = oidc.ClientContext(ctx, m.cfg.HTTPClient)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", fmt.Errorf("code exchange: %w", err)
	}
	var ext auth.ExternalUser
	if p.GitHub != nil {
		ext, err = m.githubUser(ctx, p, tok)
	} else {
		ext, err = m.oidcUser(ctx, p, tok, st.Nonce)
	}
	if err != nil {
		return "", "", err
	}
	a := m.cfg.Auth
	if st.LinkUser != "" {
		if err := a.LinkExternal(r.Context(), st.LinkUser, ext); err != nil {
			return "", "", asInternal(err)
		}
		return "oidc_linked", p.Name, nil
	}
	u, err := a.SignInExternal(r.Context(), ext)
	if err != nil {
		return "", "", asInternal(err)
	}
	c, err := a.IssueSignInCode(r.Context(), u, amr)
	if err != nil {
		return "", "", asInternal(err)
	}
	return "oidc_code", c, nil
}

// internalError is a failure of the Authenticator or its store during a
// callback, after the provider's answer was verified: an INTERNAL_ERROR
// logged at Error, not a refused sign-in.
type internalError struct{ err error }

func (e *internalError) Error() string { return e.err.Error() }
func (e *internalError) Unwrap() error { return e.err }

// asInternal returns err as it is when it is one of the contract's errors
// (a refusal the user can be told of), and as an internalError otherwise.
func asInternal(err error) error {
	var pub *auth.Error
	if errors.As(err, &pub) {
		return err
	}
	return &internalError{err}
}

// oidcUser verifies the ID token of tok (signature, issuer, audience,
// expiry with go-oidc; the nonce here) and reads the account's claims,
// from the ID token or else from the UserInfo endpoint.
func (m *Module) oidcUser(ctx context.Context, p *provider, tok *oauth2.Token, nonce string) (auth.ExternalUser, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return auth.ExternalUser{}, errors.New("no id_token in the token response")
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return auth.ExternalUser{}, fmt.Errorf("id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return auth.ExternalUser{}, errors.New("id token: nonce does not match")
	}
	var cl struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&cl); err != nil {
		return auth.ExternalUser{}, fmt.Errorf("id token claims: %w", err)
	}
	if cl.Email == "" && p.oidc.UserInfoEndpoint() != "" {
		ui, err := p.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return auth.ExternalUser{}, fmt.Errorf("userinfo: %w", err)
		}
		if ui.Subject != idt.Subject {
			return auth.ExternalUser{}, errors.New("userinfo: subject differs from the id token's")
		}
		if err := ui.Claims(&cl); err != nil {
			return auth.ExternalUser{}, fmt.Errorf("userinfo claims: %w", err)
		}
	}
	return auth.ExternalUser{
		Issuer: idt.Issuer, Subject: idt.Subject, Email: cl.Email, Name: cl.Name,
		EmailVerified: cl.EmailVerified == true || cl.EmailVerified == "true",
	}, nil
}
