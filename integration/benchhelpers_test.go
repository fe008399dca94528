package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// benchConfig is one database configuration the benchmarks run on. The
// SQLite configurations differ only in their DSN; the servers are reached
// through the DSNs of the tests (AUTH_TEST_POSTGRES_DSN,
// AUTH_TEST_MYSQL_DSN), as given.
type benchConfig struct {
	name string // the sub-benchmark's name
	target
	// sqliteSync is the SQLite synchronous pragma of a WAL database file
	// ("NORMAL" or "FULL"), or "" for an in-memory SQLite database.
	sqliteSync string
}

var (
	benchSQLiteMem = benchConfig{
		name:   "sqlite_mem",
		target: target{name: "sqlite", dialect: sqlstore.SQLite, driver: "sqlite"},
	}
	benchSQLiteNormal = benchConfig{
		name:       "sqlite_wal_normal",
		target:     target{name: "sqlite", dialect: sqlstore.SQLite, driver: "sqlite"},
		sqliteSync: "NORMAL",
	}
	benchSQLiteFull = benchConfig{
		name:       "sqlite_wal_full",
		target:     target{name: "sqlite", dialect: sqlstore.SQLite, driver: "sqlite"},
		sqliteSync: "FULL",
	}
	benchPostgres = benchConfig{
		name:   "postgres",
		target: target{name: "postgres", dialect: sqlstore.Postgres, driver: "pgx", envVar: "AUTH_TEST_POSTGRES_DSN"},
	}
	benchMySQL = benchConfig{
		name:   "mysql",
		target: target{name: "mysql", dialect: sqlstore.MySQL, driver: "mysql", envVar: "AUTH_TEST_MYSQL_DSN"},
	}
)

// benchDB is a migrated, empty store on one benchmark's own database: a
// fresh SQLite database, or a unique table prefix on a shared server whose
// tables are dropped when the benchmark ends.
type benchDB struct {
	benchConfig
	dsn    string
	prefix string
	db     *sql.DB
	st     *sqlstore.Store
	secret []byte
}

// openBench opens a benchDB of c, skipping the benchmark when c is a server
// whose DSN is not set.
func openBench(b *testing.B, c benchConfig) *benchDB {
	b.Helper()
	if c.envVar != "" && os.Getenv(c.envVar) == "" {
		b.Skipf("%s not set; skipping the %s benchmark", c.envVar, c.name)
	}
	d := &benchDB{
		benchConfig: c,
		prefix:      benchPrefix(b),
		secret:      []byte(rand.Text() + rand.Text()),
	}
	switch {
	case c.envVar != "":
		d.dsn = os.Getenv(c.envVar)
	case c.sqliteSync == "":
		// A named in-memory database in shared-cache mode, so that a
		// second pool (the statement counter's) sees the same tables. It
		// lives as long as one connection to it is open.
		d.dsn = "file:" + d.prefix + "mem?mode=memory&cache=shared" +
			"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	default:
		d.dsn = "file:" + filepath.Join(b.TempDir(), "auth.db") +
			"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(" + c.sqliteSync + ")&_txlock=immediate"
	}
	db, err := sql.Open(c.driver, d.dsn)
	if err != nil {
		b.Fatal(err)
	}
	if c.envVar == "" && c.sqliteSync == "" {
		// One connection, never closed, keeps the in-memory database
		// alive and its writes serial.
		db.SetMaxOpenConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	}
	d.db = db
	b.Cleanup(func() {
		if c.envVar != "" {
			d.dropTables(b)
		}
		db.Close()
	})
	if err := db.PingContext(b.Context()); err != nil {
		b.Fatalf("%s: the database cannot be reached: %v", c.name, err)
	}
	d.st = d.store(b, db)
	if err := d.st.Migrate(b.Context()); err != nil {
		b.Fatalf("Migrate: %v", err)
	}
	return d
}

// benchPrefix returns a table prefix no other benchmark or test uses: "b",
// 8 hex digits and "_".
func benchPrefix(b *testing.B) string {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		b.Fatal(err)
	}
	return "b" + hex.EncodeToString(r[:]) + "_"
}

// store returns a store with d's dialect and table prefix on db.
func (d *benchDB) store(b *testing.B, db *sql.DB) *sqlstore.Store {
	b.Helper()
	st, err := sqlstore.New(db, d.dialect, sqlstore.WithTablePrefix(d.prefix))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// table returns the name of one of d's tables, such as "refresh_tokens".
func (d *benchDB) table(name string) string { return d.prefix + name }

// dropTables removes every table of d's prefix from a shared server,
// whichever migrations created them.
func (d *benchDB) dropTables(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	if d.dialect == sqlstore.MySQL {
		list = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	}
	rows, err := d.db.QueryContext(ctx, list)
	if err != nil {
		b.Errorf("drop tables: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			b.Errorf("drop tables: %v", err)
		}
		if strings.HasPrefix(n, d.prefix) {
			names = append(names, n)
		}
	}
	if err := rows.Err(); err != nil {
		b.Errorf("drop tables: %v", err)
	}
	rows.Close()
	if len(names) == 0 {
		return
	}
	stmt := "DROP TABLE IF EXISTS " + strings.Join(names, ", ")
	if d.dialect == sqlstore.Postgres {
		stmt += " CASCADE"
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		b.Errorf("drop tables: %v", err)
		return
	}
	defer conn.Close()
	if d.dialect == sqlstore.MySQL {
		// MySQL checks foreign keys table by table, in the statement's
		// order, even between tables dropped together.
		if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
			b.Errorf("drop tables: %v", err)
			return
		}
		defer conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 1")
	}
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		b.Errorf("drop tables: %v", err)
	}
}

