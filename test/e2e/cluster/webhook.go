package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// WebhookOptions say how to run the real jobcheck-webhook as a host process.
type WebhookOptions struct {
	Bin         string   // bin/jobcheck-webhook
	AgentImage  string   // the agent image in the local registry
	Pushgateway string   // URL the injected agents push to
	Manifests   string   // the repository's manifests/ directory
	Args        []string // more flags of `jobcheck-webhook serve`
}

// Webhook is the running webhook: `jobcheck-webhook serve` on 127.0.0.1, registered
// with the API server by URL with the MutatingWebhookConfiguration of manifests/base.
type Webhook struct {
	c           *Cluster
	o           WebhookOptions
	pki         *pki
	Port        int
	MetricsPort int
	// The second replica (StartSecond): its own ports, the same certificate and
	// flags. The API server calls only the first (the configuration names one URL);
	// the second takes part in the run watcher's leader election.
	SecondPort, SecondMetricsPort int
	CertDir                       string // ca.crt, tls.crt, tls.key
	CABundle                      []byte // what the webhook configuration trusts
	URL                           string // https://127.0.0.1:PORT/mutate
	Config                        *admissionv1.MutatingWebhookConfiguration
}

// StartWebhook gets a serving certificate for IP 127.0.0.1 from `jobcheck-webhook
// certs` (the tool users run for development), starts the webhook and registers it.
//
// The tool writes its CA certificate but not the CA's key, so it cannot issue a renewal
// from the same CA. The harness therefore also has a renewal CA of its own, and the
// registered caBundle trusts both from the start: RenewCert then replaces the serving
// certificate, as cert-manager does, without the webhook configuration changing.
func (c *Cluster) StartWebhook(ctx context.Context, o WebhookOptions) (*Webhook, error) {
	ca, err := newPKI()
	if err != nil {
		return nil, err
	}
	w := &Webhook{c: c, o: o, pki: ca, Port: FreePort(), MetricsPort: FreePort(),
		SecondPort: FreePort(), SecondMetricsPort: FreePort(), CertDir: c.path("webhook-certs")}
	w.URL = fmt.Sprintf("https://127.0.0.1:%d/mutate", w.Port)
	if out, err := exec.CommandContext(ctx, o.Bin, "certs", "--ip", "127.0.0.1", "--dns", "localhost",
		"--validity", "24h", "--out-dir", w.CertDir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("jobcheck-webhook certs: %w: %s", err, out)
	}
	toolCA, err := os.ReadFile(filepath.Join(w.CertDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read the certs tool's CA: %w", err)
	}
	w.CABundle = append(append([]byte(nil), toolCA...), ca.caPEM()...)
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	if err := w.Register(ctx); err != nil {
		return nil, err
	}
	_ = c.SetExtra("webhook", w.URL)
	_ = c.SetExtra("webhook-metrics", fmt.Sprintf("http://127.0.0.1:%d", w.MetricsPort))
	return w, nil
}

// RenewCert replaces the serving certificate and key with a new pair from the renewal
// CA (trusted by the registered caBundle), each file atomically, as a mounted Secret
// changes; it returns the new certificate.
func (w *Webhook) RenewCert() (*x509.Certificate, error) {
	tmp, err := os.MkdirTemp(w.CertDir, ".new")
	if err != nil {
		return nil, fmt.Errorf("renew webhook certificate: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := w.pki.serving(filepath.Join(tmp, "tls.crt"), filepath.Join(tmp, "tls.key"), "jobcheck-webhook",
		[]net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"}); err != nil {
		return nil, err
	}
	for _, f := range []string{"tls.key", "tls.crt"} {
		if err := os.Rename(filepath.Join(tmp, f), filepath.Join(w.CertDir, f)); err != nil {
			return nil, fmt.Errorf("renew webhook certificate: %w", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(w.CertDir, "tls.crt"))
	if err != nil {
		return nil, fmt.Errorf("read new webhook certificate: %w", err)
	}
	return parsePEMCert(b)
}

// Start runs `jobcheck-webhook serve` and waits for /readyz.
func (w *Webhook) Start(ctx context.Context) error {
	return w.start(ctx, "jobcheck-webhook", w.Port, w.MetricsPort)
}

// StartSecond runs a second replica and waits for its /readyz.
func (w *Webhook) StartSecond(ctx context.Context) error {
	return w.start(ctx, "jobcheck-webhook-2", w.SecondPort, w.SecondMetricsPort)
}

// StopSecond stops the second replica.
func (w *Webhook) StopSecond() error { return w.c.StopProc("jobcheck-webhook-2") }

// MetricsAddrs are the host:port of both replicas' metrics listeners.
func (w *Webhook) MetricsAddrs() []string {
	return []string{fmt.Sprintf("127.0.0.1:%d", w.MetricsPort), fmt.Sprintf("127.0.0.1:%d", w.SecondMetricsPort)}
}

func (w *Webhook) start(ctx context.Context, name string, port, metricsPort int) error {
	args := append([]string{w.o.Bin, "serve",
		"--listen=127.0.0.1:" + strconv.Itoa(port),
		"--metrics-listen=127.0.0.1:" + strconv.Itoa(metricsPort),
		"--tls-cert-file=" + filepath.Join(w.CertDir, "tls.crt"),
		"--tls-key-file=" + filepath.Join(w.CertDir, "tls.key"),
		"--kubeconfig=" + w.c.Kubeconfig,
		"--agent-image=" + w.o.AgentImage,
		"--pushgateway=" + w.o.Pushgateway,
	}, w.o.Args...)
	if _, err := w.c.Run(name, args, nil); err != nil {
		return err
	}
	if err := WaitHTTP(ctx, name+" /readyz", fmt.Sprintf("http://127.0.0.1:%d/readyz", metricsPort), nil, 60*time.Second); err != nil {
		return w.c.withLog(name, err)
	}
	return nil
}

// Stop stops the webhook process (the registration stays, as when a Deployment is down).
func (w *Webhook) Stop() error { return w.c.StopProc("jobcheck-webhook") }

// Register creates (or replaces) the MutatingWebhookConfiguration of manifests/install.yaml
// (rendered from the Helm chart),
// with its clientConfig rewritten to this webhook's URL and CA. Everything else
// (selectors, matchConditions, failurePolicy, timeouts) is the shipped one, so the two
// cannot drift.
func (w *Webhook) Register(ctx context.Context) error {
	cfg, err := ShippedWebhookConfig(filepath.Join(w.o.Manifests, "install.yaml"))
	if err != nil {
		return err
	}
	delete(cfg.Annotations, "cert-manager.io/inject-ca-from")
	// A name of its own, so that applying manifests/ to the same cluster (the dry-run
	// scenario) meets no object it did not create: a URL clientConfig merged with the
	// shipped service one would be invalid.
	cfg.Name += "-e2e"
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ClientConfig = admissionv1.WebhookClientConfig{URL: &w.URL, CABundle: w.CABundle}
	}
	api := w.c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if err := api.Delete(ctx, cfg.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("replace webhook configuration %s: %w", cfg.Name, err)
	}
	created, err := api.Create(ctx, cfg, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("register webhook configuration %s: %w", cfg.Name, err)
	}
	w.Config = created
	return nil
}

// ShippedWebhookConfig reads the MutatingWebhookConfiguration from a YAML file of
// several documents (manifests/install.yaml).
func ShippedWebhookConfig(file string) (*admissionv1.MutatingWebhookConfiguration, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytesReader(b), 4096)
	for {
		var obj admissionv1.MutatingWebhookConfiguration
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		if obj.Kind == "MutatingWebhookConfiguration" {
			return &obj, nil
		}
	}
	return nil, fmt.Errorf("no MutatingWebhookConfiguration in %s", file)
}

// ServedCert returns the certificate the webhook presents now (verified against the caBundle).
func (w *Webhook) ServedCert() (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.CABundle)
	d := &net.Dialer{Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", w.Port), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return nil, fmt.Errorf("dial webhook: %w", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}
