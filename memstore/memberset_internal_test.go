package memstore

import (
	"fmt"
	"testing"

	"github.com/ingestiq/auth"
)

// TestMemberSet checks the set on both sides of memberIndexAt: every
// member is found after each put, a put of the same user replaces, and a
// removed member is gone while the others stay.
func TestMemberSet(t *testing.T) {
	var none *memberSet
	if none.get("x") != nil || none.len() != 0 || none.all() != nil {
		t.Fatal("a nil set is not empty")
	}
	ms := &memberSet{}
	const n = 3 * memberIndexAt
	for i := range n {
		ms.put(&auth.Membership{UserID: fmt.Sprint("u", i), Role: auth.RoleMember})
		for j := 0; j <= i; j++ {
			if m := ms.get(fmt.Sprint("u", j)); m == nil || m.UserID != fmt.Sprint("u", j) {
				t.Fatalf("after %d puts, get(u%d) = %v", i+1, j, m)
			}
		}
	}
	ms.put(&auth.Membership{UserID: "u7", Role: auth.RoleAdmin})
	if ms.len() != n || ms.get("u7").Role != auth.RoleAdmin {
		t.Fatalf("replacing u7: len %d, role %q", ms.len(), ms.get("u7").Role)
	}
	for i := 0; i < n; i += 2 {
		ms.remove(fmt.Sprint("u", i))
	}
	ms.remove("nobody")
	if ms.len() != n/2 {
		t.Fatalf("len after removing half = %d, want %d", ms.len(), n/2)
	}
	for i := range n {
		if got := ms.get(fmt.Sprint("u", i)) != nil; got != (i%2 == 1) {
			t.Errorf("get(u%d) present = %v after removals", i, got)
		}
	}
	seen := map[string]bool{}
	for _, m := range ms.all() {
		seen[m.UserID] = true
	}
	if len(seen) != n/2 {
		t.Errorf("all() lists %d distinct members, want %d", len(seen), n/2)
	}
}
