package securitytest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/internal/testutil"
)

// Section C: password policy and hashing.
func rowsC() []row {
	return []row{
		{id: "C01", name: "seven_characters_refused", fn: testSevenCharacters},
		{id: "C02", name: "eight_ascii_characters_accepted", fn: testEightCharacters},
		{id: "C03", name: "length_counts_code_points_not_bytes", fn: testCodePointsCounted},
		{id: "C04", name: "multibyte_passwords_accepted", fn: testMultibytePasswords},
		{id: "C05", name: "common_passwords_refused", fn: testCommonPasswords},
		{id: "C06", name: "password_based_on_email_refused", fn: testPasswordFromEmail},
		{id: "C07", name: "no_composition_rules", fn: testNoCompositionRules},
		{id: "C08", name: "sixty_four_characters_accepted", fn: testSixtyFourCharacters},
		{id: "C09", name: "seventy_two_bytes_accepted", fn: testSeventyTwoBytes},
		{id: "C10", name: "seventy_three_bytes_accepted_never_truncated", fn: testSeventyThreeBytes},
		{id: "C11", name: "bcrypt_import_never_truncated", fn: testBcryptLongPasswordNotTruncated},
		{id: "C12", name: "long_passwords_capped_before_hashing", fn: testLongPasswords},
		{id: "C13", name: "nul_bytes_kept", fn: testNULPassword},
		{id: "C14", name: "never_trimmed", fn: testPasswordNotTrimmed},
		{id: "C15", name: "not_normalized_symmetrically", fn: testPasswordNotNormalized},
		{id: "C16", name: "invalid_unicode_refused", fn: testInvalidUnicodePassword},
		{id: "C17", name: "hashes_are_salted_argon2id_phc", fn: testDefaultHashParameters},
		{id: "C17", name: "bcrypt_import_upgraded_to_argon2id", fn: testBcryptHashUpgrade},
		{id: "C18", name: "failed_registration_leaves_no_row", fn: testFailedRegisterLeavesNoUser},
		{id: "C18", name: "corrupt_hash_never_verifies", fn: testCorruptHashNeverVerifies},
	}
}

// passwordRefusals returns the refusal of each password at registration.
func passwordRefusals(email string, passwords ...string) []refusal {
	var cases []refusal
	for _, pw := range passwords {
		cases = append(cases, refusal{fmt.Sprintf("password %q (%d bytes)", pw, len(pw)), testutil.RegisterBody(email, pw, "A"), []string{"password"}})
	}
	return cases
}

// registerAccepted registers each (email, password) pair through the
// handler and logs in with the password exactly as given.
func registerAccepted(t *testing.T, e *env, cases [][2]string) {
	t.Helper()
	for _, c := range cases {
		r := e.postJSON("/register", testutil.RegisterBody(c[0], c[1], "A"))
		if r.status != http.StatusCreated {
			t.Errorf("register %s with a password of %d bytes: status %d, want 201; body %s", c[0], len(c[1]), r.status, r.body)
			continue
		}
		// The password is used exactly as given.
		e.loginHTTP(t, c[0], c[1])
	}
}

// testSevenCharacters: C01.
func testSevenCharacters(t *testing.T, s *suite) {
	e := s.env(t)
	registerRefused(t, e, passwordRefusals("a@x.io", "k9#mQz2", "1234567", "       "))
}

// testEightCharacters: C02.
func testEightCharacters(t *testing.T, s *suite) {
	e := s.env(t)
	registerAccepted(t, e, [][2]string{{"eight@example.com", "zq8vNw3p"}})
}

// testCodePointsCounted: C03. Seven code points are too few however many
// bytes they take.
func testCodePointsCounted(t *testing.T, s *suite) {
	e := s.env(t)
	registerRefused(t, e, passwordRefusals("a@x.io", "ééééééé", "😀😀😀😀😀😀😀", "密码密码密码密"))
}

