package integration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// These are the tests of what is particular to sqlstore. What every store
// must do is checked by the storetest suite (storetest_test.go).

// count returns the number of rows of the table of e's prefix named table.
func (e *env) count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+e.prefix+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		db := e.open(t)
		st := e.store(t, db)
		if v, err := st.SchemaVersion(ctx); err != nil || v != 0 {
			t.Fatalf("SchemaVersion before Migrate = %d, %v; want 0, nil", v, err)
		}
		latest := st.LatestVersion()
		if latest < 1 {
			t.Fatalf("LatestVersion = %d; want at least 1", latest)
		}
		for i := range 3 {
			if err := st.Migrate(ctx); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		if v, err := st.SchemaVersion(ctx); err != nil || v != latest {
			t.Fatalf("SchemaVersion = %d, %v; want %d, nil", v, err, latest)
		}
		// Each version is recorded once (numbers may have gaps).
		if n := e.count(t, db, "schema_migrations"); n != migrationFiles(t) {
			t.Errorf("schema_migrations has %d rows; want %d", n, migrationFiles(t))
		}
		newUser(t, st, "alice@example.com")

		// A version written by a newer release is left alone.
		if _, err := db.ExecContext(ctx, "INSERT INTO "+e.prefix+"schema_migrations (version) VALUES (999)"); err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate with a newer version recorded: %v", err)
		}
		if v, err := st.SchemaVersion(ctx); err != nil || v != 999 {
			t.Errorf("SchemaVersion = %d, %v; want 999, nil", v, err)
		}
	})
}

// TestMigrateConcurrently starts several "processes", each with its own
// connection pool, migrating the same empty database at once.
func TestMigrateConcurrently(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const n = 6
		stores := make([]*sqlstore.Store, n)
		for i := range stores {
			db := e.open(t)
			if err := db.PingContext(t.Context()); err != nil {
				t.Fatal(err)
			}
			stores[i] = e.store(t, db)
		}
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, st := range stores {
			wg.Go(func() {
				<-start
				errs[i] = st.Migrate(t.Context())
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate in process %d: %v", i, err)
			}
		}
		latest := stores[0].LatestVersion()
		if got := e.count(t, e.open(t), "schema_migrations"); got != migrationFiles(t) {
			t.Errorf("schema_migrations has %d rows; want %d", got, migrationFiles(t))
		}
		for i, st := range stores {
			if v, err := st.SchemaVersion(t.Context()); err != nil || v != latest {
				t.Errorf("process %d: SchemaVersion = %d, %v; want %d", i, v, err, latest)
			}
		}
		newUser(t, stores[n-1], "alice@example.com")
	})
}

// TestTablePrefix checks that stores with different prefixes share a
// database without seeing each other's rows.
func TestTablePrefix(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		other := *e
		other.prefix = randomPrefix(t)
		if e.envVar != "" {
			t.Cleanup(func() { other.dropTables(t) })
		}
		a, b := e.migrated(t), other.migrated(t)
		u := newUser(t, a, "alice@example.com")
		if _, err := b.UserByEmail(t.Context(), u.Email); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("other prefix: UserByEmail = %v; want ErrNotFound", err)
		}
		newUser(t, b, "alice@example.com") // no conflict across prefixes
		if got := a.TablePrefix(); got != e.prefix {
			t.Errorf("TablePrefix = %q; want %q", got, e.prefix)
		}
	})
}

// TestDefaultTablePrefix checks the tables' default names on a private
// SQLite database (the shared servers may hold the default tables of other
// programs).
func TestDefaultTablePrefix(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "auth.db")+sqliteParams)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(t.Context(), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	want := "auth_external_identities auth_invitations auth_limiter_keys auth_memberships auth_one_time_tokens auth_organizations auth_passkey_ceremonies auth_passkeys auth_recovery_codes auth_refresh_tokens auth_schema_migrations auth_second_factors auth_sessions auth_users"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("tables = %s; want %s", got, want)
	}
}

