package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("no free port on 127.0.0.1: %v", err)) // the machine is unusable
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Poll calls cond every 200ms until it returns true, an error, or the time limit. The
// limit only guards against a hang: it is never what a test asserts.
func Poll(ctx context.Context, what string, limit time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: gave up after %s", what, limit)
		case <-t.C:
		}
	}
}

// WaitHTTP waits until GET url answers 200.
func WaitHTTP(ctx context.Context, what, url string, hc *http.Client, limit time.Duration) error {
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Second}
	}
	return Poll(ctx, what, limit, func() (bool, error) {
		resp, err := hc.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
