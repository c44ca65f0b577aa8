//go:build bench

package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// benchLine is one result line of `go test -bench -benchmem`:
// "BenchmarkPod/job-1-container-2  12345  9876 ns/op  4321 B/op  42 allocs/op".
// module is the main module's path, left out of benchmark names.
const module = "github.com/jobcheck/jobcheck"

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// runGobench reads `go test -bench -benchmem` output on stdin (echoing it to
// stderr) and records ns/op, B/op and allocs/op of every benchmark, named by
// its package within the module ("webhook.BenchmarkAdmission"), one value per
// -count repetition.
func runGobench(args []string) error {
	fs := flag.NewFlagSet("gobench", flag.ContinueOnError)
	out := fs.String("out", "gobench.json", "results file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := parseGobench(io.TeeReader(os.Stdin, os.Stderr))
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return fmt.Errorf("no benchmark results on stdin")
	}
	return res.write(*out)
}

func parseGobench(r io.Reader) (results, error) {
	res := results{}
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(p), module), "/") + "."
			continue
		}
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			res.add("gobench/"+pkg+m[1]+"/"+unit, unit, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	return res, nil
}
