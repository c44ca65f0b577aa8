//go:build bench

package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
)

// initLine is one line of GODEBUG=inittrace=1:
// "init github.com/prometheus/procfs @2.2 ms, 0.19 ms clock, 96520 bytes, 892 allocs".
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock`)

// initTrace runs `bin version` with GODEBUG=inittrace=1 and returns when the
// last package initialiser finished (ms after the process started) and each
// package's initialiser time: what every jobcheck invocation pays before main.
func initTrace(bin string, env []string) (done float64, perPkg map[string]float64, err error) {
	cmd := exec.Command(bin, "version")
	cmd.Env = append(slices.Clone(env), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, nil, fmt.Errorf("%s version: %w: %s", bin, err, stderr.Bytes())
	}
	perPkg = map[string]float64{}
	for _, line := range bytes.Split(stderr.Bytes(), []byte("\n")) {
		m := initLine.FindSubmatch(line)
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(string(m[2]), 64)
		clock, _ := strconv.ParseFloat(string(m[3]), 64)
		done = max(done, at+clock)
		perPkg[string(m[1])] += clock
	}
	if len(perPkg) == 0 {
		return 0, nil, fmt.Errorf("%s version printed no init trace", bin)
	}
	return done, perPkg, nil
}
