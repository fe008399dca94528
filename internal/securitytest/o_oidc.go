package securitytest

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/ingestiq/auth"
)

// Section O: sign-in with an external provider, at the core (the identity
// and linking rules, one-time sign-in codes, the last way in). The
// provider protocol itself (state, nonce, PKCE, ID token checks) is the
// oidc module's and is tested there against a real provider.
func rowsO() []row {
	return []row{
		{id: "O01", name: "identity_is_issuer_and_subject_never_email", fn: testOIdentity},
		{id: "O02", name: "an_email_match_links_only_when_both_sides_are_verified", fn: testOLinking},
		{id: "O03", name: "sign_in_codes_single_use_expire_bound_to_method", fn: testOCodes},
		{id: "O04", name: "fifty_redemptions_racing_one_code_one_wins", serial: true, fn: testOCodeRace},
		{id: "O05", name: "sessions_carry_amr_oidc_and_a_factor_still_asked", fn: testOSessions},
		{id: "O06", name: "passwordless_account_refuses_password_login", fn: testOPasswordless},
		{id: "O07", name: "last_way_in_cannot_be_unlinked_even_racing", serial: true, fn: testOLastWayIn},
		{id: "O08", name: "concurrent_first_sign_ins_make_one_user", serial: true, fn: testOConcurrentFirst},
	}
}

// oidcStores is the probe with the second-factor and identity stores of
// the stores as opened.
type oidcStores struct {
	*probe
	auth.SecondFactorStore
	auth.ExternalIdentityStore
}

// oidcEnv is env with external identities (and second factors) visible to
// the Authenticator; it skips the row when the stores lack them.
func (s *suite) oidcEnv(t *testing.T, opts ...option) (*env, auth.ExternalIdentityStore) {
	t.Helper()
	e := s.env(t, opts...)
	sf, ok1 := e.users.(auth.SecondFactorStore)
	ids, ok2 := e.users.(auth.ExternalIdentityStore)
	_, ok3 := e.tokens.(auth.OneTimeTokenStore)
	if !ok1 || !ok2 || !ok3 {
		t.Skip("the stores lack SecondFactorStore, ExternalIdentityStore or OneTimeTokenStore")
	}
	st := &oidcStores{e.probe, sf, ids}
	e.cfg.Users, e.cfg.Tokens = st, st
	a, err := auth.New(e.cfg)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	e.a = a
	e.mux = http.NewServeMux()
	e.mux.Handle(mountPrefix+"/", http.StripPrefix(mountPrefix, a.Handler()))
	return e, ids
}

const issuerA, issuerB = "https://accounts.example.com", "https://login.example.org/tenant/v2.0"

func mustExternal(t *testing.T, e *env, ext auth.ExternalUser) *auth.User {
	t.Helper()
	u, err := e.a.SignInExternal(context.Background(), ext)
	if err != nil {
		t.Fatalf("SignInExternal(%+v): %v", ext, err)
	}
	return u
}

// testOIdentity: O01.
func testOIdentity(t *testing.T, s *suite) {
	e, ids := s.oidcEnv(t)
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "1001", Email: "O01@Example.com", EmailVerified: true, Name: "O One"})
	if u.Email != "o01@example.com" || u.PasswordHash != "" || u.EmailVerifiedAt.IsZero() {
		t.Errorf("first sign-in made %+v; want a canonical, verified, passwordless user", u)
	}
	// The provider's email changed: the same identity, the same user.
	again := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "1001", Email: "renamed@example.com", EmailVerified: true})
	if again.ID != u.ID {
		t.Errorf("same (issuer, subject), new email: user %s, want %s", again.ID, u.ID)
	}
	// The same subject at another issuer is someone else.
	other := mustExternal(t, e, auth.ExternalUser{Issuer: issuerB, Subject: "1001", Email: "o01-b@example.com", EmailVerified: true})
	if other.ID == u.ID {
		t.Error("the same subject at another issuer signed in as the first user")
	}
	if _, err := ids.ExternalIdentity(context.Background(), issuerA, "1001"); err != nil {
		t.Errorf("identity not stored: %v", err)
	}
	if c := e.probe.counts(); c.usersCreated != 2 || c.sessions != 0 {
		t.Errorf("counts %+v; want 2 users and no session (sign-in codes open them)", c)
	}
}

