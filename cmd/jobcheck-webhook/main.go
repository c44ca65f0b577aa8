// Command jobcheck-webhook is jobcheck's mutating admission webhook ("serve"),
// its offline manifest injector ("inject") and a development certificate
// generator ("certs").
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

const usage = `usage: jobcheck-webhook <command> [flags]

commands:
  serve     run the HTTPS admission webhook
  inject    inject jobcheck into Job/CronJob manifests offline (-f FILE|-)
  certs     write a development CA and serving certificate
  version   print the version

Run 'jobcheck-webhook <command> --help' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(args[1:], stderr)
	case "inject":
		return runInject(args[1:], stdin, stdout, stderr)
	case "certs":
		return runCerts(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "jobcheck-webhook: unknown command %q (want serve, inject, certs or version)\n", args[0])
		return 2
	}
}
