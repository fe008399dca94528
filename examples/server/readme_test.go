package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeRoute is a row of one of the README's route tables.
type readmeRoute struct{ method, path string }

// readReadme returns the repository's README.md, the one users read.
func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var routeCellRE = regexp.MustCompile("^\\|[^|`]*`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`")

// readmeRoutes parses the README's tables whose first column is "route".
func readmeRoutes(readme string) []readmeRoute {
	var routes []readmeRoute
	inTable := false
	for line := range strings.Lines(readme) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| route |"):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable:
			if m := routeCellRE.FindStringSubmatch(line); m != nil {
				routes = append(routes, readmeRoute{m[1], m[2]})
			}
		}
	}
	return routes
}

// readmeCommands returns the commands of the README's ```sh blocks in
// order, continuation lines joined: the curl commands and the variable
// assignments (NAME=word, or NAME=$(curl ...) that keeps a value of an
// answer). Other lines (comments, go run) are not run.
func readmeCommands(readme string) []string {
	return blockCommands(readme, "sh")
}

// blockCommands is readmeCommands for the ```lang blocks of text.
func blockCommands(text, lang string) []string {
	var cmds []string
	inSh := false
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```"+lang:
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			continue
		}
		cur.WriteString(line)
		cmd := strings.TrimSpace(cur.String())
		cur.Reset()
		if strings.HasPrefix(cmd, "curl ") || assignRE.MatchString(cmd) || captureRE.MatchString(cmd) {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

var (
	// assignRE is a plain assignment, NAME=word.
	assignRE = regexp.MustCompile(`^([A-Z_]+)=(\S+)$`)
	// captureRE is an assignment that keeps a value of a curl command's
	// answer: NAME=$(curl ... | jq ...), perhaps with a trailing comment.
	captureRE = regexp.MustCompile(`^([A-Z_]+)=\$\(curl .*\)(\s+#.*)?$`)
	// expectRE is the status a command is documented to answer when it is
	// not 2xx: a trailing comment "# 401 ...".
	expectRE = regexp.MustCompile(`\s#\s*([1-5][0-9][0-9])\b[^'"]*$`)
	// mailRE finds the development mailer's links in the server log.
	mailRE = regexp.MustCompile(`mail \(development mailer\): (password reset|verify your email)" to=(\S+) link=\S*token=([A-Za-z0-9_-]+)`)
)

// TestReadmeParses guards the parsers: the README has its three route
// tables (the contract's, the account lifecycle's and two-step sign-in's)
// and its curl blocks, the two-step one with the lines that keep the values
// later lines use and the logins documented to answer 401; lines that are
// neither curl nor an assignment (go run, comments) are left out.
func TestReadmeParses(t *testing.T) {
	readme := readReadme(t)
	routes := readmeRoutes(readme)
	if n := len(routes); n < 19 {
		t.Errorf("%d routes in the README's tables, want at least 19", n)
	}
	for _, want := range []readmeRoute{{"POST", "/login"}, {"DELETE", "/me"}, {"POST", "/mfa/totp"}, {"POST", "/mfa/verify"}, {"DELETE", "/mfa/totp"}} {
		if !slices.Contains(routes, want) {
			t.Errorf("the README's route tables lack %s %s", want.method, want.path)
		}
	}
	cmds := readmeCommands(readme)
	if n := len(cmds); n < 24 {
		t.Errorf("%d curl commands in the README, want at least 24", n)
	}
	captured, expect401 := map[string]bool{}, 0
	for _, c := range cmds {
		if m := captureRE.FindStringSubmatch(c); m != nil {
			captured[m[1]] = true
		}
		if m := expectRE.FindStringSubmatch(c); m != nil && m[1] == "401" {
			expect401++
		}
		if strings.Contains(c, "go run") {
			t.Errorf("%q is taken for a command", c)
		}
	}
	for _, v := range []string{"ACCESS", "SECRET", "RECOVERY_CODE", "TICKET"} {
		if !captured[v] {
			t.Errorf("no README command keeps $%s", v)
		}
	}
	if expect401 != 2 {
		t.Errorf("%d README commands marked # 401, want the two MFA logins", expect401)
	}
}

// TestReadme runs every route of the README's route tables and every curl
// command of the README against the reference server on each store.
func TestReadme(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("SKIP: curl is not installed; the README's commands need it")
	}
	readme := readReadme(t)
	routes, cmds := readmeRoutes(readme), readmeCommands(readme)
	env := map[string]string{"AUTH_SECRET": testSecret}
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			db := st.db(t)
			t.Run("routes", func(t *testing.T) {
				srv := start(t, env, "-db", db, "-dev-mailer", "-no-throttle")
				for _, r := range routes {
					checkServed(t, srv, r)
				}
			})
			t.Run("curl", func(t *testing.T) {
				for _, tool := range []string{"jq", "oathtool"} {
					if _, err := exec.LookPath(tool); err != nil {
						if os.Getenv("CI") != "" { // CI installs them: nothing skips there
							t.Fatalf("%s is not installed (apt-get install -y %[1]s); the README's two-step sign-in commands need it", tool)
						}
						t.Skipf("SKIP: %s is not installed (apt-get install -y %[1]s); the README's two-step sign-in commands need it", tool)
					}
				}
				srv := start(t, env, "-db", db, "-dev-mailer", "-verify-email")
				runCurls(t, srv, cmds)
			})
		})
	}
}

