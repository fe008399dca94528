package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/redislimiter"
)

// limiterKinds are the limiters the limiter benchmarks compare, on one
// PostgreSQL store: "memory" (MemoryLimiter), "db" (the store itself) and
// "redis" (redislimiter on $AUTH_TEST_REDIS_ADDR, default 127.0.0.1:6379).
var limiterKinds = []string{"memory", "db", "redis"}

// benchLimiter returns the limiter of kind for d, skipping the benchmark
// when Redis is wanted and does not answer.
func benchLimiter(b *testing.B, d *benchDB, kind string) auth.Limiter {
	b.Helper()
	switch kind {
	case "db":
		return d.st
	case "redis":
		addr := os.Getenv("AUTH_TEST_REDIS_ADDR")
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		var p [6]byte
		_, _ = rand.Read(p[:])
		prefix := "authbench:" + hex.EncodeToString(p[:]) + ":"
		l, err := redislimiter.Open("redis://"+addr+"/0", redislimiter.WithPrefix(prefix))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Wait(b.Context(), "ping", time.Now()); err != nil {
			l.Close()
			b.Skipf("SKIPPING: no Redis answers at %s (%v); set AUTH_TEST_REDIS_ADDR", addr, err)
		}
		b.Cleanup(func() {
			c := redis.NewClient(&redis.Options{Addr: addr})
			defer c.Close()
			ctx := context.Background()
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			l.Close()
		})
		return l
	default:
		return auth.NewMemoryLimiter(0)
	}
}

// limitedAuthenticator is d's Authenticator with throttling on, through
// lim, and a refresh rule loose enough for a benchmark's rate.
func limitedAuthenticator(b *testing.B, d *benchDB, lim auth.Limiter) *auth.Authenticator {
	return d.authenticator(b, d.db, func(c *auth.Config) {
		c.Throttle.InsecureDisableThrottling = false
		c.Throttle.Limiter = lim
		c.Throttle.RefreshAddressBackoff = auth.Backoff{Free: 1 << 30, Base: time.Second, Max: time.Second, Window: time.Minute}
	})
}

// BenchmarkLimiterLogin is a successful login (Go API, with a client
// address) on PostgreSQL with each limiter: two Waits and a Reset beside
// the (weakened) password hash and the session's insert.
func BenchmarkLimiterLogin(b *testing.B) {
	for _, kind := range limiterKinds {
		b.Run(kind, func(b *testing.B) {
			d := openBench(b, benchPostgres)
			a := limitedAuthenticator(b, d, benchLimiter(b, d, kind))
			res := register(b, a)
			ctx := auth.WithClientIP(b.Context(), netip.MustParseAddr("192.0.2.7"))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Login(ctx, res.User.Email, "correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLimiterRefresh is POST /refresh through Handler on PostgreSQL
// with each limiter: one Take beside the rotation.
func BenchmarkLimiterRefresh(b *testing.B) {
	for _, kind := range limiterKinds {
		b.Run(kind, func(b *testing.B) {
			d := openBench(b, benchPostgres)
			a := limitedAuthenticator(b, d, benchLimiter(b, d, kind))
			chain := &refreshChain{h: a.Handler(), token: register(b, a).RefreshToken}
			b.ReportAllocs()
			for b.Loop() {
				if err := chain.next(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
