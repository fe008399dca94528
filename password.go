package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/ingestiq/auth/internal/hashprobe"
)

// Argon2Params are the argon2id parameters used to hash new passwords.
// The zero value means the OWASP recommendation: 19 MiB of memory, two
// passes, one lane.
type Argon2Params struct {
	// Memory is the memory cost in KiB. The default is 19456 (19 MiB).
	Memory uint32
	// Iterations is the number of passes over the memory. The default is 2.
	Iterations uint32
	// Parallelism is the number of lanes. The default is 1.
	Parallelism uint8
}

// DefaultArgon2Params are the OWASP Password Storage Cheat Sheet parameters
// for argon2id: m=19 MiB, t=2, p=1. It is a value to copy and nothing
// reads it: the defaults of [PasswordConfig.Argon2] and the floor New enforces are
// constants, so assigning to this variable changes neither.
var DefaultArgon2Params = Argon2Params{Memory: defaultArgon2Memory, Iterations: defaultArgon2Iterations, Parallelism: defaultArgon2Parallelism}

// The limits of argon2id parameters. New applies all of them to
// Config.Passwords.Argon2 (the floor unless InsecureAllowWeakHashing is set);
// parseArgon2id applies the absolute ones to every stored hash, so that
// parameters New accepts always make hashes the parser reads back, and a
// hash from the store can neither make a login allocate gigabytes nor
// verify in no time.
const (
	defaultArgon2Memory      = 19 * 1024 // KiB
	defaultArgon2Iterations  = 2
	defaultArgon2Parallelism = 1

	// The OWASP floor, below which New needs InsecureAllowWeakHashing.
	argon2FloorMemory     = defaultArgon2Memory
	argon2FloorIterations = defaultArgon2Iterations

	// The absolute limits.
	argon2MinMemoryPerLane = 8       // KiB per lane, argon2's own minimum
	argon2MaxMemory        = 4 << 20 // KiB: 4 GiB
	argon2MinIterations    = 1
	argon2MaxIterations    = 64
	argon2MinParallelism   = 1
	argon2MaxParallelism   = 255 // Parallelism is a uint8; the PHC string is not

	argon2MinSaltLen = 8
	argon2MinKeyLen  = 16
	argon2MaxKeyLen  = 64
)

// errArgon2Limits says which limit p breaks, or is nil when p is within
// the absolute limits (the floor aside).
func (p Argon2Params) errArgon2Limits() error {
	switch {
	case p.Parallelism < argon2MinParallelism:
		return fmt.Errorf("parallelism must be at least %d", argon2MinParallelism)
	case p.Memory < argon2MinMemoryPerLane*uint32(p.Parallelism):
		return fmt.Errorf("memory must be at least %d KiB per lane", argon2MinMemoryPerLane)
	case p.Memory > argon2MaxMemory:
		return fmt.Errorf("memory must be at most %d KiB", argon2MaxMemory)
	case p.Iterations < argon2MinIterations || p.Iterations > argon2MaxIterations:
		return fmt.Errorf("iterations must be between %d and %d", argon2MinIterations, argon2MaxIterations)
	}
	return nil
}

// belowFloor reports whether p is below the OWASP floor.
func (p Argon2Params) belowFloor() bool {
	return p.Memory < argon2FloorMemory || p.Iterations < argon2FloorIterations
}

const (
	argon2SaltLen = 16
	argon2KeyLen  = 32
	// bcryptMaxBytes is the most bcrypt reads of a password; longer
	// passwords never verify against a bcrypt hash rather than being
	// silently truncated.
	bcryptMaxBytes = 72
)

func (p Argon2Params) withDefaults() Argon2Params {
	if p.Memory == 0 {
		p.Memory = defaultArgon2Memory
	}
	if p.Iterations == 0 {
		p.Iterations = defaultArgon2Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = defaultArgon2Parallelism
	}
	return p
}

// weakerThan reports whether p costs less than q in memory or passes. A
// hash made with parameters weaker than the live ones is upgraded on the
// next login.
func (p Argon2Params) weakerThan(q Argon2Params) bool {
	return p.Memory < q.Memory || p.Iterations < q.Iterations
}

