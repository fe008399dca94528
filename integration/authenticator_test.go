package integration

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ingestiq/auth"
)

// newAuthenticator returns an Authenticator on its own connection pool of
// e's database, as a separate process would have, with the given secret.
func (e *env) newAuthenticator(t *testing.T, db *sql.DB, secret []byte) *auth.Authenticator {
	t.Helper()
	st := e.store(t, db)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	a, err := auth.New(auth.Config{
		Users: st, Tokens: st, Secret: secret,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTwoAuthenticators runs two Authenticators, each with its own
// connection pool, on one database, as two server processes would: a
// registration on one is a login on the other, and of concurrent refreshes
// of one token spread over both, exactly one succeeds.
func TestTwoAuthenticators(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		secret := []byte(rand.Text() + rand.Text())
		a := e.newAuthenticator(t, e.open(t), secret)
		b := e.newAuthenticator(t, e.open(t), secret)

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
