package integration

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/sqlstore"
)

// TestDeleteUserSeesOrganizationChanges holds the lock of the first of a
// user's organizations (in id order) from a raw transaction while
// DeleteUser of that user waits for it, and changes another of the user's
// organizations meanwhile:
//
//   - promoted: the user, an admin of Z, is made its owner and Z's owner is
//     demoted. DeleteUser must then refuse (LAST_OWNER), not leave Z
//     without an owner.
//   - joined: the user is Z's only member, and another user accepts an
//     invitation to Z as its owner. DeleteUser must then keep Z and the new
//     membership, not delete Z as an organization of the user alone.
//
// PostgreSQL and MySQL (SQLite runs one writer at a time, so nothing can
// change meanwhile).
func TestDeleteUserSeesOrganizationChanges(t *testing.T) {
	for _, tg := range targets[1:] {
		for _, scenario := range []string{"promoted", "joined"} {
			t.Run(tg.name+"/"+scenario, func(t *testing.T) {
				e := newEnv(t, tg)
				st := e.migrated(t)
				ctx := t.Context()
				u := newUser(t, st, "u@example.com")
				v := newUser(t, st, "v@example.com")
				m := newUser(t, st, "m@example.com")
				z := &auth.Organization{ID: "zzzzzzzz-" + randomID(t)[9:], Name: "Z", CreatedAt: base}
				var firstOwner *auth.User
				if scenario == "promoted" {
					firstOwner = v
				} else {
					firstOwner = u
				}
				if err := st.CreateOrganization(ctx, z, &auth.Membership{OrganizationID: z.ID, UserID: firstOwner.ID, Role: auth.RoleOwner, CreatedAt: base}); err != nil {
					t.Fatal(err)
				}
				hash := randomHash(t)
				invite := func(email, role string) {
					t.Helper()
					h := randomHash(t)
					if err := st.CreateInvitation(ctx, &auth.Invitation{ID: randomID(t), OrganizationID: z.ID, Email: email, Role: role, TokenHash: h, InvitedBy: firstOwner.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}); err != nil {
						t.Fatal(err)
					}
					hash = h
				}
				accept := func(who *auth.User, role string) {
					t.Helper()
					if err := st.AcceptInvitation(ctx, hash, &auth.Membership{UserID: who.ID, Role: role, CreatedAt: base}); err != nil {
						t.Fatal(err)
					}
				}
				if scenario == "promoted" {
					invite(u.Email, auth.RoleAdmin)
					accept(u, auth.RoleAdmin)
					invite(m.Email, auth.RoleMember)
					accept(m, auth.RoleMember)
				} else {
					invite(m.Email, auth.RoleOwner)
				}

				ids := []string{u.OrganizationID, z.ID}
				sort.Strings(ids)
				if ids[0] == z.ID {
					t.Fatalf("Z (%s) sorts before the user's own organization", z.ID)
				}
				blocker, err := e.open(t).BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer blocker.Rollback()
				lock := "UPDATE " + e.prefix + "organizations SET name = name WHERE id = ?"
				if tg.dialect == sqlstore.Postgres {
					lock = strings.Replace(lock, "?", "$1", 1)
				}
				if _, err := blocker.ExecContext(ctx, lock, ids[0]); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- st.DeleteUser(ctx, u.ID) }()
				time.Sleep(300 * time.Millisecond) // DeleteUser reads the memberships and waits for the lock
				select {
				case err := <-done:
					t.Fatalf("DeleteUser did not wait for the organization's lock: %v", err)
				default:
				}
				if scenario == "promoted" {
					if err := st.SetMemberRole(ctx, z.ID, u.ID, auth.RoleOwner, false); err != nil {
						t.Fatal(err)
					}
					if err := st.SetMemberRole(ctx, z.ID, v.ID, auth.RoleAdmin, false); err != nil {
						t.Fatal(err)
					}
				} else {
					accept(m, auth.RoleOwner)
				}
				if err := blocker.Rollback(); err != nil {
					t.Fatal(err)
				}
				err = <-done
				members, merr := st.Members(ctx, z.ID)
				if merr != nil {
					t.Fatal(merr)
				}
				owners := 0
				for _, x := range members {
					if x.Role == auth.RoleOwner {
						owners++
					}
				}
				switch scenario {
				case "promoted":
					if !errors.Is(err, auth.ErrLastOwner) {
						t.Errorf("DeleteUser of Z's new only owner = %v; want ErrLastOwner", err)
					}
					if len(members) != 3 || owners != 1 {
						t.Errorf("Z has %d members and %d owners; want 3 and 1", len(members), owners)
					}
				case "joined":
					if err != nil {
						t.Fatalf("DeleteUser of Z's co-owner = %v; want nil", err)
					}
					if _, err := st.Organization(ctx, z.ID); err != nil || len(members) != 1 || members[0].UserID != m.ID || owners != 1 {
						t.Errorf("after the deletion Z is %v with members %+v; want Z kept with its new owner", err, members)
					}
				}
			})
		}
	}
}

// TestDeleteUserDeferredSQLite: on SQLite with deferred transactions (the
// driver's default, without _txlock=immediate), DeleteUser waits for a
// writer that holds the database instead of failing with SQLITE_BUSY when
// that writer commits between its first read and its first write: it
// writes first.
func TestDeleteUserDeferredSQLite(t *testing.T) {
	e := newEnv(t, targets[0])
	e.dsn = strings.Replace(e.dsn, "&_txlock=immediate", "", 1)
	st := e.migrated(t)
	ctx := t.Context()
	u := newUser(t, st, "u@example.com")
	other := newUser(t, st, "other@example.com")
	blocker, err := e.open(t).BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback()
	if _, err := blocker.ExecContext(ctx, "UPDATE "+e.prefix+"users SET name = 'Blocker' WHERE id = ?", other.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.DeleteUser(ctx, u.ID) }()
	time.Sleep(200 * time.Millisecond) // DeleteUser starts while the blocker holds the write lock
	if err := blocker.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("DeleteUser after another writer committed: %v", err)
	}
	if _, err := st.UserByID(ctx, u.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("the user is still there: %v", err)
	}
}