// checkServed sends a request the route accepts, as a fresh user, and
// fails if the server does not serve the route: 405, 501, or a 404 that is
// not the library's "Session not found".
func checkServed(t *testing.T, srv *testServer, r readmeRoute) {
	t.Helper()
	api := srv.url + "/api/v2/auth"
	email := uniqueEmail()
	var reg authResult
	expect(t, 201, "POST", api+"/register", "", map[string]string{"email": email, "password": password, "name": "John Doe"}, &reg)
	path := r.path
	if strings.Contains(path, "{id}") {
		var list struct{ Sessions []struct{ ID string } }
		expect(t, 200, "GET", api+"/sessions", reg.AccessToken, nil, &list)
		if len(list.Sessions) == 0 {
			t.Fatal("GET /sessions lists no session")
		}
		path = strings.ReplaceAll(path, "{id}", list.Sessions[0].ID)
	}
	token := strings.Repeat("A", 43)
	bodies := map[string]any{
		"POST /register":        map[string]string{"email": uniqueEmail(), "password": password, "name": "John Doe"},
		"POST /login":           map[string]string{"email": email, "password": password},
		"POST /refresh":         map[string]string{"refreshToken": reg.RefreshToken},
		"POST /logout-all":      map[string]bool{"keepCurrent": true},
		"POST /password":        map[string]string{"currentPassword": password, "newPassword": "an even better passphrase"},
		"POST /password/forgot": map[string]string{"email": email},
		"POST /password/reset":  map[string]string{"token": token, "newPassword": "a fresh passphrase"},
		"POST /verify-email":    map[string]string{"token": token},
		"DELETE /me":            map[string]string{"password": password},
		// the second factor's routes with a wrong code or ticket: answered
		// (401, 403), not 404, 405 or 501
		"POST /mfa/totp":           map[string]string{"password": password},
		"POST /mfa/totp/confirm":   map[string]string{"code": "000000"},
		"DELETE /mfa/totp":         map[string]string{"password": password, "code": "000000"},
		"POST /mfa/recovery-codes": map[string]string{"code": "000000"},
		"POST /mfa/verify":         map[string]string{"ticket": token, "code": "000000"},
		// the passkey routes: begin answers 200, finish refuses a made-up
		// ceremony (401), a passkey that is not the caller's is 404
		"POST /passkeys/register/begin":  map[string]string{"password": password},
		"POST /passkeys/register/finish": map[string]any{"ceremony": token, "credential": map[string]string{}},
		"POST /passkeys/login/begin":     map[string]string{},
		"POST /passkeys/login/finish":    map[string]any{"ceremony": token, "credential": map[string]string{}},
		"POST /mfa/passkey/begin":        map[string]string{"ticket": token},
		"POST /mfa/passkey/finish":       map[string]any{"ticket": token, "ceremony": token, "credential": map[string]string{}},
		"PATCH /passkeys/{id}":           map[string]string{"name": "Laptop"},
	}
	status, data := call(t, r.method, api+path, reg.AccessToken, bodies[r.method+" "+r.path])
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(data, &e)
	if status == 405 || status == 501 || status == 404 && e.Error.Message != "Session not found" && e.Error.Message != "Passkey not found" {
		t.Errorf("the README documents %s %s; the server answers %d %s", r.method, r.path, status, data)
	}
}

