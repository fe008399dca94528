package oidc_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/oidc"
)

// The README's configuration: Google and Microsoft by their issuers,
// GitHub over OAuth 2.
func ExampleNew() {
	st := memstore.New()
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: []byte(os.Getenv("AUTH_SECRET"))})
	if err != nil {
		log.Fatal(err)
	}
	tenantID := os.Getenv("ENTRA_TENANT_ID")
	_, err = oidc.New(context.Background(), oidc.Config{
		Auth:        a,
		Secret:      []byte(os.Getenv("OIDC_STATE_KEY")),
		PublicURL:   "https://app.example.com/api/v2/auth",
		FrontendURL: "https://app.example.com/",
		Providers: []oidc.Provider{
			{Name: "google", Label: "Google", Issuer: "https://accounts.google.com",
				ClientID: os.Getenv("GOOGLE_CLIENT_ID"), ClientSecret: os.Getenv("GOOGLE_CLIENT_SECRET")},
			{Name: "microsoft", Label: "Microsoft", Issuer: "https://login.microsoftonline.com/" + tenantID + "/v2.0",
				ClientID: os.Getenv("ENTRA_CLIENT_ID"), ClientSecret: os.Getenv("ENTRA_CLIENT_SECRET")},
			{Name: "github", Label: "GitHub", GitHub: &oidc.GitHub{},
				ClientID: os.Getenv("GITHUB_CLIENT_ID"), ClientSecret: os.Getenv("GITHUB_CLIENT_SECRET")},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
	log.Fatal(http.ListenAndServe(":3000", mux))
}
