package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// millis returns t as Unix milliseconds, the form every instant is stored in.
func millis(t time.Time) int64 { return t.UnixMilli() }

// nullMillis returns t as Unix milliseconds, or NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis returns the UTC instant of ms Unix milliseconds.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// fromNullMillis returns the UTC instant of n, or the zero time for NULL.
func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// inTx runs f in a transaction and commits it when f returns nil; otherwise
// it rolls the transaction back and returns f's error.
//
// PostgreSQL transactions run under READ COMMITTED whatever the server's
// default_transaction_isolation: the conditional update of a rotation relies
// on its re-check of the committed row, where REPEATABLE READ or
// SERIALIZABLE would fail the losers with a serialization error instead.
//
// A transaction that the database ends as a deadlock victim (MySQL's
// locking reads of a rotation and a reuse-window replay on one session can
// cross) is run again from the start, up to maxDeadlockRetries times: it
// changed nothing, and f computes everything afresh.
//
// On SQLite, which lets one transaction write at a time, the store's
// transactions also take turns within the process: a transaction that
// finds the database locked by another waits in SQLite's busy handler,
// which sleeps a millisecond and more between attempts while the lock is
// held for tens of microseconds, and a deferred transaction that must
// upgrade its read lock fails with SQLITE_BUSY at once. Waiting here hands
// the turn over as soon as it is free (8 concurrent refreshes on WAL with
// synchronous=NORMAL: 6.2k–7.5k per second without it, 7.6k–7.9k with it,
// in three runs each). Other processes, and statements outside
// transactions, still wait in the busy handler (set a busy_timeout).
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s.runTx(ctx, opts, f)
}

// inTxReadCommitted is inTx at READ COMMITTED on MySQL too (PostgreSQL's
// transactions always are; SQLite's are serializable), for a transaction
// whose reads after taking a lock must see what the lock's previous
// holder committed, not the snapshot of the transaction's first read.
func (s *Store) inTxReadCommitted(ctx context.Context, f func(*sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.dialect != SQLite {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s.runTx(ctx, opts, f)
}

// runTx is inTx with the given options.
func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, f func(*sql.Tx) error) error {
	if s.dialect == SQLite {
		select {
		case s.writer <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.writer }()
	}
	for attempt := 0; ; attempt++ {
		tx, err := s.db.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		err = f(tx)
		if err != nil {
			_ = tx.Rollback()
		} else {
			err = tx.Commit()
		}
		s.preparePending(ctx)
		if err == nil || attempt == maxDeadlockRetries || ctx.Err() != nil || !s.isDeadlock(err) {
			return err
		}
	}
}

// maxDeadlockRetries is how many times inTx runs a deadlock victim again.
const maxDeadlockRetries = 3

// isDeadlock reports whether err says the database chose the transaction as
// a deadlock victim: MySQL error 1213 (SQLSTATE 40001), PostgreSQL SQLSTATE
// 40P01. It reads the error's text and codes, so that the package needs no
// driver.
func (s *Store) isDeadlock(err error) bool {
	switch s.dialect {
	case MySQL:
		return strings.Contains(err.Error(), "Error 1213")
	case Postgres:
		var st sqlStater
		return errors.As(err, &st) && st.SQLState() == "40P01"
	}
	return false
}

// sqlStater is implemented by PostgreSQL driver errors that report their
// SQLSTATE code, such as pgx's *pgconn.PgError.
type sqlStater interface{ SQLState() string }

// isEmailDuplicate reports whether err, returned by the insert of a user, is
// a violation of the unique constraint on users.email, recognised from the
// error's text and codes so that the package needs no driver. Any other
// error, a duplicate id included, is not.
func (s *Store) isEmailDuplicate(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	switch s.dialect {
	case SQLite:
		// modernc.org/sqlite and mattn/go-sqlite3 both report
		// "UNIQUE constraint failed: <table>.<column>".
		return strings.Contains(msg, "UNIQUE constraint failed: "+s.prefix+"users.email")
	case Postgres:
		// SQLSTATE 23505 is unique_violation; the message names the
		// violated constraint, quoted, in every server language.
		code := ""
		var st sqlStater
		if errors.As(err, &st) {
			code = st.SQLState()
		}
		unique := code == "23505" ||
			code == "" && (strings.Contains(msg, "23505") || strings.Contains(msg, "duplicate key"))
		return unique && strings.Contains(msg, `"`+s.prefix+`users_email_key"`)
	case MySQL:
		// go-sql-driver/mysql reports "Error 1062 (23000): Duplicate entry
		// '...' for key '<key>'"; MySQL 8 writes the key as
		// '<table>.<key>'. The entry's value comes before the key, so the
		// key is matched at the end of the message.
		unique := strings.Contains(msg, "1062") || strings.Contains(msg, "Duplicate entry")
		return unique && (strings.HasSuffix(msg, "'"+s.prefix+"users_email_key'") ||
			strings.HasSuffix(msg, "."+s.prefix+"users_email_key'"))
	}
	return false
}