// testMultibytePasswords: C04.
func testMultibytePasswords(t *testing.T, s *suite) {
	e := s.env(t)
	registerAccepted(t, e, [][2]string{
		{"cyr@example.com", "пароль12"},
		{"cjk@example.com", "密码密码密码密码"},
		{"emoji@example.com", "😀😀😀😀😀😀😀😀"},
	})
}

// testCommonPasswords: C05. The blocklist is matched without regard to
// case.
func testCommonPasswords(t *testing.T, s *suite) {
	e := s.env(t)
	registerRefused(t, e, passwordRefusals("a@x.io", "password", "12345678", "qwertyuiop", "iloveyou", "PASSWORD", "Password1", "QwErTyUiOp"))
}

// testPasswordFromEmail: C06.
func testPasswordFromEmail(t *testing.T, s *suite) {
	e := s.env(t)
	registerRefused(t, e, passwordRefusals("alice@example.com", "alice@example.com", "ALICE@EXAMPLE.COM", "alicealice", "AliceAliceAlice"))
}

// testNoCompositionRules: C07.
func testNoCompositionRules(t *testing.T, s *suite) {
	e := s.env(t)
	registerAccepted(t, e, [][2]string{
		{"horse@example.com", "correct horse battery staple"},
		{"lower@example.com", "qwmnbvcxzlkjhgfd"},
		{"spaces@example.com", "        x       "},
		{"digits@example.com", "90210478365"},
	})
}

// testSixtyFourCharacters: C08. 64 ASCII characters, and 64 Cyrillic ones
// (128 bytes), are accepted and log in.
func testSixtyFourCharacters(t *testing.T, s *suite) {
	e := s.env(t)
	registerAccepted(t, e, [][2]string{
		{"ascii64@example.com", strings.Repeat("Ab3$", 16)},
		{"cyr64@example.com", strings.Repeat("жЖщ", 21) + "ы"},
	})
}

