package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
	"github.com/ingestiq/auth/sqlstore"
)

// sqlitePragmas are the connection settings for SQLite: enforced foreign
// keys, WAL with synchronous=NORMAL (consistent after a power loss, which
// may lose the last commits), a writer that waits for another instead of
// failing with SQLITE_BUSY, and transactions that take the write lock at
// BEGIN so that concurrent refresh-token rotations queue up.
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_txlock=immediate"

// dbConfig is a parsed -db flag.
type dbConfig struct {
	driver  string           // database/sql driver name; "" for the in-memory store
	dialect sqlstore.Dialect // zero for the in-memory store
	dsn     string           // the driver's data source name
	display string           // the flag with any password removed, for logs
}

// parseDB parses the -db flag: "memory", "sqlite:PATH",
// "postgres://..." (or "postgresql://..."), or
// "mysql://user:pass@host:port/db".
func parseDB(spec string) (dbConfig, error) {
	switch {
	case spec == "memory":
		return dbConfig{display: "memory"}, nil

	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		switch path {
		case "":
			return dbConfig{}, errors.New("-db sqlite:PATH needs a file path, such as sqlite:auth.db")
		case ":memory:":
			return dbConfig{}, errors.New("-db sqlite::memory: would give each connection its own database; use -db memory")
		}
		// The DSN is an SQLite URI filename, in which these three
		// characters must be percent-encoded.
		esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
		return dbConfig{
			driver:  "sqlite",
			dialect: sqlstore.SQLite,
			dsn:     "file:" + esc + "?" + sqlitePragmas,
			display: spec,
		}, nil

	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		u, err := url.Parse(spec)
		if err != nil {
			// The error would quote the URL, password included.
			return dbConfig{}, errors.New("-db: malformed PostgreSQL URL")
		}
		return dbConfig{driver: "pgx", dialect: sqlstore.Postgres, dsn: spec, display: u.Redacted()}, nil

	case strings.HasPrefix(spec, "mysql://"):
		dsn, err := mysqlDSN(spec)
		if err != nil {
			return dbConfig{}, err
		}
		u, _ := url.Parse(spec) // mysqlDSN has parsed it already
		return dbConfig{driver: "mysql", dialect: sqlstore.MySQL, dsn: dsn, display: u.Redacted()}, nil
	}
	return dbConfig{}, fmt.Errorf("-db %q: want memory, sqlite:PATH, postgres://... or mysql://user:pass@host:port/db", redactSpec(spec))
}

// mysqlDSN converts mysql://user:pass@host:port/db?param=value into the
// DSN of github.com/go-sql-driver/mysql, user:pass@tcp(host:port)/db. Query
// parameters are passed on as the driver's own parameters (such as
// tls=true); the port defaults to 3306.
func mysqlDSN(spec string) (string, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return "", errors.New("-db: malformed MySQL URL")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" || strings.Contains(db, "/") {
		return "", fmt.Errorf("-db %q: want mysql://user:pass@host:port/db", u.Redacted())
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.DBName = db
	dsn := cfg.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + u.RawQuery
	}
	// Check the parameters now rather than at the first connection.
	if _, err := mysql.ParseDSN(dsn); err != nil {
		return "", fmt.Errorf("-db %q: %v", u.Redacted(), err)
	}
	return dsn, nil
}

// redactSpec returns spec with the password of a URL replaced by "xxxxx",
// for error messages.
func redactSpec(spec string) string {
	if u, err := url.Parse(spec); err == nil && u.User != nil {
		return u.Redacted()
	}
	return spec
}

// poolConfig is the connection pool of an SQL store, from the -db-max-conns,
// -db-conn-lifetime and -db-conn-idle-time flags.
type poolConfig struct {
	maxConns    int           // open connections at most; as many may stay idle
	maxLifetime time.Duration // recycle a connection this long after it opened; 0: never
	maxIdleTime time.Duration // close a connection idle this long; 0: never
}

// defaultPool is the pool of the flags' defaults. database/sql's own
// defaults (unbounded open connections, 2 idle) make a server under
// concurrent load close and reopen connections all the time: every request
// beyond the second that finds no idle connection opens one, and most are
// closed again when returned. Keeping as many idle as may be open ends
// that churn; the lifetime lets connections move to a new database server
// after a failover or a load balancer change.
var defaultPool = poolConfig{maxConns: 16, maxLifetime: 30 * time.Minute, maxIdleTime: 5 * time.Minute}

// check refuses settings database/sql would silently reinterpret.
func (p poolConfig) check() error {
	if p.maxConns < 1 {
		return fmt.Errorf("-db-max-conns must be at least 1, got %d", p.maxConns)
	}
	if p.maxLifetime < 0 || p.maxIdleTime < 0 {
		return errors.New("-db-conn-lifetime and -db-conn-idle-time must not be negative")
	}
	return nil
}

// apply configures db's pool. SQLite connections are a file handle with a
// page cache, not a network session: they are never recycled. In WAL mode
// its readers run in parallel while writers take turns (each transaction
// takes the write lock at BEGIN, _txlock=immediate, and waits for it up to
// busy_timeout), so the pool bounds how many requests queue on the lock.
func (p poolConfig) apply(db *sql.DB, dialect sqlstore.Dialect) {
	db.SetMaxOpenConns(p.maxConns)
	db.SetMaxIdleConns(p.maxConns)
	if dialect == sqlstore.SQLite {
		return
	}
	db.SetConnMaxLifetime(p.maxLifetime)
	db.SetConnMaxIdleTime(p.maxIdleTime)
}

// store is what the server hands auth.New: the store itself
// (*memstore.Store or *sqlstore.Store), never a wrapper, which would hide
// the optional interfaces (auth.SessionLister, auth.OneTimeTokenStore,
// auth.EmailVerifier) that the account-lifecycle routes need.
type store interface {
	auth.UserStore
	auth.TokenStore
}

// storage is the store the server runs on, with the database behind it,
// if any.
type storage struct {
	store store
	db    *sql.DB // nil for the in-memory store
	name  string  // the -db flag without its password
}

// openStorage opens the store that cfg names and, for SQL databases,
// configures the connection pool and brings the schema up to date.
func openStorage(ctx context.Context, cfg dbConfig, pool poolConfig) (*storage, error) {
	if cfg.driver == "" {
		return &storage{store: memstore.New(), name: cfg.display}, nil
	}
	db, err := sql.Open(cfg.driver, cfg.dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.display, err)
	}
	pool.apply(db, cfg.dialect)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", cfg.display, err)
	}
	st, err := sqlstore.New(db, cfg.dialect)
	if err == nil {
		err = st.Migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", cfg.display, err)
	}
	return &storage{store: st, db: db, name: cfg.display}, nil
}

// ping checks that the database answers. The in-memory store always does.
func (s *storage) ping(ctx context.Context) error {
	if s.db == nil {
		return nil
	}
	return s.db.PingContext(ctx)
}

// close closes the database, if any.
func (s *storage) close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}
