package main

import (
	"fmt"
	"strings"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/redislimiter"
)

// openLimiter returns the throttling counters that the -limiter flag names:
// "memory" (this process only), "db" (the -db database, shared by every
// server on it) or a redis:// or rediss:// URL (shared through Redis). The
// returned close function releases what it opened.
func openLimiter(flag string, st *storage) (auth.Limiter, string, func() error, error) {
	nothing := func() error { return nil }
	switch {
	case flag == "memory":
		return auth.NewMemoryLimiter(0), "memory", nothing, nil
	case flag == "db":
		l, ok := st.store.(auth.Limiter)
		if !ok {
			return nil, "", nil, fmt.Errorf("-limiter db needs an SQL -db; the %s store keeps no shared counters", st.name)
		}
		return l, "db", nothing, nil
	case strings.HasPrefix(flag, "redis://"), strings.HasPrefix(flag, "rediss://"):
		l, err := redislimiter.Open(flag)
		if err != nil {
			return nil, "", nil, fmt.Errorf("-limiter: %w", err)
		}
		return l, redactURL(flag), l.Close, nil
	default:
		return nil, "", nil, fmt.Errorf("-limiter %q: want memory, db, or a redis:// URL", flag)
	}
}

// redactURL returns a URL without the password it may hold, for the log.
func redactURL(u string) string {
	scheme, rest, _ := strings.Cut(u, "://")
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
}