// openCounting returns a second pool on d's database in which every
// statement is recorded in c (see countingConnector); it is closed when the
// benchmark ends.
func (d *benchDB) openCounting(b *testing.B, c *counter) *sql.DB {
	b.Helper()
	probe, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		b.Fatal(err)
	}
	drv := probe.Driver()
	probe.Close()
	var conn driver.Connector = dsnConnector{drv: drv, dsn: d.dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		if conn, err = dc.OpenConnector(d.dsn); err != nil {
			b.Fatal(err)
		}
	}
	db := sql.OpenDB(&countingConnector{inner: conn, c: c})
	b.Cleanup(func() { db.Close() })
	return db
}

// authenticator returns an Authenticator on a store of d on db, with d's
// secret, throttling off and cheap password hashing (the benchmarks below
// never time a hash; registration is only their setup).
func (d *benchDB) authenticator(b *testing.B, db *sql.DB, tweaks ...func(*auth.Config)) *auth.Authenticator {
	b.Helper()
	st := d.store(b, db)
	cfg := auth.Config{
		Users: st, Tokens: st, Secret: d.secret,
		Logger:    slog.New(slog.DiscardHandler),
		Passwords: auth.PasswordConfig{Argon2: auth.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1}, InsecureAllowWeakHashing: true},
		Throttle:  auth.ThrottleConfig{InsecureDisableThrottling: true},
	}
	for _, tweak := range tweaks {
		if tweak != nil {
			tweak(&cfg)
		}
	}
	a, err := auth.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// register registers a new user through a and returns its first tokens.
func register(b *testing.B, a *auth.Authenticator) *auth.AuthResult {
	b.Helper()
	res, err := a.Register(b.Context(), auth.RegisterInput{
		Email:    "bench-" + strings.ToLower(rand.Text()) + "@example.com",
		Password: "correct horse battery staple",
		Name:     "Bench",
	})
	if err != nil {
		b.Fatalf("Register: %v", err)
	}
	return res
}

// seedSession inserts a user, a session and its first refresh token, whose
// id hash is first, directly through the store, for the store-level
// benchmarks, and returns the session and the token.
func (d *benchDB) seedSession(b *testing.B, first string) (*auth.Session, *auth.RefreshToken) {
	b.Helper()
	ctx := b.Context()
	u := &auth.User{
		ID: rand.Text(), Email: "seed-" + strings.ToLower(rand.Text()) + "@example.com", Name: "Bench",
		OrganizationID: rand.Text(), Role: "owner",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: base,
	}
	if err := d.st.CreateUser(ctx, u); err != nil {
		b.Fatalf("CreateUser: %v", err)
	}
	s := &auth.Session{ID: rand.Text(), UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(30 * 24 * time.Hour)}
	rt := &auth.RefreshToken{IDHash: first, SessionID: s.ID, UserID: u.ID, CreatedAt: base, ExpiresAt: s.ExpiresAt}
	if err := d.st.CreateSession(ctx, s, rt); err != nil {
		b.Fatalf("CreateSession: %v", err)
	}
	return s, rt
}

// chainHash returns the id hash of the i-th token of a rotation chain: the
// SHA-256, in hex, of i, as the library hashes a token's id. Concurrent
// chains keep apart by starting at different i (see chainStart).
func chainHash(i uint64) string {
	var in [8]byte
	binary.BigEndian.PutUint64(in[:], i)
	sum := sha256.Sum256(in[:])
	return hex.EncodeToString(sum[:])
}

// chainStart returns the first i of the g-th of several concurrent chains.
func chainStart(g int) uint64 { return uint64(g) << 40 }

// refreshKey precedes the refresh token in the body of a 200 to POST
// /refresh, which encoding/json writes without spaces.
var refreshKey = []byte(`"refreshToken":"`)

// refreshChain is a client of POST /refresh that presents, each time, the
// refresh token the previous call returned.
type refreshChain struct {
	h     http.Handler
	token string
}

// next spends the chain's current refresh token through c.h and keeps its
// successor.
func (c *refreshChain) next() error {
	req := httptest.NewRequest(http.MethodPost, "/refresh", strings.NewReader(`{"refreshToken":"`+c.token+`"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		return fmt.Errorf("POST /refresh: status %d: %s", rec.Code, body)
	}
	i := bytes.Index(body, refreshKey)
	if i < 0 {
		return fmt.Errorf("POST /refresh: no refresh token in %s", body)
	}
	rest := body[i+len(refreshKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return fmt.Errorf("POST /refresh: unterminated refresh token in %s", body)
	}
	c.token = string(rest[:j])
	return nil
}

// reportStmtsPerRefresh continues a chain whose current token is token
// through a second Authenticator on a statement-counting pool of d's
// database, and reports the statements a refresh runs as "stmts/op".
// BEGIN, COMMIT and ROLLBACK are not statements here (G13 counts them
// apart). It returns the chain's new current token.
func (d *benchDB) reportStmtsPerRefresh(b *testing.B, token string) string {
	b.Helper()
	const refreshes = 10
	var c counter
	a := d.authenticator(b, d.openCounting(b, &c))
	chain := &refreshChain{h: a.Handler(), token: token}
	if err := chain.next(); err != nil { // opens the pool's connection
		b.Fatal(err)
	}
	c.take()
	for range refreshes {
		if err := chain.next(); err != nil {
			b.Fatal(err)
		}
	}
	stmts := c.take()
	b.ReportMetric(float64(len(stmts))/refreshes, "stmts/op")
	if len(stmts)%refreshes == 0 && len(stmts) > 0 {
		b.Logf("%s: statements of one refresh: %s", d.name, verbs(stmts[:len(stmts)/refreshes]))
	}
	return chain.token
}
