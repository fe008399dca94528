package auth_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ingestiq/auth"
)

// TestArgon2ParamsNewAcceptsOnlyWhatLogsIn checks both sides of the
// argon2id limits through the public API: at the extremes New accepts
// (kept cheap: the most passes and lanes over little memory), a registered
// user logs in; just past them New refuses, rather than registering users
// whose hashes the login could not read back.
func TestArgon2ParamsNewAcceptsOnlyWhatLogsIn(t *testing.T) {
	t.Parallel()
	for _, p := range []auth.Argon2Params{
		{Memory: 8, Iterations: 1, Parallelism: 1},
		{Memory: 8, Iterations: 64, Parallelism: 1},
		{Memory: 8 * 255, Iterations: 1, Parallelism: 255},
		{Memory: 16, Iterations: 64, Parallelism: 2},
	} {
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Iterations, p.Parallelism), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *auth.Config) { c.Passwords.Argon2 = p })
			e.registerAPI(t, "extreme@example.com")
			if _, err := e.a.Login(context.Background(), "extreme@example.com", goodPassword); err != nil {
				t.Errorf("Login of a user registered with %+v: %v", p, err)
			}
		})
	}
	for _, p := range []auth.Argon2Params{
		{Memory: 8, Iterations: 65, Parallelism: 1},
		{Memory: 19456, Iterations: 65, Parallelism: 1},
		{Memory: 4<<20 + 1, Iterations: 2, Parallelism: 1},
		{Memory: 8*255 - 1, Iterations: 1, Parallelism: 255},
	} {
		for _, weak := range []bool{true, false} {
			cfg := auth.Config{Users: newHookStore(nil), Tokens: newHookStore(nil), Secret: testSecret, Passwords: auth.PasswordConfig{Argon2: p, InsecureAllowWeakHashing: weak}}
			if _, err := auth.New(cfg); err == nil {
				t.Errorf("New accepted %+v (InsecureAllowWeakHashing %t), whose hashes no login can read", p, weak)
			}
		}
	}
}
