package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/ingestiq/auth"
	"golang.org/x/oauth2"
)

// githubUser reads the signed-in GitHub account: its numeric id (the
// subject: logins can be renamed), name, and its primary email with
// GitHub's verified flag.
func (m *Module) githubUser(ctx context.Context, p *provider, tok *oauth2.Token) (auth.ExternalUser, error) {
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := m.githubGet(ctx, p, tok, "/user", &user); err != nil {
		return auth.ExternalUser{}, err
	}
	if user.ID <= 0 {
		return auth.ExternalUser{}, errors.New("github: /user has no id")
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := m.githubGet(ctx, p, tok, "/user/emails", &emails); err != nil {
		return auth.ExternalUser{}, err
	}
	ext := auth.ExternalUser{Issuer: p.Issuer, Subject: strconv.FormatInt(user.ID, 10), Name: user.Name}
	if ext.Name == "" {
		ext.Name = user.Login
	}
	for _, e := range emails {
		if e.Primary {
			ext.Email, ext.EmailVerified = e.Email, e.Verified
		}
	}
	return ext, nil
}

// githubGet GETs one API path with the user's token into v.
func (m *Module) githubGet(ctx context.Context, p *provider, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.GitHub.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	tok.SetAuthHeader(req)
	res, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("github %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("github %s: status %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("github %s: %w", path, err)
	}
	return nil
}