// testOLinking: O02.
func testOLinking(t *testing.T, s *suite) {
	e, ids := s.oidcEnv(t)
	ctx := context.Background()
	verified := e.registerHTTP(t, "o02-verified@example.com")
	if err := e.users.(auth.EmailVerifier).SetEmailVerified(ctx, verified.userID, testStart); err != nil {
		t.Fatal(err)
	}
	unverified := e.registerHTTP(t, "o02-unverified@example.com")
	before := e.probe.counts()
	for _, tc := range []struct {
		what string
		ext  auth.ExternalUser
	}{
		{"unverified provider email, verified account", auth.ExternalUser{Issuer: issuerA, Subject: "attacker-1", Email: "o02-verified@example.com"}},
		{"verified provider email, unverified account", auth.ExternalUser{Issuer: issuerA, Subject: "attacker-2", Email: "o02-unverified@example.com", EmailVerified: true}},
		{"same, in another letter case", auth.ExternalUser{Issuer: issuerA, Subject: "attacker-3", Email: " O02-Verified@EXAMPLE.com", EmailVerified: false}},
	} {
		if _, err := e.a.SignInExternal(ctx, tc.ext); !errors.Is(err, auth.ErrAccountExists) {
			t.Errorf("%s: %v, want ACCOUNT_EXISTS", tc.what, err)
		}
		if _, err := ids.ExternalIdentity(ctx, tc.ext.Issuer, tc.ext.Subject); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("%s: an identity was stored (%v)", tc.what, err)
		}
	}
	if c := e.probe.counts(); c != before {
		t.Errorf("refused sign-ins changed the counts: %+v -> %+v", before, c)
	}
	for _, id := range []string{verified.userID, unverified.userID} {
		if l, _ := ids.UserExternalIdentities(ctx, id); len(l) != 0 {
			t.Errorf("user %s got linked: %v", id, l)
		}
	}
	// Both sides verified: linked to the account, no new user.
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "owner", Email: "o02-verified@example.com", EmailVerified: true})
	if u.ID != verified.userID {
		t.Errorf("both verified: user %s, want %s", u.ID, verified.userID)
	}
	// Linking from a signed-in account works whatever the emails say.
	if err := e.a.LinkExternal(ctx, unverified.userID, auth.ExternalUser{Issuer: issuerB, Subject: "mine", Email: "elsewhere@example.com"}); err != nil {
		t.Errorf("LinkExternal: %v", err)
	}
	// An identity linked to one user cannot be linked to another.
	if err := e.a.LinkExternal(ctx, unverified.userID, auth.ExternalUser{Issuer: issuerA, Subject: "owner"}); !errors.Is(err, auth.ErrIdentityLinked) {
		t.Errorf("LinkExternal(another user's identity): %v, want IDENTITY_LINKED", err)
	}
	if c := e.probe.counts(); c.usersCreated != before.usersCreated {
		t.Errorf("linking created %d users", c.usersCreated-before.usersCreated)
	}
}

// testOCodes: O03.
func testOCodes(t *testing.T, s *suite) {
	e, _ := s.oidcEnv(t)
	ctx := context.Background()
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o03", Email: "o03@example.com", EmailVerified: true})
	code, err := e.a.IssueSignInCode(ctx, u, "oidc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.RedeemSignInCode(ctx, code, "pwd"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("code redeemed for another method: %v, want INVALID_TOKEN", err)
	}
	if _, err := e.a.RedeemSignInCode(ctx, code, "oidc"); err != nil {
		t.Fatalf("RedeemSignInCode: %v", err)
	}
	if _, err := e.a.RedeemSignInCode(ctx, code, "oidc"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("second redemption: %v, want INVALID_TOKEN", err)
	}
	late, err := e.a.IssueSignInCode(ctx, u, "oidc")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(auth.SignInCodeTTL)
	before := e.probe.counts()
	if _, err := e.a.RedeemSignInCode(ctx, late, "oidc"); !errors.Is(err, auth.ErrTokenExpired) {
		t.Errorf("redemption after %v: %v, want TOKEN_EXPIRED", auth.SignInCodeTTL, err)
	}
	for _, bad := range []string{"", "forged-code", late + "x", "a.b.c"} {
		if _, err := e.a.RedeemSignInCode(ctx, bad, "oidc"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("RedeemSignInCode(%q): %v, want INVALID_TOKEN", bad, err)
		}
	}
	if c := e.probe.counts(); c != before {
		t.Errorf("refused redemptions changed the counts: %+v -> %+v", before, c)
	}
}

// testOCodeRace: O04.
func testOCodeRace(t *testing.T, s *suite) {
	e, _ := s.oidcEnv(t)
	ctx := context.Background()
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o04", Email: "o04@example.com", EmailVerified: true})
	code, err := e.a.IssueSignInCode(ctx, u, "oidc")
	if err != nil {
		t.Fatal(err)
	}
	before := e.probe.counts().sessions
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			res, err := e.a.RedeemSignInCode(ctx, code, "oidc")
			mu.Lock()
			defer mu.Unlock()
			if err == nil && res.AccessToken != "" {
				wins++
			} else if !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("a losing redemption: %v, want INVALID_TOKEN", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d redemptions of one code succeeded, want 1", wins)
	}
	if n := e.probe.counts().sessions - before; n != 1 {
		t.Errorf("%d sessions opened, want 1", n)
	}
}