// testSeventyTwoBytes: C09.
func testSeventyTwoBytes(t *testing.T, s *suite) {
	e := s.env(t)
	p72 := strings.Repeat("0123456789ab", 6)
	registerAccepted(t, e, [][2]string{{"p72@example.com", p72}})
	checkError(t, "login with the first 71 bytes", e.postJSON("/login", testutil.LoginBody("p72@example.com", p72[:71])), http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

// testSeventyThreeBytes: C10 with argon2id, which reads every byte: 73
// bytes register, and their first 72 do not log in. (Registration never
// hashes with bcrypt; C11 covers imported bcrypt hashes.)
func testSeventyThreeBytes(t *testing.T, s *suite) {
	e := s.env(t)
	p73 := strings.Repeat("0123456789ab", 6) + "Z"
	registerAccepted(t, e, [][2]string{{"p73@example.com", p73}})
	checkError(t, "login with the first 72 bytes", e.postJSON("/login", testutil.LoginBody("p73@example.com", p73[:72])), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	checkError(t, "login with 74 bytes", e.postJSON("/login", testutil.LoginBody("p73@example.com", p73+"x")), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	if h := e.storedHash(t, "p73@example.com"); !strings.HasPrefix(h, "$argon2id$") {
		t.Errorf("stored hash %q, want argon2id", h)
	}
}

// testBcryptLongPasswordNotTruncated: C11. Go's bcrypt compares only the
// first 72 bytes; a longer password must not log in to an imported bcrypt
// hash of its prefix, through the Go API or over HTTP.
func testBcryptLongPasswordNotTruncated(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := context.Background()
	p72 := strings.Repeat("0123456789ab", 6) // 72 bytes: all bcrypt reads
	h, err := bcrypt.GenerateFromPassword([]byte(p72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.storeLegacyUser(t, "long@example.com", string(h))
	if bcrypt.CompareHashAndPassword(h, []byte(p72+"x")) != nil {
		t.Fatal("bcrypt no longer truncates; this test would prove nothing")
	}
	for _, pw := range []string{p72 + "x", p72 + "xyz", p72 + strings.Repeat("z", 928)} {
		if _, err := e.login("long@example.com", pw); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login with %d bytes whose first 72 match: %v, want ErrInvalidCredentials", len(pw), err)
		}
		r := e.postJSON("/login", testutil.LoginBody("long@example.com", pw))
		checkError(t, "login with a 72-byte prefix", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	if got := e.storedHash(t, "long@example.com"); got != string(h) {
		t.Errorf("hash changed by failed logins: %q", got)
	}
	if _, err := e.a.Login(ctx, "long@example.com", p72); err != nil {
		t.Errorf("Login with the exact 72 bytes: %v", err)
	}
}

// testLongPasswords: C12. 1000 and 1024 bytes are accepted; longer
// passwords are refused before any hashing: a registration with one does
// not even wait for a hashing slot. A password that would make the body
// exceed its cap is 413.
func testLongPasswords(t *testing.T, s *suite) {
	e := s.env(t, func(c *auth.Config) { c.Passwords.MaxConcurrentHashes = 1 })
	long := strings.Repeat("xY7!", 256) + "z" // 1025 bytes
	registerAccepted(t, e, [][2]string{
		{"p1000@example.com", long[:1000]},
		{"p1024@example.com", long[:1024]},
	})
	e.registerAPI(t, "holder@example.com")

	// Occupy the only hashing slot: Login holds it while it looks the user
	// up, and this lookup waits for release.
	held, release := make(chan struct{}), make(chan struct{})
	e.probe.lookup = func(email string) {
		if email == "holder@example.com" {
			close(held)
			<-release
		}
	}
	holder := make(chan error, 1)
	go func() {
		_, err := e.a.Login(context.Background(), "holder@example.com", goodPassword)
		holder <- err
	}()
	<-held
	register := func(password string, timeout time.Duration) *result {
		body := testutil.RegisterBody("long@example.com", password, "L")
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, target("/register"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return e.serve(req, []byte(body))
	}
	// The slot stays held until after these: a call that waited for it
	// could only end when its context does, with another answer than 400.
	for _, pw := range []string{long, strings.Repeat("p", 2000), strings.Repeat("é", 30<<10)} {
		r := register(pw, 10*time.Second)
		fields := checkError(t, fmt.Sprintf("register with %d bytes while no hashing slot is free", len(pw)), r, http.StatusBadRequest, "VALIDATION_ERROR")
		if fields["password"] == "" {
			t.Errorf("%d bytes: fields %v do not name the password", len(pw), fields)
		}
	}
	// Control: an acceptable password does wait for the slot.
	r := register(goodPassword, 100*time.Millisecond)
	checkError(t, "register with a valid password while no hashing slot is free", r, http.StatusInternalServerError, "INTERNAL_ERROR")
	close(release)
	if err := <-holder; err != nil {
		t.Errorf("the login holding the slot: %v", err)
	}
	e.probe.lookup = nil

	// Over the body cap: 413 before anything else.
	r = e.postJSON("/register", testutil.RegisterBody("huge@example.com", strings.Repeat("p", 800<<10), "H"))
	checkError(t, "register with an 800 KB password", r, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	if _, err := e.users.UserByEmail(context.Background(), "long@example.com"); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("store: the refused registration was stored: %v", err)
	}
}

// testNULPassword: C13. A NUL byte is part of the password, not its end.
func testNULPassword(t *testing.T, s *suite) {
	e := s.env(t)
	registerAccepted(t, e, [][2]string{{"nul@example.com", "abc\x00defghij"}})
	for _, pw := range []string{"abc", "abc\x00", "abc\x00zzzzzzz", "abcdefghij"} {
		checkError(t, fmt.Sprintf("login with %q", pw), e.postJSON("/login", testutil.LoginBody("nul@example.com", pw)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
}

// testPasswordNotTrimmed: C14.
func testPasswordNotTrimmed(t *testing.T, s *suite) {
	e := s.env(t)
	const pw = "  pass phrase 9  "
	if r := e.postJSON("/register", testutil.RegisterBody("trim@example.com", pw, "T")); r.status != http.StatusCreated {
		t.Fatalf("register: status %d, body %s", r.status, r.body)
	}
	for _, other := range []string{"pass phrase 9", "  pass phrase 9", "pass phrase 9  ", "\tpass phrase 9\t"} {
		checkError(t, fmt.Sprintf("login with %q", other), e.postJSON("/login", testutil.LoginBody("trim@example.com", other)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	e.loginHTTP(t, "trim@example.com", pw)
}

// testPasswordNotNormalized: C15. The library verifies passwords exactly as
// received and does not apply NFKC, at registration and at login alike:
// an NFD spelling of an NFC password is another password, whichever was
// registered.
func testPasswordNotNormalized(t *testing.T, s *suite) {
	e := s.env(t)
	const nfc, nfd = "caf\u00e9-cr\u00e8me-9", "cafe\u0301-cre\u0300me-9"
	for _, c := range []struct{ email, registered, other string }{
		{"nfc@example.com", nfc, nfd},
		{"nfd@example.com", nfd, nfc},
	} {
		registerAccepted(t, e, [][2]string{{c.email, c.registered}})
		checkError(t, "login in the other normal form", e.postJSON("/login", testutil.LoginBody(c.email, c.other)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
}

// testInvalidUnicodePassword: C16. A lone surrogate decodes to U+FFFD,
// which a new password may not contain, so two different lone surrogates
// can never become one stored password; invalid UTF-8 is no JSON.
func testInvalidUnicodePassword(t *testing.T, s *suite) {
	e := s.env(t)
	for _, esc := range []string{`\ud800abcdefgh`, `\udbffabcdefgh`, `abcdefgh\udfff`, `\ufffdabcdefgh`} {
		body := `{"email":"sur@example.com","password":"` + esc + `","name":"S"}`
		fields := checkError(t, "register with password "+esc, e.postJSON("/register", body), http.StatusBadRequest, "VALIDATION_ERROR")
		if fields["password"] == "" {
			t.Errorf("%s: fields %v do not name the password", esc, fields)
		}
	}
	body := `{"email":"sur@example.com","password":"` + "\xffabcdefgh" + `","name":"S"}`
	checkError(t, "register with a raw 0xFF byte", e.postJSON("/register", body), http.StatusBadRequest, "INVALID_REQUEST")
	if n := e.createdCount(); n != 0 {
		t.Errorf("refused registrations created %d users", n)
	}
	// A valid surrogate pair is an ordinary character.
	r := e.postJSON("/register", `{"email":"pair@example.com","password":"\ud83d\ude00abcdefgh","name":"P"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("register with a surrogate pair: status %d, body %s", r.status, r.body)
	}
	e.loginHTTP(t, "pair@example.com", "😀abcdefgh")
	r = e.postJSON("/login", `{"email":"pair@example.com","password":"\ud800abcdefgh"}`)
	checkError(t, "login with a lone surrogate", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// testDefaultHashParameters: C17. With the default parameters, stored
// hashes are argon2id PHC strings with m=19456, t=2, p=1, a salt of at
// least 16 bytes, distinct for equal passwords, and no plaintext; a hash
// made with weaker parameters is upgraded on the next login.
func testDefaultHashParameters(t *testing.T, s *suite) {
	e := s.env(t, func(c *auth.Config) {
		c.Passwords.Argon2, c.Passwords.InsecureAllowWeakHashing = auth.Argon2Params{}, false
	})
	ctx := context.Background()
	e.registerAPI(t, "one@example.com")
	e.registerAPI(t, "two@example.com")
	h1, h2 := e.storedHash(t, "one@example.com"), e.storedHash(t, "two@example.com")
	m1, m2 := phcRE.FindStringSubmatch(h1), phcRE.FindStringSubmatch(h2)
	if m1 == nil || m2 == nil {
		t.Fatalf("hashes %q and %q are not argon2id PHC strings", h1, h2)
	}
	for _, m := range [][]string{m1, m2} {
		if m[1] != "19456" || m[2] != "2" || m[3] != "1" {
			t.Errorf("hash %q: want m=19456,t=2,p=1", m[0])
		}
		if salt, err := base64.RawStdEncoding.DecodeString(m[4]); err != nil || len(salt) < 16 {
			t.Errorf("hash %q: salt of %d bytes (%v), want at least 16", m[0], len(salt), err)
		}
		if strings.Contains(m[0], goodPassword) {
			t.Errorf("hash %q contains the password", m[0])
		}
	}
	if m1[4] == m2[4] || m1[5] == m2[5] {
		t.Errorf("equal passwords share a salt or a hash: %q, %q", h1, h2)
	}
	u, err := e.users.UserByEmail(ctx, "one@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"id": u.ID, "email": u.Email, "name": u.Name, "organization": u.OrganizationID, "role": u.Role} {
		if strings.Contains(v, goodPassword) {
			t.Errorf("stored user's %s %q carries the password", name, v)
		}
	}

	// A hash made with weaker parameters is upgraded on the next login.
	weak := e.sibling(func(c *auth.Config) { c.Passwords.Argon2, c.Passwords.InsecureAllowWeakHashing = fastArgon2, true })
	if _, err := weak.Register(ctx, auth.RegisterInput{Email: "weak@example.com", Password: goodPassword, Name: "W"}); err != nil {
		t.Fatal(err)
	}
	if m := phcRE.FindStringSubmatch(e.storedHash(t, "weak@example.com")); m == nil || m[1] != "64" {
		t.Fatalf("weak hash %v, want m=64", m)
	}
	if _, err := e.a.Login(ctx, "weak@example.com", goodPassword); err != nil {
		t.Fatalf("Login with a weak hash: %v", err)
	}
	if m := phcRE.FindStringSubmatch(e.storedHash(t, "weak@example.com")); m == nil || m[1] != "19456" || m[2] != "2" {
		t.Errorf("hash after login %v, want it upgraded to m=19456,t=2", m)
	}
}

// testBcryptHashUpgrade: C17 for imported bcrypt hashes ($2a$, $2b$, $2y$):
// they verify, a failed login leaves them alone, and a successful one
// replaces them in the store with argon2id.
func testBcryptHashUpgrade(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := context.Background()
	pw := "legacy password 1"
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		email := "legacy" + strings.Trim(prefix, "$") + "@example.com"
		hash := prefix + string(h[4:])
		e.storeLegacyUser(t, email, hash)

		if _, err := e.login(email, pw+"x"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("%s: wrong password: %v, want ErrInvalidCredentials", prefix, err)
		}
		if got := e.storedHash(t, email); got != hash {
			t.Errorf("%s: a failed login changed the hash to %q", prefix, got)
		}
		if _, err := e.a.Login(ctx, email, pw); err != nil {
			t.Fatalf("%s: Login with the bcrypt password: %v", prefix, err)
		}
		if got := e.storedHash(t, email); !strings.HasPrefix(got, "$argon2id$") {
			t.Errorf("%s: hash after login %q, want it upgraded to argon2id", prefix, got)
		}
		if _, err := e.a.Login(ctx, email, pw); err != nil {
			t.Errorf("%s: Login after the upgrade: %v", prefix, err)
		}
		if _, err := e.a.Login(ctx, email, pw+"x"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("%s: wrong password after the upgrade: %v", prefix, err)
		}
	}
}

// testFailedRegisterLeavesNoUser: C18 and INV2. A registration whose
// session cannot be stored is undone (the user row is deleted again, on
// the real store), over HTTP and through the Go API; a cancelled context
// fails it too. The email is free afterwards.
func testFailedRegisterLeavesNoUser(t *testing.T, s *suite) {
	t.Run("http", func(t *testing.T) {
		e := s.env(t)
		e.probe.setFail("CreateSession", errors.New("disk full"))
		r := e.postJSON("/register", testutil.RegisterBody("undo@example.com", goodPassword, "U"))
		checkError(t, "register with CreateSession failing", r, http.StatusInternalServerError, "INTERNAL_ERROR")
		if e.createdCount() != 1 {
			t.Fatalf("CreateUser succeeded %d times, want 1 (the test needs the undo path)", e.createdCount())
		}
		if n := e.userCount(); n != 0 {
			t.Errorf("after a failed registration the store holds %d users, want 0", n)
		}
		e.probe.setFail("CreateSession", nil)
		checkError(t, "login after the failed registration", e.postJSON("/login", testutil.LoginBody("undo@example.com", goodPassword)), http.StatusUnauthorized, "INVALID_CREDENTIALS")
		e.registerHTTP(t, "undo@example.com")
	})
	t.Run("go_api", func(t *testing.T) {
		e := s.env(t)
		ctx := context.Background()
		e.probe.setFail("CreateSession", errors.New("tokens table unavailable"))
		_, err := e.register("rollback@example.com", goodPassword)
		if err == nil || errors.Is(err, auth.ErrEmailExists) {
			t.Fatalf("Register with CreateSession failing: %v, want an internal error", err)
		}
		if e.createdCount() != 1 {
			t.Fatalf("CreateUser succeeded %d times; the test needs it to run", e.createdCount())
		}
		if n := e.userCount(); n != 0 {
			t.Errorf("after the failed Register the store holds %d users, want 0", n)
		}
		if _, err := e.users.UserByEmail(ctx, "rollback@example.com"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("the user is still stored: %v", err)
		}

		// A cancelled context fails the call and leaves nothing either.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.a.Register(cctx, auth.RegisterInput{Email: "rollback@example.com", Password: goodPassword, Name: "R"}); err == nil {
			t.Error("Register with a cancelled context succeeded")
		}
		if n := e.userCount(); n != 0 {
			t.Errorf("after a cancelled Register the store holds %d users, want 0", n)
		}
		if _, err := e.users.UserByEmail(ctx, "rollback@example.com"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("the user of the cancelled Register is stored: %v", err)
		}

		e.probe.setFail("CreateSession", nil)
		e.registerAPI(t, "rollback@example.com")
	})
}

// testCorruptHashNeverVerifies: C18. An empty, truncated, malformed or
// absurd stored hash never verifies, not even an empty password, and a
// hash that would cost gigabytes is refused rather than attempted.
func testCorruptHashNeverVerifies(t *testing.T, s *suite) {
	e := s.env(t)
	ctx := context.Background()
	good := e.registerAPI(t, "template@example.com")
	m := phcRE.FindStringSubmatch(e.storedHash(t, "template@example.com"))
	if m == nil {
		t.Fatalf("hash of the template user is not PHC")
	}
	salt, key := m[4], m[5]
	for i, hash := range []string{
		"",
		"$argon2id$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=18$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=67108864,t=64,p=1$" + salt + "$" + key, // 64 GiB: refused, not attempted
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$2a$10$short",
		"plaintext " + goodPassword,
		goodPassword,
	} {
		email := fmt.Sprintf("corrupt%d@example.com", i)
		e.storeLegacyUser(t, email, hash)
		if _, err := e.a.Login(ctx, email, goodPassword); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login against stored hash %q: %v, want ErrInvalidCredentials", hash, err)
		}
		if _, err := e.a.Login(ctx, email, ""); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("Login with an empty password against stored hash %q: %v, want ErrInvalidCredentials", hash, err)
		}
		r := e.postJSON("/login", testutil.LoginBody(email, goodPassword))
		checkError(t, "login against a corrupt hash", r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	}
	if _, err := e.a.Login(ctx, good.User.Email, goodPassword); err != nil {
		t.Errorf("Login of the template user: %v", err)
	}
}
