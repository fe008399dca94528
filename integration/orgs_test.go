package integration

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
)

// TestUpgradeToOrganizations builds a database at the schema before
// organizations (version 5), fills it with users (two sharing one
// organization, as OnRegister allowed) and a session, migrates, and checks
// that every user's organization and role became a membership, that the
// session took its user's organization, and that the session still
// refreshes with the membership's role.
func TestUpgradeToOrganizations(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		db := e.open(t)
		st := e.store(t, db)
		if err := st.MigrateTo(ctx, 5); err != nil {
			t.Fatalf("MigrateTo(5): %v", err)
		}
		shared := uuid.NewString()
		type row struct{ id, email, name, org, role string }
		users := []row{
			{uuid.NewString(), "ann@example.com", "Ann", uuid.NewString(), "owner"},
			{uuid.NewString(), "bob@example.com", "Bob", shared, "owner"},
			{uuid.NewString(), "cy@example.com", "Cy", shared, "member"},
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, u := range users {
			if _, err := db.ExecContext(ctx, e.v1(v1Statements.user), u.id, u.email, u.name, u.org, u.role, "x", now.UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
		sid, hash := uuid.NewString(), newHashHex()
		if _, err := db.ExecContext(ctx, e.v1(v1Statements.session), sid, users[2].id, now.UnixMilli(), now.Add(time.Hour).UnixMilli(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, e.v1(v1Statements.token), hash, sid, users[2].id, now.UnixMilli(), now.Add(time.Hour).UnixMilli(), nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		for _, u := range users {
			m, err := st.Membership(ctx, u.org, u.id)
			if err != nil || m.Role != u.role {
				t.Errorf("%s: membership %+v, %v; want role %q", u.email, m, err, u.role)
			}
		}
		if members, err := st.Members(ctx, shared); err != nil || len(members) != 2 {
			t.Errorf("shared organization: %d members, %v; want 2", len(members), err)
		}
		if o, err := st.Organization(ctx, users[0].org); err != nil || o.Name != "Ann" {
			t.Errorf("Ann's organization = %+v, %v; want named Ann", o, err)
		}
		s, err := st.Session(ctx, sid)
		if err != nil || s.OrganizationID != shared {
			t.Fatalf("session after the migration: %+v, %v; want organization %s", s, err, shared)
		}
		next := &auth.RefreshToken{IDHash: newHashHex(), SessionID: sid, UserID: users[2].id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		r, err := st.RotateRefreshToken(ctx, hash, next, now)
		if err != nil || r.OrganizationID != shared || r.Role != "member" {
			t.Fatalf("rotation after the migration: %+v, %v", r, err)
		}
		// The migrated member is removed: the session ends and cannot
		// refresh any more.
		if _, err := st.RemoveMember(ctx, shared, users[2].id, now, false); err != nil {
			t.Fatal(err)
		}
		next2 := &auth.RefreshToken{IDHash: newHashHex(), SessionID: sid, UserID: users[2].id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := st.RotateRefreshToken(ctx, next.IDHash, next2, now); !errors.Is(err, auth.ErrSessionRevoked) && !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("rotation after removal: %v; want ErrSessionRevoked or ErrNotFound", err)
		}
	})
}

func newHashHex() string {
	sum := sha256.Sum256([]byte(rand.Text()))
	return hex.EncodeToString(sum[:])
}

// migrationFiles counts the migrations of one dialect (every dialect has
// the same numbers), which schema_migrations holds one row each of.
func migrationFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("../sqlstore/migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
