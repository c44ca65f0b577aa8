//go:build bench

// Command bench is jobcheck's benchmark harness (make bench, hack/bench.sh):
// it measures the in-process and process-level figures of BENCHMARKS.md and
// writes the report. The figures that need a real kube-apiserver come from
// test/e2e/bench_*_test.go, in the same results format.
//
//	go run -tags bench ./test/bench webhook -out DIR/webhook.json
//	go run -tags bench ./test/bench agent -bin bin/jobcheck -out DIR/agent.json
//	go test -bench . ./inject | go run -tags bench ./test/bench gobench -out DIR/gobench.json
//	go run -tags bench ./test/bench report -out BENCHMARKS.md DIR/*.json
package main

import (
	"fmt"
	"log/slog"
	"os"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench webhook|agent|emit|gobench|size|report [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "webhook":
		err = runWebhook(args, log)
	case "agent":
		err = runAgent(args, log)
	case "emit":
		err = runEmit(args)
	case "gobench":
		err = runGobench(args)
	case "size":
		err = runSize(args)
	case "report":
		err = runReport(args)
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown command %q (want webhook, agent, emit, gobench, size or report)\n", cmd)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
