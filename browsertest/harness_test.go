// Package browsertest drives the reference server's page in a real headless
// Chromium (Debian's chromium package) through the DevTools protocol, with
// go-rod. Without Chromium the tests skip, saying so; with CI=true they
// fail instead, since CI must run them.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"
)

// serverBin is the reference server, built once by TestMain.
var serverBin string

// buildErr is why the server could not be built, if it could not.
var buildErr error

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "browsertest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", serverBin, "github.com/ingestiq/auth/examples/server")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("building the reference server: %v\n%s", err, out)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// isCI reports whether the tests run in CI, where nothing may skip for want
// of a tool.
func isCI() bool { return os.Getenv("CI") != "" }

// chromiumPath returns the system Chromium, skipping the test (or failing
// it in CI) when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("AUTH_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if isCI() {
		t.Fatal("no Chromium found (apt-get install chromium); CI must run the browser tests")
	}
	t.Skip("SKIP: no Chromium found; install Debian's chromium package (or set AUTH_TEST_CHROMIUM) to run the browser tests")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and closes it
// when the test ends.
func newBrowser(t *testing.T) *rod.Browser {
	t.Helper()
	bin := chromiumPath(t)
	l := launcher.New().Bin(bin).Headless(true).NoSandbox(true).Leakless(false).
		Set("disable-gpu").Set("disable-quic").Set("no-first-run").
		Set("disable-background-networking").Set("disable-component-update").Set("disable-sync")
	u, err := l.Launch()
	if err != nil {
		t.Fatalf("launching Chromium: %v", err)
	}
	// NoDefaultDevice keeps Chromium's own user agent, which the sessions
	// list must show.
	b := rod.New().ControlURL(u).NoDefaultDevice().Timeout(60 * time.Second)
	if err := b.Connect(); err != nil {
		t.Fatalf("connecting to Chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		l.Kill()
		l.Cleanup()
	})
	return b
}

// stores returns the -db values the browser tests run on: SQLite always,
// PostgreSQL when AUTH_TEST_POSTGRES_DSN is set.
func stores(t *testing.T) map[string]string {
	m := map[string]string{"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "auth.db")}
	if dsn := os.Getenv("AUTH_TEST_POSTGRES_DSN"); dsn != "" {
		m["postgres"] = dsn
	} else {
		t.Log("SKIP postgres: set AUTH_TEST_POSTGRES_DSN to run the browser tests on PostgreSQL too")
	}
	return m
}

// refServer is one reference-server process.
type refServer struct {
	base string // http://localhost:PORT
	port string
	log  *logBuffer
}

// logBuffer collects a process's output, safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var listenRE = regexp.MustCompile(`msg=listening addr=127\.0\.0\.1:(\d+)`)

// startServer runs the reference server on a free port of 127.0.0.1 with
// the given -db and extra flags, and stops it when the test ends.
func startServer(t *testing.T, db string, flags ...string) *refServer {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-db", db}, flags...)
	cmd := exec.Command(serverBin, args...)
	cmd.Env = append(os.Environ(), "AUTH_SECRET=browser-test-secret-0123456789-abcdefghijkl")
	logs := &logBuffer{}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	portc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if m := listenRE.FindStringSubmatch(line); m != nil && !sent {
				portc <- m[1]
				sent = true
			}
		}
		if !sent {
			close(portc)
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("reference server log:\n%s", logs.String())
		}
	})
	select {
	case port, ok := <-portc:
		if !ok {
			t.Fatalf("the reference server exited:\n%s", logs.String())
		}
		return &refServer{base: "http://localhost:" + port, port: port, log: logs}
	case <-time.After(60 * time.Second):
		t.Fatalf("the reference server did not start:\n%s", logs.String())
	}
	return nil
}

var requestRE = regexp.MustCompile(`msg=request method=(\S+) path=(\S+) status=(\d+)`)