// hasher hashes and verifies passwords. At most cap(sem) hashes run at once;
// further callers wait for a slot, for as long as their context allows, so a
// burst of logins queues instead of allocating 19 MiB per request.
type hasher struct {
	params  Argon2Params
	maxWait time.Duration
	sem     chan struct{}
	dummy   string // a valid hash with the live parameters, for unknown emails
	// obs is Config.Observer, told of every wait for a slot; waiting
	// counts the requests asking for one (kept only with an observer).
	obs     Observer
	waiting atomic.Int64
}

func newHasher(p Argon2Params, concurrency int, maxWait time.Duration) (*hasher, error) {
	h := &hasher{params: p, maxWait: maxWait, sem: make(chan struct{}, concurrency)}
	pw := make([]byte, 32)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	h.dummy = h.encode(context.Background(), pw)
	return h, nil
}

// acquire takes a hashing slot, waiting at most maxWait and no longer than
// ctx allows. When the wait runs out it returns a RATE_LIMITED error, so a
// burst larger than the server can hash in time is answered 429 rather
// than left to time out.
func (h *hasher) acquire(ctx context.Context) error {
	if h.obs == nil {
		return h.acquireSlot(ctx)
	}
	start := time.Now()
	queued := int(h.waiting.Add(1))
	err := h.acquireSlot(ctx)
	h.waiting.Add(-1)
	h.obs.HashWait(ctx, time.Since(start), queued, err == nil)
	return err
}

// acquireSlot is acquire without the observer.
func (h *hasher) acquireSlot(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return rateLimited(time.Second)
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC string of password under the live parameters.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(ctx, []byte(password)), nil
}

func (h *hasher) encode(ctx context.Context, password []byte) string {
	salt := make([]byte, argon2SaltLen)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(salt)
	p := h.params
	key := argon2id(ctx, password, salt, p, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// verify reports whether password matches the encoded hash, and whether the
// hash should be replaced by one made with the live parameters. A malformed
// or empty hash never matches. The caller must hold a slot (acquire).
func (h *hasher) verify(ctx context.Context, password, encoded string) (ok, rehash bool) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := parseArgon2id(encoded)
		if err != nil {
			return false, false
		}
		got := argon2id(ctx, []byte(password), salt, p, uint32(len(key)))
		ok = subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok && p.weakerThan(h.params)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		// bcrypt reads only the first 72 bytes; a longer password must not
		// verify against a hash of its prefix.
		if len(password) > bcryptMaxBytes {
			return false, false
		}
		if probe := hashprobe.From(ctx); probe != nil {
			cost, _ := bcrypt.Cost([]byte(encoded))
			defer probe(hashprobe.Computation{Algorithm: "bcrypt", Iterations: uint32(max(cost, 0))})()
		}
		if bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)) != nil {
			return false, false
		}
		return true, true
	default:
		return false, false
	}
}

// verifyDummy spends the time of one verification on a hash that exists for
// no account, so that an unknown email costs what a wrong password does.
// The caller must hold a slot.
func (h *hasher) verifyDummy(ctx context.Context, password string) {
	h.verify(ctx, password, h.dummy)
}

// argon2id computes an argon2id key, reporting the computation to the
// context's probe if it has one (tests only).
func argon2id(ctx context.Context, password, salt []byte, p Argon2Params, keyLen uint32) []byte {
	if probe := hashprobe.From(ctx); probe != nil {
		defer probe(hashprobe.Computation{Algorithm: "argon2id", Memory: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism})()
	}
	return argon2.IDKey(password, salt, p.Iterations, p.Memory, p.Parallelism, keyLen)
}

var errBadPHC = errors.New("auth: malformed argon2id hash")

