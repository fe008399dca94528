package securitytest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
	"github.com/ingestiq/auth/memstore"
)

// Section G: refresh rotation, reuse detection, concurrency.
func rowsG() []row {
	return []row{
		{id: "G01", name: "rotation_spends_the_token_and_keeps_its_record", fn: testRotationKeepsRecord},
		{id: "G02", name: "replay_revokes_the_whole_session", fn: testRefreshReuseRevokesSession},
		{id: "G04", name: "revocation_persisted_in_the_store", fn: testRevocationPersisted},
		{id: "G05", name: "concurrent_refreshes_one_winner", serial: true, fn: testConcurrentRefresh},
		{id: "G05", name: "concurrent_refreshes_one_successor_in_the_window", serial: true, fn: testConcurrentRefreshWindow},
		{id: "G06", name: "reuse_window_lost_response_and_grandparent", fn: testReuseWindow},
		{id: "G07", name: "refresh_token_expiry", fn: testRefreshTokenExpiry},
		{id: "G08", name: "session_lifetime_caps_refresh", fn: testSessionLifetimeCapsRefresh},
		{id: "G09", name: "unknown_and_malformed_refresh_tokens", fn: testUnknownRefreshTokens},
		{id: "G11", name: "only_the_hash_of_the_token_id_is_stored", fn: testOnlyHashStored},
		{id: "G12", name: "tokens_of_the_wrong_kind_or_place", fn: testTokensOfTheWrongKind},
		{id: "G13", name: "refresh_keeps_subject_and_session", fn: testRefreshKeepsSubject},
	}
}

// strict turns the refresh reuse window off: every spent token presented
// again is reuse, as rows G02-G05 test.
func strict(c *auth.Config) { c.Sessions.RefreshReuseWindow = -1 }

// hashOf is the store's key of a refresh token: the hex SHA-256 of its id.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// probeRecord spends the stored record whose key is hash, through the
// store itself, with a successor in the given session, and returns the
// store's answer. It tells whether the store holds a record under a key
// and in what state, at the cost of spending it.
func (e *env) probeRecord(hash, sessionID, userID string) (*auth.RefreshToken, error) {
	at := e.clock.Now().UTC().Truncate(time.Millisecond)
	next := &auth.RefreshToken{IDHash: hashOf(uuid.NewString()), SessionID: sessionID, UserID: userID, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	r, err := e.tokens.RotateRefreshToken(context.Background(), hash, next, at)
	if r == nil {
		return nil, err
	}
	return r.Old, err
}

// testRotationKeepsRecord: G01. A refresh answers a new access token and a
// new refresh token, and the one presented is marked used in the store,
// not deleted, so that its reuse is recognized.
func testRotationKeepsRecord(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "rotate@example.com")
	e.clock.Advance(time.Minute)
	access, next := e.refreshHTTP(t, sess.refresh)
	if next == sess.refresh || access == sess.access || next == "" || access == "" {
		t.Fatalf("refresh did not rotate: %q %q", access, next)
	}
	sid := claimString(t, sess.refresh, "sid")
	old, err := e.probeRecord(hashOf(claimString(t, sess.refresh, "jti")), sid, sess.userID)
	if !errors.Is(err, auth.ErrTokenUsed) {
		t.Fatalf("store: rotating the spent token again: %v, want ErrTokenUsed (the record kept, marked used)", err)
	}
	if old == nil || old.UsedAt.IsZero() || old.SessionID != sid || old.UserID != sess.userID {
		t.Errorf("store: spent record %+v, want it marked used, of the session and user", old)
	}
	if want := testStart.Add(time.Minute); old != nil && old.UsedAt.Sub(want).Abs() > time.Millisecond {
		t.Errorf("store: UsedAt %v, want the refresh's instant %v", old.UsedAt, want)
	}
	// The successor is live.
	e.refreshHTTP(t, next)
}

