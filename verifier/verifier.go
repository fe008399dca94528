// Package verifier checks the access tokens of a github.com/ingestiq/auth
// service from other services, which hold none of its secrets: it fetches
// the auth service's public keys from its JWK Set
// ([auth.Authenticator.JWKSHandler], served by the reference server at
// /.well-known/jwks.json) and verifies tokens signed with
// [auth.KeyConfig.SigningKey] (EdDSA, ES256 or RS256).
//
//	v, err := verifier.New(verifier.Config{
//		JWKSURL: "https://auth.internal/.well-known/jwks.json",
//	})
//	mux.Handle("/api/projects", v.Middleware(projectsHandler))
//	// in the handler: claims, ok := auth.ClaimsFromContext(r.Context())
//
// # What it checks, and what it cannot
//
// A token is accepted when its signature verifies with the published key
// its kid names, under that key's one algorithm, and when its kind (typ
// at+jwt), issuer, audience, issue time and expiry are right: the same
// checks [auth.Authenticator.Verify] makes, with the same errors
// ([auth.ErrInvalidToken], [auth.ErrTokenExpired]) and the same 401
// answers from the middleware.
//
// It does not check that the token's session is still live: only the auth
// service's store knows that. So logout, and the revocation that follows
// refresh-token reuse, reach a service that uses this package only when
// the access token expires: at most [auth.Config.AccessTokenTTL] later, 15
// minutes by default. Routes for which that is too long should ask the auth
// service (GET /me), or keep the token lifetime short.
//
// # Keys
//
// The key set is fetched when first needed, cached for as long as its
// Cache-Control max-age says (within bounds), and fetched again when a
// token names a kid it does not hold, so that a newly published key is
// picked up at once. Fetches happen at most once per
// [Config.MinRefreshInterval], whatever the reason, so that a flood of
// tokens with made-up kids cannot make the verifier hammer the auth
// service. While the auth service is unreachable the verifier keeps using
// the keys it has.
//
// Every verification uses the newest key set the verifier holds,
// whichever request fetched it; a request that finds its set stale waits
// for a fetch already under way. So a key the auth service stops
// publishing is refused from the first successful fetch after its removal.
// With the service answering, that is at most the set's max-age after the
// last fetch that still listed the key (its Cache-Control max-age, kept
// between MinRefreshInterval and [MaxCacheAge]; the auth library sends 5
// minutes) plus the time that fetch takes, at most [Config.Timeout];
// earlier if a token with an unknown kid, or [Verifier.Refresh], fetches
// the set first. While fetches fail, or while the rate limit holds back the
// retry of one that failed, the removed key is accepted for as long as
// that lasts: the verifier prefers old keys to rejecting every token. A token's own header never supplies a key, a key's
// address or the algorithm: jku, x5u, jwk and x5c make a token invalid, and
// each key is used with the one algorithm its type allows. Symmetric
// algorithms (HS256 and the like) are never accepted.
//
// The verifier starts no goroutines: fetches run on the request that needs
// them, bounded by [Config.Timeout].
package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/claimsctx"
	"github.com/ingestiq/auth/internal/jose"
)

// Defaults of [Config].
const (
	DefaultTimeout            = 5 * time.Second
	DefaultMinRefreshInterval = time.Minute
	// DefaultCacheAge is how long a key set is used when its response
	// carries no Cache-Control max-age.
	DefaultCacheAge = 5 * time.Minute
	// MaxCacheAge caps how long a key set is used before it is fetched
	// again, whatever its Cache-Control says, so that retired keys do not
	// linger.
	MaxCacheAge = 24 * time.Hour
)

// ErrKeySetUnavailable is returned by [Verifier.Verify] when the verifier
// has never obtained the auth service's key set (it is unreachable, or
// answers something else than a JWK Set), so that no token can be checked
// at all. The middleware answers it 500 INTERNAL_ERROR, as the auth
// library answers a store that is down, rather than telling clients that
// their token is invalid.
var ErrKeySetUnavailable = errors.New("verifier: the key set is unavailable")

