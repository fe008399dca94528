package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/sqlstore"
)

// v1Statements are the statements with which the release before migration
// 2 wrote users, sessions and refresh tokens (its sqlstore/queries.go), with
// {p} for the table prefix. The upgrade test fills a version-1 database with
// them, since the current store writes columns version 1 does not have.
var v1Statements = struct{ user, session, token string }{
	user:    "INSERT INTO {p}users (id, email, name, organization_id, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	session: "INSERT INTO {p}sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
	token:   "INSERT INTO {p}refresh_tokens (id_hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
}

// v1 returns the version-1 statement q for e's prefix and dialect.
func (e *env) v1(q string) string {
	q = strings.ReplaceAll(q, "{p}", e.prefix)
	if e.dialect != sqlstore.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// recordingTokens is a memstore that keeps a copy of every session and
// refresh-token record the Authenticator has it store, as they stand, so
// that a test can copy them into another database.
type recordingTokens struct {
	*memstore.Store
	mu       sync.Mutex
	sessions []*auth.Session
	tokens   []*auth.RefreshToken
}

func (r *recordingTokens) CreateSession(ctx context.Context, s *auth.Session, first *auth.RefreshToken) error {
	if err := r.Store.CreateSession(ctx, s, first); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sc, fc := *s, *first
	r.sessions = append(r.sessions, &sc)
	r.tokens = append(r.tokens, &fc)
	return nil
}

func (r *recordingTokens) RotateRefreshToken(ctx context.Context, oldHash string, next *auth.RefreshToken, at time.Time) (*auth.Rotation, error) {
	old, err := r.Store.RotateRefreshToken(ctx, oldHash, next, at)
	if err != nil {
		return old, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tokens {
		if t.IDHash == oldHash {
			t.UsedAt = old.Old.UsedAt
		}
	}
	nc := *next
	r.tokens = append(r.tokens, &nc)
	return old, nil
}

func (r *recordingTokens) RevokeSession(ctx context.Context, id string, at time.Time) error {
	if err := r.Store.RevokeSession(ctx, id, at); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.sessions {
		if s.ID == id && s.RevokedAt.IsZero() {
			s.RevokedAt = at
		}
	}
	return nil
}

// fastConfig is an Authenticator configuration with weak, fast hashing and
// no throttling, for tests only.
func fastConfig(users auth.UserStore, tokens auth.TokenStore, secret []byte) auth.Config {
	return auth.Config{
		Users: users, Tokens: tokens, Secret: secret,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
}

// ms returns t to the millisecond, as the database keeps it, in UTC.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// nullMS returns t as the Unix milliseconds the schema stores, or nil for
// the zero time.
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// TestUpgradeFromVersion1 builds the schema of the previous release
// (migration 1 alone), fills it as that release did, with a user whose
// password hash is a real argon2id PHC string, a live session that has been
// refreshed once, and a logged-out session, then migrates to the latest
// schema and checks that everything is intact: the store reads the rows,
// the user logs in with the password, and the tokens issued before the
// upgrade still verify and refresh.
func TestUpgradeFromVersion1(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		db := e.open(t)
		st := e.store(t, db)
		if err := st.MigrateTo(ctx, 1); err != nil {
			t.Fatalf("MigrateTo(1): %v", err)
		}
		if v, err := st.SchemaVersion(ctx); err != nil || v != 1 {
			t.Fatalf("SchemaVersion after MigrateTo(1) = %d, %v; want 1", v, err)
		}

		// The previous release at work, on a throwaway store: register,
		// refresh once, and log in and out on a second device.
		secret := []byte(rand.Text() + rand.Text())
		mem := memstore.New()
		rec := &recordingTokens{Store: mem}
		old, err := auth.New(fastConfig(mem, rec, secret))
		if err != nil {
			t.Fatal(err)
		}
		const password = "correct horse battery staple"
		reg, err := old.Register(ctx, auth.RegisterInput{Email: "alice@example.com", Password: password, Name: "Alice"})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		pair, err := old.Refresh(ctx, reg.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		phone, err := old.Login(ctx, "alice@example.com", password)
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if err := old.Logout(ctx, phone.AccessToken); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		user, err := mem.UserByID(ctx, reg.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(user.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("password hash %q is not an argon2id PHC string with the test's parameters", user.PasswordHash)
		}
		if len(rec.sessions) != 2 || len(rec.tokens) != 3 || !rec.sessions[0].RevokedAt.IsZero() || rec.sessions[1].RevokedAt.IsZero() ||
			rec.tokens[1].SessionID != rec.sessions[0].ID || rec.tokens[0].UsedAt.IsZero() {
			t.Fatalf("recorded %d sessions and %d refresh tokens; want 2, the second logged out, and 3, the first spent by the refresh", len(rec.sessions), len(rec.tokens))
		}
		laptop := rec.sessions[0]

		// The same rows, written into the version-1 schema as the previous
		// release wrote them.
		if _, err := db.ExecContext(ctx, e.v1(v1Statements.user), user.ID, user.Email, user.Name,
			user.OrganizationID, user.Role, user.PasswordHash, user.CreatedAt.UnixMilli()); err != nil {
			t.Fatalf("insert user into the version-1 schema: %v", err)
		}
		for _, s := range rec.sessions {
			if _, err := db.ExecContext(ctx, e.v1(v1Statements.session), s.ID, s.UserID,
				s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli(), nullMS(s.RevokedAt)); err != nil {
				t.Fatalf("insert session into the version-1 schema: %v", err)
			}
		}
		for _, rt := range rec.tokens {
			if _, err := db.ExecContext(ctx, e.v1(v1Statements.token), rt.IDHash, rt.SessionID, rt.UserID,
				rt.CreatedAt.UnixMilli(), rt.ExpiresAt.UnixMilli(), nullMS(rt.UsedAt)); err != nil {
				t.Fatalf("insert refresh token into the version-1 schema: %v", err)
			}
		}

		// The upgrade, on another pool, as the new release's first start.
		upgraded := e.store(t, e.open(t))
		if err := upgraded.Migrate(ctx); err != nil {
			t.Fatalf("Migrate from version 1: %v", err)
		}
		if v, err := upgraded.SchemaVersion(ctx); err != nil || v != upgraded.LatestVersion() {
			t.Fatalf("SchemaVersion after Migrate = %d, %v; want the latest (%d)", v, err, upgraded.LatestVersion())
		}

		got, err := upgraded.UserByEmail(ctx, "alice@example.com")
		if err != nil {
			t.Fatalf("UserByEmail after the upgrade: %v", err)
		}
		want := *user
		want.CreatedAt = ms(user.CreatedAt)
		if *got != want {
			t.Errorf("user after the upgrade = %+v; want %+v (unverified)", *got, want)
		}
		for _, s := range rec.sessions {
			got, err := upgraded.Session(ctx, s.ID)
			if err != nil {
				t.Fatalf("Session after the upgrade: %v", err)
			}
			// Migration 8 gives each session its user's organization.
			want := auth.Session{ID: s.ID, UserID: s.UserID, CreatedAt: ms(s.CreatedAt), ExpiresAt: ms(s.ExpiresAt), OrganizationID: user.OrganizationID}
			if !s.RevokedAt.IsZero() {
				want.RevokedAt = ms(s.RevokedAt)
			}
			if *got != want {
				t.Errorf("session after the upgrade = %+v; want %+v (no user agent or address)", *got, want)
			}
		}
		list, err := upgraded.UserSessions(ctx, user.ID)
		if err != nil || len(list) != 1 || list[0].ID != laptop.ID {
			t.Fatalf("UserSessions after the upgrade = %v, %v; want the live session %s", list, err, laptop.ID)
		}
		// The tokens in the order issued: the laptop's first, its successor
		// from the refresh, the phone's first.
		if want := ms(rec.tokens[1].CreatedAt); !list[0].LastUsedAt.Equal(want) {
			t.Errorf("LastUsedAt after the upgrade = %v; want the refresh's %v", list[0].LastUsedAt, want)
		}

		// The new release at work on the upgraded database: the password
		// logs in, and the tokens issued before the upgrade still work.
		a, err := auth.New(fastConfig(upgraded, upgraded, secret))
		if err != nil {
			t.Fatal(err)
		}
		res, err := a.Login(ctx, "alice@example.com", password)
		if err != nil {
			t.Fatalf("Login after the upgrade: %v", err)
		}
		if res.User.ID != user.ID {
			t.Errorf("Login after the upgrade found user %s; want %s", res.User.ID, user.ID)
		}
		if c, err := a.Verify(ctx, pair.AccessToken); err != nil || c.SessionID != laptop.ID {
			t.Errorf("Verify(access token from before the upgrade) = %+v, %v; want session %s", c, err, laptop.ID)
		}
		if _, err := a.Verify(ctx, phone.AccessToken); err == nil {
			t.Error("Verify(access token of a session logged out before the upgrade) succeeded")
		}
		if _, err := a.Refresh(ctx, pair.RefreshToken); err != nil {
			t.Errorf("Refresh(refresh token from before the upgrade): %v", err)
		}
		if _, err := a.Refresh(ctx, phone.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Refresh(refresh token of a session logged out before the upgrade) = %v; want ErrInvalidToken", err)
		}

		// What migration 2 adds works on the upgraded rows.
		if err := upgraded.SetEmailVerified(ctx, user.ID, base); err != nil {
			t.Errorf("SetEmailVerified(upgraded user): %v", err)
		}
		if u, err := upgraded.UserByID(ctx, user.ID); err != nil || !u.EmailVerifiedAt.Equal(base) {
			t.Errorf("UserByID after SetEmailVerified = %+v, %v; want verified at %v", u, err, base)
		}
		ott := newOneTimeToken(t, upgraded, user, auth.PurposePasswordReset, base.Add(time.Hour))
		if _, err := upgraded.ConsumeOneTimeToken(ctx, ott.IDHash, ott.Purpose, base); err != nil {
			t.Errorf("ConsumeOneTimeToken(token of an upgraded user): %v", err)
		}
		current, err := a.Verify(ctx, res.AccessToken)
		if err != nil {
			t.Fatalf("Verify(access token of the login after the upgrade): %v", err)
		}
		if n, err := upgraded.RevokeUserSessions(ctx, user.ID, current.SessionID, base); err != nil || n != 1 {
			t.Errorf("RevokeUserSessions(upgraded user, keeping the new login) = %d, %v; want 1 (the upgraded session)", n, err)
		}

		// During a rolling upgrade instances of the previous release write
		// to the new schema with their statements; the new columns take
		// their defaults.
		straggler := &auth.Session{ID: randomID(t), UserID: user.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
		if _, err := db.ExecContext(ctx, e.v1(v1Statements.session), straggler.ID, straggler.UserID,
			straggler.CreatedAt.UnixMilli(), straggler.ExpiresAt.UnixMilli(), nil); err != nil {
			t.Fatalf("the previous release's session insert on the new schema: %v", err)
		}
		if got, err := upgraded.Session(ctx, straggler.ID); err != nil || *got != *straggler {
			t.Errorf("Session(written by the previous release) = %+v, %v; want %+v", got, err, straggler)
		}
		newcomer := &auth.User{ID: randomID(t), Email: "bob@example.com", Name: "Bob", OrganizationID: randomID(t),
			Role: auth.RoleOwner, PasswordHash: user.PasswordHash, CreatedAt: base}
		if _, err := db.ExecContext(ctx, e.v1(v1Statements.user), newcomer.ID, newcomer.Email, newcomer.Name,
			newcomer.OrganizationID, newcomer.Role, newcomer.PasswordHash, newcomer.CreatedAt.UnixMilli()); err != nil {
			t.Fatalf("the previous release's user insert on the new schema: %v", err)
		}
		if got, err := upgraded.UserByEmail(ctx, newcomer.Email); err != nil || *got != *newcomer {
			t.Errorf("UserByEmail(written by the previous release) = %+v, %v; want %+v", got, err, newcomer)
		}

		// A token spent before migration 3 has no successor recorded: even
		// seconds later, within the reuse window, presenting it is reuse.
		if _, err := a.Refresh(ctx, reg.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Refresh(token spent before the upgrade) = %v; want ErrInvalidToken (no successor recorded)", err)
		}
	})
}