// testRefreshReuseRevokesSession covers G02 and G03: a refresh token spent
// and presented again is theft. Replaying the first of a chain RT1 to RT4
// revokes the session: every token of the chain, and every access token
// of the session, is refused from then on. The user's other session is
// untouched.
func testRefreshReuseRevokesSession(t *testing.T, s *suite) {
	e := s.env(t, strict)
	sess := e.registerHTTP(t, "reuse@example.com")
	otherDevice := e.loginHTTP(t, "reuse@example.com", goodPassword)

	at2, rt2 := e.refreshHTTP(t, sess.refresh)
	at3, rt3 := e.refreshHTTP(t, rt2)
	at4, rt4 := e.refreshHTTP(t, rt3)
	if r := e.do(http.MethodGet, "/me", nil, bearer(at4)); r.status != http.StatusOK {
		t.Fatalf("me with the newest access token: status %d", r.status)
	}
	// Replaying the first refresh token is theft: the session ends.
	checkError(t, "replay of RT1", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT4 after the replay", e.postJSON("/refresh", testutil.RefreshBody(rt4)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT3 after the replay", e.postJSON("/refresh", testutil.RefreshBody(rt3)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT2 after the replay", e.postJSON("/refresh", testutil.RefreshBody(rt2)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "RT1 again", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	for name, at := range map[string]string{"AT1": sess.access, "AT2": at2, "AT3": at3, "AT4": at4} {
		checkError(t, name+" after the replay", e.do(http.MethodGet, "/me", nil, bearer(at)), http.StatusUnauthorized, "INVALID_TOKEN")
	}
	checkError(t, "logout with AT4 after the replay", e.do(http.MethodPost, "/logout", nil, bearer(at4)), http.StatusUnauthorized, "INVALID_TOKEN")
	// In the store, the newest token is refused too: its session is revoked.
	sid := claimString(t, sess.refresh, "sid")
	if _, err := e.probeRecord(hashOf(claimString(t, rt4, "jti")), sid, sess.userID); !errors.Is(err, auth.ErrSessionRevoked) {
		t.Errorf("store: rotating RT4 after the replay: %v, want ErrSessionRevoked", err)
	}
	// The user's other session is untouched.
	if r := e.do(http.MethodGet, "/me", nil, bearer(otherDevice.access)); r.status != http.StatusOK {
		t.Errorf("other device's access token: status %d, want 200", r.status)
	}
	e.refreshHTTP(t, otherDevice.refresh)
}

// testRevocationPersisted: G04. After a replay answered 401, the store, read
// afresh, holds the session revoked: the revocation was not rolled back
// with the failed call.
func testRevocationPersisted(t *testing.T, s *suite) {
	e := s.env(t, strict)
	sess := e.registerHTTP(t, "persist@example.com")
	_, rt2 := e.refreshHTTP(t, sess.refresh)
	e.clock.Advance(time.Second)
	checkError(t, "replay of RT1", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	sid := claimString(t, sess.access, "sid")
	got, err := e.tokens.Session(context.Background(), sid)
	if err != nil {
		t.Fatalf("store: Session(%s): %v", sid, err)
	}
	if got.RevokedAt.IsZero() {
		t.Fatalf("store: session %+v is not revoked after the replay", got)
	}
	if want := testStart.Add(time.Second); got.RevokedAt.Sub(want).Abs() > time.Millisecond {
		t.Errorf("store: RevokedAt %v, want the replay's instant %v", got.RevokedAt, want)
	}
	// A second Authenticator on the same store, as another process would
	// be, sees it too.
	other := e.sibling()
	if _, err := other.Refresh(context.Background(), rt2); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("another Authenticator refreshing RT2: %v, want ErrInvalidToken", err)
	}
	if _, err := other.Verify(context.Background(), sess.access); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("another Authenticator verifying AT1: %v, want ErrInvalidToken", err)
	}
}

