package integration

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// sqliteParams is the recommended SQLite DSN suffix of the package doc.
const sqliteParams = "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"

// target is one database the tests run on.
type target struct {
	name    string
	dialect sqlstore.Dialect
	driver  string
	envVar  string // the DSN's environment variable; empty for SQLite
}

var targets = []target{
	{name: "sqlite", dialect: sqlstore.SQLite, driver: "sqlite"},
	{name: "postgres", dialect: sqlstore.Postgres, driver: "pgx", envVar: "AUTH_TEST_POSTGRES_DSN"},
	{name: "mysql", dialect: sqlstore.MySQL, driver: "mysql", envVar: "AUTH_TEST_MYSQL_DSN"},
}

// env is one test's database: a fresh SQLite file, or a unique table prefix
// in a shared PostgreSQL or MySQL database whose tables are dropped when the
// test ends.
type env struct {
	target
	dsn    string
	prefix string
}

// eachDB runs f as a subtest on every target, skipping PostgreSQL and MySQL
// with a message when their DSN is not set.
func eachDB(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			f(t, newEnv(t, tg))
		})
	}
}

// newEnv prepares a database for one test on tg.
func newEnv(t *testing.T, tg target) *env {
	t.Helper()
	e := &env{target: tg, prefix: randomPrefix(t)}
	if tg.envVar == "" {
		e.dsn = "file:" + filepath.Join(t.TempDir(), "auth.db") + sqliteParams
		return e
	}
	skipUnconfigured(t, tg)
	e.dsn = os.Getenv(tg.envVar)
	db := e.open(t)
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("%s is set but the database cannot be reached: %v", tg.envVar, err)
	}
	t.Cleanup(func() { e.dropTables(t) })
	return e
}

// skipUnconfigured skips the test when tg is a server whose DSN is not set.
func skipUnconfigured(t *testing.T, tg target) {
	t.Helper()
	if tg.envVar != "" && os.Getenv(tg.envVar) == "" {
		t.Skipf("%s not set; skipping %s tests", tg.envVar, tg.name)
	}
}

// dropTables removes the tables of e's prefix.
func (e *env) dropTables(t *testing.T) {
	db, err := sql.Open(e.driver, e.dsn)
	if err != nil {
		t.Errorf("drop tables: %v", err)
		return
	}
	defer db.Close()
	var names []string
	// Every table of the latest schema: MySQL refuses to drop a table that
	// a table left behind refers to.
	for _, n := range []string{"passkeys", "passkey_ceremonies", "external_identities", "memberships", "invitations", "organizations", "recovery_codes", "second_factors", "one_time_tokens", "refresh_tokens", "sessions", "users", "limiter_keys", "schema_migrations"} {
		names = append(names, e.prefix+n)
	}
	stmt := "DROP TABLE IF EXISTS " + strings.Join(names, ", ")
	if e.dialect == sqlstore.Postgres {
		stmt += " CASCADE"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Errorf("drop tables: %v", err)
	}
}

