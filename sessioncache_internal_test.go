package auth

import (
	"strconv"
	"testing"
	"time"
)

// TestSessionCacheRevocationMarksBounded checks that the revocation marks
// stay bounded and that clearing them still refuses every put of a read
// begun before, while reads begun after are cached again.
func TestSessionCacheRevocationMarksBounded(t *testing.T) {
	t.Parallel()
	c := newSessionCache(time.Minute)
	now := time.Unix(1_700_000_000, 0)
	s := &Session{ID: "kept", UserID: "u", ExpiresAt: now.Add(time.Hour)}
	old := c.begin()
	for i := range maxRevocationMarks + 1 {
		c.forget("other" + strconv.Itoa(i))
	}
	if n := len(c.revoked); n > maxRevocationMarks {
		t.Fatalf("%d revocation marks, want at most %d", n, maxRevocationMarks)
	}
	c.put(s, now, old)
	if c.live(s.ID, s.UserID, "", now) {
		t.Fatal("a read begun before the marks were cleared was cached")
	}
	c.put(s, now, c.begin())
	if !c.live(s.ID, s.UserID, "", now) {
		t.Fatal("a read begun after the revocations was not cached")
	}
}
