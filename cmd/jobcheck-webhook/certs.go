package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/jobcheck/jobcheck/certs"
)

// runCerts writes a development CA and serving certificate (ca.crt, tls.crt,
// tls.key) and prints the CA, base64-encoded, for a webhook configuration's caBundle.
func runCerts(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("jobcheck-webhook certs", flag.ContinueOnError)
	outDir := fs.String("out-dir", "", "directory to write ca.crt, tls.crt and tls.key into (required)")
	dns := fs.String("dns", "", "comma list of DNS names of the serving certificate, e.g. jobcheck-webhook.jobcheck.svc")
	ips := fs.String("ip", "", "comma list of IP addresses of the serving certificate, e.g. 127.0.0.1")
	validity := fs.Duration("validity", 365*24*time.Hour, "how long the CA and the certificate are valid")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *outDir == "" {
		fmt.Fprintln(stderr, "jobcheck-webhook certs: --out-dir is required")
		return 2
	}
	b, err := certs.Generate(list(*dns), list(*ips), *validity)
	if err != nil {
		fmt.Fprintf(stderr, "jobcheck-webhook certs: %v\n", err)
		return 2
	}
	if err := b.Write(*outDir); err != nil {
		fmt.Fprintf(stderr, "jobcheck-webhook certs: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s, %s and %s; the caBundle follows\n",
		filepath.Join(*outDir, certs.CAFile), filepath.Join(*outDir, certs.CertFile), filepath.Join(*outDir, certs.KeyFile))
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(b.CA))
	return 0
}

// list splits a comma list, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