// open returns a new connection pool on e's database, closed when the test
// ends.
func (e *env) open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openCounting is open with every statement the pool runs counted in c.
func (e *env) openCounting(t *testing.T, c *counter) *sql.DB {
	t.Helper()
	probe, err := sql.Open(e.driver, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	drv := probe.Driver()
	probe.Close()
	var conn driver.Connector = dsnConnector{drv: drv, dsn: e.dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		if conn, err = dc.OpenConnector(e.dsn); err != nil {
			t.Fatal(err)
		}
	}
	db := sql.OpenDB(&countingConnector{inner: conn, c: c})
	t.Cleanup(func() { db.Close() })
	return db
}

// store returns a store on db with e's table prefix and opts.
func (e *env) store(t *testing.T, db *sql.DB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.New(db, e.dialect, append([]sqlstore.Option{sqlstore.WithTablePrefix(e.prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// migrated returns a migrated store on a new pool of e's database.
func (e *env) migrated(t *testing.T, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	st := e.store(t, e.open(t), opts...)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// randomPrefix returns a table prefix no other test uses: "t", 8 hex digits
// and "_".
func randomPrefix(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b[:]) + "_"
}

// randomID returns a random 36-character id in UUID form.
func randomID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomHash returns a random token id hash: 64 lower-case hex digits.
func randomHash(t *testing.T) string {
	t.Helper()
	sum := sha256.Sum256([]byte(rand.Text()))
	return hex.EncodeToString(sum[:])
}

// base is a fixed instant with milliseconds, so tests need no clock.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

// newUser inserts a user with the given email and returns it.
func newUser(t *testing.T, st *sqlstore.Store, email string) *auth.User {
	t.Helper()
	u := &auth.User{
		ID: randomID(t), Email: email, Name: "Alice", OrganizationID: randomID(t),
		Role: "owner", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: base,
	}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

// newSession inserts a session of u expiring at expires, with a first token
// expiring at tokenExpires, and returns both.
func newSession(t *testing.T, st *sqlstore.Store, u *auth.User, expires, tokenExpires time.Time) (*auth.Session, *auth.RefreshToken) {
	t.Helper()
	s := &auth.Session{ID: randomID(t), UserID: u.ID, CreatedAt: base, ExpiresAt: expires}
	rt := nextToken(t, s, tokenExpires)
	if err := st.CreateSession(t.Context(), s, rt); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s, rt
}

// nextToken returns a new unsaved refresh token of s.
func nextToken(t *testing.T, s *auth.Session, expires time.Time) *auth.RefreshToken {
	t.Helper()
	return &auth.RefreshToken{IDHash: randomHash(t), SessionID: s.ID, UserID: s.UserID, CreatedAt: base, ExpiresAt: expires}
}

// isSentinel reports whether err is one of the errors with a meaning of
// their own in the store contract.
func isSentinel(err error) bool {
	for _, s := range []error{auth.ErrNotFound, auth.ErrEmailExists, auth.ErrTokenUsed, auth.ErrSessionRevoked} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// counter records the statements run through a countingConnector's pools.
type counter struct {
	mu    sync.Mutex
	stmts []string
	txs   int // transactions begun since the last takeTxs
}

// began records the start of a transaction.
func (c *counter) began() {
	c.mu.Lock()
	c.txs++
	c.mu.Unlock()
}

// takeTxs returns how many transactions began since the last call and
// forgets them.
func (c *counter) takeTxs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.txs
	c.txs = 0
	return n
}

func (c *counter) add(query string) {
	c.mu.Lock()
	c.stmts = append(c.stmts, query)
	c.mu.Unlock()
}

// take returns the statements recorded since the last call and forgets them.
func (c *counter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts
	c.stmts = nil
	return s
}

// countingConnector wraps a driver's connector and records, in c, every
// statement its connections execute or query, however the driver runs it.
// Transaction control (BEGIN, COMMIT, ROLLBACK) goes through BeginTx and the
// driver.Tx and is not recorded as statements; c counts the transactions
// begun apart.
type countingConnector struct {
	inner driver.Connector
	c     *counter
}

func (cc *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{inner: conn, c: cc.c}, nil
}

func (cc *countingConnector) Driver() driver.Driver { return cc.inner.Driver() }

// dsnConnector is the connector of a driver without OpenConnector.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (d dsnConnector) Connect(context.Context) (driver.Conn, error) { return d.drv.Open(d.dsn) }
func (d dsnConnector) Driver() driver.Driver                        { return d.drv }

type countingConn struct {
	inner driver.Conn
	c     *counter
}

func (cn *countingConn) Prepare(query string) (driver.Stmt, error) {
	return cn.PrepareContext(context.Background(), query)
}

func (cn *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := cn.inner.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = cn.inner.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{inner: st, query: query, c: cn.c}, nil
}

func (cn *countingConn) Close() error { return cn.inner.Close() }

// Begin is required by driver.Conn; BeginTx is used when the driver has it.
func (cn *countingConn) Begin() (driver.Tx, error) {
	cn.c.began()
	//lint:ignore SA1019 driver.Conn requires Begin; BeginTx is used when the driver has it.
	return cn.inner.Begin()
}

func (cn *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := cn.inner.(driver.ConnBeginTx); ok {
		cn.c.began()
		return b.BeginTx(ctx, opts)
	}
	return nil, errors.New("counting connector: driver has no BeginTx")
}

func (cn *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	x, ok := cn.inner.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := x.ExecContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.add(query)
	}
	return res, err
}

func (cn *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := cn.inner.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if !errors.Is(err, driver.ErrSkip) {
		cn.c.add(query)
	}
	return rows, err
}

func (cn *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := cn.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (cn *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := cn.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (cn *countingConn) IsValid() bool {
	if v, ok := cn.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (cn *countingConn) Ping(ctx context.Context) error {
	if p, ok := cn.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

type countingStmt struct {
	inner driver.Stmt
	query string
	c     *counter
}

func (s *countingStmt) Close() error  { return s.inner.Close() }
func (s *countingStmt) NumInput() int { return s.inner.NumInput() }

func (s *countingStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.c.add(s.query)
	//lint:ignore SA1019 driver.Stmt requires Exec; database/sql calls ExecContext when the driver has it.
	return s.inner.Exec(args)
}

func (s *countingStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.c.add(s.query)
	//lint:ignore SA1019 driver.Stmt requires Query; database/sql calls QueryContext when the driver has it.
	return s.inner.Query(args)
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	x, ok := s.inner.(driver.StmtExecContext)
	if !ok {
		return nil, errors.New("counting connector: statement has no ExecContext")
	}
	s.c.add(s.query)
	return x.ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.inner.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("counting connector: statement has no QueryContext")
	}
	s.c.add(s.query)
	return q.QueryContext(ctx, args)
}

func (s *countingStmt) CheckNamedValue(nv *driver.NamedValue) error {
	if c, ok := s.inner.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
