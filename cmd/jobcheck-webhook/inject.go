package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const injectUsage = `usage: jobcheck-webhook inject -f FILE|- [flags]

Injects jobcheck into the pod templates of the Jobs and CronJobs (and the
bare Pods) of a manifest that ask for it with jobcheck.io/enabled: "true",
as the webhook would, and writes the manifest to stdout as YAML. Reads YAML
or JSON, several documents and List; every other document is copied
unchanged. Warnings go to stderr. Running it twice equals running it once.

  jobcheck-webhook inject -f cronjob.yaml | kubectl apply -f -

flags:
`

// runInject is `jobcheck-webhook inject`: the offline injector.
func runInject(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobcheck-webhook inject", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), injectUsage)
		fs.PrintDefaults()
	}
	file := fs.String("f", "", `manifest to read (YAML or JSON); "-" for stdin`)
	config := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "jobcheck-webhook inject: "+format+"\n", a...)
		return code
	}
	if *file == "" {
		return fail(2, "-f FILE or -f - (stdin) is required")
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected argument %q (the manifest is given with -f)", fs.Arg(0))
	}
	cfg, err := config()
	if err != nil {
		return fail(2, "%v", err)
	}

	in, name := stdin, "stdin"
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fail(1, "read manifest: %v", err)
		}
		defer f.Close()
		in, name = f, *file
	}
	var warnings []string
	out, err := injectManifests(in, cfg, func(w string) { warnings = append(warnings, w) })
	if err != nil {
		return fail(1, "%s: %v", name, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "jobcheck-webhook inject: %s: warning: %s\n", name, w)
	}
	if _, err := stdout.Write(out); err != nil {
		return fail(1, "write: %v", err)
	}
	return 0
}
