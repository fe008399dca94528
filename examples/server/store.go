package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

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

// storage is the store the server runs on: an auth.UserStore and
// auth.TokenStore, with the database behind it, if any.
type storage struct {
	auth.UserStore
	auth.TokenStore
	// store is the store itself, to hand to auth.Config: unlike the
	// embedded interfaces it keeps the optional ones (SessionLister,
	// SecondFactorStore, ...) visible.
	store interface {
		auth.UserStore
		auth.TokenStore
	}
	db   *sql.DB // nil for the in-memory store
	name string  // the -db flag without its password
}

// openStorage opens the store that cfg names and, for SQL databases,
// brings the schema up to date.
func openStorage(ctx context.Context, cfg dbConfig) (*storage, error) {
	if cfg.driver == "" {
		st := memstore.New()
		return &storage{UserStore: st, TokenStore: st, store: st, name: cfg.display}, nil
	}
	db, err := sql.Open(cfg.driver, cfg.dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", cfg.display, err)
	}
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
	return &storage{UserStore: st, TokenStore: st, store: st, db: db, name: cfg.display}, nil
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
