package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// readmeCommands returns the curl commands and variable assignments of the
// README's ```sh blocks in order, continuation lines joined.
func readmeCommands(readme string) []string {
	var cmds []string
	inSh := false
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readme))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "```sh":
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
		if strings.HasPrefix(cmd, "curl ") || assignRE.MatchString(cmd) {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

var (
	assignRE = regexp.MustCompile(`^([A-Z_]+)=(\S+)$`)
	// mailRE finds the development mailer's links in the server log.
	mailRE = regexp.MustCompile(`mail \(development mailer\): (password reset|verify your email)" to=(\S+) link=\S*token=([A-Za-z0-9_-]+)`)
)

// TestReadmeParses guards the parsers: the README has both route tables
// and its curl blocks.
func TestReadmeParses(t *testing.T) {
	readme := readReadme(t)
	if n := len(readmeRoutes(readme)); n < 13 {
		t.Errorf("%d routes in the README's tables, want at least 13", n)
	}
	if n := len(readmeCommands(readme)); n < 12 {
		t.Errorf("%d curl commands in the README, want at least 12", n)
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
	stores := []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"memory", func(*testing.T) string { return "memory" }},
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "auth.db") }},
		{"postgres", postgresURL},
		{"mysql", mysqlURL},
	}
	for _, st := range stores {
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
	}
	status, data := call(t, r.method, api+path, reg.AccessToken, bodies[r.method+" "+r.path])
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(data, &e)
	if status == 405 || status == 501 || status == 404 && e.Error.Message != "Session not found" {
		t.Errorf("the README documents %s %s; the server answers %d %s", r.method, r.path, status, data)
	}
}

// runCurls runs the README's commands in order with the real curl, each
// as written but for the substitutions the README names: the server's
// address for localhost:3000, a fresh email for user@example.com, $ACCESS
// (the registration's access token, then a login's once it stopped
// working), $SESSION_ID (a session the last GET /sessions marked not
// current) and <token from the link> (the development mailer's latest
// link of the route's kind). Every command must answer 2xx.
func runCurls(t *testing.T, srv *testServer, cmds []string) {
	api := srv.url + "/api/v2/auth"
	email := uniqueEmail()
	home := t.TempDir() // a .curlrc that prints the status last
	if err := os.WriteFile(filepath.Join(home, ".curlrc"), []byte("silent\nshow-error\nwrite-out = \"\\n%{http_code}\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	var access, sessionID string
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
		sh := exec.CommandContext(t.Context(), "bash", "-c", cmd)
		sh.Env = append(os.Environ(), "CURL_HOME="+home, "ACCESS="+access, "SESSION_ID="+sessionID)
		for k, v := range vars {
			sh.Env = append(sh.Env, k+"="+v)
		}
		out, err := sh.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		body, code := "", string(out)
		if i := strings.LastIndex(string(out), "\n"); i >= 0 {
			body, code = string(out[:i]), string(out[i+1:])
		}
		if !strings.HasPrefix(code, "2") {
			t.Fatalf("the README's command\n  %s\nanswered %s %s", cmd, code, body)
		}
		var res struct {
			AccessToken string `json:"accessToken"`
			Sessions    []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		_ = json.Unmarshal([]byte(body), &res)
		if res.AccessToken != "" {
			if st, _ := call(t, "GET", api+"/me", access, nil); access == "" || st != 200 {
				access = res.AccessToken
			}
		}
		for _, s := range res.Sessions {
			if !s.Current {
				sessionID = s.ID
			}
		}
	}
}