// TestDuplicateDetection checks that only the email's unique constraint is
// reported as ErrEmailExists, recognised without the driver's types.
func TestDuplicateDetection(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")

		dupEmail := *u
		dupEmail.ID = randomID(t)
		if err := st.CreateUser(ctx, &dupEmail); !errors.Is(err, auth.ErrEmailExists) {
			t.Errorf("CreateUser with a taken email = %v; want ErrEmailExists", err)
		}

		dupID := *u
		dupID.Email = "bob@example.com"
		err := st.CreateUser(ctx, &dupID)
		if err == nil || isSentinel(err) || !strings.HasPrefix(err.Error(), "sqlstore: create user: ") {
			t.Errorf("CreateUser with a taken id = %v; want a wrapped database error", err)
		}
		t.Logf("duplicate id: %v", err)

		// The session insert's own constraint errors are not ErrEmailExists
		// either.
		s, _ := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
		err = st.CreateSession(ctx, s, nextToken(t, s, base.Add(time.Hour)))
		if err == nil || isSentinel(err) {
			t.Errorf("CreateSession with a taken id = %v; want a database error", err)
		}
		// Neither the session nor its token of the failed call was stored.
		if n := e.count(t, e.open(t), "refresh_tokens"); n != 1 {
			t.Errorf("refresh_tokens has %d rows after a failed CreateSession; want 1", n)
		}
	})
}

// TestUpdatePasswordHashUnchanged checks that setting the same hash again
// succeeds: MySQL reports zero affected rows for it.
func TestUpdatePasswordHashUnchanged(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
		for i := range 2 {
			if err := st.UpdatePasswordHash(t.Context(), u.ID, "new-hash"); err != nil {
				t.Fatalf("UpdatePasswordHash #%d: %v", i+1, err)
			}
		}
		if err := st.UpdatePasswordHash(t.Context(), randomID(t), "new-hash"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UpdatePasswordHash of an unknown user = %v; want ErrNotFound", err)
		}
	})
}

// TestRotateStatements checks performance goal G13: a successful rotation
// is one statement run without BEGIN and COMMIT on PostgreSQL (a WITH query
// that spends the token, stores the successor and reads the user), and one
// transaction of two statements on SQLite (UPDATE ... RETURNING, INSERT).
// MySQL, without UPDATE ... RETURNING, needs a locking SELECT first. A
// refresh through the Authenticator runs exactly those statements: it reads
// no user apart (Rotation.UserRead).
func TestRotateStatements(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
		s, rt := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))

		var c counter
		counted := e.store(t, e.openCounting(t, &c))
		next := nextToken(t, s, base.Add(time.Hour))
		c.take()
		c.takeTxs()
		r, err := counted.RotateRefreshToken(ctx, rt.IDHash, next, base.Add(time.Minute))
		if err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		if !r.UserRead || r.Role != u.Role || r.OrganizationID != u.OrganizationID {
			t.Errorf("rotation read user %v, org %q, role %q; want %q, %q", r.UserRead, r.OrganizationID, r.Role, u.OrganizationID, u.Role)
		}
		want, wantTxs := "UPDATE INSERT", 1
		switch e.dialect {
		case sqlstore.Postgres:
			want, wantTxs = "WITH", 0
		case sqlstore.MySQL:
			want = "SELECT UPDATE INSERT"
		}
		if got := verbs(c.take()); got != want {
			t.Errorf("statements of a rotation: %s; want %s", got, want)
		}
		if got := c.takeTxs(); got != wantTxs {
			t.Errorf("transactions of a rotation: %d; want %d", got, wantTxs)
		}

		// A spent token costs one more statement, to tell why.
		if _, err := counted.RotateRefreshToken(ctx, rt.IDHash, nextToken(t, s, base.Add(time.Hour)), base.Add(2*time.Minute)); !errors.Is(err, auth.ErrTokenUsed) {
			t.Fatalf("RotateRefreshToken of a spent token = %v; want ErrTokenUsed", err)
		}
		t.Logf("statements of a rejected rotation: %s", verbs(c.take()))

		// The same through the Authenticator's refresh.
		a := e.newAuthenticator(t, e.openCounting(t, &c), []byte(rand.Text()+rand.Text()))
		reg, err := a.Register(ctx, auth.RegisterInput{Email: "bob@example.com", Password: "correct horse battery", Name: "Bob"})
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		c.take()
		c.takeTxs()
		if _, err := a.Refresh(ctx, reg.RefreshToken); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if got := verbs(c.take()); got != want {
			t.Errorf("statements of a refresh: %s; want %s (no user read)", got, want)
		}
		if got := c.takeTxs(); got != wantTxs {
			t.Errorf("transactions of a refresh: %d; want %d", got, wantTxs)
		}
	})
}

