package auth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// exampleSecret stands in for a secret loaded from the environment or a
// secret manager: 32 or more random bytes.
func exampleSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

func ExampleNew() {
	st := memstore.New()
	a, err := auth.New(auth.Config{
		Users:  st,
		Tokens: st,
		Secret: exampleSecret(),
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	res, err := a.Register(ctx, auth.RegisterInput{Email: " Ada@Example.com", Password: "correct horse battery", Name: "Ada"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered", res.User.Email, "as", res.User.Role)

	_, err = a.Login(ctx, "ada@example.com", "wrong password")
	fmt.Println("wrong password:", errors.Is(err, auth.ErrInvalidCredentials))

	pair, err := a.Refresh(ctx, res.RefreshToken)
	if err != nil {
		log.Fatal(err)
	}
	claims, err := a.Verify(ctx, pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified user is the registered one:", claims.UserID == res.User.ID)

	// The refresh token presented above is spent. Within the reuse window
	// (Config.Sessions.RefreshReuseWindow, 10 s by default) presenting it again gets
	// the same successor, as a client whose response was lost needs; once
	// that successor is spent too, presenting it is treated as theft and
	// ends the session.
	retry, err := a.Refresh(ctx, res.RefreshToken)
	fmt.Println("retry within the reuse window:", err == nil)
	if _, err := a.Refresh(ctx, retry.RefreshToken); err != nil {
		log.Fatal(err)
	}
	_, err = a.Refresh(ctx, res.RefreshToken)
	fmt.Println("reused refresh token:", errors.Is(err, auth.ErrInvalidToken))
	_, err = a.Verify(ctx, pair.AccessToken)
	fmt.Println("session ended:", errors.Is(err, auth.ErrInvalidToken))
	// Output:
	// registered ada@example.com as owner
	// wrong password: true
	// verified user is the registered one: true
	// retry within the reuse window: true
	// reused refresh token: true
	// session ended: true
}

func ExampleAuthenticator_Handler() {
	st := memstore.New()
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: exampleSecret()})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/api/v2/auth/register", "application/json",
		strings.NewReader(`{"email": "user@example.com", "password": "securepassword123", "name": "John Doe"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("register:", resp.Status)

	resp, err = http.Post(srv.URL+"/api/v2/auth/login", "application/json",
		strings.NewReader(`{"email": "user@example.com", "password": "not my password"}`))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("login:", resp.Status, strings.TrimSpace(string(body)))
	// Output:
	// register: 201 Created
	// login: 401 Unauthorized {"error":{"code":"INVALID_CREDENTIALS","message":"Invalid email or password"}}
}

func ExampleAuthenticator_Middleware() {
	st := memstore.New()
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: exampleSecret()})
	if err != nil {
		log.Fatal(err)
	}

	projects := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := auth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "projects of organization %s", claims.OrganizationID)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/projects", a.Middleware(projects))
	mux.Handle("/api/billing", a.Middleware(auth.RequireRole("owner")(projects)))

	res, err := a.Register(context.Background(), auth.RegisterInput{Email: "owner@example.com", Password: "securepassword123", Name: "Owner"})
	if err != nil {
		log.Fatal(err)
	}

	for _, token := range []string{"", res.AccessToken} {
		req := httptest.NewRequest(http.MethodGet, "/api/projects", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.HasPrefix(rec.Body.String(), "projects of organization"))
	}
	// Output:
	// 401 false
	// 200 true
}
