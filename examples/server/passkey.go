package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/passkey"
)

// passkeyFlags are the relying party settings of the passkey routes.
type passkeyFlags struct {
	rpID    *string
	origins originList
}

// addPasskeyFlags declares -passkey-rp-id and -passkey-origin.
func addPasskeyFlags(fs *flag.FlagSet) *passkeyFlags {
	f := &passkeyFlags{}
	f.rpID = fs.String("passkey-rp-id", "localhost", "the WebAuthn relying party `id` passkeys are bound to: the site's domain")
	fs.Var(&f.origins, "passkey-origins", "an `origin` (scheme://host:port) whose pages may use passkeys (repeatable); the default is http://localhost:PORT, this server's own origin under the default -passkey-rp-id")
	return f
}

// mountPasskeys adds the passkey routes to a, kept in the store when it
// keeps passkeys (memstore and sqlstore do). ln is the server's listener,
// whose port makes the default origin.
func mountPasskeys(a *auth.Authenticator, st *storage, f *passkeyFlags, ln net.Listener) (*passkey.Passkeys, error) {
	ps, ok := st.store.(auth.PasskeyStore)
	if !ok {
		return nil, nil
	}
	origins := []string(f.origins)
	if len(origins) == 0 {
		if *f.rpID != "localhost" {
			return nil, errors.New("-passkey-rp-id other than localhost needs -passkey-origins")
		}
		_, port, err := net.SplitHostPort(ln.Addr().String())
		if err != nil {
			return nil, err
		}
		origins = []string{"http://localhost:" + port}
	}
	pk, err := passkey.New(a, ps, passkey.Config{RPID: *f.rpID, RPDisplayName: "ingestiq/auth reference server", Origins: origins})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	pk.Mount()
	return pk, nil
}

// sweepPasskeysEvery deletes expired passkey ceremonies every interval
// until ctx is done.
func sweepPasskeysEvery(ctx context.Context, pk *passkey.Passkeys, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := pk.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "deleting expired passkey ceremonies", "error", err)
			}
		}
	}
}
