package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// BenchmarkMemstoreFootprint measures goals G14 and G15 of
// spec/performance.md: the heap memstore holds per user (with a
// bcrypt-length password hash and both of its indexes) and per
// refresh-token record, as HeapAlloc differences after runtime.GC. It
// reports the figures (B/user, B/record) and judges nothing: a heap size
// depends on the runtime's map growth and GC, so scripts/bench
// (examples/benchratio) compares them with the spec's bounds, 512 B per
// user and 320 B per record.
//
// Each iteration stores AUTH_FOOTPRINT_N users and records (the spec's
// figure is 1000000), or 20000 of each when it is unset: at that size the
// maps' growth steps make the per-item figures coarse. Run it with
// -benchtime=1x.
//
// The records are what the library stores: users as Register builds them
// (UUID ids, the shared RoleOwner string), and refresh tokens added by
// rotation (a hex SHA-256 id hash, sharing the session's id strings), spread
// over one session per ten records. The stores are called directly: at a
// million, going through the Authenticator would take minutes.
func BenchmarkMemstoreFootprint(b *testing.B) {
	n := 20000
	if s := os.Getenv("AUTH_FOOTPRINT_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("AUTH_FOOTPRINT_N=%q: want a positive integer", s)
		}
		n = v
	}
	for range b.N {
		perUser, perRecord := memstoreFootprint(b, n)
		b.ReportMetric(perUser, "B/user")
		b.ReportMetric(perRecord, "B/record")
	}
}

// memstoreFootprint stores n users and n refresh records in a fresh
// memstore and returns the heap each takes, logging both.
func memstoreFootprint(t testing.TB, n int) (perUser, perRecord float64) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	sessions := max(1, n/10)

	// Everything the test itself keeps is allocated before the first
	// measurement; the strings it refers to are the store's anyway.
	userIDs := make([]string, n)
	sessionIDs := make([]string, sessions)
	current := make([]string, sessions) // each session's unspent token hash
	st := memstore.New()
	heap0 := footprintHeap()

	for i := range n {
		u := &auth.User{
			ID:             uuid.NewString(),
			Email:          fmt.Sprintf("user%07d@example.com", i),
			Name:           fmt.Sprintf("User %d", i),
			OrganizationID: uuid.NewString(),
			Role:           auth.RoleOwner,
			PasswordHash:   footprintBcryptLike(),
			CreatedAt:      now,
		}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		userIDs[i] = u.ID
	}
	heap1 := footprintHeap()

	for j := range sessions {
		s := &auth.Session{ID: uuid.NewString(), UserID: userIDs[j*n/sessions], CreatedAt: now, ExpiresAt: now.Add(auth.DefaultSessionLifetime)}
		first := footprintRecord(s.ID, s.UserID, now)
		if err := st.CreateSession(ctx, s, first); err != nil {
			t.Fatal(err)
		}
		sessionIDs[j], current[j] = s.ID, first.IDHash
	}
	heap2 := footprintHeap()

	for i := range n {
		j := i % sessions
		next := footprintRecord(sessionIDs[j], userIDs[j*n/sessions], now)
		if _, err := st.RotateRefreshToken(ctx, current[j], next, now); err != nil {
			t.Fatal(err)
		}
		current[j] = next.IDHash
	}
	heap3 := footprintHeap()
	runtime.KeepAlive(st)
	runtime.KeepAlive(userIDs)
	runtime.KeepAlive(sessionIDs)
	runtime.KeepAlive(current)

	perUser = float64(heap1-heap0) / float64(n)
	perSession := float64(heap2-heap1) / float64(sessions)
	perRecord = float64(heap3-heap2) / float64(n)
	t.Logf("G14: %d users: %.0f B/user (bound 512)", n, perUser)
	t.Logf("G15: %d refresh records over %d sessions: %.0f B/record (bound 320); %.0f B per session with its first record",
		n, sessions, perRecord, perSession)
	return perUser, perRecord
}

// footprintHeap returns HeapAlloc after collecting everything collectable.
func footprintHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// footprintBcryptLike returns a distinct string as long as a bcrypt hash
// (60 bytes); computing a million real ones would take hours.
func footprintBcryptLike() string {
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	return "$2a$10$" + base64.RawURLEncoding.EncodeToString(b)[:53]
}

// footprintRecord returns a refresh-token record as the library builds it:
// the hex SHA-256 of a fresh 32-byte id.
func footprintRecord(sessionID, userID string, now time.Time) *auth.RefreshToken {
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	sum := sha256.Sum256([]byte(base64.RawURLEncoding.EncodeToString(id)))
	return &auth.RefreshToken{
		IDHash:    hex.EncodeToString(sum[:]),
		SessionID: sessionID,
		UserID:    userID,
		CreatedAt: now,
		ExpiresAt: now.Add(auth.DefaultRefreshTokenTTL),
	}
}
