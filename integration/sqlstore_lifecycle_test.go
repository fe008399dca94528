package integration

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// These are sqlstore's own tests of what migration 2 added: the session
// list, logout everywhere, one-time tokens and email verification. What
// every store must do is checked by the storetest suite.

// newOneTimeToken inserts a one-time token of u for the given purpose,
// issued at base and expiring at expires, and returns it.
func newOneTimeToken(t *testing.T, st *sqlstore.Store, u *auth.User, purpose string, expires time.Time) *auth.OneTimeToken {
	t.Helper()
	tok := &auth.OneTimeToken{IDHash: randomHash(t), Purpose: purpose, UserID: u.ID, CreatedAt: base, ExpiresAt: expires}
	if err := st.CreateOneTimeToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateOneTimeToken: %v", err)
	}
	return tok
}

// TestLifecycleStatements checks how many statements the new methods run:
// one query for a session list and for logout everywhere, one conditional
// UPDATE to spend a one-time token (a locking SELECT first on MySQL), and
// one UPDATE to mark an email verified.
func TestLifecycleStatements(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
		for range 3 {
			newSession(t, st, u, base.Add(time.Hour), base.Add(time.Hour))
		}
		tok := newOneTimeToken(t, st, u, auth.PurposePasswordReset, base.Add(time.Hour))

		var c counter
		counted := e.store(t, e.openCounting(t, &c))
		c.take()
		tests := []struct {
			name string
			call func() error
			want string
		}{
			{"UserSessions", func() error {
				list, err := counted.UserSessions(ctx, u.ID)
				if err == nil && len(list) != 3 {
					t.Errorf("UserSessions listed %d sessions; want 3", len(list))
				}
				return err
			}, "SELECT"},
			{"ConsumeOneTimeToken", func() error {
				_, err := counted.ConsumeOneTimeToken(ctx, tok.IDHash, tok.Purpose, base)
				return err
			}, map[bool]string{true: "SELECT UPDATE", false: "UPDATE"}[e.dialect == sqlstore.MySQL]},
			{"SetEmailVerified", func() error { return counted.SetEmailVerified(ctx, u.ID, base) }, "UPDATE"},
			{"RevokeUserSessions", func() error {
				n, err := counted.RevokeUserSessions(ctx, u.ID, "", base)
				if err == nil && n != 3 {
					t.Errorf("RevokeUserSessions revoked %d sessions; want 3", n)
				}
				return err
			}, "UPDATE"},
		}
		for _, tt := range tests {
			if err := tt.call(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := verbs(c.take()); got != tt.want {
				t.Errorf("statements of %s: %s; want %s", tt.name, got, tt.want)
			}
		}

		// A spent token costs the same and reports ErrNotFound; a second
		// verification on MySQL, which counts changed rows only, one more
		// statement to tell the user exists.
		if _, err := counted.ConsumeOneTimeToken(ctx, tok.IDHash, tok.Purpose, base); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("ConsumeOneTimeToken(spent token) = %v; want ErrNotFound", err)
		}
		t.Logf("statements of a refused consumption: %s", verbs(c.take()))
		if err := counted.SetEmailVerified(ctx, u.ID, base.Add(time.Hour)); err != nil {
			t.Errorf("SetEmailVerified(verified user): %v", err)
		}
		t.Logf("statements of a second verification: %s", verbs(c.take()))
		if got, err := counted.UserByID(ctx, u.ID); err != nil || !got.EmailVerifiedAt.Equal(base) {
			t.Errorf("UserByID = %+v, %v; want verified at %v, the first time", got, err, base)
		}
	})
}

