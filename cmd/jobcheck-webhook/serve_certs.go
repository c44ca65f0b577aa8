package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/jobcheck/jobcheck/certs"
)

// certFlags choose where serve's certificate comes from: the files
// cert-manager writes (--tls-cert-file, --tls-key-file, serve's own flags), or
// a Secret the webhook keeps itself (--cert-secret), for clusters without
// cert-manager.
type certFlags struct {
	secret        string // NAMESPACE/NAME
	webhookConfig string
	dnsNames      string
	validity      time.Duration
	caValidity    time.Duration
	interval      time.Duration
}

// addCertFlags registers the self-managed certificate's flags on fs.
func addCertFlags(fs *flag.FlagSet) *certFlags {
	f := &certFlags{}
	fs.StringVar(&f.secret, "cert-secret", "", "NAMESPACE/NAME of the Secret in which the webhook keeps its own CA and serving certificate, without cert-manager; instead of --tls-cert-file and --tls-key-file")
	fs.StringVar(&f.webhookConfig, "cert-webhook-configuration", "jobcheck", "with --cert-secret: the MutatingWebhookConfiguration whose caBundle the webhook keeps")
	fs.StringVar(&f.dnsNames, "cert-dns-names", "", "with --cert-secret: comma list of the serving certificate's DNS names, the one the API server dials first (SERVICE.NAMESPACE.svc)")
	fs.DurationVar(&f.validity, "cert-validity", 90*24*time.Hour, "with --cert-secret: how long a serving certificate is valid; renewed two thirds through")
	fs.DurationVar(&f.caValidity, "cert-ca-validity", 10*365*24*time.Hour, "with --cert-secret: how long a CA is valid; a new one is trusted next to it two thirds through")
	fs.DurationVar(&f.interval, "cert-check-interval", time.Minute, "with --cert-secret: how often the Secret and the caBundle are read (other replicas' renewals are served within it)")
	return f
}

// selfManaged reports whether the webhook keeps its own certificate.
func (f *certFlags) selfManaged() bool { return f.secret != "" }

// check validates the flags together with serve's --tls-cert-file and
// --tls-key-file: exactly one source of the certificate, and a complete,
// consistent self-managed configuration. Its error is a usage error (exit 2).
func (f *certFlags) check(certFile, keyFile string) error {
	files := certFile != "" || keyFile != ""
	switch {
	case f.selfManaged() && files:
		return errors.New("--cert-secret and --tls-cert-file/--tls-key-file exclude each other: the webhook keeps its own certificate, or reads cert-manager's")
	case !f.selfManaged() && (certFile == "" || keyFile == ""):
		return errors.New("need --tls-cert-file and --tls-key-file (cert-manager's certificate), or --cert-secret (a certificate the webhook keeps itself)")
	case !f.selfManaged():
		return nil
	}
	_, err := f.options(nil)
	return err
}

// options are the certs.Manager options the flags describe.
func (f *certFlags) options(client kubernetes.Interface) (certs.Options, error) {
	ns, name, ok := strings.Cut(f.secret, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return certs.Options{}, fmt.Errorf("--cert-secret %q: want NAMESPACE/NAME", f.secret)
	}
	o := certs.Options{
		Client: client, Namespace: ns, Secret: name,
		WebhookConfiguration: f.webhookConfig, DNSNames: list(f.dnsNames),
		Validity: f.validity, CAValidity: f.caValidity, Interval: f.interval,
	}
	if err := o.Validate(); err != nil {
		return certs.Options{}, fmt.Errorf("--cert-* flags: %w", err)
	}
	return o, nil
}

// certSource is what serve needs of its serving certificate, whichever
// source it comes from.
type certSource interface {
	// Run keeps the certificate current until ctx ends.
	Run(ctx context.Context, log *slog.Logger)
	// Ready is /readyz's "certificate" check: a certificate is served (and,
	// self-managed, the caBundle trusts it).
	Ready() bool
	// NotAfter is the served certificate's expiry, for the expiry metric.
	NotAfter() time.Time
	// TLSConfig serves the current certificate on every new connection.
	TLSConfig() *tls.Config
}

// newCertSource returns the source the flags choose, after check passed:
// a certs.Manager with --cert-secret (also a prometheus.Collector of its
// rotation metrics), else a certs.Source of the files, read once now so that
// a wrong path fails at start-up with the file named.
func (f *certFlags) newCertSource(certFile, keyFile string, reload time.Duration, client kubernetes.Interface) (certSource, error) {
	if !f.selfManaged() {
		if err := certs.Check(certFile, keyFile); err != nil {
			return nil, err
		}
		return certs.NewSource(certFile, keyFile, reload), nil
	}
	o, err := f.options(client)
	if err != nil {
		return nil, err
	}
	return certs.NewManager(o)
}