// runCurls runs the README's commands in order with bash and the real
// curl, each as written but for the substitutions the README names: the
// server's address for localhost:3000, a fresh email for user@example.com,
// <token from the link> (the development mailer's latest link of the
// route's kind), and the variables the README describes in prose: $ACCESS
// (the registration's access token, then a login's once it stopped
// working) and $SESSION_ID (a session the last GET /sessions marked not
// current). Variables the README sets itself (API=..., or
// NAME=$(curl ... | jq ...) keeping a value of an answer) are set as the
// command does and passed to the commands after it. Every curl must answer
// 2xx, or the status its trailing comment names ("# 401 MFA_REQUIRED"), and
// a kept value must not be empty or null.
func runCurls(t *testing.T, srv *testServer, cmds []string) {
	api := srv.url + "/api/v2/auth"
	email := uniqueEmail()
	home := t.TempDir() // a .curlrc that writes the status to stderr
	if err := os.WriteFile(filepath.Join(home, ".curlrc"), []byte("silent\nshow-error\nwrite-out = \"%{stderr}%{http_code}\\n\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, cmd := range cmds {
		cmd = strings.NewReplacer("http://localhost:3000", srv.url, "user@example.com", email).Replace(cmd)
		if m := assignRE.FindStringSubmatch(cmd); m != nil {
			vars[m[1]] = m[2]
			continue
		}
		if strings.Contains(cmd, "<token from the link>") || strings.Contains(cmd, "<token>") {
			kind := "password reset"
			if strings.Contains(cmd, "/verify-email") {
				kind = "verify your email"
			}
			token := ""
			for _, m := range mailRE.FindAllStringSubmatch(srv.logs.String(), -1) {
				if m[1] == kind && m[2] == email {
					token = m[3]
				}
			}
			if token == "" {
				t.Fatalf("%s: no %q link for %s in the log", cmd, kind, email)
			}
			cmd = strings.NewReplacer("<token from the link>", token, "<token>", token).Replace(cmd)
		}
		script := "set -eo pipefail\n" + cmd
		keep := ""
		if m := captureRE.FindStringSubmatch(cmd); m != nil {
			keep = m[1]
			script += "\nprintf %s \"$" + keep + "\""
		}
		sh := exec.CommandContext(t.Context(), "bash", "-c", script)
		sh.Env = append(os.Environ(), "CURL_HOME="+home)
		for k, v := range vars {
			sh.Env = append(sh.Env, k+"="+v)
		}
		var stderr strings.Builder
		sh.Stderr = &stderr
		out, err := sh.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", cmd, err, out, stderr.String())
		}
		code := ""
		for line := range strings.Lines(stderr.String()) {
			if line = strings.TrimSpace(line); len(line) == 3 && strings.Trim(line, "0123456789") == "" {
				code = line
			}
		}
		want := "2xx"
		if m := expectRE.FindStringSubmatch(cmd); m != nil {
			want = m[1]
		}
		if want == "2xx" && !strings.HasPrefix(code, "2") || want != "2xx" && code != want {
			t.Fatalf("the README's command\n  %s\nanswered %q, want %s:\n%s\n%s", cmd, code, want, out, stderr.String())
		}
		if keep != "" {
			if v := string(out); v == "" || v == "null" {
				t.Fatalf("the README's command\n  %s\nkept %q in $%s", cmd, v, keep)
			}
			vars[keep] = string(out)
			continue
		}
		var res struct {
			AccessToken string `json:"accessToken"`
			Sessions    []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		_ = json.Unmarshal(out, &res)
		if res.AccessToken != "" {
			if st, _ := call(t, "GET", api+"/me", vars["ACCESS"], nil); vars["ACCESS"] == "" || st != 200 {
				vars["ACCESS"] = res.AccessToken
			}
		}
		for _, s := range res.Sessions {
			if !s.Current {
				vars["SESSION_ID"] = s.ID
			}
		}
	}
}
