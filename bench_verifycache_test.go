package auth_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchVerifyCacheSize is the verify cache of the benchmarks below: room
// for every live token of the mix.
const benchVerifyCacheSize = 10_000

// benchLiveTokens signs n distinct access tokens of env's session (distinct
// jti), as the library would issue them.
func benchLiveTokens(b *testing.B, env *benchEnv, n int) []string {
	b.Helper()
	c, err := env.a.Verify(context.Background(), env.access)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	tokens := make([]string, n)
	for i := range tokens {
		if tokens[i], err = baselineSignAccess(benchSecret, env.user, c.SessionID, now); err != nil {
			b.Fatal(err)
		}
	}
	return tokens
}

// BenchmarkVerifyCache measures Config.Sessions.VerifyCacheSize.
//
// mix is the numerator of the verify-cache goal: GET /me behind the
// middleware with the cache, on a realistic mix: 1,000 live tokens, each
// presented 100 times in a random order, so 1% of requests are a token's
// first sight. Every 100,000 requests a fresh Authenticator (an empty
// cache) takes over, outside the timer. Its overhead is taken over
// BenchmarkMiddleware/noAuth/HS256.
//
// cold is a Verify of a token never seen before (a parse, plus hashing and
// remembering it), on an Authenticator with the cache; new tokens are
// signed outside the timer, 4,096 at a time.
func BenchmarkVerifyCache(b *testing.B) {
	b.Run("mix", func(b *testing.B) {
		b.Run("HS256", func(b *testing.B) {
			env := newBenchEnv(b)
			tokens := benchLiveTokens(b, env, 1000)
			reqs := make([]*http.Request, len(tokens))
			for i, t := range tokens {
				reqs[i] = benchGetMe(t)
			}
			order := make([]uint16, 0, len(tokens)*100)
			for i := range tokens {
				for range 100 {
					order = append(order, uint16(i))
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			cfg := benchConfig(env.st, env.st, true)
			cfg.Sessions.VerifyCacheSize = benchVerifyCacheSize
			var mux *http.ServeMux
			next := len(order)
			b.ReportAllocs()
			for b.Loop() {
				if next == len(order) {
					b.StopTimer()
					mux = benchMux(benchNew(b, cfg).Middleware(benchTrivialHandler))
					next = 0
					b.StartTimer()
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, reqs[order[next]])
				next++
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	})
	b.Run("cold", func(b *testing.B) {
		b.Run("HS256", func(b *testing.B) {
			env := newBenchEnv(b)
			cfg := benchConfig(env.st, env.st, true)
			cfg.Sessions.VerifyCacheSize = benchVerifyCacheSize
			a := benchNew(b, cfg)
			ctx := context.Background()
			var tokens []string
			b.ReportAllocs()
			for b.Loop() {
				if len(tokens) == 0 {
					b.StopTimer()
					tokens = benchLiveTokens(b, env, 4096)
					b.StartTimer()
				}
				if _, err := a.Verify(ctx, tokens[0]); err != nil {
					b.Fatal(err)
				}
				tokens = tokens[1:]
			}
		})
	})
}
