// Package sqlstore keeps users, sessions, refresh tokens and one-time tokens
// in an SQL database through database/sql. Its [Store] implements
// [auth.UserStore] and [auth.TokenStore], and the optional
// [auth.SessionLister], [auth.OneTimeTokenStore] and [auth.EmailVerifier], on
// SQLite, PostgreSQL and MySQL/MariaDB.
//
// The package imports no driver: the application imports the one it wants,
// opens a *sql.DB and names the dialect explicitly (it is never guessed from
// the driver):
//
//	import _ "modernc.org/sqlite"             // registers "sqlite"
//	import _ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
//	import _ "github.com/go-sql-driver/mysql" // registers "mysql"
//
//	db, err := sql.Open("pgx", "postgres://app@db.internal/app")
//	st, err := sqlstore.New(db, sqlstore.Postgres)
//	err = st.Migrate(ctx) // creates or upgrades the tables
//
// Recommended data source names:
//
//   - SQLite (modernc.org/sqlite, driver "sqlite"):
//     file:auth.db?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate
//     foreign_keys(1) makes SQLite enforce the foreign keys (it does not by
//     default, and the pragma is per connection); busy_timeout makes a
//     writer wait for another instead of failing with SQLITE_BUSY; and
//     _txlock=immediate takes the write lock when a transaction begins, so
//     concurrent rotations queue up instead of failing. WAL with
//     synchronous(NORMAL) keeps the database consistent on power loss but may
//     lose the last transactions committed before it; use synchronous(FULL)
//     when that matters. The store deletes child rows itself, so it behaves the
//     same without foreign_keys(1), but the pragma guards against writes from
//     elsewhere.
//   - PostgreSQL (github.com/jackc/pgx/v5/stdlib, driver "pgx"): any DSN,
//     such as postgres://user:pass@host:5432/db?sslmode=verify-full.
//   - MySQL and MariaDB (github.com/go-sql-driver/mysql, driver "mysql"):
//     any DSN, such as user:pass@tcp(host:3306)/db; nothing special is
//     needed since instants are stored as integers.
//
// Instants are stored as BIGINT Unix milliseconds written by the application
// (the store never reads a database clock) and returned in UTC; sub-millisecond
// parts are dropped. Emails and ids compare byte for byte on every database.
// The tables' names start with a prefix, "auth_" by default (see
// [WithTablePrefix]), so that they can share a database with the
// application's own tables. The schema per database is in the package's
// README.
package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ingestiq/auth"
)

// Dialect names the SQL database behind a *sql.DB. It selects the schema,
// the placeholders, the migration lock, and the few statements that differ
// between databases.
type Dialect int

// The supported dialects.
const (
	// SQLite is SQLite 3.35 or later (for UPDATE ... RETURNING), such as
	// modernc.org/sqlite.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL 12 or later.
	Postgres
	// MySQL is MySQL 8 or later, or MariaDB 10.5 or later, with InnoDB.
	MySQL
)

// String returns the dialect's lower-case name: "sqlite", "postgres" or
// "mysql".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// DefaultTablePrefix is the prefix of the store's table names when
// [WithTablePrefix] is not given.
const DefaultTablePrefix = "auth_"

// DefaultDeleteBatchSize is the number of rows [Store.DeleteExpired] deletes
// per statement when [WithDeleteBatchSize] is not given.
const DefaultDeleteBatchSize = 1000

// maxPrefixLen keeps every derived identifier (the longest is
// "<prefix>one_time_tokens_expires_at_idx", 30 characters after the prefix)
// within PostgreSQL's 63 and MySQL's 64 characters.
const maxPrefixLen = 32

// An Option configures a [Store] in [New].
type Option func(*options) error

type options struct {
	prefix    string
	batchSize int
}

