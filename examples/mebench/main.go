// Command mebench is a small closed-loop HTTP load generator, the fallback
// of scripts/me-throughput.sh where wrk is not installed: -c connections,
// each sending GET -url again as soon as the previous answer is read, for
// -d. It prints wrk's "Requests/sec:" line, so that the script reads both
// tools alike, and exits 1 if any answer was not 2xx or a request failed.
//
//	mebench -url http://127.0.0.1:3000/api/v2/whoami -c 16 -d 10s -H "Authorization: Bearer $TOKEN"
//
// It only sends to loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mebench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mebench", flag.ContinueOnError)
	target := fs.String("url", "", "the `URL` to GET (loopback only)")
	conns := fs.Int("c", 16, "concurrent `connections`")
	d := fs.Duration("d", 10*time.Second, "how long to send")
	header := fs.String("H", "", "a request header, `\"Name: value\"`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute URL", *target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: only loopback addresses are allowed", *target)
	}
	if *conns < 1 || *d <= 0 {
		return errors.New("-c and -d must be positive")
	}
	var hname, hvalue string
	if *header != "" {
		var ok bool
		if hname, hvalue, ok = strings.Cut(*header, ":"); !ok {
			return fmt.Errorf("-H %q: want \"Name: value\"", *header)
		}
		hname, hvalue = strings.TrimSpace(hname), strings.TrimSpace(hvalue)
	}

	tr := &http.Transport{
		MaxIdleConns:        *conns,
		MaxIdleConnsPerHost: *conns,
		MaxConnsPerHost:     *conns,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(context.Background(), *d)
	defer cancel()
	var done, non2xx, failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
				if err != nil {
					once.Do(func() { firstErr = err })
					failed.Add(1)
					return
				}
				if hname != "" {
					req.Header.Set(hname, hvalue)
				}
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						once.Do(func() { firstErr = err })
						failed.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if ctx.Err() != nil {
					break // finished after the deadline: not counted
				}
				done.Add(1)
				if resp.StatusCode < 200 || resp.StatusCode > 299 {
					non2xx.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := min(time.Since(start), *d)

	fmt.Fprintf(stdout, "  %d requests in %s, %d connections\n", done.Load(), elapsed.Round(time.Millisecond), *conns)
	if n := non2xx.Load(); n > 0 {
		fmt.Fprintf(stdout, "  Non-2xx or 3xx responses: %d\n", n)
	}
	fmt.Fprintf(stdout, "Requests/sec: %.2f\n", float64(done.Load())/elapsed.Seconds())
	switch {
	case failed.Load() > 0:
		return fmt.Errorf("%d requests failed; the first: %v", failed.Load(), firstErr)
	case non2xx.Load() > 0:
		return fmt.Errorf("%d answers were not 2xx", non2xx.Load())
	}
	return nil
}
