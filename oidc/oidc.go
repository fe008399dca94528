// Package oidc adds "Sign in with a provider" to an [auth.Authenticator]:
// any OpenID Connect issuer, found by discovery (Google, Microsoft Entra,
// Okta, Keycloak, Auth0, ...), and GitHub over plain OAuth 2. It is built
// on golang.org/x/oauth2 and github.com/coreos/go-oidc/v3, and uses only
// the core's public extension points: [auth.Authenticator.Handle] and
// [auth.Authenticator.Route] for its routes,
// [auth.Authenticator.SignInExternal] for the identity and linking rules,
// and one-time sign-in codes ([auth.Authenticator.IssueSignInCode]) so that
// no token ever appears in a URL.
//
// Routes, relative to where [auth.Authenticator.Handler] is mounted:
//
//	GET    /oidc/providers              the configured providers' names
//	GET    /oidc/{provider}             302 to the provider (state, nonce, PKCE S256)
//	GET    /oidc/{provider}/callback    back from the provider; 303 to the front end
//	POST   /oidc/exchange               {"code"} -> the contract's token response
//	POST   /oidc/{provider}/link        (signed in) {"url"} to link a provider
//	GET    /identities                  (signed in) the linked providers
//	DELETE /identities/{id}             (signed in) unlink, never the last way in
package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/ingestiq/auth"
	"golang.org/x/oauth2"
)

// Provider configures one provider. Name is its path segment
// (/oidc/{Name}); Issuer is an OpenID Connect issuer URL whose discovery
// document configures the rest, unless GitHub is set.
type Provider struct {
	// Name is the provider's name in the routes: lower-case letters,
	// digits and "-", such as "google". Required.
	Name string
	// Label is the name shown on the sign-in button. The default is Name.
	Label string
	// Issuer is the OpenID Connect issuer, such as
	// "https://accounts.google.com". Required unless GitHub is set; for
	// GitHub it names the identities' issuer, by default
	// "https://github.com".
	Issuer string
	// ClientID and ClientSecret are the application's credentials at the
	// provider. Required.
	ClientID, ClientSecret string
	// Scopes are the scopes asked for. The default is "openid", "email",
	// "profile" for OpenID Connect and "read:user", "user:email" for GitHub.
	Scopes []string
	// RedirectURL is the callback URL registered at the provider. The
	// default is [Config.PublicURL] + "/oidc/{Name}/callback".
	RedirectURL string
	// GitHub, when set, makes this a GitHub provider (OAuth 2 and GitHub's
	// user API) rather than an OpenID Connect one.
	GitHub *GitHub
}

// GitHub configures GitHub's endpoints. The zero value is github.com's;
// tests and GitHub Enterprise set them.
type GitHub struct {
	// AuthURL is the authorization endpoint. The default is
	// "https://github.com/login/oauth/authorize".
	AuthURL string
	// TokenURL is the token endpoint. The default is
	// "https://github.com/login/oauth/access_token".
	TokenURL string
	// APIURL is the REST API's base, serving /user and /user/emails. The
	// default is "https://api.github.com".
	APIURL string
}

// Config configures [New].
type Config struct {
	// Auth is the Authenticator the routes are added to. Its user store
	// must implement [auth.ExternalIdentityStore] and its token store
	// [auth.OneTimeTokenStore]. Required.
	Auth *auth.Authenticator
	// Providers are the providers offered. At least one.
	Providers []Provider
	// Secret seals the short-lived state cookie (state, nonce, PKCE
	// verifier): at least 32 random bytes. Required.
	Secret []byte
	// PublicURL is the absolute URL at which the Authenticator's Handler is
	// reached from browsers, such as "https://app.example.com/api/v2/auth".
	// Required.
	PublicURL string
	// FrontendURL is where the callback sends the browser, with
	// "#oidc_code=..." (a one-time code for POST /oidc/exchange),
	// "#oidc_linked=NAME" or "#oidc_error=CODE" appended. The default is
	// "/".
	FrontendURL string
	// HTTPClient makes the requests to the providers. The default is
	// [http.DefaultClient].
	HTTPClient *http.Client
	// Now is the clock used to check ID tokens' expiry and the state
	// cookie's. The default is time.Now.
	Now func() time.Time
	// StateTTL is how long a browser has to come back from the provider.
	// The default is 10 minutes.
	StateTTL time.Duration
	// Logger receives, at Warn, why a callback was refused, and at Error
	// why one failed inside the Authenticator or its store (the browser is
	// then sent back with oidc_error=INTERNAL_ERROR); never a token or a
	// code. The default is [slog.Default].
	Logger *slog.Logger
}

