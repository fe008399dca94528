package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clientKey is the context key of the client address.
var clientKey = &contextKey{"client address"}

// WithClientIP returns a context that carries the client's IP address, for
// the throttling and audit records of calls made through the Go API. The
// handlers set it themselves from the request (see
// [ThrottleConfig.TrustedProxies]).
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	c := clientFrom(ctx)
	c.ip, c.unknownAddr = ip, false
	return context.WithValue(ctx, clientKey, c)
}

// client is what the handlers know of the caller: its address and its
// User-Agent, recorded on the sessions it opens.
type client struct {
	ip        netip.Addr
	userAgent string
	// unknownAddr is set when the request's peer address does not parse
	// (a Unix-socket listener, say): its per-address rules then share
	// one key, [unknownAddressKey].
	unknownAddr bool
}

// maxUserAgentBytes caps the User-Agent recorded on a session.
const maxUserAgentBytes = 512

func withClient(ctx context.Context, r *http.Request, trusted []netip.Prefix) context.Context {
	ua := r.UserAgent()
	if len(ua) > maxUserAgentBytes {
		ua = ua[:maxUserAgentBytes]
	}
	ua = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(ua, ""))
	ip := requestIP(r, trusted)
	return context.WithValue(ctx, clientKey, client{ip: ip, userAgent: ua, unknownAddr: !ip.IsValid()})
}

// unknownAddressKey stands for the client address of every request whose
// peer address does not parse: those requests share their per-address
// throttling, which fails closed rather than turning it off.
const unknownAddressKey = "unknown"

// noteUnknownAddress logs, once per Authenticator, that a request came
// with a peer address that does not parse.
func (a *Authenticator) noteUnknownAddress(ctx context.Context, r *http.Request) {
	if !clientFrom(ctx).unknownAddr {
		return
	}
	a.unknownAddrOnce.Do(func() {
		a.log.WarnContext(ctx, "auth: the request's peer address is not an IP address; all such requests share one throttling key (serve over TCP, or behind a proxy listed in Config.Throttle.TrustedProxies)",
			"remote_addr", logSafe(truncate(r.RemoteAddr, 100)))
	})
}

func clientFrom(ctx context.Context) client {
	c, _ := ctx.Value(clientKey).(client)
	return c
}

func clientIP(ctx context.Context) (netip.Addr, bool) {
	ip := clientFrom(ctx).ip
	return ip, ip.IsValid()
}

// addressKey is the throttling key of a client address. IPv6 clients are
// keyed by their /64, which one subscriber usually holds whole.
func addressKey(kind string, ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return kind + p.String()
	}
	return kind + ip.String()
}

// requestIP returns the client address of r: the peer address, or, when the
// peer is one of the trusted proxies, the nearest address in
// X-Forwarded-For that is not a trusted proxy. Without trusted proxies the
// header is ignored, so a client cannot choose its own throttling key.
func requestIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client
			}
			client = ip.Unmap()
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