// verbs returns the first word of each statement, upper-cased.
func verbs(stmts []string) string {
	var v []string
	for _, s := range stmts {
		w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
		v = append(v, strings.ToUpper(w))
	}
	return strings.Join(v, " ")
}

// TestRotateAcrossProcesses races rotations of one token from several
// "processes", each with its own connection pool: exactly one wins per
// round, the others see ErrTokenUsed, and only the winner's successor is
// stored.
func TestRotateAcrossProcesses(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
		s, cur := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))

		const n = 8
		stores := make([]*sqlstore.Store, n)
		for i := range stores {
			db := e.open(t)
			if err := db.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			stores[i] = e.store(t, db)
		}
		for round := range 5 {
			nexts := make([]*auth.RefreshToken, n)
			olds := make([]*auth.Rotation, n)
			errs := make([]error, n)
			for i := range nexts {
				nexts[i] = nextToken(t, s, base.Add(time.Hour))
			}
			at := base.Add(time.Duration(round+1) * time.Minute)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, rs := range stores {
				wg.Go(func() {
					<-start
					olds[i], errs[i] = rs.RotateRefreshToken(ctx, cur.IDHash, nexts[i], at)
				})
			}
			close(start)
			wg.Wait()

			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("round %d: processes %d and %d both rotated the token", round, winner, i)
					}
					winner = i
					if olds[i] == nil || !olds[i].Old.UsedAt.Equal(at) || olds[i].Old.SessionID != s.ID || !olds[i].UserRead || olds[i].Role != u.Role {
						t.Errorf("round %d: winner got %+v", round, olds[i])
					}
				case errors.Is(err, auth.ErrTokenUsed):
					if olds[i] == nil || olds[i].Old.IDHash != cur.IDHash || !olds[i].Old.UsedAt.Equal(at) {
						t.Errorf("round %d: loser %d got %+v with ErrTokenUsed", round, i, olds[i])
					}
				default:
					t.Errorf("round %d: process %d: %v", round, i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no rotation succeeded", round)
			}
			// Every loser waited for the winner's commit and names its
			// successor, unspent: the one successor they all agree on.
			for i, r := range olds {
				if i == winner || r == nil {
					continue
				}
				if r.Old.SuccessorHash != nexts[winner].IDHash || r.Successor == nil || r.Successor.IDHash != nexts[winner].IDHash {
					t.Errorf("round %d: loser %d reports successor %q (%+v); want the winner's %q", round, i, r.Old.SuccessorHash, r.Successor, nexts[winner].IDHash)
				}
			}
			for i, next := range nexts {
				if i == winner {
					continue
				}
				if _, err := st.RotateRefreshToken(ctx, next.IDHash, nextToken(t, s, base.Add(time.Hour)), at); !errors.Is(err, auth.ErrNotFound) {
					t.Errorf("round %d: loser %d's successor: %v; want ErrNotFound (not stored)", round, i, err)
				}
			}
			cur = nexts[winner]
		}
	})
}

