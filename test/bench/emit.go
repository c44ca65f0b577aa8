//go:build bench

package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"
)

// runEmit is the child of the memory-growth runs: it writes log-like lines to
// stdout at a steady rate (bytes per second; 0: silent) for a while.
func runEmit(args []string) error {
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	rate := fs.Int("rate", 1<<20, "bytes per second")
	d := fs.Duration("for", 3*time.Second, "how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 {
		time.Sleep(*d)
		return nil
	}
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	const tick = 10 * time.Millisecond
	chunk := bytes.Repeat(line, max(1, *rate/int(time.Second/tick)/len(line)))
	start := time.Now()
	written := 0
	for time.Since(start) < *d {
		want := int(float64(*rate) * time.Since(start).Seconds())
		for written < want {
			n, err := os.Stdout.Write(chunk)
			if err != nil {
				return fmt.Errorf("emit: %w", err)
			}
			written += n
		}
		time.Sleep(tick)
	}
	return nil
}
