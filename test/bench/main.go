//go:build bench

// Command bench is jobcheck's benchmark harness (make bench, hack/bench.sh):
// it measures the in-process and process-level figures of BENCHMARKS.md and
// writes the report. The figures that need a real kube-apiserver come from
// test/e2e/bench_*_test.go, in the same results format. hack/bench.sh builds
// the binaries and the floors (test/bench/floors) and runs every step.
//
//	bench webhook -out DIR/webhook.json
//	bench agent -bin AGENT -empty EMPTY -tls TLS -forkexec FORKEXEC -out DIR/agent.json
//	bench size -bin-dir DIR -empty EMPTY -syms AGENT-WITH-SYMBOLS -layout OCI-LAYOUT -out DIR/size.json
//	go test -bench . ./inject | bench gobench -out DIR/gobench.json
//	bench report -out BENCHMARKS.md DIR/*.json
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// usageError is a mistake on the command line: one line, exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// parseFlags parses args into fs; a bad flag or a stray argument is a
// usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 && fs.Name() != "report" { // report takes the results files
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}