// testOSessions: O05.
func testOSessions(t *testing.T, s *suite) {
	e, _ := s.oidcEnv(t)
	ctx := context.Background()
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o05", Email: "o05@example.com", EmailVerified: true})
	code, _ := e.a.IssueSignInCode(ctx, u, "oidc")
	res, err := e.a.RedeemSignInCode(ctx, code, "oidc")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.a.Verify(ctx, res.AccessToken)
	if err != nil || !slices.Equal(c.AMR, []string{"oidc"}) || c.AAL != 1 {
		t.Errorf("claims %+v, %v; want amr [oidc], aal 1", c, err)
	}
	// A user with a second factor: the provider is one factor.
	sess, _, _ := e.enrolled(t, "o05-mfa@example.com")
	if err := e.a.LinkExternal(ctx, sess.userID, auth.ExternalUser{Issuer: issuerA, Subject: "o05-mfa"}); err != nil {
		t.Fatal(err)
	}
	mfaUser := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o05-mfa"})
	before := e.probe.counts().sessions
	code, _ = e.a.IssueSignInCode(ctx, mfaUser, "oidc")
	_, err = e.a.RedeemSignInCode(ctx, code, "oidc")
	var ae *auth.Error
	if !errors.Is(err, auth.ErrMFARequired) || !errors.As(err, &ae) || ae.Ticket == "" {
		t.Errorf("sign-in of a user with a factor: %v, want MFA_REQUIRED with a ticket", err)
	}
	if n := e.probe.counts().sessions - before; n != 0 {
		t.Errorf("MFA_REQUIRED opened %d sessions", n)
	}
}

// testOPasswordless: O06.
func testOPasswordless(t *testing.T, s *suite) {
	e, _ := s.oidcEnv(t)
	mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o06", Email: "o06@example.com", EmailVerified: true})
	for _, pw := range []string{"x", goodPassword} {
		checkError(t, "password login of a passwordless account", e.postJSON("/login", `{"email":"o06@example.com","password":"`+pw+`"}`), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	for _, pw := range []string{"anything at all", goodPassword} {
		if _, err := e.a.Login(context.Background(), "o06@example.com", pw); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login(passwordless, %q): %v, want INVALID_CREDENTIALS", pw, err)
		}
	}
}

// testOLastWayIn: O07.
func testOLastWayIn(t *testing.T, s *suite) {
	e, ids := s.oidcEnv(t)
	ctx := context.Background()
	u := mustExternal(t, e, auth.ExternalUser{Issuer: issuerA, Subject: "o07", Email: "o07@example.com", EmailVerified: true})
	only, _ := ids.UserExternalIdentities(ctx, u.ID)
	if err := e.a.UnlinkExternal(ctx, u.ID, only[0].ID); !errors.Is(err, auth.ErrLastSignInMethod) {
		t.Errorf("unlinking the only way in: %v, want LAST_SIGN_IN_METHOD", err)
	}
	if err := e.a.LinkExternal(ctx, u.ID, auth.ExternalUser{Issuer: issuerB, Subject: "o07"}); err != nil {
		t.Fatal(err)
	}
	two, _ := ids.UserExternalIdentities(ctx, u.ID)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Go(func() {
			<-start
			errs[i] = e.a.UnlinkExternal(ctx, u.ID, two[i].ID)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrLastSignInMethod):
			t.Errorf("racing unlink: %v", err)
		}
	}
	if left, _ := ids.UserExternalIdentities(ctx, u.ID); ok != 1 || len(left) != 1 {
		t.Errorf("%d of 2 racing unlinks succeeded, %d identities left; want 1 and 1", ok, len(left))
	}
	// An account with a password may unlink its last identity.
	sess := e.registerHTTP(t, "o07-pw@example.com")
	if err := e.a.LinkExternal(ctx, sess.userID, auth.ExternalUser{Issuer: issuerA, Subject: "o07-pw"}); err != nil {
		t.Fatal(err)
	}
	l, _ := ids.UserExternalIdentities(ctx, sess.userID)
	if err := e.a.UnlinkExternal(ctx, sess.userID, l[0].ID); err != nil {
		t.Errorf("unlinking with a password left: %v", err)
	}
	// Another user's identity is not found.
	if err := e.a.UnlinkExternal(ctx, sess.userID, two[0].ID); !errors.Is(err, auth.ErrIdentityNotFound) {
		t.Errorf("unlinking another user's identity: %v, want NOT_FOUND", err)
	}
}

// testOConcurrentFirst: O08.
func testOConcurrentFirst(t *testing.T, s *suite) {
	e, _ := s.oidcEnv(t)
	ctx := context.Background()
	ext := auth.ExternalUser{Issuer: issuerA, Subject: "o08", Email: "o08@example.com", EmailVerified: true}
	users := make([]*auth.User, 10)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range users {
		wg.Go(func() {
			<-start
			users[i], errs[i] = e.a.SignInExternal(ctx, ext)
		})
	}
	close(start)
	wg.Wait()
	var id string
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent first sign-in %d: %v", i, err)
			continue
		}
		if id == "" {
			id = users[i].ID
		} else if users[i].ID != id {
			t.Errorf("concurrent first sign-ins gave users %s and %s", id, users[i].ID)
		}
	}
	c := e.probe.counts()
	if c.usersCreated-c.usersDeleted != 1 {
		t.Errorf("%d users left by concurrent first sign-ins, want 1", c.usersCreated-c.usersDeleted)
	}
}