// testConcurrentRefresh: G05. Of 50 concurrent refreshes of one token,
// exactly one succeeds and the others are INVALID_TOKEN; the losers
// presented a spent token, so the session ends and the winner's successor
// is refused too (no live refresh token is left in the family). Over a
// live server with the default throttling, three rounds, and through the
// Go API. With the reuse window off (strict); testConcurrentRefreshWindow
// has the default.
func testConcurrentRefresh(t *testing.T, s *suite) {
	const n = 50
	t.Run("http", func(t *testing.T) {
		e := s.env(t, throttling, strict)
		for round := range 3 {
			r, err := e.call(http.MethodPost, "/register", testutil.RegisterBody(fmt.Sprintf("race%d@example.com", round), goodPassword, "R"), jsonHeaders)
			if err != nil {
				t.Fatal(err)
			}
			sess := mustSession(t, r, http.StatusCreated)
			results := burst(t, n, func(int) (*result, error) {
				return e.call(http.MethodPost, "/refresh", testutil.RefreshBody(sess.refresh), jsonHeaders)
			})
			ok := 0
			var winner struct{ AccessToken, RefreshToken string }
			for i, r := range results {
				if r.status == http.StatusOK {
					ok++
					checkTokenHeaders(t, "winning refresh", r.header)
					if err := json.Unmarshal(r.body, &winner); err != nil {
						t.Fatal(err)
					}
					continue
				}
				checkError(t, fmt.Sprintf("losing refresh %d", i), r, http.StatusUnauthorized, "INVALID_TOKEN")
			}
			if ok != 1 {
				t.Fatalf("round %d: %d of %d concurrent refreshes of one token succeeded, want exactly 1", round, ok, n)
			}
			if rot := e.probe.counts().rotations; rot != round+1 {
				t.Errorf("round %d: the store holds %d rotated tokens in all, want %d", round, rot, round+1)
			}
			checkError(t, "the winner's successor", e.postJSON("/refresh", testutil.RefreshBody(winner.RefreshToken)), http.StatusUnauthorized, "INVALID_TOKEN")
			checkError(t, "the winner's access token", e.do(http.MethodGet, "/me", nil, bearer(winner.AccessToken)), http.StatusUnauthorized, "INVALID_TOKEN")
			if got, err := e.tokens.Session(context.Background(), claimString(t, sess.access, "sid")); err != nil || got.RevokedAt.IsZero() {
				t.Errorf("round %d: store: session %+v, %v; want it revoked", round, got, err)
			}
		}
	})
	t.Run("go_api", func(t *testing.T) {
		e := s.env(t, strict)
		res := e.registerAPI(t, "race@example.com")
		pairs := make([]*auth.TokenPair, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				pairs[i], errs[i] = e.a.Refresh(context.Background(), res.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, auth.ErrInvalidToken):
				t.Errorf("Refresh #%d: %v; want success or ErrInvalidToken", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent refreshes of one token succeeded; want exactly 1", wins, n)
		}
		for _, p := range pairs {
			if p == nil {
				continue
			}
			if _, err := e.a.Refresh(context.Background(), p.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Refresh of the winner's successor: %v, want ErrInvalidToken", err)
			}
		}
		if rot := e.probe.counts().rotations; rot != 1 {
			t.Errorf("the store holds %d rotated tokens, want 1", rot)
		}
	})
}

// testRefreshTokenExpiry: G07. A refresh token works within its 7 days and
// is TOKEN_EXPIRED after; a forged expired one is INVALID_TOKEN.
func testRefreshTokenExpiry(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := context.Background()
	a := e.registerAPI(t, "rt@example.com")
	b, err := e.login("rt@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(6*24*time.Hour + 23*time.Hour)
	if _, err := e.a.Refresh(ctx, a.RefreshToken); err != nil {
		t.Errorf("Refresh at 6d23h: %v, want success", err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if _, err := e.a.Refresh(ctx, testutil.WithSignatureFlipped(b.RefreshToken)); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Refresh of a forged expired token: %v, want ErrInvalidToken", err)
	}
	before := e.probe.counts().rotations
	_, err = e.a.Refresh(ctx, b.RefreshToken)
	if !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("Refresh at 7d+1s: %v, want ErrTokenExpired", err)
	}
	if after := e.probe.counts().rotations; after != before {
		t.Errorf("the expired refresh stored %d tokens", after-before)
	}
}

// testSessionLifetimeCapsRefresh: G08. However often a session is
// refreshed, it ends at its absolute lifetime, and no access token
// outlives it.
func testSessionLifetimeCapsRefresh(t *testing.T, s *suite) {
	e := s.env(t, func(c *auth.Config) { c.Sessions.SessionLifetime = 8 * 24 * time.Hour })
	ctx := context.Background()
	res := e.registerAPI(t, "lifetime@example.com")
	sessionEnd := testStart.Add(8 * 24 * time.Hour)

	rt := res.RefreshToken
	var at string
	// Each refresh token is used well within its own 7 days.
	for _, step := range []time.Duration{6 * 24 * time.Hour, 36 * time.Hour, 11*time.Hour + 50*time.Minute} {
		e.clock.Advance(step)
		pair, err := e.a.Refresh(ctx, rt)
		if err != nil {
			t.Fatalf("Refresh at %v: %v", e.clock.Now().Sub(testStart), err)
		}
		rt, at = pair.RefreshToken, pair.AccessToken
	}
	// 10 minutes before the session's end: the last access token does not
	// outlive the session.
	c, err := e.a.Verify(ctx, at)
	if err != nil {
		t.Fatalf("Verify before the session ends: %v", err)
	}
	if c.ExpiresAt.After(sessionEnd) {
		t.Errorf("access token expires %v, after the session's end %v", c.ExpiresAt, sessionEnd)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if _, err := e.a.Refresh(ctx, rt); err == nil {
		t.Error("Refresh after the session lifetime succeeded; want an error")
	}
	if _, err := e.a.Verify(ctx, at); err == nil {
		t.Error("Verify after the session lifetime succeeded; want an error")
	}
	r := e.postJSON("/refresh", testutil.RefreshBody(rt))
	if r.status != http.StatusUnauthorized {
		t.Errorf("POST /refresh after the session lifetime: status %d, want 401", r.status)
	}
	// A new login works.
	if _, err := e.login("lifetime@example.com", goodPassword); err != nil {
		t.Errorf("Login after the session ended: %v", err)
	}
}

// testUnknownRefreshTokens: G09. A genuine refresh token the store does not
// know, tokens of the wrong length, and values of the wrong type are
// refused without a 500 or a database error, and spend nothing.
func testUnknownRefreshTokens(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "known@example.com")
	// An Authenticator with the same secret and users but tokens of its own
	// signs refresh tokens that verify here, for a real user, with an id
	// this store has never seen.
	elsewhere := e.sibling(func(c *auth.Config) { c.Tokens = memstore.New() })
	foreign, err := elsewhere.Login(context.Background(), "known@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(sess.refresh, ".")
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"genuine but unknown to the store", testutil.RefreshBody(foreign.RefreshToken), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"empty", testutil.RefreshBody(""), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"one character", testutil.RefreshBody("x"), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"truncated", testutil.RefreshBody(sess.refresh[:len(sess.refresh)-1]), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"signature doubled", testutil.RefreshBody(sess.refresh + parts[2]), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"4 KiB", testutil.RefreshBody(strings.Repeat("a", 4096)), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"60 KB", testutil.RefreshBody(strings.Repeat("a", 60<<10)), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"a UUID", testutil.RefreshBody(uuid.NewString()), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"base64 of 32 bytes", testutil.RefreshBody(base64.RawURLEncoding.EncodeToString(make([]byte, 32))), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"SQL", testutil.RefreshBody("' OR '1'='1"), http.StatusUnauthorized, "INVALID_TOKEN"},
		{"null", `{"refreshToken":null}`, http.StatusBadRequest, "VALIDATION_ERROR"},
		{"number", `{"refreshToken":123}`, http.StatusBadRequest, "VALIDATION_ERROR"},
		{"1 MiB", testutil.RefreshBody(strings.Repeat("a", 1<<20)), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
	}
	for _, c := range cases {
		checkError(t, c.name, e.postJSON("/refresh", c.body), c.status, c.code)
	}
	// The store's genuine token was not spent, and its session is live.
	e.refreshHTTP(t, sess.refresh)
}

// testOnlyHashStored: G11. The store keys a refresh token by the SHA-256 of
// its id (jti), which is 32 random bytes; neither the token nor its id is a
// key.
func testOnlyHashStored(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "hash@example.com")
	jti := claimString(t, sess.refresh, "jti")
	raw, err := base64.RawURLEncoding.DecodeString(jti)
	if err != nil || len(raw) < 32 {
		t.Errorf("refresh token id %q: %d bytes (%v), want at least 32", jti, len(raw), err)
	}
	sid := claimString(t, sess.refresh, "sid")
	for name, key := range map[string]string{
		"the token":                  sess.refresh,
		"the token's id":             jti,
		"the SHA-256 of the token":   hashOf(sess.refresh),
		"the hex of the token's id":  hex.EncodeToString([]byte(jti)),
		"the SHA-256 of the id, b64": base64.RawURLEncoding.EncodeToString(func() []byte { sum := sha256.Sum256([]byte(jti)); return sum[:] }()),
	} {
		if _, err := e.probeRecord(key, sid, sess.userID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("store: a record keyed by %s: %v, want ErrNotFound", name, err)
		}
	}
	// The SHA-256 of the id is the key: spending it through the store
	// spends the token.
	if _, err := e.probeRecord(hashOf(jti), sid, sess.userID); err != nil {
		t.Fatalf("store: the record keyed by the SHA-256 of the id: %v", err)
	}
	checkError(t, "refresh of the token spent through the store", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
}

// testTokensOfTheWrongKind: G12. An access token is no refresh token, and a
// refresh token is taken only from the body: not from the Authorization
// header, not from the query.
func testTokensOfTheWrongKind(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "kind@example.com")
	checkError(t, "access token in refreshToken", e.postJSON("/refresh", testutil.RefreshBody(sess.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	r := e.do(http.MethodPost, "/refresh", strings.NewReader(`{}`), append(bearer(sess.refresh), jsonHeaders...))
	checkError(t, "refresh token in the Authorization header only", r, http.StatusBadRequest, "VALIDATION_ERROR")
	r = e.do(http.MethodPost, "/refresh?refreshToken="+sess.refresh, strings.NewReader(`{}`), jsonHeaders)
	checkError(t, "refresh token in the query only", r, http.StatusBadRequest, "VALIDATION_ERROR")
	r = e.do(http.MethodPost, "/refresh", nil, bearer(sess.refresh))
	checkError(t, "refresh token in the Authorization header, no body", r, http.StatusBadRequest, "INVALID_REQUEST")
	checkError(t, "refresh token as a bearer token", e.do(http.MethodGet, "/me", nil, bearer(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	if n := e.probe.counts().rotations; n != 0 {
		t.Errorf("the refused calls rotated %d tokens", n)
	}
	e.refreshHTTP(t, sess.refresh)
}

// testRefreshKeepsSubject: G13. The refreshed access token names the
// refresh token's owner and session, with a new id; the answer is not
// cacheable.
func testRefreshKeepsSubject(t *testing.T, s *suite) {
	e := s.env(t)
	alice := e.registerHTTP(t, "alice@example.com")
	bob := e.registerHTTP(t, "bob@example.com")
	e.clock.Advance(time.Minute)
	for _, sess := range []session{alice, bob} {
		r := e.postJSON("/refresh", testutil.RefreshBody(sess.refresh))
		checkTokenHeaders(t, "refresh", r.header)
		if r.status != http.StatusOK {
			t.Fatalf("refresh: status %d, body %s", r.status, r.body)
		}
		var pair struct{ AccessToken, RefreshToken string }
		if err := json.Unmarshal(r.body, &pair); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"access": pair.AccessToken, "refresh": pair.RefreshToken} {
			if got := claimString(t, tok, "sub"); got != sess.userID {
				t.Errorf("refreshed %s token: sub %q, want %q", name, got, sess.userID)
			}
			if got, want := claimString(t, tok, "sid"), claimString(t, sess.access, "sid"); got != want {
				t.Errorf("refreshed %s token: sid %q, want the session %q", name, got, want)
			}
		}
		if claimString(t, pair.AccessToken, "jti") == claimString(t, sess.access, "jti") {
			t.Error("the refreshed access token repeats the old one's jti")
		}
		if iat := claimInt(t, pair.AccessToken, "iat"); iat != testStart.Add(time.Minute).Unix() {
			t.Errorf("refreshed access token iat %d, want the refresh's instant", iat)
		}
		c, err := e.a.Verify(context.Background(), pair.AccessToken)
		if err != nil || c.UserID != sess.userID {
			t.Errorf("Verify of the refreshed token: %+v, %v", c, err)
		}
	}
}

// testConcurrentRefreshWindow: G05 with the default reuse window. 50
// concurrent refreshes of one token over a live server all answer 200 with
// one successor: every refresh token returned refreshes the same record
// (one jti) and the store holds one rotation. Refreshing one of them
// works; presenting another after the window is reuse and ends the session.
func testConcurrentRefreshWindow(t *testing.T, s *suite) {
	const n = 50
	e := s.env(t, throttling)
	sess := e.registerHTTP(t, "window-race@example.com")
	results := burst(t, n, func(int) (*result, error) {
		return e.call(http.MethodPost, "/refresh", testutil.RefreshBody(sess.refresh), jsonHeaders)
	})
	var successors []string
	jtis := map[string]bool{}
	for i, r := range results {
		if r.status != http.StatusOK {
			t.Errorf("refresh %d: status %d, body %s; want 200", i, r.status, r.body)
			continue
		}
		var body struct{ AccessToken, RefreshToken string }
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if sid := claimString(t, body.AccessToken, "sid"); sid != claimString(t, sess.access, "sid") {
			t.Errorf("refresh %d: access token of session %s, want %s", i, sid, claimString(t, sess.access, "sid"))
		}
		jtis[claimString(t, body.RefreshToken, "jti")] = true
		successors = append(successors, body.RefreshToken)
	}
	if len(jtis) != 1 {
		t.Fatalf("the 200 answers carry %d distinct refresh-token ids, want one successor", len(jtis))
	}
	if rot := e.probe.counts().rotations; rot != 1 {
		t.Errorf("the store holds %d rotated tokens, want 1", rot)
	}
	e.refreshHTTP(t, successors[0])
	e.clock.Advance(11 * time.Second)
	checkError(t, "another copy of the successor after the window", e.postJSON("/refresh", testutil.RefreshBody(successors[len(successors)-1])), http.StatusUnauthorized, "INVALID_TOKEN")
	if got, err := e.tokens.Session(context.Background(), claimString(t, sess.access, "sid")); err != nil || got.RevokedAt.IsZero() {
		t.Errorf("store: session %+v, %v; want it revoked", got, err)
	}
}

// testReuseWindow: G06, with the default window of 10 s. A response lost
// on its way: the retry within the window gets the same successor and a
// fresh access token of the same session, however often, and the client
// carries on; nothing new is stored. A retry after the window, or of a
// grandparent within it, is reuse: the session is revoked, in the store.
func testReuseWindow(t *testing.T, s *suite) {
	t.Run("lost_response", func(t *testing.T) {
		e := s.env(t)
		sess := e.registerHTTP(t, "lost@example.com")
		_, lost := e.refreshHTTP(t, sess.refresh) // the client never sees it
		for i := range 3 {
			e.clock.Advance(2 * time.Second)
			at, rt := e.refreshHTTP(t, sess.refresh)
			if got, want := claimString(t, rt, "jti"), claimString(t, lost, "jti"); got != want {
				t.Errorf("retry %d: successor jti %s, want the lost one's %s", i, got, want)
			}
			for _, c := range []string{"sub", "sid", "org", "role"} {
				if got, want := claimString(t, at, c), claimString(t, sess.access, c); got != want {
					t.Errorf("retry %d: access token %s = %q, want %q", i, c, got, want)
				}
			}
			if r := e.do(http.MethodGet, "/me", nil, bearer(at)); r.status != http.StatusOK {
				t.Errorf("retry %d: me: status %d", i, r.status)
			}
		}
		if rot := e.probe.counts().rotations; rot != 1 {
			t.Errorf("the store holds %d rotated tokens after three retries, want 1", rot)
		}
		if !strings.Contains(e.logs.String(), " auth.refresh.replay ") {
			t.Errorf("no auth.refresh.replay event in:\n%s", e.logs.String())
		}
		// The client carries on with the successor it finally received.
		_, rt3 := e.refreshHTTP(t, lost)
		e.refreshHTTP(t, rt3)
	})
	t.Run("retry_after_the_window", func(t *testing.T) {
		e := s.env(t)
		sess := e.registerHTTP(t, "late@example.com")
		_, rt2 := e.refreshHTTP(t, sess.refresh)
		e.clock.Advance(10 * time.Second)
		checkError(t, "retry at the end of the window", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
		checkError(t, "RT2 after the late retry", e.postJSON("/refresh", testutil.RefreshBody(rt2)), http.StatusUnauthorized, "INVALID_TOKEN")
		if got, err := e.tokens.Session(context.Background(), claimString(t, sess.access, "sid")); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("store: session %+v, %v; want it revoked", got, err)
		}
		if !strings.Contains(e.logs.String(), " auth.refresh.reuse ") {
			t.Errorf("no auth.refresh.reuse event in:\n%s", e.logs.String())
		}
	})
	t.Run("grandparent", func(t *testing.T) {
		e := s.env(t)
		sess := e.registerHTTP(t, "grand@example.com")
		_, rt2 := e.refreshHTTP(t, sess.refresh)
		at3, rt3 := e.refreshHTTP(t, rt2)
		checkError(t, "RT1 within the window, its successor spent", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
		checkError(t, "RT3 after the grandparent", e.postJSON("/refresh", testutil.RefreshBody(rt3)), http.StatusUnauthorized, "INVALID_TOKEN")
		checkError(t, "AT3 after the grandparent", e.do(http.MethodGet, "/me", nil, bearer(at3)), http.StatusUnauthorized, "INVALID_TOKEN")
		if got, err := e.tokens.Session(context.Background(), claimString(t, sess.access, "sid")); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("store: session %+v, %v; want it revoked", got, err)
		}
	})
	t.Run("revoked_session", func(t *testing.T) {
		e := s.env(t)
		sess := e.registerHTTP(t, "gone@example.com")
		e.refreshHTTP(t, sess.refresh)
		if r := e.do(http.MethodPost, "/logout", nil, bearer(sess.access)); r.status != http.StatusOK {
			t.Fatalf("logout: status %d", r.status)
		}
		checkError(t, "RT1 within the window after logout", e.postJSON("/refresh", testutil.RefreshBody(sess.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	})
}
