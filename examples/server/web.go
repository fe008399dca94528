package main

import (
	"embed"
	"io/fs"
	"net/http"
	"slices"
	"strings"
)

// webFiles is the page the server serves at /: a single-page app of plain
// HTML, CSS and JavaScript, with no build step, that uses browser mode.
//
//go:embed web
var webFiles embed.FS

// pageHandler serves the embedded page. Its files are public and small;
// they are sent with a strict Content-Security-Policy (scripts and styles
// only from this origin, connections to this origin and to the trusted
// front-end origins), so that an injected script has nowhere to load from
// or send to.
func pageHandler(apiOrigins []string) http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	connect := strings.Join(append([]string{"'self'"}, apiOrigins...), " ")
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// cors answers the CORS requests of trusted front-end origins (a page on
// http://localhost:5173 calling the API on http://localhost:3000, say):
// the exact origin is echoed, never "*", with credentials allowed so that
// the browser sends the refresh cookie, and the headers the page sends.
// Requests from other origins get no CORS headers, so the browser keeps
// their answers from the page (and never sends their preflighted
// requests). The library's own cross-origin check (Config.Browser.
// TrustedOrigins) is what refuses unsafe requests from other origins; CORS
// only decides what a page may read.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowed := slices.Clone(origins)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		if origin == "" || !slices.Contains(allowed, origin) {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Auth-Mode")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originList is a repeatable flag of origins.
type originList []string

func (l *originList) String() string { return strings.Join(*l, ",") }

func (l *originList) Set(v string) error {
	*l = append(*l, strings.TrimRight(v, "/"))
	return nil
}
