package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"
)

// txOnly is a connector whose connections only begin, commit and roll back
// transactions: enough for inTx.
type txOnly struct{}

func (txOnly) Connect(context.Context) (driver.Conn, error) { return txConn{}, nil }
func (txOnly) Driver() driver.Driver                        { return noDriver{} }

type txConn struct{}

func (txConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("txOnly: no statements") }
func (txConn) Close() error                        { return nil }
func (txConn) Begin() (driver.Tx, error)           { return txConn{}, nil }
func (txConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return txConn{}, nil
}
func (txConn) Commit() error   { return nil }
func (txConn) Rollback() error { return nil }

type pgErr string

func (e pgErr) Error() string    { return "pg: " + string(e) }
func (e pgErr) SQLState() string { return string(e) }

// TestInTxRetriesDeadlockVictims: a transaction the database ended as a
// deadlock victim runs again (a bounded number of times); any other error,
// or a deadlock on SQLite, is returned as it is.
func TestInTxRetriesDeadlockVictims(t *testing.T) {
	db := sql.OpenDB(txOnly{})
	defer db.Close()
	for _, c := range []struct {
		dialect   Dialect
		err       error
		failTimes int
		wantCalls int
		wantErr   bool
	}{
		{MySQL, errors.New("Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction"), 2, 3, false},
		{MySQL, errors.New("Error 1213 (40001): Deadlock found"), 10, maxDeadlockRetries + 1, true},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry"), 1, 1, true},
		{Postgres, pgErr("40P01"), 1, 2, false},
		{Postgres, pgErr("23505"), 1, 1, true},
		{SQLite, errors.New("Error 1213"), 1, 1, true},
	} {
		st, err := New(db, c.dialect)
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		err = st.inTx(context.Background(), func(*sql.Tx) error {
			calls++
			if calls <= c.failTimes {
				return c.err
			}
			return nil
		})
		if calls != c.wantCalls || (err != nil) != c.wantErr {
			t.Errorf("%v, %v failing %d times: %d calls, error %v; want %d calls, error %v", c.dialect, c.err, c.failTimes, calls, err, c.wantCalls, c.wantErr)
		}
	}
}
