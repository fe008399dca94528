package sqlstore

// These tests need no database; the driver-backed tests are in the nested
// module github.com/ingestiq/auth/integration.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// noDB is a connector that never connects: New must not touch the database.
type noDB struct{}

func (noDB) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("noDB: New must not connect")
}
func (noDB) Driver() driver.Driver { return noDriver{} }

type noDriver struct{}

func (noDriver) Open(string) (driver.Conn, error) { return nil, errors.New("noDB") }

func newTestStore(t *testing.T, d Dialect, opts ...Option) *Store {
	t.Helper()
	db := sql.OpenDB(noDB{})
	t.Cleanup(func() { db.Close() })
	st, err := New(db, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDialectString(t *testing.T) {
	for d, want := range map[Dialect]string{SQLite: "sqlite", Postgres: "postgres", MySQL: "mysql", 0: "Dialect(0)", 9: "Dialect(9)"} {
		if got := d.String(); got != want {
			t.Errorf("Dialect(%d).String() = %q; want %q", int(d), got, want)
		}
	}
}

func TestNew(t *testing.T) {
	db := sql.OpenDB(noDB{})
	defer db.Close()
	if _, err := New(nil, SQLite); err == nil {
		t.Error("New(nil db) succeeded")
	}
	for _, d := range []Dialect{0, 4, -1} {
		if _, err := New(db, d); err == nil {
			t.Errorf("New with dialect %v succeeded", d)
		}
	}
	st, err := New(db, MySQL)
	if err != nil {
		t.Fatal(err)
	}
	if st.TablePrefix() != DefaultTablePrefix || st.Dialect() != MySQL || st.batch != DefaultDeleteBatchSize {
		t.Errorf("defaults: prefix %q, dialect %v, batch %d", st.TablePrefix(), st.Dialect(), st.batch)
	}
	for _, n := range []int{0, -1} {
		if _, err := New(db, SQLite, WithDeleteBatchSize(n)); err == nil {
			t.Errorf("WithDeleteBatchSize(%d) accepted", n)
		}
	}
}

func TestTablePrefixValidation(t *testing.T) {
	db := sql.OpenDB(noDB{})
	defer db.Close()
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"auth_", true},
		{"t0123abcd_", true},
		{"_x", true},
		{"a", true},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false},
		{"0abc_", false},
		{"Auth_", false},
		{"auth-", false},
		{"auth ", false},
		{"auth.", false},
		{"a;DROP TABLE x;--", false},
		{"a'b", false},
		{`a"b`, false},
		{"é_", false},
	}
	for _, tt := range tests {
		_, err := New(db, Postgres, WithTablePrefix(tt.prefix))
		if (err == nil) != tt.ok {
			t.Errorf("WithTablePrefix(%q): error %v; want ok=%v", tt.prefix, err, tt.ok)
		}
	}
}

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE b = ?", "SELECT a FROM t WHERE b = $1"},
		{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"},
		{"SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"},
		{"SELECT 'it''s ?' , ? FROM t", "SELECT 'it''s ?' , $1 FROM t"},
		{`SELECT "col?" FROM t WHERE a = ?`, `SELECT "col?" FROM t WHERE a = $1`},
		{"SELECT a -- why?\nFROM t WHERE a = ?", "SELECT a -- why?\nFROM t WHERE a = $1"},
		{"SELECT a - ? FROM t", "SELECT a - $1 FROM t"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"SELECT ? -- trailing ?", "SELECT $1 -- trailing ?"},
		{strings.Repeat("?,", 11) + "?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestQueries checks the statements built in New: the prefix is in place,
// and the placeholders suit the dialect.
func TestQueries(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		st := newTestStore(t, d, WithTablePrefix("px_"))
		for _, q := range st.q.all() {
			if *q == "" {
				t.Errorf("%v: empty statement", d)
				continue
			}
			if strings.Contains(*q, "{p}") || !strings.Contains(*q, "px_") && !strings.Contains(*q, "information_schema") && !strings.Contains(*q, "sqlite_master") {
				t.Errorf("%v: prefix not in place: %s", d, *q)
			}
			if d == Postgres && strings.Contains(*q, "?") {
				t.Errorf("%v: ? left: %s", d, *q)
			}
			if d != Postgres && strings.Contains(*q, "$") {
				t.Errorf("%v: $ in: %s", d, *q)
			}
		}
	}
}

// TestMigrations checks the embedded migrations: numbered from 1 without
// gaps, the same numbers for every dialect, each a list of statements with
// the prefix in place.
func TestMigrations(t *testing.T) {
	var want []int
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		ms, err := migrations(d, "px_")
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		var got []int
		for i, m := range ms {
			got = append(got, m.version)
			// Numbers rise from 1; gaps are allowed (numbers are reserved
			// for features developed side by side).
			if (i == 0 && m.version != 1) || (i > 0 && m.version <= ms[i-1].version) {
				t.Errorf("%v: migration %s has number %d after %v", d, m.name, m.version, got[:i])
			}
			if len(m.statements) == 0 {
				t.Errorf("%v: migration %s has no statements", d, m.name)
			}
			for _, s := range m.statements {
				if strings.Contains(s, "{{") || strings.Contains(s, ";") || strings.HasPrefix(s, "--") {
					t.Errorf("%v: %s: malformed statement %q", d, m.name, s)
				}
				if !strings.Contains(s, "px_") {
					t.Errorf("%v: %s: statement without the prefix: %q", d, m.name, s)
				}
			}
		}
		if want == nil {
			want = got
		} else if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: versions %v; sqlite has %v", d, got, want)
		}
		if v := newTestStore(t, d).LatestVersion(); v != ms[len(ms)-1].version {
			t.Errorf("%v: LatestVersion = %d; want %d", d, v, ms[len(ms)-1].version)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	in := "-- comment\n\nCREATE TABLE a (\n    x INT\n);\n  -- another\nCREATE INDEX i ON a (x);\nSELECT 1"
	got := splitStatements(in)
	want := []string{"CREATE TABLE a (\n    x INT\n)", "CREATE INDEX i ON a (x)", "SELECT 1"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("splitStatements = %q; want %q", got, want)
	}
}

// pgError mimics pgx's *pgconn.PgError: a SQLState method and the message
// format of its Error method.
type pgError struct{ code, msg string }

func (e *pgError) Error() string    { return "ERROR: " + e.msg + " (SQLSTATE " + e.code + ")" }
func (e *pgError) SQLState() string { return e.code }

// TestIsEmailDuplicate feeds the duplicate detection the error texts of
// each dialect's drivers.
func TestIsEmailDuplicate(t *testing.T) {
	tests := []struct {
		dialect Dialect
		err     error
		want    bool
	}{
		// modernc.org/sqlite and mattn/go-sqlite3.
		{SQLite, errors.New("constraint failed: UNIQUE constraint failed: auth_users.email (2067)"), true},
		{SQLite, errors.New("UNIQUE constraint failed: auth_users.email"), true},
		{SQLite, errors.New("constraint failed: UNIQUE constraint failed: auth_users.id (1555)"), false},
		{SQLite, errors.New("constraint failed: UNIQUE constraint failed: other_users.email (2067)"), false},
		{SQLite, errors.New("database is locked (5) (SQLITE_BUSY)"), false},
		// pgx, and lib/pq's message without a SQLState method.
		{Postgres, &pgError{"23505", `duplicate key value violates unique constraint "auth_users_email_key"`}, true},
		{Postgres, fmt.Errorf("wrapped: %w", &pgError{"23505", `duplicate key value violates unique constraint "auth_users_email_key"`}), true},
		{Postgres, errors.New(`pq: duplicate key value violates unique constraint "auth_users_email_key"`), true},
		{Postgres, &pgError{"23505", `duplicate key value violates unique constraint "auth_users_pkey"`}, false},
		{Postgres, &pgError{"23505", `duplicate key value violates unique constraint "xauth_users_email_key"`}, false},
		{Postgres, &pgError{"23514", `new row violates check constraint "auth_users_email_key"`}, false},
		{Postgres, &pgError{"57P01", "terminating connection due to administrator command"}, false},
		// go-sql-driver/mysql, against MariaDB and MySQL 8.
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'a@example.com' for key 'auth_users_email_key'"), true},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'a@example.com' for key 'auth_users.auth_users_email_key'"), true},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'x' for key 'PRIMARY'"), false},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'x' for key 'auth_users.PRIMARY'"), false},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'auth_users_email_key' for key 'PRIMARY'"), false},
		{MySQL, errors.New("Error 1062 (23000): Duplicate entry 'a' for key 'xauth_users_email_key'"), false},
		{MySQL, errors.New("Error 1406 (22001): Data too long for column 'email' at row 1"), false},
		{MySQL, errors.New("invalid connection"), false},
	}
	for _, tt := range tests {
		st := newTestStore(t, tt.dialect)
		if got := st.isEmailDuplicate(tt.err); got != tt.want {
			t.Errorf("%v: isEmailDuplicate(%v) = %v; want %v", tt.dialect, tt.err, got, tt.want)
		}
	}
	if newTestStore(t, SQLite).isEmailDuplicate(nil) {
		t.Error("isEmailDuplicate(nil) = true")
	}
}

