// Command server is the reference server of github.com/ingestiq/auth: it
// serves the HTTP contract (spec/http-api.md) under /api/v2/auth.
//
// Run it from the repository root:
//
//	AUTH_SECRET="$(openssl rand -base64 48)" go run ./examples/server
//
// and try the documentation's commands:
//
//	curl -X POST http://localhost:3000/api/v2/auth/register \
//	  -H "Content-Type: application/json" \
//	  -d '{"email": "user@example.com", "password": "securepassword123", "name": "John Doe"}'
//
// Flags:
//
//	-addr ADDR   the address to listen on (default ":3000")
//	-no-throttle turn throttling off (functional tests and benchmarks only)
//	-verify-email
//	             send a verification token on registration and require it
//	-dev-mailer  log password-reset and email-verification links instead of
//	             mailing them, for development: whoever reads the log can
//	             take over any account. Without it the routes that mail
//	             (forgot/reset password, verify email) answer 501
//	-link-base URL
//	             where the logged reset/verification links point
//	-trusted-proxy CIDR
//	             a reverse proxy whose X-Forwarded-For is believed (repeatable)
//	-signing-key PATH
//	             a PEM private key (PKCS#8: Ed25519, ECDSA P-256 or RSA of at
//	             least 2048 bits) that signs access tokens, published at
//	             /.well-known/jwks.json; without it they are HS256 with
//	             AUTH_SECRET
//	-verify-key PATH
//	             a PEM public key whose access tokens are still accepted, and
//	             published: the previous signing key during a rotation, or the
//	             next one before it signs (repeatable)
//	-metrics     serve GET /metrics (Prometheus text format): the
//	             OpenTelemetry metrics of package otelauth
//	-db STORE    where users and sessions live (default "sqlite:auth.db"):
//	             memory                          in memory, gone on exit
//	             sqlite:PATH                     an SQLite file
//	             postgres://user:pass@host/db    PostgreSQL (also postgresql://)
//	             mysql://user:pass@host:port/db  MySQL or MariaDB
//	-db-max-conns N
//	             the most open connections of an SQL store, all of which
//	             may stay idle (default 16)
//	-db-conn-lifetime D, -db-conn-idle-time D
//	             recycle PostgreSQL and MySQL connections after D since
//	             they opened / of idleness (defaults 30m and 5m; 0: never)
//
// The tables are created or upgraded on start. AUTH_SECRET, at least 32
// bytes, signs the tokens; without it the server makes up a random secret
// and the tokens it issues stop working when it restarts.
//
// Besides the auth routes the server answers GET /healthz, which pings the
// database, GET /.well-known/jwks.json, the public keys of -signing-key and
// -verify-key as a JWK Set (empty without them), and GET /api/v2/whoami, an example of one of the application's
// own routes protected by [auth.Authenticator.Middleware]. It logs one line
// per request (never headers, bodies or tokens) and shuts down gracefully on
// SIGINT or SIGTERM.
//
// # Mounting on other routers
//
// The routes come as one http.Handler that matches on the request's
// URL.Path, so whatever the router, strip the prefix before it. With
// net/http, as here:
//
//	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
//
// With chi, whose Mount leaves URL.Path alone (it routes subrouters on its
// own RoutePath), strip it the same way:
//
//	r := chi.NewRouter()
//	r.Mount("/api/v2/auth", http.StripPrefix("/api/v2/auth", a.Handler()))
//	r.With(a.Middleware).Get("/api/v2/projects", listProjects)
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ingestiq/auth"
)

// Server limits. Handlers that hash a password may queue behind others
// (the library bounds concurrent hashes), so the write timeout leaves room.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 10 * time.Second
	healthTimeout     = 2 * time.Second
	// sweepInterval is how often expired sessions and refresh tokens are
	// deleted.
	sweepInterval = time.Hour
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling, so that a
	// second one ends a graceful shutdown that takes too long.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run runs the server until ctx is done, then shuts it down gracefully. It