// TestDeleteExpiredBatches checks that DeleteExpired deletes in bounded
// batches, also removes the tokens of expired sessions and expired one-time
// tokens, and leaves live rows alone.
func TestDeleteExpiredBatches(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		past, future := base.Add(-time.Hour), base.Add(time.Hour)
		u := newUser(t, st, "alice@example.com")
		// 7 expired sessions with expired first tokens; 2 of them also
		// hold a successor that outlives the session.
		for i := range 7 {
			s, rt := newSession(t, st, u, past, past)
			if i < 2 {
				if _, err := st.RotateRefreshToken(ctx, rt.IDHash, nextToken(t, s, future), past.Add(-time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// 4 live sessions, 2 with an expired token, 2 with a live one.
		for i := range 4 {
			tokExp := future
			if i < 2 {
				tokExp = past
			}
			newSession(t, st, u, future, tokExp)
		}
		// 4 expired one-time tokens, 2 of them spent; 2 live ones.
		for i := range 6 {
			expires := future
			if i < 4 {
				expires = past
			}
			ott := newOneTimeToken(t, st, u, auth.PurposePasswordReset, expires)
			if i < 2 {
				if _, err := st.ConsumeOneTimeToken(ctx, ott.IDHash, ott.Purpose, base); err != nil {
					t.Fatal(err)
				}
			}
		}

		var c counter
		db := e.openCounting(t, &c)
		counted := e.store(t, db, sqlstore.WithDeleteBatchSize(3))
		c.take()
		n, err := counted.DeleteExpired(ctx, base)
		if err != nil {
			t.Fatalf("DeleteExpired: %v", err)
		}
		// 9 expired tokens in batches of 3,3,3,0; 2 tokens of expired
		// sessions in one batch; 7 sessions in batches of 3,3,1; 4 one-time
		// tokens in batches of 3,1; no limiter rows in one batch.
		if n != 22 {
			t.Errorf("DeleteExpired removed %d rows; want 22", n)
		}
		if got := len(c.take()); got != 11 {
			t.Errorf("DeleteExpired ran %d statements; want 11 (batches of 3)", got)
		}
		if got := e.count(t, db, "sessions"); got != 4 {
			t.Errorf("%d sessions left; want 4", got)
		}
		if got := e.count(t, db, "refresh_tokens"); got != 2 {
			t.Errorf("%d refresh tokens left; want 2", got)
		}
		if got := e.count(t, db, "one_time_tokens"); got != 2 {
			t.Errorf("%d one-time tokens left; want 2", got)
		}
		if n, err := counted.DeleteExpired(ctx, base); n != 0 || err != nil {
			t.Errorf("second DeleteExpired = %d, %v; want 0, nil", n, err)
		}
	})
}

// TestSQLiteWithoutForeignKeys checks that DeleteUser and DeleteExpired
// remove child rows themselves when SQLite does not enforce foreign keys.
func TestSQLiteWithoutForeignKeys(t *testing.T) {
	e := &env{target: targets[0], prefix: randomPrefix(t)}
	e.dsn = "file:" + filepath.Join(t.TempDir(), "auth.db") + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(0)&_txlock=immediate"
	ctx := t.Context()
	st := e.migrated(t)
	db := e.open(t)

	u := newUser(t, st, "alice@example.com")
	newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
	newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
	newOneTimeToken(t, st, u, auth.PurposePasswordReset, base.Add(time.Hour))
	newOneTimeToken(t, st, u, auth.PurposeEmailVerification, base.Add(time.Hour))
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if s, rt, ot := e.count(t, db, "sessions"), e.count(t, db, "refresh_tokens"), e.count(t, db, "one_time_tokens"); s != 0 || rt != 0 || ot != 0 {
		t.Errorf("after DeleteUser: %d sessions, %d tokens, %d one-time tokens; want 0, 0, 0", s, rt, ot)
	}

	u = newUser(t, st, "bob@example.com")
	newSession(t, st, u, base.Add(-time.Hour), base.Add(time.Hour)) // token outlives its session
	if n, err := st.DeleteExpired(ctx, base); n != 2 || err != nil {
		t.Errorf("DeleteExpired = %d, %v; want 2, nil", n, err)
	}
	if rt := e.count(t, db, "refresh_tokens"); rt != 0 {
		t.Errorf("after DeleteExpired: %d tokens; want 0", rt)
	}
}

// TestDatabaseErrors checks that a failing database surfaces as a wrapped
// error that is none of the contract's sentinels, so the Authenticator
// answers INTERNAL_ERROR.
func TestDatabaseErrors(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
		s, rt := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))

		db := e.open(t)
		closed := e.store(t, db)
		db.Close()
		calls := map[string]func() error{
			"Migrate":       func() error { return closed.Migrate(ctx) },
			"SchemaVersion": func() error { _, err := closed.SchemaVersion(ctx); return err },
			"CreateUser": func() error {
				return closed.CreateUser(ctx, &auth.User{ID: randomID(t), Email: "bob@example.com", CreatedAt: base})
			},
			"UserByID":           func() error { _, err := closed.UserByID(ctx, u.ID); return err },
			"UserByEmail":        func() error { _, err := closed.UserByEmail(ctx, u.Email); return err },
			"UpdatePasswordHash": func() error { return closed.UpdatePasswordHash(ctx, u.ID, "h") },
			"DeleteUser":         func() error { return closed.DeleteUser(ctx, u.ID) },
			"CreateSession": func() error {
				s2 := &auth.Session{ID: randomID(t), UserID: u.ID, CreatedAt: base, ExpiresAt: base}
				return closed.CreateSession(ctx, s2, nextToken(t, s2, base))
			},
			"Session":       func() error { _, err := closed.Session(ctx, s.ID); return err },
			"RevokeSession": func() error { return closed.RevokeSession(ctx, s.ID, base) },
			"RotateRefreshToken": func() error {
				_, err := closed.RotateRefreshToken(ctx, rt.IDHash, nextToken(t, s, base), base)
				return err
			},
			"DeleteExpired":      func() error { _, err := closed.DeleteExpired(ctx, base); return err },
			"UserSessions":       func() error { _, err := closed.UserSessions(ctx, u.ID); return err },
			"RevokeUserSessions": func() error { _, err := closed.RevokeUserSessions(ctx, u.ID, "", base); return err },
			"CreateOneTimeToken": func() error {
				return closed.CreateOneTimeToken(ctx, &auth.OneTimeToken{IDHash: randomHash(t), Purpose: auth.PurposePasswordReset, UserID: u.ID, CreatedAt: base, ExpiresAt: base})
			},
			"ConsumeOneTimeToken": func() error {
				_, err := closed.ConsumeOneTimeToken(ctx, randomHash(t), auth.PurposePasswordReset, base)
				return err
			},
			"SetEmailVerified": func() error { return closed.SetEmailVerified(ctx, u.ID, base) },
			"MigrateTo":        func() error { return closed.MigrateTo(ctx, 1) },
		}
		for name, call := range calls {
			err := call()
			if err == nil || isSentinel(err) || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s on a closed database = %v; want a wrapped database error", name, err)
			}
		}
	})
}

