package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema changes, one directory per dialect, one file
// per change named NNNN_description.sql. Each file is a list of statements,
// each ending with a semicolon at the end of a line, with {{prefix}} for the
// table prefix; lines starting with -- are comments. A file, once released,
// is never edited: a change to the schema is a new file with the next
// number.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations returns the dialect's schema changes in order, with prefix put
// in place.
func migrations(d Dialect, prefix string) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name does not start with a positive number and _", dir, name)
		}
		text, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{
			version:    v,
			name:       name,
			statements: splitStatements(strings.ReplaceAll(string(text), "{{prefix}}", prefix)),
		})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// splitStatements splits a migration file into its statements: comment
// lines are dropped, and a line ending with a semicolon ends a statement.
func splitStatements(text string) []string {
	var (
		stmts []string
		cur   strings.Builder
	)
	for line := range strings.Lines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		if body, ok := strings.CutSuffix(strings.TrimRight(line, " \t\r\n"), ";"); ok {
			cur.WriteString(body)
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		stmts = append(stmts, rest)
	}
	return stmts
}

// LatestVersion returns the schema version that [Store.Migrate] brings the
// database to: the number of the newest embedded migration for the store's
// dialect.
func (s *Store) LatestVersion() int {
	ms, err := migrations(s.dialect, s.prefix)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Migrate creates the store's tables or brings them up to date by applying,
// in order, each embedded migration not yet recorded in the
// <prefix>schema_migrations table, and recording it there. It is safe to
// call on every start, from several processes at once: the processes take
// turns under a lock and each migration is applied once.
//
// On SQLite the lock is the database's write lock (BEGIN IMMEDIATE), and all
// pending migrations are applied in one transaction; set busy_timeout in
// the DSN so that a second process waits rather than fails. On PostgreSQL it
// is a transaction-level advisory lock keyed on the table prefix, and all
// pending migrations are applied in one transaction. On MySQL, whose DDL
// statements commit on their own, it is a named lock (GET_LOCK) held on one
// connection for the whole run; each migration's statements are written to
// be run again safely should a run be interrupted, and its version is
// recorded after them (an ALTER TABLE ... ADD COLUMN that fails with MySQL
// error 1060, duplicate column name, is taken as done by the interrupted
// run, since MySQL cannot add a column only if it is missing).
//
// Versions in the table that this package does not know, written by a newer
// release, are left alone.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.dialect, s.prefix)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return s.apply(ctx, ms)
}

// MigrateTo is [Store.Migrate] stopped at the given version: it applies, in
// order and under the same lock, each embedded migration numbered at most
// version that the database does not record yet. It never undoes a
// migration, so a version below the database's does nothing. It fails for a
// version below 1 or above [Store.LatestVersion].
//
// Operators use it to roll a schema change out in steps, such as the schema
// of an earlier release on a new database, or one migration at a time with
// checks in between; the store's methods need the latest schema, which
// Migrate gives.
func (s *Store) MigrateTo(ctx context.Context, version int) error {
	ms, err := migrations(s.dialect, s.prefix)
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if version < 1 || len(ms) == 0 || version > ms[len(ms)-1].version {
		return fmt.Errorf("sqlstore: migrate to version %d: this release knows versions 1 to %d", version, s.LatestVersion())
	}
	i := 0
	for i < len(ms) && ms[i].version <= version {
		i++
	}
	return s.apply(ctx, ms[:i])
}

