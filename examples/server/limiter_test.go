package main

import (
	"strings"
	"testing"

	"github.com/ingestiq/auth"
	"github.com/ingestiq/auth/memstore"
)

// TestOpenLimiter checks the -limiter flag's values and its refusals.
func TestOpenLimiter(t *testing.T) {
	mem := memstore.New()
	st := &storage{store: mem, name: "memory"}
	l, name, closeFn, err := openLimiter("memory", st)
	if err != nil || name != "memory" {
		t.Fatalf("-limiter memory: %v, %q", err, name)
	}
	if _, ok := l.(*auth.MemoryLimiter); !ok {
		t.Fatalf("-limiter memory gave %T", l)
	}
	_ = closeFn()
	if _, _, _, err := openLimiter("db", st); err == nil || !strings.Contains(err.Error(), "SQL") {
		t.Fatalf("-limiter db on the memory store: %v, want an error asking for an SQL -db", err)
	}
	for _, bad := range []string{"", "redis", "memcached://x", "Memory"} {
		if _, _, _, err := openLimiter(bad, st); err == nil {
			t.Errorf("-limiter %q accepted", bad)
		}
	}
	l, name, closeFn, err = openLimiter("redis://user:secret@127.0.0.1:1/2", st)
	if err != nil {
		t.Fatalf("-limiter redis://...: %v", err)
	}
	defer closeFn()
	if strings.Contains(name, "secret") || name != "redis://user:xxxxx@127.0.0.1:1/2" {
		t.Fatalf("logged limiter name %q, want the password hidden", name)
	}
	if l == nil {
		t.Fatal("nil limiter")
	}
}
