package passkey_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/passkey"
)

// The configuration the README shows: passkeys for example.com, mounted
// with the Authenticator's other routes.
func Example() {
	store := memstore.New()
	a, err := auth.New(auth.Config{Users: store, Tokens: store, Secret: []byte("an example secret of at least 32 bytes!!")})
	if err != nil {
		log.Fatal(err)
	}
	pk, err := passkey.New(a, store, passkey.Config{
		RPID:          "example.com",                   // the domain passkeys are bound to
		RPDisplayName: "Example",                       // what authenticators show; default RPID
		Origins:       []string{"https://example.com"}, // the pages allowed to run the ceremonies
	})
	if err != nil {
		log.Fatal(err)
	}
	pk.Mount() // before a.Handler(); schedule pk.DeleteExpired next to a.DeleteExpired
	mux := http.NewServeMux()
	mux.Handle("/api/v2/auth/", http.StripPrefix("/api/v2/auth", a.Handler()))
	fmt.Println("mounted")
	// Output: mounted
}
