// Command dashboard generates jobcheck's Grafana dashboard "jobcheck / jobs"
// with Grafana's Foundation SDK, and writes it where it is shipped:
//
//   - charts/jobcheck/dashboards/jobcheck-jobs.json, the dashboard (the Helm
//     chart ships it as a ConfigMap);
//   - manifests/grafana/, the same as a ConfigMap for kube-prometheus-stack's
//     Grafana sidecar (`kubectl apply -k manifests/grafana`);
//   - hack/dashboard/queries.json, every PromQL query of the dashboard, which
//     the end-to-end tests run against a real Prometheus.
//
// Run it from the repository's root after changing hack/dashboard:
//
//	go run ./hack/dashboard
//
// Its test fails while the committed files differ from what it generates.
// docs/dashboard.md describes the dashboard.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is the command: 0 done, 1 failed, 2 bad usage.
func run(args []string, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	root := fs.String("root", ".", "the repository's root")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "usage: go run ./hack/dashboard [-root DIR]: writes the dashboard, its ConfigMap and queries.json under DIR (default .)")
			return 0
		}
		fmt.Fprintf(stderr, "dashboard: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dashboard: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	out, err := files()
	if err != nil {
		log.Error("generate", "err", err)
		return 1
	}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		p := filepath.Join(*root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Error("write", "file", p, "err", err)
			return 1
		}
		if err := os.WriteFile(p, out[name], 0o644); err != nil {
			log.Error("write", "file", p, "err", err)
			return 1
		}
		log.Info("wrote", "file", p)
	}
	return 0
}
