// Package redislimiter is an [auth.Limiter] kept in Redis, so that every
// instance of a service throttles together: an attacker who spreads
// attempts over several instances is counted once.
//
//	lim, err := redislimiter.Open("redis://cache.internal:6379/0")
//	...
//	a, err := auth.New(auth.Config{..., Limiter: lim})
//
// Each operation is one round trip and atomic in Redis: Hit and Take run one
// Lua script (EVALSHA, falling back to EVAL when Redis does not hold the
// script yet), Wait is one HGET and Reset one DEL. Each touches a single key,
// so the limiter works on Redis Cluster as on a single server. A Redis key
// is the prefix and the SHA-256 of the Authenticator's key (which may name
// an email or a client address; Redis never holds them in clear), and it
// holds a hash of three fields (window start, count and end of the delay, in Unix
// milliseconds of the clock the Authenticator passes in) and expires on its
// own (PEXPIRE) when both its window and its delay have ended, so Redis
// needs no sweeping.
//
// An unreachable or slow Redis makes each call fail after a bounded time
// (see [WithTimeout]); the Authenticator then fails the request with
// INTERNAL_ERROR: throttling fails closed, it is never silently skipped.
package redislimiter

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ingestiq/auth"
)

// DefaultPrefix is the prefix of the limiter's Redis keys when
// [WithPrefix] is not given.
const DefaultPrefix = "auth:limiter:"

// DefaultTimeout bounds each call when [WithTimeout] is not given.
const DefaultTimeout = 500 * time.Millisecond

// maxDelays bounds the table of delays passed to the script: the delays
// stop growing at the rule's Max long before this for any sensible rule.
const maxDelays = 64

// Limiter is an [auth.Limiter] kept in Redis. It is safe for concurrent
// use. Create one with [New] or [Open].
type Limiter struct {
	client  redis.UniversalClient
	owned   bool // Close closes client
	prefix  string
	timeout time.Duration
}

var _ auth.Limiter = (*Limiter)(nil)

// Option configures a Limiter.
type Option func(*Limiter)

// redisKey is the Redis key of the limiter's key: the prefix and the
// SHA-256 of key in unpadded base64url, so that Redis never holds an email
// address or a client address in clear (the SQL limiter stores the same
// hash).
func (l *Limiter) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return l.prefix + base64.RawURLEncoding.EncodeToString(sum[:])
}

// WithPrefix sets the prefix of every key the limiter writes, so that
// several applications can share one Redis. The default is
// [DefaultPrefix].
func WithPrefix(prefix string) Option { return func(l *Limiter) { l.prefix = prefix } }

// WithTimeout bounds each call to Redis, connecting included: past it the
// call returns an error. Zero or less keeps the default, [DefaultTimeout].
func WithTimeout(d time.Duration) Option {
	return func(l *Limiter) {
		if d > 0 {
			l.timeout = d
		}
	}
}

// New returns a Limiter that uses client, a single-server, failover or
// cluster client. The caller keeps ownership of client. The limiter's
// timeout applies through each call's context; for it to bound reads and
// writes on a connection too, client's options must have
// ContextTimeoutEnabled set (as [Open] does).
func New(client redis.UniversalClient, opts ...Option) *Limiter {
	l := &Limiter{client: client, prefix: DefaultPrefix, timeout: DefaultTimeout}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Open connects to the Redis server named by url, such as
// redis://user:pass@host:6379/0 or rediss://... for TLS (see
// redis.ParseURL), with the connection's dial, read and write timeouts set
// to the limiter's timeout, and returns a Limiter that owns the client:
// [Limiter.Close] closes it. Open does not contact the server.
func Open(url string, opts ...Option) (*Limiter, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redislimiter: %w", err)
	}
	l := New(nil, opts...)
	o.ContextTimeoutEnabled = true
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = l.timeout, l.timeout, l.timeout
	o.MaxRetries = -1 // a retry would only spend the same time budget again
	l.client, l.owned = redis.NewClient(o), true
	return l, nil
}

// Close closes the client when [Open] made it; it does nothing for a
// Limiter made by [New].
func (l *Limiter) Close() error {
	if !l.owned {
		return nil
	}
	return l.client.Close()
}

// countScript records one attempt of KEYS[1] at ARGV[1] (Unix ms); with
// ARGV[2] = "1" (Take) it first refuses, counting nothing, while the key
// waits, and returns the wait. ARGV[3] is the window in ms, ARGV[4] the
// first count that imposes a delay, and ARGV[5...] the delays of that count
// and the following ones, the last repeating for any higher count: the
// values of auth.Backoff.Delay, so the arithmetic lives in one place.
var countScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'w', 'c', 'u')
local w = tonumber(v[1]) or now
local c = tonumber(v[2]) or 0
local u = tonumber(v[3]) or 0
if ARGV[2] == '1' and u > now then
  return u - now
end
local window = tonumber(ARGV[3])
if now - w >= window then
  w = now
  c = 0
end
c = c + 1
local first = tonumber(ARGV[4])
local n = #ARGV - 4
if n > 0 and c >= first then
  local i = c - first + 1
  if i > n then i = n end
  local d = tonumber(ARGV[4 + i])
  if d > 0 and now + d > u then u = now + d end
end
redis.call('HSET', KEYS[1], 'w', w, 'c', c, 'u', u)
local keep = math.max(w + window, u) - now
if keep < 1 then keep = 1 end
redis.call('PEXPIRE', KEYS[1], keep)
return 0
`)

// Wait implements [auth.Limiter] with one HGET.
func (l *Limiter) Wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	s, err := l.client.HGet(ctx, l.redisKey(key), "u").Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redislimiter: wait: %w", err)
	}
	until, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redislimiter: wait: key %q holds %q", l.redisKey(key), s)
	}
	return max(time.Duration(until-now.UnixMilli())*time.Millisecond, 0), nil
}

// Hit implements [auth.Limiter] with one script call.
func (l *Limiter) Hit(ctx context.Context, key string, rule auth.Backoff, now time.Time) error {
	_, err := l.count(ctx, key, rule, now, false)
	return err
}

// Take implements [auth.Limiter] with one script call, atomic in Redis.
func (l *Limiter) Take(ctx context.Context, key string, rule auth.Backoff, now time.Time) (time.Duration, error) {
	return l.count(ctx, key, rule, now, true)
}

func (l *Limiter) count(ctx context.Context, key string, rule auth.Backoff, now time.Time, take bool) (time.Duration, error) {
	first := max(rule.Free, 1)
	args := make([]any, 4, 4+8)
	args[0] = now.UnixMilli()
	args[1] = "0"
	if take {
		args[1] = "1"
	}
	args[2] = rule.Window.Milliseconds()
	args[3] = first
	for i := first; len(args) < 4+maxDelays; i++ {
		d := rule.Delay(i)
		args = append(args, d.Milliseconds())
		if d >= rule.Max {
			break
		}
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	ms, err := countScript.Run(ctx, l.client, []string{l.redisKey(key)}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redislimiter: count: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Reset implements [auth.Limiter] with one DEL.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.client.Del(ctx, l.redisKey(key)).Err(); err != nil {
		return fmt.Errorf("redislimiter: reset: %w", err)
	}
	return nil
}
