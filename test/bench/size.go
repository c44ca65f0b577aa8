//go:build bench

package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// agentPlatforms are the platforms of the agent's binaries and image, as
// `make build` and hack/images name them.
var agentPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}

// runSize records the size of the static agent binary of every platform, of
// the empty Go program built the same way (the floor every Go binary pays),
// where the agent's code comes from, and the compressed agent image of
// every platform as hack/images builds it.
func runSize(args []string) error {
	fs := flag.NewFlagSet("size", flag.ContinueOnError)
	binDir := fs.String("bin-dir", "", "directory of the agent binaries, named as make build names them (jobcheck-linux-amd64, ...)")
	empty := fs.String("empty", "", "floors/empty built the same way")
	syms := fs.String("syms", "", "the agent built with its symbols (no -s -w), to attribute the size to modules (optional)")
	layoutDir := fs.String("layout", "", "the OCI image layout hack/images wrote (optional)")
	out := fs.String("out", "size.json", "results file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *binDir == "" || *empty == "" {
		return usageError{fmt.Errorf("-bin-dir and -empty are required (hack/bench.sh builds them)")}
	}
	res := results{}
	files := map[string]string{"size/empty": *empty}
	for _, p := range agentPlatforms {
		files["size/agent/"+p] = filepath.Join(*binDir, binaryName("jobcheck", p))
	}
	for key, path := range files {
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("size of %s: %w", key, err)
		}
		res.add(key, "bytes", float64(st.Size()))
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
	if *layoutDir != "" {
		sizes, err := imageSizes(*layoutDir, "jobcheck-agent:")
		if err != nil {
			return err
		}
		for p, s := range sizes {
			res.add("image/agent/"+p+"/total", "bytes", float64(s.total))
			res.add("image/agent/"+p+"/layer", "bytes", float64(s.layer))
		}
	}
	return res.write(*out)
}

// binaryName is the file name of a binary for platform ("linux/arm/v7"), as
// make build and hack/images name them: NAME-OS-ARCH[VARIANT].
func binaryName(name, platform string) string {
	return name + "-" + strings.Replace(strings.Replace(platform, "/", "-", 1), "/", "", 1)
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
