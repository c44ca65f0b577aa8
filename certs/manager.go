package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
)

// Options say what a Manager keeps and where.
type Options struct {
	Client kubernetes.Interface
	// Namespace and Secret name the Secret holding the CAs and the serving
	// certificate: the webhook's own namespace. The Secret may exist empty.
	Namespace, Secret string
	// WebhookConfiguration is the MutatingWebhookConfiguration whose
	// webhooks' caBundle the Manager keeps.
	WebhookConfiguration string
	// DNSNames are the serving certificate's names; the first is the one the
	// API server dials (service.namespace.svc).
	DNSNames []string
	// Validity is how long a serving certificate is valid, CAValidity how
	// long a CA is. Each is renewed two thirds through its life.
	Validity, CAValidity time.Duration
	// Interval is how often the Secret and the webhook configuration are
	// read; other replicas' writes are seen within it.
	Interval time.Duration
}

// Manager keeps the webhook's serving certificate without cert-manager: a
// private CA and a serving certificate in a Secret, and the CA in the caBundle
// of the webhook configuration. Every replica runs one; they agree through
// the Secret (see the package documentation).
type Manager struct {
	o      Options
	policy policy
	now    func() time.Time // tests move time forward

	served atomic.Pointer[tls.Certificate]

	mu           sync.Mutex
	bundle       []*x509.Certificate  // the caBundle as last read or written
	trustedSince map[string]time.Time // by a CA's DER: since when the caBundle holds it
	caNotAfter   time.Time            // of the CA that signs new certificates

	rotations  *prometheus.CounterVec
	syncErrors prometheus.Counter
	caExpiry   prometheus.GaugeFunc
}

// retryAfter bounds the wait after a failed sync, so that a replica starting
// while the API server is briefly unreachable becomes ready soon after.
const retryAfter = 5 * time.Second

// maxRaces bounds the re-reads of one sync that lost write races.
const maxRaces = 5

// Validate checks everything of o but the client, naming each bad option.
func (o Options) Validate() error {
	var problems []string
	if o.Namespace == "" || o.Secret == "" {
		problems = append(problems, "the Secret's namespace and name are required")
	}
	if o.WebhookConfiguration == "" {
		problems = append(problems, "the MutatingWebhookConfiguration's name is required")
	}
	if len(o.DNSNames) == 0 {
		problems = append(problems, "at least one DNS name is required")
	}
	for _, n := range o.DNSNames {
		if n == "" || strings.ContainsAny(n, " ,") {
			problems = append(problems, fmt.Sprintf("DNS name %q is not a name", n))
		}
	}
	if o.Validity <= 0 {
		problems = append(problems, fmt.Sprintf("serving certificate validity %v is not positive", o.Validity))
	}
	if o.CAValidity <= o.Validity {
		problems = append(problems, fmt.Sprintf("CA validity %v must be longer than the serving certificates' %v", o.CAValidity, o.Validity))
	}
	if o.Interval <= 0 || o.Interval > o.Validity/10 {
		problems = append(problems, fmt.Sprintf("check interval %v must be positive and at most a tenth of the serving certificate validity %v, so that a renewal is seen long before expiry", o.Interval, o.Validity))
	}
	if len(problems) > 0 {
		return fmt.Errorf("self-managed certificate: %s", strings.Join(problems, "; "))
	}
	return nil
}

// NewManager checks o and returns a Manager that does nothing until Run.
func NewManager(o Options) (*Manager, error) {
	if o.Client == nil {
		return nil, errors.New("self-managed certificate: no Kubernetes client")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{
		o:            o,
		policy:       policy{dnsNames: o.DNSNames, validity: o.Validity, caValidity: o.CAValidity, settle: o.Interval},
		now:          time.Now,
		trustedSince: map[string]time.Time{},
		rotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jobcheck_webhook_certificate_rotations_total",
			Help: "CAs (certificate=\"ca\") and serving certificates (certificate=\"serving\") this replica wrote to the self-managed Secret.",
		}, []string{"certificate"}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jobcheck_webhook_certificate_sync_errors_total",
			Help: "Failed reads or writes of the self-managed certificate's Secret or of the webhook configuration's caBundle.",
		}),
	}
	m.caExpiry = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "jobcheck_webhook_ca_expiry_timestamp_seconds",
		Help: "Expiry (notAfter, Unix seconds) of the self-managed CA that signs new serving certificates; 0 before it is read.",
	}, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.caNotAfter.IsZero() {
			return 0
		}
		return float64(m.caNotAfter.Unix())
	})
	for _, c := range []string{changeCA, changeServing} {
		m.rotations.WithLabelValues(c) // both series exist from the start
	}
	return m, nil
}

// Run syncs now and then every interval until ctx ends; a failed sync is
// logged and retried sooner.
func (m *Manager) Run(ctx context.Context, log *slog.Logger) {
	log.Info("managing the serving certificate", "secret", m.o.Namespace+"/"+m.o.Secret,
		"webhookConfiguration", m.o.WebhookConfiguration, "dnsNames", m.o.DNSNames,
		"validity", m.o.Validity, "caValidity", m.o.CAValidity, "interval", m.o.Interval)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wait := m.o.Interval
		if err := m.sync(ctx, log); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.syncErrors.Inc()
			log.Error("serving certificate sync failed", "err", err, "retryIn", min(wait, retryAfter))
			wait = min(wait, retryAfter)
		}
		t.Reset(wait)
	}
}

// sync brings the Secret, the caBundle and the certificate served up to
// date, re-reading after a lost write race.
func (m *Manager) sync(ctx context.Context, log *slog.Logger) error {
	for race := 0; ; race++ {
		err := m.syncOnce(ctx, log)
		if err == nil || race == maxRaces || !(apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			return err
		}
		log.Debug("another replica wrote first; reading again", "err", err)
	}
}