// TestMigrateContextDone checks that a cancelled context stops Migrate and
// SchemaVersion with an error wrapping context.Canceled.
func TestMigrateContextDone(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		st := e.store(t, e.open(t))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := st.Migrate(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Migrate = %v; want context.Canceled", err)
		}
		if _, err := st.SchemaVersion(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("SchemaVersion = %v; want context.Canceled", err)
		}
		if v, err := st.SchemaVersion(t.Context()); v != 0 || err != nil {
			t.Errorf("SchemaVersion after a cancelled Migrate = %d, %v; want 0, nil", v, err)
		}
	})
}

// TestPostgresStricterDefaultIsolation checks that concurrent rotations
// still give one winner and ErrTokenUsed for the others when the server's
// default isolation is SERIALIZABLE: the store asks for READ COMMITTED.
func TestPostgresStricterDefaultIsolation(t *testing.T) {
	e := newEnv(t, targets[1])
	sep := "?"
	if strings.Contains(e.dsn, "?") {
		sep = "&"
	}
	e.dsn += sep + "default_transaction_isolation=serializable"
	ctx := t.Context()
	st := e.migrated(t)
	var level string
	if err := e.open(t).QueryRowContext(ctx, "SHOW default_transaction_isolation").Scan(&level); err != nil || level != "serializable" {
		t.Fatalf("default_transaction_isolation = %q, %v; want serializable", level, err)
	}
	u := newUser(t, st, "alice@example.com")
	s, rt := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = st.RotateRefreshToken(ctx, rt.IDHash, nextToken(t, s, base.Add(time.Hour)), base.Add(time.Minute))
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, auth.ErrTokenUsed):
			t.Errorf("rotation %d: %v; want ErrTokenUsed", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d rotations succeeded; want 1", wins)
	}
}

