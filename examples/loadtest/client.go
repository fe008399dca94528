package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// checkTarget parses the -url flag. Unless allowRemote is set, its host
// must be "localhost" or a loopback address.
func checkTarget(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-url: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("-url %q: want an http:// or https:// URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("-url %q: no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("-url: user information in the URL is not supported")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("-url %q: want no query or fragment", raw)
	}
	if !allowRemote && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("-url %q: the host is not a loopback address; pass -allow-remote to load-test another machine", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// errNotLoopback is returned when a connection would go to an address that
// is not a loopback address while -allow-remote is off.
var errNotLoopback = errors.New("refusing to connect to a non-loopback address without -allow-remote")

// client sends the auth API's requests to one server.
type client struct {
	base    string // the -url, without a trailing slash
	hc      *http.Client
	timeout time.Duration
}

// newClient returns a client for the server under base with a connection
// pool sized for conns concurrent requests.
func newClient(base *url.URL, conns int, timeout time.Duration, allowRemote bool) *client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowRemote {
		// Whatever "localhost" resolves to, connect only to loopback.
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("%w: %s", errNotLoopback, address)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // never send the load through a proxy
		DialContext:           dialer.DialContext,
		MaxIdleConns:          2 * conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	return &client{
		base: base.String(),
		hc: &http.Client{
			Transport: tr,
			// Stay on the one host: a redirect is reported, not followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: timeout,
	}
}

// close releases the client's idle connections.
func (c *client) close() { c.hc.CloseIdleConnections() }

// response is the outcome of one request.
type response struct {
	status     int    // 0 when err is set
	code       string // the error code of an error body
	retryAfter string // the Retry-After header
	body       []byte
	latency    time.Duration // from sending to the end of the body
	err        error         // a transport error
}

// maxBody caps how much of a response body is read.
const maxBody = 1 << 20

// do sends a request with an optional bearer token and JSON body. The
// request is bounded by the client's timeout but not by ctx's
// cancellation: a request that was sent is always finished, so that the
// caller knows what the server did.
func (c *client) do(ctx context.Context, method, path, bearer string, body any) response {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{err: err}
		}
		rd = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, c.base+path, rd)
	if err != nil {
		return response{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{err: err, latency: time.Since(start)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	r := response{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: data, latency: time.Since(start)}
	if err != nil {
		r.status, r.err = 0, fmt.Errorf("reading the body: %w", err)
		return r
	}
	if r.status >= 400 {
		var e errorBody
		if json.Unmarshal(data, &e) == nil {
			r.code = e.Error.Code
		}
		if r.code == "" {
			r.code = "(no error code)"
		}
	}
	return r
}

// errorBody is the contract's error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// authBody is the response of register and login.
type authBody struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// pairBody is the response of refresh.
type pairBody struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// meBody is the response of me.
type meBody struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

func (c *client) register(ctx context.Context, email, password, name string) response {
	return c.do(ctx, http.MethodPost, "/register", "", map[string]string{"email": email, "password": password, "name": name})
}

func (c *client) login(ctx context.Context, email, password string) response {
	return c.do(ctx, http.MethodPost, "/login", "", map[string]string{"email": email, "password": password})
}

func (c *client) me(ctx context.Context, access string) response {
	return c.do(ctx, http.MethodGet, "/me", access, nil)
}

func (c *client) refresh(ctx context.Context, refresh string) response {
	return c.do(ctx, http.MethodPost, "/refresh", "", map[string]string{"refreshToken": refresh})
}

// decodeAuth decodes a register or login response and checks that it
// carries a user id and both tokens.
func decodeAuth(r response) (authBody, error) {
	var b authBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		return b, fmt.Errorf("decoding the body: %v", err)
	}
	if b.User.ID == "" || b.AccessToken == "" || b.RefreshToken == "" {
		return b, errors.New("the body lacks user.id, accessToken or refreshToken")
	}
	return b, nil
}

// decodePair decodes a refresh response and checks that it carries both
// tokens.
func decodePair(r response) (pairBody, error) {
	var b pairBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		return b, fmt.Errorf("decoding the body: %v", err)
	}
	if b.AccessToken == "" || b.RefreshToken == "" {
		return b, errors.New("the body lacks accessToken or refreshToken")
	}
	return b, nil
}

// decodeMe decodes a me response.
func decodeMe(r response) (meBody, error) {
	var b meBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		return b, fmt.Errorf("decoding the body: %v", err)
	}
	return b, nil
}

// transportKind names a transport error briefly, for counting.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, errNotLoopback):
		return "non-loopback address refused"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}
