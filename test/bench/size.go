//go:build bench

package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// runSize records the size of the static agent binary and of the smallest
// static Go program built the same way (the floor every Go binary pays).
func runSize(args []string) error {
	fs := flag.NewFlagSet("size", flag.ContinueOnError)
	bin := fs.String("bin", "", "the agent binary (CGO_ENABLED=0 -trimpath -ldflags '-s -w')")
	hello := fs.String("hello", "", "an empty Go main built the same way")
	syms := fs.String("syms", "", "the agent built with its symbols (no -s -w), to attribute the size to modules (optional)")
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
	if *syms != "" {
		byModule, err := symbolSizes(*syms)
		if err != nil {
			return err
		}
		for m, n := range byModule {
			res.add("size/module/"+m, "bytes", float64(n))
		}
	}
	return res.write(*out)
}

// symbolSizes sums the sizes of bin's code and read-only data symbols (go
// tool nm -size: types T, t, R, r) by where they come from: the module for
// third-party code, the top package for the standard library ("std/crypto").
func symbolSizes(bin string) (map[string]int64, error) {
	out, err := exec.Command("go", "tool", "nm", "-size", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", bin, err)
	}
	sizes := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "  4a1c20     1234 T github.com/prometheus/client_golang/prometheus.(*Registry).Gather"
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.Contains("TtRr", f[2]) {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		sizes[originOf(strings.Join(f[3:], " "))] += n
	}
	return sizes, sc.Err()
}

// originOf names where a symbol comes from: "std/<top package>" for the
// standard library (and the runtime's tables), else its module, guessed from
// the package path (three elements for github.com and golang.org/x, two for
// other hosts).
func originOf(sym string) string {
	if strings.HasPrefix(sym, "go:") || strings.HasPrefix(sym, "type:") {
		return "runtime metadata (" + strings.SplitN(sym, ".", 2)[0] + ")"
	}
	head := sym
	if i := strings.IndexAny(head, "(["); i > 0 {
		head = head[:i]
	}
	pkg := head
	slash := strings.LastIndexByte(head, '/')
	if i := strings.IndexByte(head[slash+1:], '.'); i >= 0 {
		pkg = head[:slash+1+i]
	}
	elems := strings.Split(pkg, "/")
	if !strings.Contains(elems[0], ".") || elems[0] == "vendor" {
		if elems[0] == "vendor" && len(elems) > 1 {
			return "std/vendor"
		}
		return "std/" + strings.SplitN(elems[0], ":", 2)[0]
	}
	keep := 2
	if elems[0] == "github.com" || (elems[0] == "golang.org" && len(elems) > 1 && elems[1] == "x") {
		keep = 3
	}
	return strings.Join(elems[:min(keep, len(elems))], "/")
}