// Config configures a [Verifier]. Zero fields mean their documented
// default. A Config must not be changed after it is passed to [New].
type Config struct {
	// JWKSURL is the address of the auth service's JWK Set, an http or
	// https URL such as "https://auth.internal/.well-known/jwks.json". Use
	// https unless the network between the services is trusted. It is
	// required.
	JWKSURL string

	// Issuer is the "iss" claim tokens must carry, the auth service's
	// [auth.Config.Issuer]. The default is [auth.DefaultIssuer].
	Issuer string

	// Audience is the "aud" claim tokens must carry, the auth service's
	// [auth.Config.Audience]. The default is [auth.DefaultAudience].
	Audience string

	// HTTPClient fetches the key set. The default is a client of the
	// verifier's own on [http.DefaultTransport].
	HTTPClient *http.Client

	// Timeout bounds each fetch of the key set, however long the request
	// that triggered it may wait. The default is 5 seconds.
	Timeout time.Duration

	// MinRefreshInterval is the least time between two fetches of the key
	// set, whether to refresh a set whose max-age has passed or to look for
	// a kid the verifier does not know. It also bounds how soon a failed
	// fetch is retried. At most one hour. The default is 1 minute.
	MinRefreshInterval time.Duration

	// Leeway is the clock skew tolerated when checking the exp and iat
	// claims, at most 5 minutes. The default is 0.
	Leeway time.Duration

	// Now is the clock, for token expiry, cache ages and the refresh
	// interval. The default is [time.Now].
	Now func() time.Time

	// Logger receives failed fetches of the key set and keys it skipped. No
	// token is ever logged. The default is [slog.Default].
	Logger *slog.Logger

	// AccessCookieName, when set, lets [Verifier.Middleware] take the
	// access token from this cookie when a request has no Authorization
	// header, by the rule the auth service's own middleware follows: set it
	// to [auth.AccessCookieName] behind an auth service in browser mode with
	// [auth.BrowserConfig.AccessTokenCookie]. Unsafe cross-origin requests
	// that carry the cookie are then refused (403 FORBIDDEN, as
	// [http.CrossOriginProtection] decides), since a browser sends it on its
	// own. The default is "": the Authorization header alone.
	AccessCookieName string

	// TrustedOrigins lists the origins ("https://app.example.com", scheme,
	// host and port only) whose unsafe cross-origin requests carrying the
	// access cookie are let through, as [auth.BrowserConfig.TrustedOrigins]
	// does on the auth service: the front end's origin when it is not the
	// API's. It applies only with AccessCookieName set.
	TrustedOrigins []string
}

// Verifier verifies access tokens with the auth service's published keys.
// It is safe for concurrent use.
type Verifier struct {
	url         string
	client      *http.Client
	timeout     time.Duration
	minInterval time.Duration
	now         func() time.Time
	log         *slog.Logger
	// cookie is Config.AccessCookieName; cop guards requests that carry it.
	cookie string
	cop    *http.CrossOriginProtection
	// parsers holds one parser per accepted algorithm, each allowing that
	// algorithm alone.
	parsers map[string]*jwt.Parser

	// keys is the last key set fetched, nil before the first success.
	keys atomic.Pointer[keySet]

	mu sync.Mutex
	// attempted and lastAttempt record the start of the last fetch, for
	// the rate limit.
	attempted   bool
	lastAttempt time.Time
	// inflight is the fetch under way, nil when none is.
	inflight *fetchCall
}

// fetchCall is one fetch of the key set, which concurrent callers share.
type fetchCall struct {
	done chan struct{}
	err  error
}

// New validates cfg, fills in its defaults and returns a Verifier. It does
// not fetch the key set; the first token does, or [Verifier.Refresh].
func New(cfg Config) (*Verifier, error) {
	u, err := url.Parse(cfg.JWKSURL)
	if cfg.JWKSURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("verifier: Config.JWKSURL must be an http or https URL")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = auth.DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = auth.DefaultAudience
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinRefreshInterval == 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	switch {
	case cfg.Timeout < 0:
		return nil, errors.New("verifier: Config.Timeout must not be negative")
	case cfg.MinRefreshInterval < 0 || cfg.MinRefreshInterval > time.Hour:
		return nil, errors.New("verifier: Config.MinRefreshInterval must be between 0 and one hour")
	case cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute:
		return nil, errors.New("verifier: Config.Leeway must be between 0 and 5 minutes")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	v := &Verifier{
		url:         cfg.JWKSURL,
		client:      cfg.HTTPClient,
		timeout:     cfg.Timeout,
		minInterval: cfg.MinRefreshInterval,
		now:         cfg.Now,
		log:         cfg.Logger,
		parsers:     map[string]*jwt.Parser{},
		cookie:      cfg.AccessCookieName,
	}
	if len(cfg.TrustedOrigins) > 0 && v.cookie == "" {
		return nil, errors.New("verifier: Config.TrustedOrigins needs Config.AccessCookieName")
	}
	if v.cookie != "" {
		v.cop = http.NewCrossOriginProtection()
		for _, o := range cfg.TrustedOrigins {
			if err := v.cop.AddTrustedOrigin(o); err != nil {
				return nil, fmt.Errorf("verifier: Config.TrustedOrigins: %w", err)
			}
		}
	}
	for _, alg := range []string{jwt.SigningMethodEdDSA.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodRS256.Alg()} {
		v.parsers[alg] = jose.NewParser(alg, cfg.Issuer, cfg.Audience, cfg.Leeway, cfg.Now)
	}
	return v, nil
}

// Verify checks an access token and returns its claims: the signature,
// with the published key its kid names and that key's algorithm, and the
// token's kind, issuer, audience, issue time and expiry. It does not check
// that the token's session is live (see the package documentation). An
// expired token is [auth.ErrTokenExpired]; any other fault is
// [auth.ErrInvalidToken]; [ErrKeySetUnavailable] means no key set could be
// had at all. ctx bounds how long Verify waits for a fetch of the key set.
func (v *Verifier) Verify(ctx context.Context, token string) (*auth.Claims, error) {
	if len(token) == 0 || len(token) > auth.MaxTokenLength {
		return nil, auth.ErrInvalidToken
	}
	var buf [jose.MaxHeaderBytes]byte
	kid, found, ok := jose.HeaderKid(token, &buf)
	if !ok || !found {
		return nil, auth.ErrInvalidToken
	}
	k, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	return verify(k, token)
}

// key returns the key named kid, fetching the key set when it has none
// yet, when its max-age has passed, or when it does not know kid; each
// within the rate limit.
func (v *Verifier) key(ctx context.Context, kid []byte) (*jose.PublicKey, error) {
	set := v.keys.Load()
	if set != nil {
		if k := set.keys[string(kid)]; k != nil {
			if v.now().Before(set.expires) {
				return k, nil
			}
			// Stale: refresh if the rate limit allows, or wait for the
			// fetch under way. Then use the newest set the verifier holds,
			// whoever fetched it and whether or not this refresh worked: a
			// key that set no longer has is refused; only when no newer
			// set could be had is the stale one used.
			fresh, _ := v.refresh(ctx, true, false)
			if k = fresh.keys[string(kid)]; k == nil {
				return nil, auth.ErrInvalidToken
			}
			return k, nil
		}
	}
	// An unknown kid: perhaps a key published since the last fetch.
	fresh, err := v.refresh(ctx, true, false)
	if fresh == nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %v", ErrKeySetUnavailable, err)
	}
	if k := fresh.keys[string(kid)]; k != nil {
		return k, nil
	}
	return nil, auth.ErrInvalidToken
}

