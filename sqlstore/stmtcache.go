package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// stmtCache holds the store's prepared statements, one *sql.Stmt per query
// text, prepared on first use and kept for the life of the store (see
// [Store.Close]). Preparing is most of the cost of a short statement on
// SQLite (sqlite3_prepare_v2 was a quarter of a refresh), and saves a
// round trip per statement on MySQL. The texts are the store's own, built
// once in [New], so the cache holds at most one entry per statement of
// [queries]. It is safe for concurrent use.
//
// database/sql prepares a *sql.Stmt again, once, on each pooled connection
// it runs on, and forgets it with the connection; inside a transaction,
// Tx.StmtContext reuses the connection's prepared statement.
type stmtCache struct {
	m sync.Map // query text -> *sql.Stmt
	// pending are query texts that ran unprepared inside a transaction
	// because they were not cached yet: a transaction holds its connection,
	// so preparing on another one there could wait forever on a pool of one
	// connection (common with SQLite). inTx prepares them after it ends.
	pending sync.Map // query text -> struct{}
	closed  atomic.Bool
}

// stmt returns the cached prepared statement of query, preparing it on a
// miss. It returns nil when the store is closed or preparing fails; the
// caller then runs query unprepared, which fails the same way if the
// statement is wrong, and the statement is prepared again on the next use.
func (s *Store) stmt(ctx context.Context, query string) *sql.Stmt {
	if v, ok := s.stmts.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	if s.stmts.closed.Load() {
		return nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if v, loaded := s.stmts.m.LoadOrStore(query, st); loaded {
		// Another goroutine prepared it first. The duplicate is closed in
		// the background: Stmt.Close takes the lock of the connection it
		// was prepared on, which a query running there holds until it
		// ends, and that query may be waiting for a row lock held by a
		// transaction that waits for this very call (the hang that
		// TestRotateStricterIsolation found).
		go st.Close()
		return v.(*sql.Stmt)
	}
	if s.stmts.closed.Load() {
		// Close ran meanwhile and may have missed this entry.
		s.stmts.m.Delete(query)
		_ = st.Close()
		return nil
	}
	return st
}

// txStmt returns the transaction's copy of the cached statement of query,
// or nil on a miss (the query is then prepared after the transaction).
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	v, ok := s.stmts.m.Load(query)
	if !ok {
		if !s.stmts.closed.Load() {
			s.stmts.pending.Store(query, struct{}{})
		}
		return nil
	}
	return tx.StmtContext(ctx, v.(*sql.Stmt))
}

// preparePending prepares the statements that ran unprepared in a
// transaction, once the transaction has given its connection back.
func (s *Store) preparePending(ctx context.Context) {
	s.stmts.pending.Range(func(k, _ any) bool {
		s.stmts.pending.Delete(k)
		s.stmt(ctx, k.(string))
		return true
	})
}

// exec runs query with args on the database, prepared.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, query, args...)
}

// query runs query with args on the database, prepared, and returns its
// rows.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// queryRow runs query with args on the database, prepared, and returns its
// one row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// txExec runs query with args in tx, prepared when the statement is cached.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow runs query with args in tx, prepared when the statement is
// cached, and returns its one row.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// Close releases the prepared statements the store keeps on its *sql.DB.
// It does not close the *sql.DB, which stays the caller's. Call it after
// the store's last use when the *sql.DB outlives the store (closing the
// *sql.DB releases them as well); a call still running may then fail with
// sql: statement is closed. Later calls work, unprepared. Close always
// returns nil.
func (s *Store) Close() error {
	s.stmts.closed.Store(true)
	s.stmts.m.Range(func(k, v any) bool {
		s.stmts.m.Delete(k)
		_ = v.(*sql.Stmt).Close()
		return true
	})
	s.stmts.pending.Clear()
	return nil
}
