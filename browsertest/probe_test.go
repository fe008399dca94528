package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body><h1 id=x>hello</h1></body></html>`))
	}))
	defer srv.Close()
	u, err := launcher.New().Bin("/usr/bin/chromium").NoSandbox(true).Headless(true).
		Set("disable-quic").Set("disable-background-networking").Set("disable-component-update").Set("disable-sync").Launch()
	if err != nil {
		t.Fatal(err)
	}
	b := rod.New().ControlURL(u)
	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := b.MustPage(srv.URL)
	if txt := p.MustElement("#x").MustText(); txt != "hello" {
		t.Fatal(txt)
	}
}
