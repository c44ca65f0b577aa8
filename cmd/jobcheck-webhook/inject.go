package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/jobcheck/jobcheck/inject"
)

const injectUsage = `usage: jobcheck-webhook inject -f FILE|- [flags]

Injects jobcheck into the pod templates of the Jobs and CronJobs (and the
bare Pods) of a manifest that ask for it with jobcheck.io/enabled: "true",
as the webhook would, and writes the manifest to stdout as YAML. Reads YAML
or JSON, several documents and List; every other document is copied
unchanged. Warnings go to stderr. Running it twice equals running it once.

A container without command is wrapped only when its argv is known: from
jobcheck.io/command, or with --resolve-images from its image's ENTRYPOINT
and CMD, read from the registry (with your docker config's credentials).

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
	imageFlags := addImageFlags(fs, true)
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	lookup, err := imageFlags.lookup(nil, nil, log)
	if err != nil {
		return fail(2, "%v", err)
	}
	var resolve resolver
	if lookup != nil {
		resolve = func(namespace, serviceAccount string, pullSecrets, images []string) inject.Images {
			return lookup.Resolve(context.Background(), namespace, serviceAccount, pullSecrets, images)
		}
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
	j := &injector{cfg: cfg, resolve: resolve, warn: func(w string) { warnings = append(warnings, w) }}
	out, err := j.manifests(in)
	if err != nil {
		return fail(1, "%s: %v", name, err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "jobcheck-webhook inject: %s: warning: %s\n", name, w)
	}
	if resolve == nil && slices.ContainsFunc(j.results, notLookedUp) {
		fmt.Fprintln(stderr, "jobcheck-webhook inject: hint: --resolve-images reads the ENTRYPOINT and CMD of containers without command from their images' registries")
	}
	if _, err := stdout.Write(out); err != nil {
		return fail(1, "write: %v", err)
	}
	return 0
}

// notLookedUp reports whether res left a container unwrapped because its
// image's command was not known.
func notLookedUp(res inject.Result) bool {
	return slices.ContainsFunc(res.Skipped, func(k inject.Skip) bool { return k.Reason == inject.ReasonNoCommand })
}
