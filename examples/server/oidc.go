package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/oidc"
)

// oidcFlags are the flags of "Sign in with a provider".
type oidcFlags struct {
	providers providerList
	file      string
	publicURL string
}

// providerList is the repeatable -oidc-provider flag:
// name=issuer,clientid,secret, where issuer "github" makes a GitHub
// provider.
type providerList []oidc.Provider

func (l *providerList) String() string { return fmt.Sprint(len(*l), " provider(s)") }

func (l *providerList) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	parts := strings.Split(rest, ",")
	if !ok || len(parts) != 3 || name == "" || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return errors.New("want name=issuer,clientid,secret")
	}
	p := oidc.Provider{Name: name, Issuer: parts[0], ClientID: parts[1], ClientSecret: parts[2]}
	if p.Issuer == "github" {
		p.Issuer, p.GitHub = "", &oidc.GitHub{}
	}
	*l = append(*l, p)
	return nil
}

// addOIDCFlags declares the flags on fs.
func addOIDCFlags(fs *flag.FlagSet) *oidcFlags {
	f := &oidcFlags{}
	fs.Var(&f.providers, "oidc-provider", "an OpenID Connect `provider` as name=issuer,clientid,secret (issuer \"github\" for GitHub); repeatable")
	fs.StringVar(&f.file, "oidc-providers-file", "", "a JSON `file` with a list of providers: [{\"Name\":..., \"Issuer\":..., \"ClientID\":..., \"ClientSecret\":..., \"GitHub\": {...}}]")
	fs.StringVar(&f.publicURL, "oidc-public-url", "http://localhost:3000", "the `URL` browsers reach this server at; providers redirect back to <URL>/api/v2/auth/oidc/<name>/callback")
	return f
}

// setup adds the provider routes to a, when providers are configured.
func (f *oidcFlags) setup(ctx context.Context, a *auth.Authenticator, secret []byte, log *slog.Logger) error {
	providers := []oidc.Provider(f.providers)
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return fmt.Errorf("-oidc-providers-file: %w", err)
		}
		var more []oidc.Provider
		if err := json.Unmarshal(b, &more); err != nil {
			return fmt.Errorf("-oidc-providers-file: %w", err)
		}
		providers = append(providers, more...)
	}
	if len(providers) == 0 {
		return nil
	}
	base := strings.TrimRight(f.publicURL, "/")
	_, err := oidc.New(ctx, oidc.Config{
		Auth: a, Providers: providers, Secret: secret,
		PublicURL: base + "/api/v2/auth", FrontendURL: base + "/", Logger: log,
	})
	return err
}
