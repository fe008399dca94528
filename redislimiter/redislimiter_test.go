package redislimiter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/limitertest"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/redislimiter"
)

// addrEnv names the Redis server the tests use, as host:port.
const addrEnv = "AUTH_TEST_REDIS_ADDR"

// redisAddr returns the address of the test Redis: $AUTH_TEST_REDIS_ADDR,
// which must answer, or else 127.0.0.1:6379 if it answers; otherwise the
// test is skipped, saying so.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv(addrEnv)
	explicit := addr != ""
	if !explicit {
		addr = "127.0.0.1:6379"
	}
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		if explicit {
			t.Fatalf("%s=%s but Redis does not answer: %v", addrEnv, addr, err)
		}
		t.Skipf("SKIPPING the Redis tests: no Redis answers at %s (%v); set %s to a server's host:port", addr, err, addrEnv)
	}
	return addr
}

// newLimiter returns a limiter on the test Redis with a fresh key prefix,
// whose keys are deleted when the test ends.
func newLimiter(t *testing.T, addr string) (*redislimiter.Limiter, string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "authtest:" + hex.EncodeToString(b[:]) + ":"
	l, err := redislimiter.Open("redis://"+addr+"/0", redislimiter.WithPrefix(prefix), redislimiter.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("delete the test's keys: %v", err)
		}
		l.Close()
	})
	return l, prefix
}

// TestConformance runs the limiter conformance suite on Redis.
func TestConformance(t *testing.T) {
	addr := redisAddr(t)
	limitertest.Run(t, func(t *testing.T) auth.Limiter {
		l, _ := newLimiter(t, addr)
		return l
	})
}

// TestSharedAcrossClients checks that two limiters on one Redis, as two
// instances of a service hold, count together.
func TestSharedAcrossClients(t *testing.T) {
	addr := redisAddr(t)
	a, prefix := newLimiter(t, addr)
	client := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { client.Close() })
	b := redislimiter.New(client, redislimiter.WithPrefix(prefix))
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	rule := auth.Backoff{Free: 4, Base: time.Second, Max: time.Hour, Window: time.Hour}
	for i := range 4 {
		l := auth.Limiter(a)
		if i%2 == 1 {
			l = b
		}
		if err := l.Hit(t.Context(), "k", rule, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []auth.Limiter{a, b} {
		if d, err := l.Wait(t.Context(), "k", now); err != nil || d != time.Second {
			t.Fatalf("after 4 hits through two clients Wait = %v, %v; want 1s", d, err)
		}
	}
}

// TestKeysExpire checks that a key carries a time to live: its window or
// its delay, whichever ends later.
func TestKeysExpire(t *testing.T) {
	addr := redisAddr(t)
	l, prefix := newLimiter(t, addr)
	now := time.Now()
	rule := auth.Backoff{Free: 1, Base: 3 * time.Hour, Max: 3 * time.Hour, Window: time.Hour}
	if err := l.Hit(t.Context(), "k", rule, now); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys := scanKeys(t, c, prefix)
	if len(keys) != 1 {
		t.Fatalf("keys under the prefix = %q, want one", keys)
	}
	ttl, err := c.PTTL(t.Context(), keys[0]).Result()
	if err != nil || ttl <= 2*time.Hour || ttl > 3*time.Hour {
		t.Fatalf("PTTL = %v, %v; want the delay's 3h (the window's 1h is shorter)", ttl, err)
	}
}

// scanKeys returns every Redis key that starts with prefix.
func scanKeys(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(t.Context(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(t.Context()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestKeysHoldNoEmail checks that Redis never holds the Authenticator's
// keys in clear: a throttling key naming an email address and a client
// address is stored under its hash, and the limiter still counts it as one
// key.
func TestKeysHoldNoEmail(t *testing.T) {
	addr := redisAddr(t)
	l, prefix := newLimiter(t, addr)
	now := time.Now()
	key := "login:pair:ada@example.com|192.0.2.7"
	rule := auth.Backoff{Free: 1, Base: time.Minute, Max: time.Minute, Window: time.Hour}
	for range 2 {
		if err := l.Hit(t.Context(), key, rule, now); err != nil {
			t.Fatal(err)
		}
	}
	if wait, err := l.Wait(t.Context(), key, now); err != nil || wait <= 0 {
		t.Fatalf("Wait after two hits = %v, %v; want a delay", wait, err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	keys := scanKeys(t, c, prefix)
	if len(keys) != 1 {
		t.Fatalf("keys under the prefix = %q, want one", keys)
	}
	for _, secret := range []string{"ada@example.com", "192.0.2.7", "login"} {
		if strings.Contains(keys[0], secret) {
			t.Errorf("Redis key %q holds %q in clear", keys[0], secret)
		}
	}
	if err := l.Reset(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if keys := scanKeys(t, c, prefix); len(keys) != 0 {
		t.Fatalf("keys after Reset = %q, want none", keys)
	}
}

// TestUnreachableFailsClosed checks that every call fails, rather than
// letting the attempt through, when Redis refuses connections and when it
// accepts them but never answers (the timeout then ends the call).
func TestUnreachableFailsClosed(t *testing.T) {
	// A port nothing listens on: take a free one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	rule := auth.Backoff{Free: 5, Base: time.Second, Max: time.Hour, Window: time.Hour}
	now := time.Now()
	for name, addr := range map[string]string{"refused": refused, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			l, err := redislimiter.Open("redis://"+addr+"/0", redislimiter.WithTimeout(200*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx := t.Context()
			if _, err := l.Wait(ctx, "k", now); err == nil {
				t.Error("Wait succeeded without Redis")
			}
			if err := l.Hit(ctx, "k", rule, now); err == nil {
				t.Error("Hit succeeded without Redis")
			}
			if _, err := l.Take(ctx, "k", rule, now); err == nil {
				t.Error("Take succeeded without Redis")
			}
			if err := l.Reset(ctx, "k"); err == nil {
				t.Error("Reset succeeded without Redis")
			}
			if name == "silent" {
				_, err := l.Take(ctx, "k", rule, now)
				var ne net.Error
				if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
					t.Errorf("Take on a silent server: %v, want a timeout", err)
				}
			}
		})
	}
}

// TestAuthenticatorFailsClosed checks what the Authenticator does with a
// limiter that cannot reach Redis: logins and registrations fail with an
// error instead of going ahead unthrottled.
func TestAuthenticatorFailsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l, err := redislimiter.Open("redis://"+addr+"/0", redislimiter.WithTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st := memstore.New()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	a, err := auth.New(auth.Config{Users: st, Tokens: st, Secret: secret, Throttle: auth.ThrottleConfig{Limiter: l}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.WithClientIP(t.Context(), netip.MustParseAddr("192.0.2.1"))
	if res, err := a.Register(ctx, auth.RegisterInput{Email: "a@example.com", Password: "correct horse battery staple", Name: "A"}); err == nil || res != nil {
		t.Fatalf("Register with Redis unreachable = %v, %v; want an error", res, err)
	}
	if res, err := a.Login(ctx, "a@example.com", "correct horse battery staple"); err == nil || res != nil || errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Login with Redis unreachable = %v, %v; want an error other than invalid credentials", res, err)
	}
}
