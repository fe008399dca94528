package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ingestiq/auth"
)

var _ auth.Limiter = (*Store)(nil)

// limiterQueries are the statements of the store's [auth.Limiter], on the
// table limiter_keys (migration 0004).
type limiterQueries struct {
	wait   string // the end of a key's delay
	ensure string // inserts a key's row unless it exists
	lock   string // reads a key's row, locked until the transaction ends
	update string // writes a key's row
	reset  string // deletes a key's row
	sweep  string // one batch of rows expired before a cut-off
}

func buildLimiterQueries(d Dialect, prefix string, batch int) limiterQueries {
	limit := strconv.Itoa(batch)
	q := limiterQueries{
		wait:   "SELECT wait_until FROM {p}limiter_keys WHERE key_hash = ?",
		lock:   "SELECT window_start, hits, wait_until FROM {p}limiter_keys WHERE key_hash = ? FOR UPDATE",
		update: "UPDATE {p}limiter_keys SET window_start = ?, hits = ?, wait_until = ?, expires_at = ? WHERE key_hash = ?",
		reset:  "DELETE FROM {p}limiter_keys WHERE key_hash = ?",
	}
	const insert = "INSERT INTO {p}limiter_keys (key_hash, window_start, hits, wait_until, expires_at) VALUES (?, ?, 0, 0, ?)"
	switch d {
	case MySQL:
		// Not INSERT IGNORE, which would turn other errors into warnings.
		q.ensure = insert + " ON DUPLICATE KEY UPDATE key_hash = key_hash"
		q.sweep = "DELETE FROM {p}limiter_keys WHERE expires_at < ? ORDER BY expires_at LIMIT " + limit
	default:
		q.ensure = insert + " ON CONFLICT (key_hash) DO NOTHING"
		q.sweep = "DELETE FROM {p}limiter_keys WHERE key_hash IN (" +
			"SELECT key_hash FROM {p}limiter_keys WHERE expires_at < ? LIMIT " + limit + ")"
	}
	if d == SQLite {
		// SQLite has no FOR UPDATE; the transaction's first statement, the
		// insert, already holds the database's write lock.
		q.lock = strings.TrimSuffix(q.lock, " FOR UPDATE")
	}
	r := strings.NewReplacer("{p}", prefix)
	for _, s := range []*string{&q.wait, &q.ensure, &q.lock, &q.update, &q.reset, &q.sweep} {
		*s = r.Replace(*s)
		if d == Postgres {
			*s = rebind(*s)
		}
	}
	return q
}

// limiterKey is the primary key of key's row: its SHA-256 in hex, so that
// keys of any length and bytes fit a CHAR(64) and compare byte for byte.
func limiterKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Wait implements [auth.Limiter], reading the key's row.
func (s *Store) Wait(ctx context.Context, key string, now time.Time) (time.Duration, error) {
	var until int64
	err := s.db.QueryRowContext(ctx, s.lq.wait, limiterKey(key)).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: limiter wait: %w", err)
	}
	return max(time.Duration(until-millis(now))*time.Millisecond, 0), nil
}

// Hit implements [auth.Limiter]. Like [Store.Take] it updates the key's row
// in a transaction that holds the row's lock (on SQLite, the database's
// write lock), so concurrent hits from any process lose no count.
func (s *Store) Hit(ctx context.Context, key string, rule auth.Backoff, now time.Time) error {
	_, err := s.count(ctx, key, rule, now, false)
	return err
}

// Take implements [auth.Limiter]. The check and the count happen in one
// transaction that locks the key's row, so of concurrent Takes from any
// process exactly as many pass as the rule allows.
func (s *Store) Take(ctx context.Context, key string, rule auth.Backoff, now time.Time) (time.Duration, error) {
	return s.count(ctx, key, rule, now, true)
}

// count records an attempt of key; with take it first refuses, counting
// nothing, while the key waits.
func (s *Store) count(ctx context.Context, key string, rule auth.Backoff, now time.Time, take bool) (time.Duration, error) {
	h, n := limiterKey(key), millis(now)
	var wait time.Duration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The insert comes first so that, on SQLite, the transaction
		// writes from its start and cannot fail to upgrade a read lock.
		if _, err := tx.ExecContext(ctx, s.lq.ensure, h, n, n); err != nil {
			return err
		}
		var start, hits, until int64
		if err := tx.QueryRowContext(ctx, s.lq.lock, h).Scan(&start, &hits, &until); err != nil {
			return err
		}
		if take && until > n {
			wait = time.Duration(until-n) * time.Millisecond
			return nil
		}
		window := rule.Window.Milliseconds()
		if n-start >= window {
			start, hits = n, 0
		}
		hits++
		if d := rule.Delay(int(hits)); d > 0 {
			until = max(until, n+d.Milliseconds())
		}
		_, err := tx.ExecContext(ctx, s.lq.update, start, hits, until, max(start+window, until), h)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: limiter count: %w", err)
	}
	return wait, nil
}

// Reset implements [auth.Limiter], deleting the key's row.
func (s *Store) Reset(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.lq.reset, limiterKey(key)); err != nil {
		return fmt.Errorf("sqlstore: limiter reset: %w", err)
	}
	return nil
}
