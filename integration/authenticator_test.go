package integration

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// newAuthenticator returns an Authenticator on its own connection pool of
// e's database, as a separate process would have, with the given secret
// and the options applied to its Config.
func (e *env) newAuthenticator(t *testing.T, db *sql.DB, secret []byte, opts ...func(*auth.Config)) *auth.Authenticator {
	t.Helper()
	st := e.store(t, db)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	cfg := auth.Config{
		Users: st, Tokens: st, Secret: secret,
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	a, err := auth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// strictRefresh turns the refresh reuse window off.
func strictRefresh(c *auth.Config) { c.Sessions.RefreshReuseWindow = -1 }

// TestTwoAuthenticators runs two Authenticators, each with its own
// connection pool, on one database, as two server processes would: a
// registration on one is a login on the other, and of concurrent refreshes
// of one token spread over both, exactly one succeeds (with the reuse window
// off; TestTwoAuthenticatorsReuseWindow has it on).
func TestTwoAuthenticators(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret := []byte(rand.Text() + rand.Text())
		a := e.newAuthenticator(t, e.open(t), secret, strictRefresh)
		b := e.newAuthenticator(t, e.open(t), secret, strictRefresh)

		reg, err := a.Register(ctx, auth.RegisterInput{Email: "Alice@Example.com", Password: "correct horse battery", Name: "Alice"})
		if err != nil {
			t.Fatalf("Register on A: %v", err)
		}
		res, err := b.Login(ctx, "alice@example.com", "correct horse battery")
		if err != nil {
			t.Fatalf("Login on B after Register on A: %v", err)
		}
		if res.User.ID != reg.User.ID {
			t.Fatalf("Login on B found user %s; registered %s", res.User.ID, reg.User.ID)
		}
		if _, err := b.Register(ctx, auth.RegisterInput{Email: "alice@example.com", Password: "another password", Name: "Eve"}); !errors.Is(err, auth.ErrEmailExists) {
			t.Errorf("Register on B of A's email = %v; want ErrEmailExists", err)
		}

		const n = 8
		tokens := make([]*auth.TokenPair, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			node := a
			if i%2 == 1 {
				node = b
			}
			wg.Go(func() {
				<-start
				tokens[i], errs[i] = node.Refresh(ctx, res.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, auth.ErrInvalidToken):
				t.Errorf("Refresh #%d: %v; want success or ErrInvalidToken", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent refreshes of one token succeeded; want exactly 1", wins, n)
		}
		// The losers presented a spent token: reuse detection revoked the
		// session on both nodes, so the winner's successor is refused too.
		for i, tp := range tokens {
			if tp == nil {
				continue
			}
			if _, err := a.Refresh(ctx, tp.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Refresh of winner #%d's successor after reuse = %v; want ErrInvalidToken", i, err)
			}
			if _, err := b.Verify(ctx, tp.AccessToken); err == nil {
				t.Errorf("Verify on B of winner #%d's access token after reuse succeeded", i)
			}
		}
	})
}

// TestTwoAuthenticatorsReuseWindow races 50 refreshes of one token over
// two Authenticators with their own connection pools, as two processes, with
// the default reuse window: all succeed with one successor (one jti), and the
// session holds one live refresh token: refreshing one of the copies works,
// and another copy after the window is reuse.
func TestTwoAuthenticatorsReuseWindow(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret := []byte(rand.Text() + rand.Text())
		now := base
		clock := func(c *auth.Config) { c.Now = func() time.Time { return now } }
		a := e.newAuthenticator(t, e.open(t), secret, clock)
		b := e.newAuthenticator(t, e.open(t), secret, clock)
		reg, err := a.Register(ctx, auth.RegisterInput{Email: "alice@example.com", Password: "correct horse battery", Name: "Alice"})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		const n = 50
		pairs := make([]*auth.TokenPair, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			node := a
			if i%2 == 1 {
				node = b
			}
			wg.Go(func() {
				<-start
				pairs[i], errs[i] = node.Refresh(ctx, reg.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		jtis := map[string]bool{}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Refresh #%d: %v; want all to succeed within the window", i, err)
			}
			jtis[jti(t, pairs[i].RefreshToken)] = true
		}
		if len(jtis) != 1 {
			t.Fatalf("%d concurrent refreshes gave %d distinct successors; want one", n, len(jtis))
		}
		if _, err := b.Refresh(ctx, pairs[0].RefreshToken); err != nil {
			t.Fatalf("Refresh of the successor: %v", err)
		}
		now = now.Add(11 * time.Second)
		if _, err := a.Refresh(ctx, pairs[n-1].RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Fatalf("Refresh of another copy of the spent successor after the window = %v; want ErrInvalidToken", err)
		}
		if _, err := b.Verify(ctx, pairs[0].AccessToken); err == nil {
			t.Error("Verify after reuse detection succeeded")
		}
	})
}

// TestRefreshReadsUserInRotation checks, on each database, that the
// rotation itself carries the user to the next access token: a change of
// organization or role made in the database reaches the next refreshed
// access token (and a replay's within the window), and a deleted user
// cannot refresh.
func TestRefreshReadsUserInRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		db := e.open(t)
		a := e.newAuthenticator(t, db, []byte(rand.Text()+rand.Text()))
		reg, err := a.Register(ctx, auth.RegisterInput{Email: "carol@example.com", Password: "correct horse battery", Name: "Carol"})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		// The session's organization is the user's own; its membership
		// role is what a rotation reads.
		org := reg.User.OrganizationID
		query := "UPDATE " + e.prefix + "memberships SET role = ? WHERE user_id = ?"
		if e.dialect == sqlstore.Postgres {
			query = "UPDATE " + e.prefix + "memberships SET role = $1 WHERE user_id = $2"
		}
		if _, err := db.ExecContext(ctx, query, "admin", reg.User.ID); err != nil {
			t.Fatal(err)
		}
		pair, err := a.Refresh(ctx, reg.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		replay, err := a.Refresh(ctx, reg.RefreshToken)
		if err != nil {
			t.Fatalf("Refresh within the reuse window: %v", err)
		}
		for name, p := range map[string]*auth.TokenPair{"refresh": pair, "replay": replay} {
			c, err := a.Verify(ctx, p.AccessToken)
			if err != nil {
				t.Fatalf("Verify(%s access token): %v", name, err)
			}
			if c.OrganizationID != org || c.Role != "admin" || c.UserID != reg.User.ID {
				t.Errorf("%s access token: org %q role %q user %q; want %s, admin, %s", name, c.OrganizationID, c.Role, c.UserID, org, reg.User.ID)
			}
		}
		l, err := a.Login(ctx, "carol@example.com", "correct horse battery")
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if err := a.DeleteAccount(ctx, l.User.ID, "correct horse battery"); err != nil {
			t.Fatalf("DeleteAccount: %v", err)
		}
		for name, rt := range map[string]string{"successor": pair.RefreshToken, "spent": reg.RefreshToken, "other session": l.RefreshToken} {
			if _, err := a.Refresh(ctx, rt); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Refresh(%s) after the user was deleted = %v; want ErrInvalidToken", name, err)
			}
		}
	})
}

// jti returns the id of a JWT, read without verification.
func jti(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Jti string }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Jti
}

// TestDatabaseDownIsInternalError checks that a database that fails is
// answered 500 INTERNAL_ERROR, with nothing of the database's error in the
// body.
func TestDatabaseDownIsInternalError(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		db := e.open(t)
		st := e.store(t, db)
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		a, err := auth.New(auth.Config{
			Users: st, Tokens: st, Secret: []byte(rand.Text() + rand.Text()),
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()

		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		for _, path := range []string{"/register", "/login"} {
			body := `{"email":"alice@example.com","password":"correct horse battery","name":"Alice"}`
			resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(got), `"INTERNAL_ERROR"`) {
				t.Errorf("POST %s with the database closed: %d %s; want 500 INTERNAL_ERROR", path, resp.StatusCode, got)
			}
			if strings.Contains(string(got), "sql") || strings.Contains(string(got), "closed") {
				t.Errorf("POST %s: the body leaks the cause: %s", path, got)
			}
		}
		if !strings.Contains(logs.String(), "sql: database is closed") {
			t.Errorf("the cause was not logged; logs:\n%s", logs.String())
		}
	})
}