// takes its flags from args and its environment from getenv, logs to logw,
// and, when ready is not nil, calls it with the address it listens on once
// it accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, logw io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(logw)
	addr := fs.String("addr", ":3000", "the `address` to listen on")
	dbFlag := fs.String("db", "sqlite:auth.db", "the `store`: memory, sqlite:PATH, postgres://... or mysql://user:pass@host:port/db")
	limiterFlag := fs.String("limiter", "memory", "where the throttling counters live: memory (this process), db (the -db database) or redis://host:port/db; several servers must share one")
	hashWait := fs.Duration("hash-wait", 10*time.Second, "how long a request waits for a password-hashing slot before it is answered 429 (auth.Config.Passwords.MaxHashWait)")
	writeTO := fs.Duration("write-timeout", writeTimeout, "the longest a request may take, waiting for a hashing slot included (http.Server.WriteTimeout)")
	noThrottle := fs.Bool("no-throttle", false, "turn off login, registration and refresh throttling (for functional tests and benchmarks only)")
	verifyEmail := fs.Bool("verify-email", false, "send a verification token on registration and refuse logins until the email is verified")
	linkBase := fs.String("link-base", "http://localhost:3000", "the `URL` the logged reset and verification links start with")
	devMailer := fs.Bool("dev-mailer", false, "log password-reset, email-verification and invitation links instead of mailing them (development only: whoever reads the log can take over any account); without it those routes are off")
	var pool poolConfig
	fs.IntVar(&pool.maxConns, "db-max-conns", defaultPool.maxConns, "the most open database connections, all of which may stay idle (SQL stores)")
	fs.DurationVar(&pool.maxLifetime, "db-conn-lifetime", defaultPool.maxLifetime, "close a database connection this long after it was opened (PostgreSQL, MySQL; 0: never)")
	fs.DurationVar(&pool.maxIdleTime, "db-conn-idle-time", defaultPool.maxIdleTime, "close a database connection idle this long (PostgreSQL, MySQL; 0: never)")
	var proxies prefixList
	fs.Var(&proxies, "trusted-proxy", "a reverse proxy `CIDR` whose X-Forwarded-For is believed (repeatable)")
	signingKey := fs.String("signing-key", "", "a PEM `file` with the private key (PKCS#8: Ed25519, ECDSA P-256 or RSA >= 2048 bits) that signs access tokens; without it they are HS256 with AUTH_SECRET")
	reuseWindow := fs.Duration("reuse-window", auth.DefaultRefreshReuseWindow, "how long a spent refresh token still gets its unspent successor again (a retry after a lost response); 0 = strict single use; at most 1m")
	var verifyKeys fileList
	fs.Var(&verifyKeys, "verify-key", "a PEM `file` with a public key whose access tokens are still accepted (repeatable)")
	var frontends originList
	fs.Var(&frontends, "frontend-origin", "an `origin` (scheme://host:port) of a front end served elsewhere that may call the API with cookies: trusted by the cross-origin check and allowed by CORS (repeatable)")
	metricsOn := fs.Bool("metrics", false, "serve GET /metrics in Prometheus text format (OpenTelemetry metrics of package otelauth)")
	accessCookie := fs.Bool("access-cookie", false, "also set the access token as an HttpOnly cookie for browser-mode clients, accepted by the application's routes")
	passkeys := addPasskeyFlags(fs)
	oidcFlags := addOIDCFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	dbc, err := parseDB(*dbFlag)
	if err != nil {
		return err
	}
	if err := pool.check(); err != nil {
		return err
	}
	if *verifyEmail && !*devMailer {
		return errors.New("-verify-email needs -dev-mailer, the only mailer the reference server has")
	}

	log := slog.New(slog.NewTextHandler(logw, nil))
	secret, err := loadSecret(getenv, log)
	if err != nil {
		return err
	}
	signer, publicKeys, err := loadKeys(*signingKey, verifyKeys)
	if err != nil {
		return err
	}
	st, err := openStorage(ctx, dbc, pool)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.close(); err != nil {
			log.Error("closing the database", "error", err)
		}
	}()
	var mailer auth.Mailer
	if *devMailer {
		log.Warn("the development mailer is ON (-dev-mailer): password-reset and email-verification links go to this log, and whoever reads it can take over any account; never run like this in production")
		mailer = logMailer{log: log, base: strings.TrimRight(*linkBase, "/")}
	}
	limiter, limiterName, closeLimiter, err := openLimiter(*limiterFlag, st)
	if err != nil {
		return err
	}
	defer closeLimiter()
	if *reuseWindow == 0 {
		*reuseWindow = -1 // the Config's strict setting; its zero is the default
	}
	if *noThrottle {
		log.Warn("throttling is OFF (-no-throttle): logins, registrations and refreshes are not rate limited; never run like this in production")
	}
	observer, metricsHandler, shutdownMetrics, err := metricsSetup(*metricsOn)
	if err != nil {
		return err
	}
	defer func() { _ = shutdownMetrics(context.WithoutCancel(ctx)) }()
	a, err := auth.New(auth.Config{
		Observer: observer,
		Users:    st.store, // the store itself, so that New sees its optional interfaces
		Tokens:   st.store,
		Secret:   secret,
		Logger:   log,
		Browser: auth.BrowserConfig{
			Enabled:           true,
			CookiePath:        "/api/v2/auth",
			AccessTokenCookie: *accessCookie,
			TrustedOrigins:    frontends,
		},
		Keys:      auth.KeyConfig{SigningKey: signer, VerifyKeys: publicKeys},
		Passwords: auth.PasswordConfig{MaxHashWait: *hashWait},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: *noThrottle, Limiter: limiter, TrustedProxies: proxies},
		Mail:      auth.MailConfig{Mailer: mailer, SendVerificationEmail: *verifyEmail, RequireVerifiedEmail: *verifyEmail},
		Sessions:  auth.SessionConfig{RefreshReuseWindow: *reuseWindow},
	})
	if err != nil {
		return err
	}
	if err := oidcFlags.setup(ctx, a, secret, log); err != nil {
		return err
	}

	// The library starts no goroutines: deleting expired rows is the
	// application's job. Stop before the database is closed.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	var sweeping sync.WaitGroup
	sweeping.Go(func() { sweepEvery(sweepCtx, st.store, sweepInterval, log) })
	defer func() {
		stopSweep()
		sweeping.Wait()
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	pk, err := mountPasskeys(a, st, passkeys, ln)
	if err != nil {
		ln.Close()
		return err
	}
	if pk != nil {
		sweeping.Go(func() { sweepPasskeysEvery(sweepCtx, pk, sweepInterval, log) })
	}
	srv := &http.Server{
		Handler:           logRequests(log, cors(frontends, routes(a, st, log, frontends, metricsHandler))),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      *writeTO,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "store", st.name, "limiter", limiterName)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// loadSecret returns the token-signing secret: the bytes of AUTH_SECRET,
// which must be at least auth.MinSecretBytes long, or, when it is unset, a
// random secret that lives as long as the process.
func loadSecret(getenv func(string) string, log *slog.Logger) ([]byte, error) {
	if s := getenv("AUTH_SECRET"); s != "" {
		if len(s) < auth.MinSecretBytes {
			return nil, fmt.Errorf("AUTH_SECRET must be at least %d bytes, got %d; generate one with: openssl rand -base64 48", auth.MinSecretBytes, len(s))
		}
		return []byte(s), nil
	}
	log.Warn("AUTH_SECRET is not set: using a random secret; tokens issued now will not survive a restart. Set AUTH_SECRET to at least 32 random bytes, e.g. $(openssl rand -base64 48)")
	secret := make([]byte, auth.MinSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return secret, nil
}

// sweepEvery deletes expired sessions and refresh tokens every interval
// until ctx is done.
func sweepEvery(ctx context.Context, st auth.TokenStore, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweep(ctx, st, time.Now(), log)
		}
	}
}