// parseArgon2id parses "$argon2id$v=19$m=..,t=..,p=..$salt$key".
func parseArgon2id(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadPHC
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, found := strings.Cut(kv, "=")
		if !found {
			return p, nil, nil, errBadPHC
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadPHC
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > argon2MaxParallelism {
				return p, nil, nil, errBadPHC
			}
			p.Parallelism = uint8(n)
		default:
			return p, nil, nil, errBadPHC
		}
	}
	// Refuse parameters that are absurd either way: a hash from the store
	// must not make a login allocate gigabytes or verify instantly.
	if p.errArgon2Limits() != nil {
		return p, nil, nil, errBadPHC
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < argon2MinSaltLen {
		return p, nil, nil, errBadPHC
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < argon2MinKeyLen || len(key) > argon2MaxKeyLen {
		return p, nil, nil, errBadPHC
	}
	return p, salt, key, nil
}

// MaxPasswordBytes is the longest password accepted, in bytes. Longer
// passwords are refused before any hashing.
const MaxPasswordBytes = 1024

// checkNewPassword applies the password policy to a new password and returns
// a message for the client, or "" when the password is acceptable. The
// password is judged exactly as received: no trimming, no case folding, no
// normalization.
func checkNewPassword(password, email string, minLen int) string {
	switch {
	case password == "":
		return "is required"
	case len(password) > MaxPasswordBytes:
		return fmt.Sprintf("must be at most %d bytes", MaxPasswordBytes)
	case !utf8.ValidString(password) || strings.ContainsRune(password, utf8.RuneError):
		return "must be valid UTF-8 text"
	case utf8.RuneCountInString(password) < minLen:
		return fmt.Sprintf("must be at least %d characters", minLen)
	}
	lower := strings.ToLower(password)
	if _, common := commonPasswords[lower]; common {
		return "is too common"
	}
	if email != "" {
		local, _, _ := strings.Cut(email, "@")
		if lower == email || lower == local || strings.ReplaceAll(lower, local, "") == "" {
			return "must not be based on the email address"
		}
	}
	return ""
}

// commonPasswords is a small blocklist of passwords that are long enough to
// pass the length rule but appear at the top of every breach corpus. It is
// deliberately short; applications that want a breach-corpus check can add
// one in [Config.OnRegister].
var commonPasswords = func() map[string]struct{} {
	list := []string{
		"password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd", "p@ssword",
		"12345678", "123456789", "1234567890", "0123456789", "87654321", "11111111", "00000000", "12341234",
		"123123123", "11223344", "12121212", "88888888", "99999999", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx",
		"qwertyui", "qwertyuiop", "qwerty123", "qwerty12", "asdfghjkl", "asdfasdf", "zxcvbnm1", "abcd1234",
		"abcdefgh", "iloveyou", "iloveyou1", "sunshine", "princess", "football", "baseball", "welcome1",
		"welcome123", "letmein1", "trustno1", "superman", "starwars", "whatever", "computer", "internet",
		"michelle", "jennifer", "corvette", "mercedes", "changeme", "default1", "administrator", "admin123",
		"passpass", "secret123", "qazwsxedc", "zaq12wsx", "!qaz2wsx", "monkey123", "dragon123", "master123",
		"shadow123", "1234qwer", "q1w2e3r4", "q1w2e3r4t5", "aa123456", "a1b2c3d4", "loveyou1", "lovelove",
	}
	m := make(map[string]struct{}, len(list))
	for _, s := range list {
		m[s] = struct{}{}
	}
	return m
}()

// PasswordConfig configures password rules and hashing. Zero fields mean their
// documented default.
type PasswordConfig struct {
	// MinPasswordLength is the fewest characters (Unicode code points) a new
	// password may have; it cannot be set below 8. The default is 8.
	MinPasswordLength int

	// Argon2 are the argon2id parameters for new password hashes. Values
	// below the OWASP floor (19 MiB with two passes) make New fail unless
	// InsecureAllowWeakHashing is set, and so do values outside the limits
	// within which the library reads a stored hash back: at most 4 GiB of
	// memory and at least 8 KiB per lane, 1 to 64 passes, 1 to 255 lanes.
	// Zero fields take the default's. The default is [DefaultArgon2Params]
	// (m=19456 KiB, t=2, p=1).
	Argon2 Argon2Params

	// InsecureAllowWeakHashing lets Argon2 go below the OWASP floor. It
	// exists for tests that register many users; never set it in
	// production. The default is false.
	InsecureAllowWeakHashing bool

	// MaxConcurrentHashes bounds how many password hashes run at once; more
	// requests wait for a slot for as long as their context allows. The
	// default is runtime.GOMAXPROCS(0).
	MaxConcurrentHashes int

	// MaxHashWait bounds how long a call waits for a hashing slot when
	// MaxConcurrentHashes are busy; past it the call fails with RATE_LIMITED
	// (429, Retry-After: 1) instead of queueing until the client or the
	// server's write timeout gives up. The default is 10 seconds.
	MaxHashWait time.Duration
}