// TestRotateStricterIsolation checks that PostgreSQL's single-statement
// rotation, which runs outside an explicit transaction and so under the
// server's default_transaction_isolation, still lets exactly one of 50
// concurrent rotations of a token win when that default is REPEATABLE READ
// or SERIALIZABLE, where the losers fail with a serialization error rather
// than re-check the row: every loser reports ErrTokenUsed and the winner's
// successor.
func TestRotateStricterIsolation(t *testing.T) {
	tg := targets[1]
	for _, level := range []string{"repeatable%20read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			e := newEnv(t, tg)
			sep := "?"
			if strings.Contains(e.dsn, "?") {
				sep = "&"
			}
			e.dsn += sep + "default_transaction_isolation=" + level
			ctx := t.Context()
			st := e.migrated(t)
			var iso string
			if err := e.open(t).QueryRowContext(ctx, "SHOW transaction_isolation").Scan(&iso); err != nil {
				t.Fatal(err)
			}
			if want := strings.ReplaceAll(level, "%20", " "); iso != want {
				t.Fatalf("transaction_isolation = %q; want %q", iso, want)
			}
			u := newUser(t, st, "alice@example.com")
			s, cur := newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
			const n = 50
			nexts := make([]*auth.RefreshToken, n)
			rs := make([]*auth.Rotation, n)
			errs := make([]error, n)
			for i := range nexts {
				nexts[i] = nextToken(t, s, base.Add(time.Hour))
			}
			// A transaction holds the token's row lock until every rotation
			// waits for it, so that they contend: once it ends, one wins and
			// the others wait for its commit, then fail to serialize.
			db := e.open(t)
			blocker, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer blocker.Rollback()
			if _, err := blocker.ExecContext(ctx, "SELECT 1 FROM "+e.prefix+"refresh_tokens WHERE id_hash = $1 FOR UPDATE", cur.IDHash); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var done atomic.Int64
			for i := range n {
				wg.Go(func() {
					defer done.Add(1)
					rs[i], errs[i] = st.RotateRefreshToken(ctx, cur.IDHash, nexts[i], base.Add(time.Minute))
				})
			}
			// Every rotation is either waiting for the lock or already
			// over (a rotation that failed early, on a connection limit,
			// say, is over: its error is judged below). A session waiting
			// for any lock counts once; other tests' waiting sessions may
			// add to the count, which only ends the wait sooner (the
			// assertions below hold however many rotations contend).
			// A rotation that neither waits for the lock nor ends is stuck
			// in the store (a duplicate prepared statement's Close once
			// waited there for a connection busy behind the blocker): after
			// two minutes that is reported, and the blocker ends so that
			// the test does not hang.
			giveUp := time.Now().Add(2 * time.Minute)
			waiting := 0
			for waiting+int(done.Load()) < n {
				if time.Now().After(giveUp) {
					t.Errorf("after 2 minutes %d rotations wait for the lock and %d ended, of %d: the others are stuck in the store", waiting, done.Load(), n)
					break
				}
				if err := db.QueryRowContext(ctx, "SELECT COUNT(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()").Scan(&waiting); err != nil {
					t.Fatal(err)
				}
				runtime.Gosched()
			}
			if err := blocker.Rollback(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("rotations %d and %d both succeeded", winner, i)
					}
					winner = i
				} else if !errors.Is(err, auth.ErrTokenUsed) {
					t.Errorf("rotation %d: %v; want ErrTokenUsed", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no rotation succeeded")
			}
			for i, r := range rs {
				if i == winner || errs[i] == nil || !errors.Is(errs[i], auth.ErrTokenUsed) {
					continue
				}
				if r == nil || r.Successor == nil || r.Successor.IDHash != nexts[winner].IDHash || r.Old.SuccessorHash != nexts[winner].IDHash {
					t.Errorf("loser %d got %+v; want the winner's successor %s", i, r, nexts[winner].IDHash)
				}
			}
		})
	}
}
