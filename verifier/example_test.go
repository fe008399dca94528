package verifier_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/verifier"
)

// A service other than the auth service protects its routes with the auth
// service's public keys.
func ExampleVerifier_Middleware() {
	v, err := verifier.New(verifier.Config{
		JWKSURL: "https://auth.internal/.well-known/jwks.json",
		// Issuer and Audience default to the auth library's defaults; set
		// them when the auth service sets Config.Issuer or Config.Audience.
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/projects", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFromContext(r.Context()) // the middleware put them there
		fmt.Fprintf(w, "projects of organization %s\n", c.OrganizationID)
	})))
	mux.Handle("DELETE /api/projects/{id}", v.Middleware(auth.RequireRole("owner")(http.NotFoundHandler())))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