var errRateLimited = errors.New("verifier: the key set was fetched less than MinRefreshInterval ago")

// Refresh fetches the key set now, regardless of its cache age and of the
// rate limit, and returns the error of the fetch. Services may call it at
// start-up to fail fast, or on a schedule; nothing requires it. A failed
// fetch keeps the keys the verifier had.
func (v *Verifier) Refresh(ctx context.Context) error {
	_, err := v.refresh(ctx, true, true)
	return err
}

// refresh fetches the key set, or joins the fetch under way when wait is
// set, and returns the key set the verifier holds afterwards (nil if it
// never had one) with the fetch's error. Unless force is set, it does not
// start a fetch within MinRefreshInterval of the last one.
func (v *Verifier) refresh(ctx context.Context, wait, force bool) (*keySet, error) {
	v.mu.Lock()
	if c := v.inflight; c != nil {
		v.mu.Unlock()
		if !wait {
			return v.keys.Load(), errRateLimited
		}
		select {
		case <-c.done:
			return v.keys.Load(), c.err
		case <-ctx.Done():
			return v.keys.Load(), ctx.Err()
		}
	}
	now := v.now()
	if !force && v.attempted && now.Sub(v.lastAttempt) < v.minInterval {
		v.mu.Unlock()
		return v.keys.Load(), errRateLimited
	}
	v.attempted, v.lastAttempt = true, now
	c := &fetchCall{done: make(chan struct{})}
	v.inflight = c
	v.mu.Unlock()

	// The fetch outlives the request that started it, up to Timeout:
	// others may be waiting for it.
	set, err := v.fetch(context.WithoutCancel(ctx))
	if err != nil {
		v.log.WarnContext(ctx, "verifier: could not fetch the key set; keeping the keys already held", "url", v.url, "error", err)
	} else {
		v.keys.Store(set)
	}
	v.mu.Lock()
	c.err = err
	v.inflight = nil
	v.mu.Unlock()
	close(c.done)
	return v.keys.Load(), err
}

// Middleware protects next: a request must carry a valid access token in
// an "Authorization: Bearer" header (or the cookie [Config.AccessCookieName]
// names), checked by [Verifier.Verify]. Requests
// without one are answered exactly as [auth.Authenticator.Middleware]
// answers them: 401 in the contract's error shape, with a WWW-Authenticate
// header. The others reach next with the token's claims in their context,
// where [auth.ClaimsFromContext] finds them, so that [auth.RequireRole]
// works behind it too.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := v.requestToken(r)
		if err == nil {
			var c *auth.Claims
			if c, err = v.Verify(r.Context(), token); err == nil {
				next.ServeHTTP(w, r.WithContext(claimsctx.With(r.Context(), c)))
				return
			}
		}
		var e *auth.Error
		if !errors.As(err, &e) {
			v.log.ErrorContext(r.Context(), "verifier: internal error", "method", r.Method, "path", r.URL.Path, "error", err)
			e = auth.ErrInternal
		}
		writeError(w, e)
	})
}

// writeError answers e in the contract's shape, with the headers the auth
// library's handlers send.
func writeError(w http.ResponseWriter, e *auth.Error) {
	h := w.Header()
	if e.Status == http.StatusUnauthorized {
		switch e.Code {
		case auth.ErrInvalidToken.Code, auth.ErrTokenExpired.Code:
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		default:
			h.Set("WWW-Authenticate", "Bearer")
		}
	}
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	body, _ := json.Marshal(struct {
		Error detail `json:"error"`
	}{detail{e.Code, e.Message}})
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(body, '\n'))
}