// TestConsumeAcrossProcesses races consumptions of one one-time token from
// several "processes", each with its own connection pool: exactly one wins,
// the others see ErrNotFound.
func TestConsumeAcrossProcesses(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		st := e.migrated(t)
		u := newUser(t, st, "alice@example.com")
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
			tok := newOneTimeToken(t, st, u, auth.PurposePasswordReset, base.Add(time.Hour))
			at := base.Add(time.Duration(round+1) * time.Minute)
			got := make([]*auth.OneTimeToken, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, ps := range stores {
				wg.Go(func() {
					<-start
					got[i], errs[i] = ps.ConsumeOneTimeToken(ctx, tok.IDHash, tok.Purpose, at)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					if got[i] == nil || got[i].UserID != u.ID || !got[i].UsedAt.Equal(at) || !got[i].ExpiresAt.Equal(tok.ExpiresAt) {
						t.Errorf("round %d: winner got %+v", round, got[i])
					}
				case !errors.Is(err, auth.ErrNotFound):
					t.Errorf("round %d: process %d: %v; want success or ErrNotFound", round, i, err)
				}
			}
			if wins != 1 {
				t.Errorf("round %d: %d consumptions of one token succeeded; want 1", round, wins)
			}
		}
	})
}

// TestMigrateResumesOnMySQL checks that Migrate finishes migration 2 after
// a run that was interrupted once some of its columns had been added: MySQL
// commits each ALTER TABLE on its own and cannot add a column only if it is
// missing.
func TestMigrateResumesOnMySQL(t *testing.T) {
	e := newEnv(t, targets[2])
	ctx := t.Context()
	db := e.open(t)
	st := e.store(t, db)
	if err := st.MigrateTo(ctx, 1); err != nil {
		t.Fatalf("MigrateTo(1): %v", err)
	}
	u := &auth.User{ID: randomID(t), Email: "alice@example.com", Name: "Alice", OrganizationID: randomID(t), Role: auth.RoleOwner, PasswordHash: "h", CreatedAt: base}
	if _, err := db.ExecContext(ctx, e.v1(v1Statements.user), u.ID, u.Email, u.Name, u.OrganizationID, u.Role, u.PasswordHash, base.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// The interrupted run: the first two statements of migration 2.
	for _, stmt := range []string{
		"ALTER TABLE " + e.prefix + "users ADD COLUMN email_verified_at BIGINT NULL",
		"ALTER TABLE " + e.prefix + "sessions ADD COLUMN user_agent VARCHAR(512) NOT NULL DEFAULT '', ADD COLUMN ip_address VARCHAR(64) NOT NULL DEFAULT ''",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate after an interrupted run: %v", err)
	}
	if v, err := st.SchemaVersion(ctx); err != nil || v != st.LatestVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, st.LatestVersion())
	}
	if err := st.SetEmailVerified(ctx, u.ID, base); err != nil {
		t.Fatalf("SetEmailVerified: %v", err)
	}
	tok := newOneTimeToken(t, st, u, auth.PurposeEmailVerification, base.Add(time.Hour))
	if _, err := st.ConsumeOneTimeToken(ctx, tok.IDHash, tok.Purpose, base); err != nil {
		t.Fatalf("ConsumeOneTimeToken: %v", err)
	}
}

// TestMigrateToSteps checks that MigrateTo applies migrations up to the
// version asked for and never goes back.
func TestMigrateToSteps(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		db := e.open(t)
		st := e.store(t, db)
		latest := st.LatestVersion()
		for _, step := range []struct{ to, want int }{{1, 1}, {1, 1}, {latest, latest}, {1, latest}} {
			if err := st.MigrateTo(ctx, step.to); err != nil {
				t.Fatalf("MigrateTo(%d): %v", step.to, err)
			}
			if v, err := st.SchemaVersion(ctx); err != nil || v != step.want {
				t.Fatalf("SchemaVersion after MigrateTo(%d) = %d, %v; want %d", step.to, v, err, step.want)
			}
		}
		// One row per migration; numbers may have gaps.
		if n := e.count(t, db, "schema_migrations"); n != migrationFiles(t) {
			t.Errorf("schema_migrations has %d rows; want %d", n, migrationFiles(t))
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		newUser(t, st, "alice@example.com")
	})
}
