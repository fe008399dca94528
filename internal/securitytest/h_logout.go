package securitytest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section H: logout and session termination.
func rowsH() []row {
	return []row{
		{id: "H01", name: "logout_revokes_only_its_session", fn: testLogoutRevokesOnlyItsSession},
		{id: "H02", name: "every_older_refresh_token_refused_after_logout", fn: testOlderRefreshTokensAfterLogout},
		{id: "H03", name: "access_token_and_its_malleated_twin_refused_after_logout", fn: testMalleatedAfterLogout},
		{id: "H04", name: "logout_twice_or_with_garbage_is_the_same_401", fn: testLogoutTwice},
		{id: "H06", name: "logout_cannot_reach_another_users_session", fn: testLogoutOtherUser},
		{id: "H07", name: "logout_racing_refresh_leaves_nothing_live", serial: true, fn: testLogoutRacesRefresh},
	}
}

// testLogoutRevokesOnlyItsSession covers H01 (after logout the refresh
// token is refused; the contract answers 200 with its message), H03 (the
// access token is refused at once), H04 (a second logout is 401, as the
// contract says) and H05 (the user's other session keeps working).
func testLogoutRevokesOnlyItsSession(t *testing.T, s *suite) {
	e := s.env(t)
	first := e.registerHTTP(t, "logout@example.com")
	second := e.loginHTTP(t, "logout@example.com", goodPassword)

	if r := e.do(http.MethodPost, "/logout", nil, bearer(first.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	checkError(t, "me after logout", e.do(http.MethodGet, "/me", nil, bearer(first.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "refresh after logout", e.postJSON("/refresh", testutil.RefreshBody(first.refresh)), http.StatusUnauthorized, "INVALID_TOKEN")
	checkError(t, "second logout", e.do(http.MethodPost, "/logout", nil, bearer(first.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	if got, err := e.tokens.Session(context.Background(), claimString(t, first.access, "sid")); err != nil || got.RevokedAt.IsZero() {
		t.Errorf("store: the logged-out session %+v, %v; want it revoked", got, err)
	}

	if r := e.do(http.MethodGet, "/me", nil, bearer(second.access)); r.status != http.StatusOK {
		t.Errorf("other session's access token after logout: status %d, want 200", r.status)
	}
	at, _ := e.refreshHTTP(t, second.refresh)
	if r := e.do(http.MethodGet, "/me", nil, bearer(at)); r.status != http.StatusOK {
		t.Errorf("other session's refreshed access token: status %d, want 200", r.status)
	}
	if got, err := e.tokens.Session(context.Background(), claimString(t, second.access, "sid")); err != nil || !got.RevokedAt.IsZero() {
		t.Errorf("store: the other session %+v, %v; want it live", got, err)
	}
}

// testOlderRefreshTokensAfterLogout: H02. After logout every refresh token
// the session ever had is refused, spent or not, without a 500 and without
// reuse detection showing through.
func testOlderRefreshTokensAfterLogout(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "older@example.com")
	_, rt2 := e.refreshHTTP(t, sess.refresh)
	at3, rt3 := e.refreshHTTP(t, rt2)
	if r := e.do(http.MethodPost, "/logout", nil, bearer(at3)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	var first *result
	for name, rt := range map[string]string{"RT1 (spent)": sess.refresh, "RT2 (spent)": rt2, "RT3 (live)": rt3} {
		r := e.postJSON("/refresh", testutil.RefreshBody(rt))
		checkError(t, name+" after logout", r, http.StatusUnauthorized, "INVALID_TOKEN")
		if first == nil {
			first = r
		} else if d := sameAnswer(first, r); d != "" {
			t.Errorf("%s after logout: %s", name, d)
		}
	}
	if n := e.probe.counts().rotations; n != 2 {
		t.Errorf("store: %d rotations, want the 2 before the logout", n)
	}
}

// testMalleatedAfterLogout: H03. After logout the access token is refused
// at once (sessions are checked on every verification), and so is its
// signature-malleated twin, which a denylist of raw tokens would miss.
func testMalleatedAfterLogout(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "twin@example.com")
	twin := bitTwin(sess.access)
	if twin == sess.access {
		t.Fatal("bitTwin returned the token unchanged")
	}
	if r := e.do(http.MethodGet, "/me", nil, bearer(twin)); r.status == http.StatusOK {
		t.Errorf("the malleated twin is accepted before logout (strict decoding off)")
	}
	if r := e.do(http.MethodPost, "/logout", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	for name, tok := range map[string]string{"the token": sess.access, "its malleated twin": twin} {
		checkError(t, name+" after logout", e.do(http.MethodGet, "/me", nil, bearer(tok)), http.StatusUnauthorized, "INVALID_TOKEN")
		if _, err := e.a.Verify(context.Background(), tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify of %s after logout: %v, want ErrInvalidToken", name, err)
		}
	}
}

// testLogoutTwice: H04 in the contract's terms. A second logout, and a
// logout with an unknown or garbage token, are the same 401 INVALID_TOKEN:
// never a 500, and no way to tell a revoked token from a forged one.
func testLogoutTwice(t *testing.T, s *suite) {
	e := s.env(t)
	sess := e.registerHTTP(t, "twice@example.com")
	if r := e.do(http.MethodPost, "/logout", nil, bearer(sess.access)); r.status != http.StatusOK {
		t.Fatalf("logout: status %d, body %s", r.status, r.body)
	}
	other := e.loginHTTP(t, "twice@example.com", goodPassword)
	var first *result
	for _, c := range []struct{ name, token string }{
		{"second logout", sess.access},
		{"third logout", sess.access},
		{"garbage", "garbage"},
		{"forged", testutil.WithSignatureFlipped(other.access)},
		{"refresh token", other.refresh},
		{"altered signature", sess.access[:strings.LastIndexByte(sess.access, '.')] + "." + strings.Repeat("A", 43)},
	} {
		r := e.do(http.MethodPost, "/logout", nil, bearer(c.token))
		checkError(t, c.name, r, http.StatusUnauthorized, "INVALID_TOKEN")
		if first == nil {
			first = r
		} else if d := sameAnswer(first, r); d != "" {
			t.Errorf("%s: %s", c.name, d)
		}
	}
	// None of them touched the live session.
	if r := e.do(http.MethodGet, "/me", nil, bearer(other.access)); r.status != http.StatusOK {
		t.Errorf("the live session after the refused logouts: status %d", r.status)
	}
}

// testLogoutOtherUser: H06. Logout revokes the bearer's own session only;
// a refresh token of another user in the body (which the contract
// ignores) is not touched.
func testLogoutOtherUser(t *testing.T, s *suite) {
	e := s.env(t)
	alice := e.registerHTTP(t, "alice@example.com")
	bob := e.registerHTTP(t, "bob@example.com")
	r := e.do(http.MethodPost, "/logout", strings.NewReader(testutil.RefreshBody(bob.refresh)), append(bearer(alice.access), jsonHeaders...))
	if r.status != http.StatusOK {
		t.Fatalf("alice's logout with bob's refresh token in the body: status %d, body %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/me", nil, bearer(bob.access)); r.status != http.StatusOK {
		t.Errorf("bob's access token after alice's logout: status %d, want 200", r.status)
	}
	e.refreshHTTP(t, bob.refresh)
	checkError(t, "alice's access token", e.do(http.MethodGet, "/me", nil, bearer(alice.access)), http.StatusUnauthorized, "INVALID_TOKEN")
	if got, err := e.tokens.Session(context.Background(), claimString(t, bob.access, "sid")); err != nil || !got.RevokedAt.IsZero() {
		t.Errorf("store: bob's session %+v, %v; want it live", got, err)
	}
}

// testLogoutRacesRefresh: H07. Logout and a refresh of the same session
// race, 100 times: whichever wins, nothing of the session is live
// afterwards, in the store or over the API.
func testLogoutRacesRefresh(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := context.Background()
	e.registerAPI(t, "racer@example.com")
	for round := range 100 {
		res, err := e.login("racer@example.com", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		var pair *auth.TokenPair
		var refreshErr, logoutErr error
		var wg sync.WaitGroup
		wg.Go(func() { pair, refreshErr = e.a.Refresh(ctx, res.RefreshToken) })
		wg.Go(func() { logoutErr = e.a.Logout(ctx, res.AccessToken) })
		wg.Wait()
		if logoutErr != nil {
			t.Fatalf("round %d: Logout: %v", round, logoutErr)
		}
		if got, err := e.tokens.Session(ctx, claimString(t, res.AccessToken, "sid")); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("round %d: store: session %+v, %v; want it revoked", round, got, err)
		}
		if refreshErr != nil {
			if !errors.Is(refreshErr, auth.ErrInvalidToken) {
				t.Errorf("round %d: Refresh racing Logout: %v, want success or ErrInvalidToken", round, refreshErr)
			}
			continue
		}
		// A refresh that won the race gives nothing that outlives the
		// logout.
		if _, err := e.a.Refresh(ctx, pair.RefreshToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("round %d: successor refresh token after logout: %v, want ErrInvalidToken", round, err)
		}
		if _, err := e.a.Verify(ctx, pair.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("round %d: successor access token after logout: %v, want ErrInvalidToken", round, err)
		}
	}
}
