// Command images builds jobcheck's two container images without a Docker
// engine and pushes them. It is what `make images` and `make push` run.
//
//	go run ./hack/images build [-version V] [-out dist/images] [-bin DIR]
//	go run ./hack/images push -registry REG [-layout dist/images] [-insecure]
//
// build cross-compiles the agent (linux/amd64, linux/arm64, linux/arm/v7) and
// the webhook (linux/amd64, linux/arm64), or takes their binaries from -bin,
// and writes one multi-platform OCI image index per image into an OCI image
// layout. Each platform's image is the Dockerfile's target of the same name:
// one layer holding only the static binary, the same user, entrypoint and
// command. Every date in the images is SOURCE_DATE_EPOCH (default 0), so the
// same binaries give the same digests.
//
// push pushes the indexes of a layout as REGISTRY/jobcheck-agent:VERSION and
// REGISTRY/jobcheck-webhook:VERSION, with the docker config's credentials.
// See docs/images.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

const usage = `usage: images build [-version V] [-out DIR] [-bin DIR]
       images push -registry REG [-layout DIR] [-insecure]
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: 0 done, 1 failed, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, nil)))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = runBuild(ctx, args[1:], stdout)
	case "push":
		err = runPush(ctx, args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Errorf("unknown command %q: want build or push", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "images: %v\n", err)
		return 2
	default:
		slog.Error("images failed", "err", err)
		return 1
	}
}

// usageError is a mistake on the command line: one line, exit 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// newFlags is a flag set that reports its errors through run, in one line.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("images "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args; -h prints the usage and the flags to stdout.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func runBuild(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("build")
	o := buildOptions{}
	fs.StringVar(&o.version, "version", "dev", "the version: compiled in (main.version) and the images' tag")
	fs.StringVar(&o.out, "out", "dist/images", "the OCI image layout to write (an earlier layout there is replaced)")
	fs.StringVar(&o.bin, "bin", "", "take the binaries from this directory (NAME-OS-ARCH[VARIANT], as make build names them) instead of compiling them")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if _, err := name.NewTag("x:" + o.version); err != nil {
		return usageError{fmt.Errorf("-version %q: not a valid image tag", o.version)}
	}
	created, err := sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return usageError{err}
	}
	o.created = created
	built, err := build(ctx, o, images)
	if err != nil {
		return err
	}
	for _, b := range built {
		d, err := b.idx.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", o.out, b.name, d)
	}
	return nil
}

func runPush(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("push")
	dir := fs.String("layout", "dist/images", "the OCI image layout written by images build")
	registry := fs.String("registry", "", "where to push: a registry host and optional path (ghcr.io/me); required")
	insecure := fs.Bool("insecure", false, "plain HTTP also to a registry that is not on a loopback or private address")
	if err := parse(fs, args, stdout); err != nil {
		return err
	}
	if *registry == "" {
		return usageError{errors.New("-registry is required")}
	}
	if _, err := name.NewRepository(*registry + "/" + images[0].repo); err != nil {
		return usageError{fmt.Errorf("-registry %q: %w", *registry, err)}
	}
	done, err := push(ctx, *dir, *registry, *insecure, authn.DefaultKeychain)
	for _, p := range done {
		fmt.Fprintf(stdout, "%s@%s\n", p.ref, p.digest)
	}
	return err
}

// sourceDateEpoch is the date of every file and config in the images: the
// reproducible-builds convention's SOURCE_DATE_EPOCH (Unix seconds), or the
// epoch when unset.
func sourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}