// apply applies the migrations of ms that the database does not record yet,
// under the dialect's migration lock.
func (s *Store) apply(ctx context.Context, ms []migration) error {
	var err error
	switch s.dialect {
	case SQLite:
		err = s.migrateSQLite(ctx, ms)
	case Postgres:
		err = s.migratePostgres(ctx, ms)
	case MySQL:
		err = s.migrateMySQL(ctx, ms)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

// execer is what applyPending needs: a *sql.Tx or a *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// applyPending creates the migrations table if needed and applies every
// migration of ms that it does not record. The caller holds the migration
// lock.
func (s *Store) applyPending(ctx context.Context, x execer, ms []migration) error {
	if _, err := x.ExecContext(ctx, s.q.migrationsTable); err != nil {
		return err
	}
	applied, err := s.appliedVersions(ctx, x)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if _, err := x.ExecContext(ctx, stmt); err != nil && !s.isColumnAlreadyAdded(stmt, err) {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		if _, err := x.ExecContext(ctx, s.q.recordVersion, m.version); err != nil {
			return fmt.Errorf("%s: recording version: %w", m.name, err)
		}
	}
	return nil
}

func (s *Store) appliedVersions(ctx context.Context, x execer) (map[int]bool, error) {
	rows, err := x.QueryContext(ctx, s.q.appliedVersions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// isColumnAlreadyAdded reports whether err, returned by the migration
// statement stmt, says that the column stmt adds exists already. Only on
// MySQL, whose DDL statements commit one by one and which cannot add a column
// conditionally, is that left behind by an interrupted run of the same
// migration (see [Store.Migrate]); there the column is taken as added. The
// error is recognised from its text, MySQL's and MariaDB's error 1060
// (ER_DUP_FIELDNAME), so that the package needs no driver.
func (s *Store) isColumnAlreadyAdded(stmt string, err error) bool {
	if s.dialect != MySQL || !strings.HasPrefix(stmt, "ALTER TABLE ") || !strings.Contains(stmt, " ADD COLUMN ") {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Error 1060") || strings.Contains(msg, "Duplicate column name")
}

// migrateSQLite applies the migrations in one BEGIN IMMEDIATE transaction on
// a dedicated connection, whatever _txlock the DSN sets.
func (s *Store) migrateSQLite(ctx context.Context, ms []migration) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		// Roll back even when ctx is done, and never hand a connection
		// with an open transaction back to the pool.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			discard(conn)
		}
	}()
	if err := s.applyPending(ctx, conn, ms); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// migratePostgres applies the migrations in one transaction that first
// takes an advisory lock; PostgreSQL's DDL is transactional.
func (s *Store) migratePostgres(ctx context.Context, ms []migration) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey()); err != nil {
			return fmt.Errorf("taking the migration lock: %w", err)
		}
		return s.applyPending(ctx, tx, ms)
	})
}

// mysqlLockWait is how long Migrate waits for another process's migration
// on MySQL before it gives up.
const mysqlLockWait = 5 * time.Minute

// migrateMySQL applies the migrations on one connection that holds a named
// lock for the whole run.
func (s *Store) migrateMySQL(ctx context.Context, ms []migration) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	name := s.lockName()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(mysqlLockWait/time.Second)).Scan(&got); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("taking the migration lock %q: not granted within %v", name, mysqlLockWait)
	}
	defer func() {
		var released sql.NullInt64
		rerr := conn.QueryRowContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name).Scan(&released)
		if rerr != nil || released.Int64 != 1 {
			// Closing the session releases the lock.
			discard(conn)
		}
	}()
	return s.applyPending(ctx, conn, ms)
}

// discard makes conn's underlying connection be closed rather than returned
// to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// lockKey returns the PostgreSQL advisory lock key of the store's
// migrations: a hash of the package path and the table prefix, so stores
// with different prefixes migrate independently.
func (s *Store) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/ingestiq/auth/sqlstore:" + s.prefix))
	return int64(h.Sum64())
}

// lockName returns the MySQL named lock of the store's migrations, at most
// 64 characters since the prefix is at most 32.
func (s *Store) lockName() string { return "ingestiq_auth_migrate:" + s.prefix }

// SchemaVersion returns the highest migration version recorded in the
// database, or 0 when no migration has been applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, s.q.tableExists, s.prefix+"schema_migrations").Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := s.db.QueryRowContext(ctx, s.q.schemaVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return v, nil
}
