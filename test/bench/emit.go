//go:build bench

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"
)

// runEmit is the child of the wrapper-memory runs: it writes log-like lines
// of 100 bytes to stdout for a while, at a steady rate (bytes per second),
// silent when the rate is 0, as fast as it can when it is negative.
func runEmit(args []string) error {
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	rate := fs.Int("rate", 1<<20, "bytes per second; 0: silent; negative: as fast as it can")
	d := fs.Duration("for", 3*time.Second, "how long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *rate == 0 {
		time.Sleep(*d)
		return nil
	}
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	const tick = 10 * time.Millisecond
	perTick := 64 << 10
	if *rate > 0 {
		perTick = *rate / int(time.Second/tick)
	}
	chunk := bytes.Repeat(line, max(1, perTick/len(line)))
	start := time.Now()
	written := 0
	for time.Since(start) < *d {
		want := int(float64(*rate) * time.Since(start).Seconds())
		for *rate < 0 || written < want {
			n, err := os.Stdout.Write(chunk)
			if err != nil {
				return fmt.Errorf("emit: %w", err)
			}
			written += n
			if *rate < 0 && time.Since(start) >= *d {
				return nil
			}
		}
		time.Sleep(tick)
	}
	return nil
}