// TestREADMESchema checks that the README shows every statement of the
// migrations, with the default prefix, exactly.
func TestREADMESchema(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		ms, err := migrations(d, DefaultTablePrefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			for _, s := range m.statements {
				if !strings.Contains(string(readme), s+";\n") {
					t.Errorf("README.md lacks the %v statement of %s:\n%s;", d, m.name, s)
				}
			}
		}
	}
}

// TestMigrateToRange checks that MigrateTo refuses versions this release does
// not know before it touches the database.
func TestMigrateToRange(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres, MySQL} {
		st := newTestStore(t, d)
		for _, v := range []int{-1, 0, st.LatestVersion() + 1} {
			err := st.MigrateTo(t.Context(), v)
			if err == nil || !strings.Contains(err.Error(), "this release knows versions 1 to") {
				t.Errorf("%v: MigrateTo(%d) = %v; want a range error", d, v, err)
			}
		}
	}
}

// TestIsColumnAlreadyAdded checks which migration errors Migrate takes as
// left behind by an interrupted run: only MySQL's duplicate column, from an
// ALTER TABLE ... ADD COLUMN.
func TestIsColumnAlreadyAdded(t *testing.T) {
	const alter = "ALTER TABLE auth_users ADD COLUMN email_verified_at BIGINT NULL"
	dup := errors.New("Error 1060 (42S21): Duplicate column name 'email_verified_at'")
	tests := []struct {
		dialect Dialect
		stmt    string
		err     error
		want    bool
	}{
		{MySQL, alter, dup, true},
		{MySQL, alter, errors.New("Duplicate column name 'email_verified_at'"), true},
		{MySQL, "ALTER TABLE auth_sessions\n    ADD COLUMN user_agent VARCHAR(512) NOT NULL DEFAULT '',\n    ADD COLUMN ip_address VARCHAR(64)  NOT NULL DEFAULT ''", dup, true},
		{MySQL, alter, errors.New("Error 1146 (42S02): Table 'test.auth_users' doesn't exist"), false},
		{MySQL, alter, errors.New("invalid connection"), false},
		{MySQL, "CREATE TABLE IF NOT EXISTS auth_x (id INT)", dup, false},
		{SQLite, alter, errors.New("duplicate column name: email_verified_at"), false},
		{Postgres, alter, &pgError{"42701", `column "email_verified_at" of relation "auth_users" already exists`}, false},
	}
	for _, tt := range tests {
		if got := newTestStore(t, tt.dialect).isColumnAlreadyAdded(tt.stmt, tt.err); got != tt.want {
			t.Errorf("%v: isColumnAlreadyAdded(%q, %v) = %v; want %v", tt.dialect, tt.stmt, tt.err, got, tt.want)
		}
	}
}
