//go:build bench

package main

import (
	"flag"
	"fmt"
	"os"
)

// runSize records the size of the static agent binary and of the smallest
// static Go program built the same way (the floor every Go binary pays).
func runSize(args []string) error {
	fs := flag.NewFlagSet("size", flag.ContinueOnError)
	bin := fs.String("bin", "", "the agent binary (CGO_ENABLED=0 -trimpath -ldflags '-s -w')")
	hello := fs.String("hello", "", "an empty Go main built the same way")
	out := fs.String("out", "size.json", "results file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res := results{}
	for name, p := range map[string]string{"agent": *bin, "hello": *hello} {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("size of the %s binary: %w", name, err)
		}
		res.add("size/"+name, "bytes", float64(st.Size()))
	}
	return res.write(*out)
}
