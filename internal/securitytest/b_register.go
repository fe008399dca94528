package securitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section B: registration and email canonicalization.
func rowsB() []row {
	return []row{
		{id: "B01", name: "register_login_refresh_me_logout_contract", fn: testContractHappyPath},
		{id: "B02", name: "email_taken_in_any_case_or_spacing_is_409", fn: testEmailExistsInAnyCase},
		{id: "B05", name: "display_names_and_comments_refused", fn: testDisplayNamesRefused},
		{id: "B06", name: "unicode_case_mappings_refused", fn: testUnicodeCaseMappingsRefused},
		{id: "B07", name: "accented_variant_refused_on_every_store", fn: testAccentedVariant},
		{id: "B08", name: "homograph_refused", fn: testHomographRefused},
		{id: "B09", name: "sql_looking_emails_stored_literally", fn: testSQLLookingEmails},
		{id: "B10", name: "malformed_emails_refused", fn: testMalformedEmails},
		{id: "B11", name: "concurrent_registrations_one_winner", serial: true, fn: testConcurrentRegistration},
		{id: "B12", name: "registrations_throttled_per_address", fn: testRegisterThrottle},
	}
}

var createdAtRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// testContractHappyPath walks the contract's flow and checks each answer's
// exact shape: B01 (201, a server-generated id, the canonical email, no
// password or hash), D01 and D02 (login in another letter case), G01 and
// G13 (rotation), E01 (GET /me) and H01's 200 logout, with A17's headers
// and INV4 over the whole flow.
func testContractHappyPath(t *testing.T, s *suite) {
	e := s.env(t)

	// POST /register: 201 with exactly user{id,email,name} and two tokens.
	r := e.postJSON("/register", testutil.RegisterBody("  Ada.Lovelace@Example.COM ", goodPassword, "  Ada Lovelace  "))
	if r.status != http.StatusCreated {
		t.Fatalf("register: status %d, want 201; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "register", r.header)
	if bytes.Contains(r.body, []byte("argon2")) || bytes.Contains(r.body, []byte(goodPassword)) {
		t.Errorf("register: body carries the password or its hash: %s", r.body)
	}
	// deviceToken is an added member (issue #10): a credential that
	// exempts later logins from the account-wide ceiling on failures.
	if got, want := keysOf(t, r.body), []string{"accessToken", "deviceToken", "refreshToken", "user"}; !slices.Equal(got, want) {
		t.Errorf("register: body keys %v, want %v", got, want)
	}
	var reg struct {
		User         json.RawMessage
		AccessToken  string
		RefreshToken string
	}
	if err := json.Unmarshal(r.body, &reg); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, reg.User), []string{"email", "id", "name"}; !slices.Equal(got, want) {
		t.Errorf("register: user keys %v, want %v", got, want)
	}
	var regUser struct{ ID, Email, Name string }
	if err := json.Unmarshal(reg.User, &regUser); err != nil {
		t.Fatal(err)
	}
	if !testutil.UUIDRE.MatchString(regUser.ID) {
		t.Errorf("register: user id %q is not a UUID", regUser.ID)
	}
	if regUser.Email != "ada.lovelace@example.com" {
		t.Errorf("register: email %q, want it trimmed and lower-cased: ada.lovelace@example.com", regUser.Email)
	}
	if regUser.Name != "Ada Lovelace" {
		t.Errorf("register: name %q, want the trimmed name", regUser.Name)
	}
	for name, tok := range map[string]string{"accessToken": reg.AccessToken, "refreshToken": reg.RefreshToken} {
		if !strings.HasPrefix(tok, "eyJhbGciOiJIUzI1NiIs") || strings.Count(tok, ".") != 2 {
			t.Errorf("register: %s %q is not an HS256 JWT", name, tok)
		}
	}
	// The store holds the canonical email, byte for byte.
	if u, err := e.users.UserByEmail(context.Background(), "ada.lovelace@example.com"); err != nil || u.ID != regUser.ID {
		t.Errorf("store: UserByEmail of the canonical email = %+v, %v; want the registered user", u, err)
	}

	// POST /login: 200, the same shape, the same user, in any letter case.
	r = e.postJSON("/login", testutil.LoginBody(" ADA.lovelace@EXAMPLE.com\t", goodPassword))
	if r.status != http.StatusOK {
		t.Fatalf("login: status %d, want 200; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "login", r.header)
	// deviceToken is an added member (issue #10): a credential that
	// exempts later logins from the account-wide ceiling on failures.
	if got, want := keysOf(t, r.body), []string{"accessToken", "deviceToken", "refreshToken", "user"}; !slices.Equal(got, want) {
		t.Errorf("login: body keys %v, want %v", got, want)
	}
	login := mustSession(t, r, http.StatusOK)
	if login.userID != regUser.ID || login.email != regUser.Email {
		t.Errorf("login: user %q %q, want the registered %q %q", login.userID, login.email, regUser.ID, regUser.Email)
	}
	if login.access == reg.AccessToken || login.refresh == reg.RefreshToken {
		t.Error("login returned the registration's tokens; want a new session's")
	}
	if iat, exp := claimInt(t, login.access, "iat"), claimInt(t, login.access, "exp"); exp-iat != 900 {
		t.Errorf("login: access token lives %d s, want 900", exp-iat)
	}

	// POST /refresh: 200 with exactly two tokens, the refresh token rotated.
	r = e.postJSON("/refresh", testutil.RefreshBody(login.refresh))
	if r.status != http.StatusOK {
		t.Fatalf("refresh: status %d, want 200; body %s", r.status, r.body)
	}
	checkTokenHeaders(t, "refresh", r.header)
	if got, want := keysOf(t, r.body), []string{"accessToken", "refreshToken"}; !slices.Equal(got, want) {
		t.Errorf("refresh: body keys %v, want %v", got, want)
	}
	var pair struct{ AccessToken, RefreshToken string }
	if err := json.Unmarshal(r.body, &pair); err != nil {
		t.Fatal(err)
	}
	if pair.RefreshToken == "" || pair.RefreshToken == login.refresh {
		t.Errorf("refresh: new refresh token %q must differ from the one presented", pair.RefreshToken)
	}
	if pair.AccessToken == "" || pair.AccessToken == login.access {
		t.Errorf("refresh: new access token %q must be a new token", pair.AccessToken)
	}

	// GET /me: 200 with the profile.
	r = e.do(http.MethodGet, "/me", nil, bearer(pair.AccessToken))
	if r.status != http.StatusOK {
		t.Fatalf("me: status %d, want 200; body %s", r.status, r.body)
	}
	checkCommonHeaders(t, "me", r.header)
	if got, want := keysOf(t, r.body), []string{"user"}; !slices.Equal(got, want) {
		t.Errorf("me: body keys %v, want %v", got, want)
	}
	var me struct{ User json.RawMessage }
	if err := json.Unmarshal(r.body, &me); err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(t, me.User), []string{"createdAt", "email", "id", "name", "organizationId", "role"}; !slices.Equal(got, want) {
		t.Errorf("me: user keys %v, want %v", got, want)
	}
	var prof struct{ ID, Email, Name, OrganizationID, Role, CreatedAt string }
	if err := json.Unmarshal(me.User, &prof); err != nil {
		t.Fatal(err)
	}
	if prof.ID != regUser.ID || prof.Email != regUser.Email || prof.Name != regUser.Name {
		t.Errorf("me: %+v, want the registered user %+v", prof, regUser)
	}
	if prof.Role != "owner" {
		t.Errorf("me: role %q, want owner", prof.Role)
	}
	if !testutil.UUIDRE.MatchString(prof.OrganizationID) || prof.OrganizationID == prof.ID {
		t.Errorf("me: organizationId %q, want a fresh UUID", prof.OrganizationID)
	}
	if !createdAtRE.MatchString(prof.CreatedAt) {
		t.Errorf("me: createdAt %q does not match %s", prof.CreatedAt, createdAtRE)
	}
	if want := "2025-01-28T12:00:00.123Z"; prof.CreatedAt != want {
		t.Errorf("me: createdAt %q, want the registration instant %q", prof.CreatedAt, want)
	}

	// A second user gets an organization of its own.
	other := e.registerHTTP(t, "grace@example.com")
	r = e.do(http.MethodGet, "/me", nil, bearer(other.access))
	var me2 struct {
		User struct{ OrganizationID string }
	}
	if err := json.Unmarshal(r.body, &me2); err != nil {
		t.Fatal(err)
	}
	if me2.User.OrganizationID == prof.OrganizationID || !testutil.UUIDRE.MatchString(me2.User.OrganizationID) {
		t.Errorf("second user's organizationId %q, want a fresh UUID unlike %q", me2.User.OrganizationID, prof.OrganizationID)
	}

	// POST /logout: 200 with the message, exactly.
	r = e.do(http.MethodPost, "/logout", nil, bearer(pair.AccessToken))
	if r.status != http.StatusOK {
		t.Fatalf("logout: status %d, want 200; body %s", r.status, r.body)
	}
	checkCommonHeaders(t, "logout", r.header)
	var msg map[string]any
	if err := json.Unmarshal(r.body, &msg); err != nil || len(msg) != 1 || msg["message"] != "Logged out successfully" {
		t.Errorf("logout: body %s, want {\"message\":\"Logged out successfully\"}", r.body)
	}

	// Nothing secret reached the log.
	logs := e.logs.String()
	for name, secret := range map[string]string{
		"password": goodPassword, "access token": reg.AccessToken, "refresh token": reg.RefreshToken,
		"login access token": login.access, "refreshed refresh token": pair.RefreshToken, "hash": "$argon2id$",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log carries the %s:\n%s", name, logs)
		}
	}
}

// testEmailExistsInAnyCase covers B02 (the same email again: 409, the
// original password still works, the new one does not), B03 (another
// letter case) and B04 (surrounding white space).
func testEmailExistsInAnyCase(t *testing.T, s *suite) {
	e := s.env(t)
	orig := e.registerHTTP(t, "grace@example.com")

	for _, email := range []string{"grace@example.com", "GRACE@EXAMPLE.COM", "Grace@Example.Com", " grace@example.com\t", "gRaCe@eXaMpLe.cOm", "grace@example.com\r\n", "\tGRACE@example.com "} {
		r := e.postJSON("/register", testutil.RegisterBody(email, "another fine password", "Imposter"))
		checkError(t, "register "+email, r, http.StatusConflict, "EMAIL_EXISTS")
		if bytes.Contains(r.body, []byte(orig.userID)) {
			t.Errorf("register %s: the 409 leaks the existing user's id: %s", email, r.body)
		}
		_, err := e.register(email, "another fine password")
		if !errors.Is(err, auth.ErrEmailExists) {
			t.Errorf("Register(%q) through the Go API: %v, want ErrEmailExists", email, err)
		}
	}
	if n := e.userCount(); n != 1 {
		t.Errorf("after duplicate registrations the store holds %d users, want 1", n)
	}
	// The original account is untouched: its password works, the
	// would-be imposter's does not.
	if s := e.loginHTTP(t, "grace@example.com", goodPassword); s.userID != orig.userID {
		t.Errorf("login answered user %q, want %q", s.userID, orig.userID)
	}
	r := e.postJSON("/login", testutil.LoginBody("grace@example.com", "another fine password"))
	checkError(t, "login with the imposter's password", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	u, err := e.users.UserByEmail(context.Background(), "grace@example.com")
	if err != nil || u.ID != orig.userID || u.Name != "Test User" {
		t.Errorf("stored user %+v, %v; want the original, unchanged", u, err)
	}
}

// registerRefused registers each case's body and requires
// VALIDATION_ERROR naming the field; nothing may be stored.
func registerRefused(t *testing.T, e *env, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		r := e.postJSON("/register", c.body)
		fields := checkError(t, c.name, r, http.StatusBadRequest, "VALIDATION_ERROR")
		for _, f := range c.fields {
			if fields[f] == "" {
				t.Errorf("%s: fields %v do not name %q", c.name, fields, f)
			}
		}
	}
	if n := e.createdCount(); n != 0 {
		t.Errorf("failed registrations created %d users, want 0", n)
	}
}

// refusal is a registration body that must be refused, and the fields the
// error must name.
type refusal struct {
	name   string
	body   string
	fields []string
}

func emailRefusal(email string) refusal {
	return refusal{"email " + fmt.Sprintf("%q", email), testutil.RegisterBody(email, goodPassword, "A"), []string{"email"}}
}

// testDisplayNamesRefused: B05. Only a bare addr-spec is an email.
func testDisplayNamesRefused(t *testing.T, s *suite) {
	e := s.env(t)
	var cases []refusal
	for _, email := range []string{
		"Alice <alice@example.com>", "<alice@example.com>", "alice@example.com (work)", "(work) alice@example.com",
		"=?utf-8?q?a?= <alice@example.com>", `"Alice" <alice@example.com>`, "alice@example.com, bob@example.com",
		"alice@example.com <bob@example.com>",
	} {
		cases = append(cases, emailRefusal(email))
	}
	registerRefused(t, e, cases)
	// Nor do they log anyone in.
	e.registerHTTP(t, "alice@example.com")
	for _, email := range []string{"Alice <alice@example.com>", "alice@example.com (work)"} {
		checkError(t, "login as "+email, e.postJSON("/login", testutil.LoginBody(email, goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
}

// testUnicodeCaseMappingsRefused: B06. Characters that lower-case or fold
// into ASCII letters are refused, so no second account can shadow the
// first through them, on any store.
func testUnicodeCaseMappingsRefused(t *testing.T, s *suite) {
	e := s.env(t)
	var cases []refusal
	for _, email := range []string{"\u212Aate@example.com", "adm\u0130n@example.com", "\u017Fam@example.com", "kate@EXAMPLE.\u212Aom", "ｋate@example.com"} {
		cases = append(cases, emailRefusal(email))
	}
	registerRefused(t, e, cases)
	for _, pair := range [][2]string{{"kate@example.com", "\u212Aate@example.com"}, {"admin@example.com", "adm\u0130n@example.com"}, {"sam@example.com", "\u017Fam@example.com"}} {
		e.registerHTTP(t, pair[0])
		checkError(t, "register "+pair[1]+" after "+pair[0], e.postJSON("/register", testutil.RegisterBody(pair[1], goodPassword, "B")), http.StatusBadRequest, "VALIDATION_ERROR")
		checkError(t, "login as "+pair[1], e.postJSON("/login", testutil.LoginBody(pair[1], goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	if n := e.userCount(); n != 3 {
		t.Errorf("store holds %d users, want 3", n)
	}
}

// testAccentedVariant: B07. An accented variant of a registered address
// gets the same answer on every store (400: non-ASCII is refused before any
// store sees it), never a duplicate-key error from an accent-insensitive
// collation.
func testAccentedVariant(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerHTTP(t, "alice@example.com")
	for _, email := range []string{"alicé@example.com", "ALICÉ@example.com", "alice@exámple.com", "alice\u0301@example.com"} {
		r := e.postJSON("/register", testutil.RegisterBody(email, goodPassword, "A"))
		fields := checkError(t, "register "+email, r, http.StatusBadRequest, "VALIDATION_ERROR")
		if fields["email"] == "" {
			t.Errorf("register %s: fields %v do not name email", email, fields)
		}
		if _, err := e.users.UserByEmail(context.Background(), email); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("store: UserByEmail(%q) = %v, want ErrNotFound", email, err)
		}
	}
	if n := e.userCount(); n != 1 {
		t.Errorf("store holds %d users, want 1", n)
	}
	e.loginHTTP(t, "alice@example.com", goodPassword)
}

// testHomographRefused: B08. A Cyrillic homograph is refused (non-ASCII).
func testHomographRefused(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerHTTP(t, "alice@example.com")
	for _, email := range []string{"аlice@example.com", "alice@ехample.com", "аlice@xn--example.com"} {
		r := e.postJSON("/register", testutil.RegisterBody(email, goodPassword, "A"))
		checkError(t, "register "+email, r, http.StatusBadRequest, "VALIDATION_ERROR")
	}
	if n := e.userCount(); n != 1 {
		t.Errorf("store holds %d users, want 1", n)
	}
}

// testSQLLookingEmails: B09. Addresses that look like SQL but are valid
// dot-atoms are stored literally and log in; LIKE wildcards match only
// themselves. Quoted local parts are refused by CanonicalEmail (a
// documented restriction), so the quoted case is 400.
func testSQLLookingEmails(t *testing.T, s *suite) {
	e := s.env(t)
	e.registerHTTP(t, "first@example.com")
	literal := []string{
		"a'OR'1'='1@example.com", "x'--@example.com", "o'brien@example.com", "a%@example.com", "a_b@example.com",
		"robert'); drop table users;--@example.com",
	}
	stored := 1
	for _, email := range literal {
		if strings.ContainsRune(email, ' ') {
			// A space is not atext: refused, like the quoted form.
			checkError(t, "register "+email, e.postJSON("/register", testutil.RegisterBody(email, goodPassword, "S")), http.StatusBadRequest, "VALIDATION_ERROR")
			continue
		}
		reg := e.registerHTTP(t, email)
		stored++
		canon := strings.ToLower(email)
		if reg.email != canon {
			t.Errorf("register %s: stored as %q, want %q", email, reg.email, canon)
		}
		if l := e.loginHTTP(t, email, goodPassword); l.userID != reg.userID {
			t.Errorf("login %s: user %q, want %q", email, l.userID, reg.userID)
		}
		u, err := e.users.UserByEmail(context.Background(), canon)
		if err != nil || u.ID != reg.userID {
			t.Errorf("store: UserByEmail(%q) = %+v, %v", canon, u, err)
		}
	}
	checkError(t, `register "'; DROP TABLE users;--"@example.com`,
		e.postJSON("/register", testutil.RegisterBody(`"'; DROP TABLE users;--"@example.com`, goodPassword, "Q")), http.StatusBadRequest, "VALIDATION_ERROR")
	// Wildcards match only themselves.
	for _, email := range []string{"ab@example.com", "axb@example.com", "a@example.com", "aoops@example.com"} {
		checkError(t, "login "+email, e.postJSON("/login", testutil.LoginBody(email, goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
		if _, err := e.users.UserByEmail(context.Background(), email); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("store: UserByEmail(%q) = %v, want ErrNotFound", email, err)
		}
	}
	// The table is intact: the first user still logs in, and every user is
	// still there.
	e.loginHTTP(t, "first@example.com", goodPassword)
	if n := e.userCount(); n != stored {
		t.Errorf("store holds %d users, want %d", n, stored)
	}
}

// testMalformedEmails: B10. Malformed addresses are 400 before any store
// sees them (no database error for a NUL, no silent truncation of a long
// address).
func testMalformedEmails(t *testing.T, s *suite) {
	e := s.env(t)
	long254 := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	var cases []refusal
	for _, email := range []string{
		"plainaddress", "a@", "@x.io", "a@b@c.io", "a@exa mple.com", "a@x.io\u0000", "a\u0000b@x.io", "   ",
		"a@b", "a..b@example.com", ".a@example.com", "a.@example.com", "a@-x.io", "a@x..io", "a@[127.0.0.1]",
		strings.Repeat("a", 65) + "@example.com", long254 + "d", long254 + "\u00e9",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".io",
	} {
		cases = append(cases, emailRefusal(email))
	}
	registerRefused(t, e, cases)

	// Exactly 254 bytes is accepted and stored whole, so a 255-byte
	// address sharing its first 254 bytes can never collapse into it.
	if len(long254) != 254 {
		t.Fatalf("test address has %d bytes, want 254", len(long254))
	}
	reg := e.registerHTTP(t, long254)
	if reg.email != long254 {
		t.Errorf("254-byte email stored as %q", reg.email)
	}
	e.loginHTTP(t, long254, goodPassword)
	u, err := e.users.UserByEmail(context.Background(), long254)
	if err != nil || u.Email != long254 {
		t.Errorf("store: UserByEmail(254 bytes) = %+v, %v", u, err)
	}
	checkError(t, "login with 255 bytes", e.postJSON("/login", testutil.LoginBody(long254+"d", goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

// testConcurrentRegistration: B11. Of concurrent registrations of one
// email in mixed letter case, exactly one succeeds and the rest are
// EMAIL_EXISTS (never 500 from the store's unique constraint), leaving one
// user: over HTTP with the default throttling, and through the Go API.
func testConcurrentRegistration(t *testing.T, s *suite) {
	const email = "contended.user@example.com"
	// spell returns the address in the i-th mix of cases.
	spell := func(i int) string {
		b := []byte(email)
		for j := range b {
			if i>>(j%4)&1 == 1 && 'a' <= b[j] && b[j] <= 'z' {
				b[j] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	t.Run("http", func(t *testing.T) {
		e := s.env(t, throttling)
		results := burst(t, 16, func(i int) (*result, error) {
			return e.call(http.MethodPost, "/register", testutil.RegisterBody(spell(i), goodPassword, "C"), jsonHeaders)
		})
		created := 0
		for _, r := range results {
			if r.status == http.StatusCreated {
				created++
				continue
			}
			checkError(t, "losing registration", r, http.StatusConflict, "EMAIL_EXISTS")
		}
		if created != 1 {
			t.Errorf("%d of 16 concurrent registrations of one email succeeded, want exactly 1", created)
		}
		if n := e.userCount(); n != 1 {
			t.Errorf("store holds %d users, want 1", n)
		}
	})
	t.Run("go_api", func(t *testing.T) {
		e := s.env(t)
		const n = 50
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				addr := email
				if i%2 == 1 {
					addr = spell(i)
				}
				_, errs[i] = e.register(addr, goodPassword)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, auth.ErrEmailExists):
				t.Errorf("registration %d: %v, want success or ErrEmailExists", i, err)
			}
		}
		if created != 1 {
			t.Errorf("%d of %d concurrent registrations of one email succeeded, want exactly 1", created, n)
		}
		if got := e.userCount(); got != 1 {
			t.Errorf("store holds %d users, want 1", got)
		}
		if _, err := e.users.UserByEmail(context.Background(), email); err != nil {
			t.Errorf("store: UserByEmail of the canonical email: %v", err)
		}
	})
}

// testRegisterThrottle: B12. Registrations are throttled per client
// address, so EMAIL_EXISTS cannot be used to probe at scale; a throttled
// registration creates nothing.
func testRegisterThrottle(t *testing.T, s *suite) {
	cases := []struct {
		name string
		rule auth.Backoff // zero: the default
	}{
		{"custom rule", auth.Backoff{Free: 3, Base: 30 * time.Second, Max: time.Hour, Window: time.Hour}},
		{"default rule", auth.Backoff{}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			e := s.env(t, throttling, func(cfg *auth.Config) { cfg.Throttle.RegisterAddressBackoff = c.rule })
			rule := c.rule
			if rule == (auth.Backoff{}) {
				rule = auth.DefaultRegisterAddressBackoff
			}
			for i := range rule.Free {
				e.registerHTTP(t, fmt.Sprintf("probe%d@example.com", i))
			}
			r := e.postJSON("/register", testutil.RegisterBody("probe999@example.com", goodPassword, "Probe"))
			checkError(t, "registration over the limit", r, http.StatusTooManyRequests, "RATE_LIMITED")
			if d := retryAfter(t, r); d != rule.Base {
				t.Fatalf("Retry-After %v, want %v", d, rule.Base)
			}
			// The throttled call created nothing.
			if _, err := e.a.Login(context.Background(), "probe999@example.com", goodPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("login of a throttled registration: %v, want ErrInvalidCredentials", err)
			}
			// Another 30 attempts within the wait are all throttled, and
			// do not lengthen it.
			for i := range 30 {
				r := e.postJSON("/register", testutil.RegisterBody(fmt.Sprintf("late%d@example.com", i), goodPassword, "Late"))
				checkError(t, "registration over the limit", r, http.StatusTooManyRequests, "RATE_LIMITED")
			}
			e.clock.Advance(rule.Base)
			e.registerHTTP(t, "probe999@example.com")
		})
	}
	// Probing for a taken email counts as much as registering.
	t.Run("probes_count", func(t *testing.T) {
		rule := auth.Backoff{Free: 3, Base: 30 * time.Second, Max: time.Hour, Window: time.Hour}
		e := s.env(t, throttling, func(cfg *auth.Config) { cfg.Throttle.RegisterAddressBackoff = rule })
		e.registerHTTP(t, "taken@example.com")
		for range rule.Free - 1 {
			r := e.postJSON("/register", testutil.RegisterBody("TAKEN@example.com", goodPassword, "Probe"))
			checkError(t, "probe of a taken email", r, http.StatusConflict, "EMAIL_EXISTS")
		}
		r := e.postJSON("/register", testutil.RegisterBody("taken@example.com", goodPassword, "Probe"))
		checkError(t, "probe over the limit", r, http.StatusTooManyRequests, "RATE_LIMITED")
	})
}