// Module holds the configured providers. It is safe for concurrent use.
type Module struct {
	cfg       Config
	key       []byte
	providers map[string]*provider
	order     []string
	cookie    cookieSpec
}

// provider is one configured provider, ready for use.
type provider struct {
	Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier // nil for GitHub
	oidc     *oidc.Provider        // nil for GitHub
}

// amr is the authentication method of sessions opened by this module.
const amr = "oidc"

// New checks cfg, fetches each OpenID Connect provider's discovery
// document (with ctx and cfg.HTTPClient), and adds the routes to
// cfg.Auth's Handler. Call it before the Handler is first built.
func New(ctx context.Context, cfg Config) (*Module, error) {
	if cfg.Auth == nil {
		return nil, errors.New("oidc: Config.Auth is required")
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("oidc: Config.Secret must be at least 32 bytes")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || !pub.IsAbs() || pub.Host == "" {
		return nil, errors.New("oidc: Config.PublicURL must be an absolute URL")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.FrontendURL == "" {
		cfg.FrontendURL = "/"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if len(cfg.Providers) == 0 {
		return nil, errors.New("oidc: Config.Providers is empty")
	}
	mac := hmac.New(sha256.New, cfg.Secret)
	mac.Write([]byte("ingestiq-auth oidc state cookie"))
	m := &Module{
		cfg: cfg, key: mac.Sum(nil), providers: map[string]*provider{},
		cookie: cookieSpec{path: strings.TrimSuffix(pub.EscapedPath(), "/") + "/oidc/", secure: pub.Scheme == "https"},
	}
	ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	for _, p := range cfg.Providers {
		pp, err := m.setup(ctx, p)
		if err != nil {
			return nil, err
		}
		m.providers[p.Name] = pp
		m.order = append(m.order, p.Name)
	}
	m.register()
	return m, nil
}

// validName reports whether s is a provider name.
func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	return strings.TrimFunc(s, func(r rune) bool { return r == '-' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' }) == ""
}

func (m *Module) setup(ctx context.Context, p Provider) (*provider, error) {
	if !validName(p.Name) || p.Name == "exchange" || p.Name == "providers" {
		return nil, fmt.Errorf("oidc: invalid provider name %q", p.Name)
	}
	if _, dup := m.providers[p.Name]; dup {
		return nil, fmt.Errorf("oidc: provider %q configured twice", p.Name)
	}
	if p.ClientID == "" || p.ClientSecret == "" {
		return nil, fmt.Errorf("oidc: provider %q needs a client id and secret", p.Name)
	}
	if p.Label == "" {
		p.Label = p.Name
	}
	if p.RedirectURL == "" {
		p.RedirectURL = m.cfg.PublicURL + "/oidc/" + p.Name + "/callback"
	}
	pp := &provider{Provider: p}
	if p.GitHub != nil {
		gh := *p.GitHub
		if gh.AuthURL == "" {
			gh.AuthURL = "https://github.com/login/oauth/authorize"
		}
		if gh.TokenURL == "" {
			gh.TokenURL = "https://github.com/login/oauth/access_token"
		}
		if gh.APIURL == "" {
			gh.APIURL = "https://api.github.com"
		}
		gh.APIURL = strings.TrimSuffix(gh.APIURL, "/")
		pp.GitHub = &gh
		if pp.Issuer == "" {
			pp.Issuer = "https://github.com"
		}
		if len(pp.Scopes) == 0 {
			pp.Scopes = []string{"read:user", "user:email"}
		}
		pp.oauth = oauth2.Config{
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: pp.Scopes,
			Endpoint: oauth2.Endpoint{AuthURL: gh.AuthURL, TokenURL: gh.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		}
		return pp, nil
	}
	if p.Issuer == "" {
		return nil, fmt.Errorf("oidc: provider %q needs an issuer", p.Name)
	}
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: provider %q: discovery: %w", p.Name, err)
	}
	if len(pp.Scopes) == 0 {
		pp.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	pp.oidc = op
	pp.oauth = oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: p.RedirectURL, Scopes: pp.Scopes, Endpoint: op.Endpoint()}
	pp.verifier = op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: m.cfg.Now})
	return pp, nil
}

// ProviderInfo is one entry of GET /oidc/providers.
type ProviderInfo struct {
	// Name is the provider's path segment.
	Name string `json:"name"`
	// Label is the provider's display name.
	Label string `json:"label"`
}

// Providers lists the configured providers in configuration order.
func (m *Module) Providers() []ProviderInfo {
	out := make([]ProviderInfo, 0, len(m.order))
	for _, n := range m.order {
		out = append(out, ProviderInfo{Name: n, Label: m.providers[n].Label})
	}
	return out
}