// WithTablePrefix sets the prefix of every table, index and constraint name
// the store creates and uses, such as "auth_" for auth_users, auth_sessions,
// auth_refresh_tokens, auth_one_time_tokens and auth_schema_migrations. The prefix is written into
// SQL statements, so it may hold only lower-case ASCII letters, digits and
// underscores, must not start with a digit, and is at most 32 characters
// long; [New] fails otherwise. The empty prefix gives the bare names. The
// default is [DefaultTablePrefix], "auth_".
func WithTablePrefix(prefix string) Option {
	return func(o *options) error {
		if err := validatePrefix(prefix); err != nil {
			return err
		}
		o.prefix = prefix
		return nil
	}
}

// WithDeleteBatchSize sets how many rows [Store.DeleteExpired] deletes per
// statement; it must be positive. Smaller batches hold locks for less time.
// The default is [DefaultDeleteBatchSize], 1000.
func WithDeleteBatchSize(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("sqlstore: delete batch size %d is not positive", n)
		}
		o.batchSize = n
		return nil
	}
}

func validatePrefix(p string) error {
	if len(p) > maxPrefixLen {
		return fmt.Errorf("sqlstore: table prefix %q is longer than %d characters", p, maxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return fmt.Errorf("sqlstore: table prefix %q may hold only a-z, 0-9 and _, and must not start with a digit", p)
		}
	}
	return nil
}

// Store is an [auth.UserStore] and [auth.TokenStore], and an
// [auth.SessionLister], [auth.OneTimeTokenStore] and [auth.EmailVerifier],
// backed by an SQL database. It is also an [auth.Limiter] whose counters
// every process sharing the database sees (pass it as Config.Throttle.Limiter). It is safe for concurrent use, and its atomic steps hold across
// processes that share the database. Create one with [New] and call
// [Store.Migrate] before first use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	prefix  string
	batch   int
	q       queries
	stmts   stmtCache
	lq      limiterQueries
	oq      orgQueries
	pkq     passkeyQueries
	// writer orders the store's own transactions on SQLite, which lets
	// one transaction write at a time (see inTx).
	writer chan struct{}
}

var (
	_ auth.UserStore           = (*Store)(nil)
	_ auth.TokenStore          = (*Store)(nil)
	_ auth.SessionLister       = (*Store)(nil)
	_ auth.OneTimeTokenStore   = (*Store)(nil)
	_ auth.EmailVerifier       = (*Store)(nil)
	_ auth.OneTimeTokenRevoker = (*Store)(nil)
)

// New returns a Store that keeps its data in db, a database of dialect d. It
// only builds the store's statements and does not touch the database: call
// [Store.Migrate] to create the tables. The caller keeps ownership of db and
// closes it after the store's last use.
func New(db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	switch d {
	case SQLite, Postgres, MySQL:
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", d)
	}
	o := options{prefix: DefaultTablePrefix, batchSize: DefaultDeleteBatchSize}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Store{
		db:      db,
		dialect: d,
		prefix:  o.prefix,
		batch:   o.batchSize,
		q:       buildQueries(d, o.prefix, o.batchSize),
		lq:      buildLimiterQueries(d, o.prefix, o.batchSize),
		oq:      buildOrgQueries(d, o.prefix),
		pkq:     buildPasskeyQueries(d, o.prefix, o.batchSize),
		writer:  make(chan struct{}, 1),
	}, nil
}

// Dialect returns the dialect the store was created with.
func (s *Store) Dialect() Dialect { return s.dialect }

// TablePrefix returns the prefix of the store's table names.
func (s *Store) TablePrefix() string { return s.prefix }

// rebind rewrites the ? placeholders of query into PostgreSQL's $1, $2, ...
// in order, leaving any ? inside single-quoted literals, double-quoted
// identifiers and -- comments alone. The store writes its queries once with ?
// and rebinds them for PostgreSQL in [New].
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch c {
		case '\'', '"':
			// Copy the quoted run; a doubled quote inside it is an escaped
			// quote and simply ends and restarts the run.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case '-':
			if i+1 < len(query) && query[i+1] == '-' {
				j := strings.IndexByte(query[i:], '\n')
				if j < 0 {
					b.WriteString(query[i:])
					return b.String()
				}
				b.WriteString(query[i : i+j+1])
				i += j
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
