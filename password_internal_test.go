package auth

import (
	"encoding/base64"
	"fmt"
	"testing"
)

// TestArgon2LimitsAgree checks that New accepts exactly the argon2id
// parameters whose hashes the parser reads back: a parameter New accepted
// and the parser refused would register users who can never log in.
// Parameters whose dummy hash would be expensive (gigabytes) are checked
// against the limits alone, not through New.
func TestArgon2LimitsAgree(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, argon2SaltLen))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, argon2KeyLen))
	for _, c := range []struct {
		p     Argon2Params
		cheap bool // New may be called: its dummy hash costs little
	}{
		{Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}, true},
		{Argon2Params{Memory: 8, Iterations: argon2MaxIterations, Parallelism: 1}, true},
		{Argon2Params{Memory: 8, Iterations: argon2MaxIterations + 1, Parallelism: 1}, true},
		{Argon2Params{Memory: 8, Iterations: 1 << 20, Parallelism: 1}, true},
		{Argon2Params{Memory: 7, Iterations: 1, Parallelism: 1}, true},
		{Argon2Params{Memory: 8 * 255, Iterations: 1, Parallelism: 255}, true},
		{Argon2Params{Memory: 8*255 - 1, Iterations: 1, Parallelism: 255}, true},
		{Argon2Params{Memory: 16, Iterations: 1, Parallelism: 2}, true},
		{Argon2Params{Memory: 15, Iterations: 1, Parallelism: 2}, true},
		{Argon2Params{Memory: argon2MaxMemory + 1, Iterations: 1, Parallelism: 1}, true}, // refused before any hash
		{Argon2Params{Memory: 1<<32 - 1, Iterations: 2, Parallelism: 1}, true},
		{Argon2Params{Memory: argon2MaxMemory, Iterations: 1, Parallelism: 1}, false},
		{Argon2Params{Memory: defaultArgon2Memory, Iterations: argon2MaxIterations + 1, Parallelism: 1}, true},
	} {
		p := c.p
		phc := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Iterations, p.Parallelism, salt, key)
		_, _, _, perr := parseArgon2id(phc)
		lerr := p.errArgon2Limits()
		if (perr == nil) != (lerr == nil) {
			t.Errorf("%+v: the parser says %v, the limits %v", p, perr, lerr)
		}
		if !c.cheap {
			continue
		}
		_, err := New(Config{Users: benchNoStore{}, Tokens: benchNoStore{}, Secret: make([]byte, MinSecretBytes), Passwords: PasswordConfig{Argon2: p, InsecureAllowWeakHashing: true}})
		if (err == nil) != (perr == nil) {
			t.Errorf("%+v: New says %v, but the parser says %v of its hashes", p, err, perr)
		}
	}
}

// TestArgon2FloorIsConstant checks that the exported default is a value to
// copy: lowering it lowers neither the floor New enforces nor the defaults
// of a zero Config.Passwords.Argon2.
func TestArgon2FloorIsConstant(t *testing.T) {
	saved := DefaultArgon2Params
	t.Cleanup(func() { DefaultArgon2Params = saved })
	DefaultArgon2Params = Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}

	_, err := New(Config{Users: benchNoStore{}, Tokens: benchNoStore{}, Secret: make([]byte, MinSecretBytes), Passwords: PasswordConfig{Argon2: Argon2Params{Memory: 8, Iterations: 1, Parallelism: 1}}})
	if err == nil {
		t.Error("New accepted m=8 KiB, t=1 without InsecureAllowWeakHashing once DefaultArgon2Params was lowered")
	}
	if got := (Argon2Params{}).withDefaults(); got != saved {
		t.Errorf("a zero Argon2Params defaults to %+v once DefaultArgon2Params was lowered, want %+v", got, saved)
	}
}