// sweep deletes the sessions and refresh tokens that expired before now.
func sweep(ctx context.Context, st auth.TokenStore, now time.Time, log *slog.Logger) {
	n, err := st.DeleteExpired(ctx, now)
	switch {
	case err != nil && ctx.Err() == nil:
		log.ErrorContext(ctx, "deleting expired sessions", "error", err)
	case n > 0:
		log.InfoContext(ctx, "deleted expired sessions and refresh tokens", "rows", n)
	}
}

// routes returns the server's handler: the auth routes under /api/v2/auth/,
// the health check, and an example route of the application's own.
func routes(a *auth.Authenticator, st *storage, log *slog.Logger, frontends []string, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	page := pageHandler(frontends)
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /app.js", page)
	mux.Handle("GET /style.css", page)
	mux.Handle("GET /orgs.js", page)
	mux.Handle("GET /passkey.js", page)
	mux.Handle("GET /oidc.js", page)
	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
	mux.Handle("/.well-known/jwks.json", a.JWKSHandler()) // GET and HEAD; 405 otherwise
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if err := st.ping(ctx); err != nil {
			log.ErrorContext(r.Context(), "health check: database unreachable", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /api/v2/whoami", a.Middleware(http.HandlerFunc(whoami)))
	// POST /api/v2/whoami is the same route behind an unsafe method: with
	// -access-cookie a browser may reach it with the access cookie alone,
	// and the library refuses it from other sites.
	mux.Handle("POST /api/v2/whoami", a.Middleware(http.HandlerFunc(whoami)))
	// GET /api/v2/ping is the trivial baseline of scripts/me-throughput.sh:
	// through the same mux and request log as the routes above, without
	// authentication or a store, it answers a small JSON object the way
	// whoami does.
	mux.HandleFunc("GET /api/v2/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"pong": true})
	})
	return mux
}

// whoami is an example of an application route behind a.Middleware: it
// answers with the claims of the caller's access token.
func whoami(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.ClaimsFromContext(r.Context()) // the middleware put them there
	writeJSON(w, http.StatusOK, map[string]string{
		"userId":         c.UserID,
		"organizationId": c.OrganizationID,
		"role":           c.Role,
	})
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// prefixList is a repeatable flag of network prefixes; a bare address
// counts as a single-address prefix.
type prefixList []netip.Prefix

func (l *prefixList) String() string { return fmt.Sprint([]netip.Prefix(*l)) }

func (l *prefixList) Set(v string) error {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		addr, aerr := netip.ParseAddr(v)
		if aerr != nil {
			return fmt.Errorf("not a CIDR prefix or address: %q", v)
		}
		p = netip.PrefixFrom(addr, addr.BitLen())
	}
	*l = append(*l, p.Masked())
	return nil
}

// logMailer stands in for a mail provider: it logs the password-reset and
// email-verification links instead of sending them. The links carry
// single-use secrets, so this is for development only; a real deployment
// implements auth.Mailer with its mail queue.
type logMailer struct {
	log  *slog.Logger
	base string
}

func (m logMailer) SendPasswordReset(ctx context.Context, u *auth.User, token string) error {
	m.log.InfoContext(ctx, "mail (development mailer): password reset", "to", u.Email, "link", m.base+"/reset-password?token="+token)
	return nil
}

func (m logMailer) SendEmailVerification(ctx context.Context, u *auth.User, token string) error {
	m.log.InfoContext(ctx, "mail (development mailer): verify your email", "to", u.Email, "link", m.base+"/verify-email?token="+token)
	return nil
}

// loadKeys reads the -signing-key and -verify-key files. Without
// -signing-key the signer is nil and access tokens are HS256.
func loadKeys(signingPath string, verifyPaths []string) (crypto.Signer, []crypto.PublicKey, error) {
	var signer crypto.Signer
	if signingPath != "" {
		data, err := os.ReadFile(signingPath)
		if err != nil {
			return nil, nil, fmt.Errorf("-signing-key: %w", err)
		}
		if signer, err = auth.ParsePrivateKeyPEM(data); err != nil {
			return nil, nil, fmt.Errorf("-signing-key %s: %w", signingPath, err)
		}
	}
	var pubs []crypto.PublicKey
	for _, path := range verifyPaths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("-verify-key: %w", err)
		}
		pub, err := auth.ParsePublicKeyPEM(data)
		if err != nil {
			return nil, nil, fmt.Errorf("-verify-key %s: %w", path, err)
		}
		pubs = append(pubs, pub)
	}
	return signer, pubs, nil
}

// fileList is a repeatable flag of file paths.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