func (m *Manager) syncOnce(ctx context.Context, log *slog.Logger) error {
	now := m.now()
	secret, err := m.o.Client.CoreV1().Secrets(m.o.Namespace).Get(ctx, m.o.Secret, getOptions)
	if apierrors.IsNotFound(err) {
		secret, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("read Secret %s/%s: %w", m.o.Namespace, m.o.Secret, err)
	}
	wc, err := readWebhookConfig(ctx, m.o.Client, m.o.WebhookConfiguration)
	if err != nil {
		return err
	}

	st, problems := readState(secret)
	next, changes, err := plan(st, m.policy, now, m.trusted)
	if err != nil {
		return fmt.Errorf("renew certificates: %w", err)
	}
	if len(changes) > 0 {
		next.generation = max(st.generation, wc.generation) + 1
		if err := m.write(ctx, secret, next); err != nil {
			return err
		}
		for _, c := range changes {
			m.rotations.WithLabelValues(c.what).Inc()
			attrs := []any{"certificate", c.what, "reason", c.reason, "generation", next.generation}
			if c.serial != "" {
				attrs = append(attrs, "serial", c.serial, "notAfter", c.notAfter)
			}
			if len(problems) > 0 && secret != nil && len(secret.Data) > 0 {
				attrs = append(attrs, "replaced", strings.Join(problems, "; "))
			}
			log.Info("rotated", attrs...)
		}
		st = next
	}

	bundle := wc.bundle
	if !sameCerts(wc.bundle, st.cas) && st.generation >= wc.generation {
		if err := writeBundle(ctx, m.o.Client, wc, st.cas, st.generation); err != nil {
			return err
		}
		log.Info("caBundle updated", "webhookConfiguration", m.o.WebhookConfiguration,
			"cas", commonNames(st.cas), "generation", st.generation)
		bundle = st.cas
	}
	m.observe(bundle, st.signer, now)

	if st.cert != nil && (m.served.Load() == nil || !m.served.Load().Leaf.Equal(st.cert.Leaf)) {
		m.served.Store(st.cert)
		log.Info("serving certificate", "serial", st.cert.Leaf.SerialNumber.String(),
			"issuer", st.cert.Leaf.Issuer.CommonName, "dnsNames", st.cert.Leaf.DNSNames, "notAfter", st.cert.Leaf.NotAfter)
	}
	return nil
}

// write stores st in the Secret: created when there is none, else updated
// on the condition that it is still the version read.
func (m *Manager) write(ctx context.Context, read *corev1.Secret, st state) error {
	data, err := st.data()
	if err != nil {
		return err
	}
	api := m.o.Client.CoreV1().Secrets(m.o.Namespace)
	if read == nil {
		s := &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: data}
		s.Name, s.Namespace = m.o.Secret, m.o.Namespace
		s.Annotations = map[string]string{GenerationAnnotation: fmt.Sprint(st.generation)}
		if _, err := api.Create(ctx, s, createOptions); err != nil {
			return fmt.Errorf("create Secret %s/%s: %w", m.o.Namespace, m.o.Secret, err)
		}
		return nil
	}
	s := read.DeepCopy() // keeps its resourceVersion: the update is conditional on it
	s.Data = data
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[GenerationAnnotation] = fmt.Sprint(st.generation)
	if _, err := api.Update(ctx, s, updateOptions); err != nil {
		return fmt.Errorf("update Secret %s/%s: %w", m.o.Namespace, m.o.Secret, err)
	}
	return nil
}

// observe records the caBundle in force and since when it holds each CA.
func (m *Manager) observe(bundle []*x509.Certificate, signer *authority, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bundle = bundle
	seen := make(map[string]time.Time, len(bundle))
	for _, c := range bundle {
		since, ok := m.trustedSince[string(c.Raw)]
		if !ok {
			since = now
		}
		seen[string(c.Raw)] = since
	}
	m.trustedSince = seen
	if signer != nil {
		m.caNotAfter = signer.cert.NotAfter
	}
}

// trusted says since when the caBundle has held ca, as this replica saw it.
func (m *Manager) trusted(ca *x509.Certificate) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.trustedSince[string(ca.Raw)]
	return t, ok
}

// Ready reports whether the certificate served now is valid and signed by a
// CA of the caBundle the API server verifies it with: only then may the
// Service send this replica requests.
func (m *Manager) Ready() bool {
	c := m.served.Load()
	if c == nil {
		return false
	}
	m.mu.Lock()
	bundle := m.bundle
	m.mu.Unlock()
	return verify(c.Leaf, bundle, m.o.DNSNames[0], m.now()) == nil
}

// NotAfter is the expiry of the certificate being served (zero when none is).
func (m *Manager) NotAfter() time.Time {
	if c := m.served.Load(); c != nil {
		return c.Leaf.NotAfter
	}
	return time.Time{}
}

// TLSConfig is a server configuration (TLS 1.2 or newer) that presents the
// current certificate on every new connection.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := m.served.Load(); c != nil {
				return c, nil
			}
			return nil, errors.New("no serving certificate yet")
		},
	}
}

// Describe and Collect make the Manager a prometheus.Collector of its
// rotation, error and CA expiry metrics.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	m.rotations.Describe(ch)
	m.syncErrors.Describe(ch)
	m.caExpiry.Describe(ch)
}

// Collect: see Describe.
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	m.rotations.Collect(ch)
	m.syncErrors.Collect(ch)
	m.caExpiry.Collect(ch)
}

func commonNames(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.Subject.CommonName
	}
	return out
}
