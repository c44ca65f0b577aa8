// Command chart renders jobcheck's Helm chart (charts/jobcheck) with Helm's
// own library, exactly as `helm template` does, into the files generated from
// it, and renders each variant of its values for the end-to-end suite. It is
// a module of its own so that Helm never enters jobcheck's binaries.
//
// From the repository root:
//
//	go -C hack/chart run . generate          rewrite the generated files (manifests/install*.yaml, ...)
//	go -C hack/chart run . render -out DIR   write DIR/VARIANT.yaml for every variant of the values
//	go -C hack/chart test ./...              the chart's tests; they fail when a generated file is stale
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

const usage = `usage: go -C hack/chart run . <command> [flags]

commands:
  generate           rewrite the files generated from the chart (and the chart's copy of the alert rules)
  render -out DIR    write every variant of the chart's values to DIR/VARIANT.yaml, with its Namespace
  variants           list the variants

flags:
  -root DIR          the repository root (default ../.., the root seen from hack/chart)
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", "../..", "")
	out := fs.String("out", "", "")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		}
		fmt.Fprintf(stderr, "chart %s: %v (see help)\n", args[0], err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(*root, "charts", "jobcheck", "Chart.yaml")); err != nil {
		fmt.Fprintf(stderr, "chart: -root %s is not the repository root (no charts/jobcheck/Chart.yaml)\n", *root)
		return 2
	}
	switch args[0] {
	case "generate":
		wrote, err := generate(*root)
		for _, p := range wrote {
			fmt.Fprintln(stdout, "wrote", p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "chart generate: %v\n", err)
			return 1
		}
	case "render":
		if *out == "" {
			fmt.Fprintln(stderr, "chart render: -out DIR is required")
			return 2
		}
		paths, err := renderVariants(*root, *out)
		for _, p := range paths {
			fmt.Fprintln(stdout, p)
		}
		if err != nil {
			fmt.Fprintf(stderr, "chart render: %v\n", err)
			return 1
		}
	case "variants":
		for _, v := range variants {
			fmt.Fprintf(stdout, "%-20s %s (namespaces besides %s: %v)\n", v.name, v.about, releaseNamespace, v.namespaces)
		}
	default:
		fmt.Fprintf(stderr, "chart: unknown command %q (want generate, render or variants)\n", args[0])
		return 2
	}
	return 0
}