// requestsSince returns "METHOD PATH STATUS" for each request the server
// logged after the first n bytes of its log.
func (s *refServer) requestsSince(n int) []string {
	var out []string
	for _, line := range strings.Split(s.log.String()[n:], "\n") {
		if m := requestRE.FindStringSubmatch(line); m != nil {
			out = append(out, m[1]+" "+m[2]+" "+m[3])
		}
	}
	return out
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// serveOn serves h on 127.0.0.1:port until the test ends.
func serveOn(t *testing.T, port string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
}

// open opens url (the reference page) in a new tab, waits for the page
// script to be ready, and records the bodies of the page's fetch answers in
// window.__bodies.
func open(t *testing.T, b *rod.Browser, url string) *rod.Page {
	t.Helper()
	p := openRaw(t, b, url)
	waitReady(t, p)
	return p
}

// openRaw opens url in a new tab and waits for it to load.
func openRaw(t *testing.T, b *rod.Browser, url string) *rod.Page {
	t.Helper()
	p, err := b.Page(proto.TargetCreateTarget{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.EvalOnNewDocument(recordBodies); err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(url); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordBodies wraps fetch so that every answer's text is kept for the test
// to inspect: the refresh token must never be in one.
const recordBodies = `(() => {
  window.__bodies = [];
  const orig = window.fetch;
  window.fetch = async (...args) => {
    const res = await orig(...args);
    try { window.__bodies.push(await res.clone().text()); } catch (_) {}
    return res;
  };
})()`

func waitReady(t *testing.T, p *rod.Page) {
	t.Helper()
	if err := p.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Timeout(30 * time.Second).Element(`body[data-ready="1"]`); err != nil {
		t.Fatalf("the page did not get ready: %v", err)
	}
}

// eval runs js (a function expression) in p and returns its result.
func eval(t *testing.T, p *rod.Page, js string, args ...any) *proto.RuntimeRemoteObject {
	t.Helper()
	r, err := p.Evaluate(rod.Eval(js, args...).ByPromise())
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return r
}

// fill types value into the input selected by sel.
func fill(t *testing.T, p *rod.Page, sel, value string) {
	t.Helper()
	el, err := p.Element(sel)
	if err != nil {
		t.Fatal(err)
	}
	if err := el.SelectAllText(); err == nil {
		_ = el.Input("")
	}
	if err := el.Input(value); err != nil {
		t.Fatal(err)
	}
}

func click(t *testing.T, p *rod.Page, sel string) {
	t.Helper()
	el, err := p.Element(sel)
	if err != nil {
		t.Fatal(err)
	}
	if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
		t.Fatal(err)
	}
}

// waitText waits until the element sel shows text containing want.
func waitText(t *testing.T, p *rod.Page, sel, want string) {
	t.Helper()
	err := p.Timeout(30 * time.Second).Wait(rod.Eval(`(sel, want) => {
		const e = document.querySelector(sel);
		return !!e && e.textContent.includes(want);
	}`, sel, want))
	if err != nil {
		got := eval(t, p, `(sel) => { const e = document.querySelector(sel); return e ? e.textContent : "(none)"; }`, sel).Value.String()
		t.Fatalf("%s shows %q, want it to contain %q (%v)", sel, got, want, err)
	}
}

// visible reports whether the element sel is shown (not hidden).
func visible(t *testing.T, p *rod.Page, sel string) bool {
	t.Helper()
	return eval(t, p, `(sel) => !document.querySelector(sel).hidden`, sel).Value.Bool()
}

// cookie returns the cookie name that the browser keeps for url, or nil.
func cookie(t *testing.T, p *rod.Page, url, name string) *proto.NetworkCookie {
	t.Helper()
	cs, err := p.Cookies([]string{url})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// holdRequests pauses the requests of the given pages whose URL matches
// pattern until n of them are paused, then lets them all go at once. The
// returned function stops the interception and tells how many were held
// together.
func holdRequests(t *testing.T, pages []*rod.Page, pattern string, n int) func() int {
	t.Helper()
	var mu sync.Mutex
	held := 0
	all := make(chan struct{})
	var routers []*rod.HijackRouter
	for _, p := range pages {
		router := p.HijackRequests()
		if err := router.Add(pattern, "", func(h *rod.Hijack) {
			mu.Lock()
			held++
			if held == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-time.After(30 * time.Second):
			}
			h.ContinueRequest(&proto.FetchContinueRequest{})
		}); err != nil {
			t.Fatal(err)
		}
		go router.Run()
		routers = append(routers, router)
	}
	return func() int {
		for _, r := range routers {
			_ = r.Stop()
		}
		mu.Lock()
		defer mu.Unlock()
		return held
	}
}
