package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// TestBrowserMembers runs the page's members screen: the owner, signed in
// in the browser, invites a colleague; the colleague (over HTTP) accepts
// with the token from the development mailer's log; the owner's screen lists
// the colleague, changes their role and removes them, each change checked
// through the API.
func TestBrowserMembers(t *testing.T) {
	for name, db := range stores(t) {
		t.Run(name, func(t *testing.T) { runBrowserMembers(t, db) })
	}
}

// apiCall sends a JSON request to the reference server's API and decodes
// the answer into out (when not nil), failing unless the status is want.
func apiCall(t *testing.T, srv *refServer, method, path, token string, body, out any, want int) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.base+"/api/v2/auth"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("%s %s: HTTP %d, want %d", method, path, res.StatusCode, want)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

var invitationRE = regexp.MustCompile(`invitation" to=(\S+) .*token=([A-Za-z0-9_-]+)`)

func runBrowserMembers(t *testing.T, db string) {
	b := newBrowser(t)
	srv := startServer(t, db, "-dev-mailer")
	owner := fmt.Sprintf("owner-%s@example.com", srv.port)
	colleague := fmt.Sprintf("colleague-%s@example.com", srv.port)
	p := open(t, b, srv.base+"/")

	fill(t, p, "#register-name", "Owner")
	fill(t, p, "#register-email", owner)
	fill(t, p, "#register-password", password)
	click(t, p, "#register-btn")
	waitText(t, p, "#me-role", "owner")
	org := eval(t, p, `() => document.querySelector("#me-org").textContent`).Value.String()

	var reg struct {
		User        struct{ ID string }
		AccessToken string
	}
	apiCall(t, srv, "POST", "/register", "", map[string]string{"email": colleague, "password": password, "name": "Colleague"}, &reg, 201)

	fill(t, p, "#invite-email", colleague)
	eval(t, p, `() => { document.querySelector("#invite-role").value = "admin"; }`)
	click(t, p, "#invite-btn")
	waitText(t, p, "#status", "Invitation sent to "+colleague)
	var token string
	for deadline := time.Now().Add(10 * time.Second); token == "" && time.Now().Before(deadline); {
		for _, m := range invitationRE.FindAllStringSubmatch(srv.log.String(), -1) {
			if m[1] == colleague {
				token = m[2]
			}
		}
		if token == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if token == "" {
		t.Fatal("no invitation in the development mailer's log")
	}
	apiCall(t, srv, "POST", "/invitations/accept", reg.AccessToken, map[string]string{"token": token}, nil, 200)

	role := func() string {
		var list struct {
			Members []struct{ UserID, Role string }
		}
		apiCall(t, srv, "GET", "/orgs/"+org+"/members", reg.AccessToken, nil, &list, 200)
		for _, m := range list.Members {
			if m.UserID == reg.User.ID {
				return m.Role
			}
		}
		return ""
	}
	if r := role(); r != "admin" {
		t.Fatalf("the colleague's role is %q, want admin", r)
	}

	click(t, p, "#org-refresh-btn")
	row := `#members tr[data-user-id="` + reg.User.ID + `"]`
	waitText(t, p, row, colleague)
	eval(t, p, `(sel) => { const s = document.querySelector(sel + " select.member-role"); s.value = "member"; s.dispatchEvent(new Event("change")); }`, row)
	waitText(t, p, "#status", "Role changed")
	if r := role(); r != "member" {
		t.Fatalf("after the page's role change the role is %q, want member", r)
	}

	click(t, p, row+" button.member-remove")
	waitText(t, p, "#status", "Member removed")
	apiCall(t, srv, "GET", "/orgs/"+org+"/members", reg.AccessToken, nil, nil, 404)
	if n := eval(t, p, `(sel) => document.querySelectorAll(sel).length`, row).Value.Int(); n != 0 {
		t.Errorf("the removed member is still listed (%d rows)", n)
	}
}
