package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// clock is a settable time shared by the managers of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a namespace and a webhook configuration of their own for one
// test, on the package's API server.
type fixture struct {
	client    kubernetes.Interface
	namespace string
	config    string // MutatingWebhookConfiguration
	dnsName   string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	client := clientFor(t, apiServer(t))
	ctx := context.Background()
	f := fixture{client: client, namespace: fmt.Sprintf("t-%08x", rand.Uint32())}
	f.config, f.dnsName = f.namespace, "jobcheck-webhook."+f.namespace+".svc"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "https://127.0.0.1:1/mutate"
	ignore, none := admissionregistrationv1.Ignore, admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: f.config},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "pods.jobcheck.io",
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url},
			// selects no namespace: the API server never calls it
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"jobcheck.io/test": "never"}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), f.config, metav1.DeleteOptions{})
		_ = client.CoreV1().Namespaces().Delete(context.Background(), f.namespace, metav1.DeleteOptions{})
	})
	return f
}

func (f fixture) options(validity, caValidity time.Duration) Options {
	return Options{
		Client: f.client, Namespace: f.namespace, Secret: "jobcheck-webhook-certs",
		WebhookConfiguration: f.config, DNSNames: []string{f.dnsName, f.dnsName + ".cluster.local"},
		Validity: validity, CAValidity: caValidity, Interval: validity / 10,
	}
}

func (f fixture) manager(t *testing.T, o Options, clk *clock) *Manager {
	t.Helper()
	m, err := NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	if clk != nil {
		m.now = clk.Now
	}
	return m
}

// bundle reads the caBundle the API server verifies the webhook with.
func (f fixture) bundle(t *testing.T) *x509.CertPool {
	t.Helper()
	cfg, err := f.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), f.config, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cfg.Webhooks[0].ClientConfig.CABundle)
	return pool
}

func (f fixture) bundleSize(t *testing.T) int {
	t.Helper()
	cfg, err := f.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(context.Background(), f.config, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(cfg.Webhooks[0].ClientConfig.CABundle, []byte("BEGIN CERTIFICATE"))
}

func (f fixture) secret(t *testing.T) *corev1.Secret {
	t.Helper()
	s, err := f.client.CoreV1().Secrets(f.namespace).Get(context.Background(), "jobcheck-webhook-certs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// listen serves TLS handshakes with m's configuration until the test ends.
func listen(t *testing.T, m *Manager) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// handshake dials addr as the API server would: trusting only the caBundle,
// for the Service's name, at the time now.
func handshake(addr string, roots *x509.CertPool, name string, now time.Time) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&netDialer, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: name, Time: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

var netDialer = net.Dialer{Timeout: 5 * time.Second}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestReplicasRacingAgreeOnOneCA starts three replicas at the same instant,
// on a cluster without the Secret and on one with the empty Secret the chart
// creates: exactly one writes it (a create, or an update conditional on the
// resourceVersion read), the others lose the race, read it back and serve
// the same certificate; the caBundle holds that one CA and every replica is
// ready.
func TestReplicasRacingAgreeOnOneCA(t *testing.T) {
	for _, precreate := range []bool{false, true} {
		t.Run(fmt.Sprintf("precreated=%v", precreate), func(t *testing.T) {
			f := newFixture(t)
			if precreate {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "jobcheck-webhook-certs", Namespace: f.namespace}, Type: corev1.SecretTypeOpaque}
				if _, err := f.client.CoreV1().Secrets(f.namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			racingReplicas(t, f)
		})
	}
}

func racingReplicas(t *testing.T, f fixture) {
	o := f.options(time.Hour, 24*time.Hour)
	ms := []*Manager{f.manager(t, o, nil), f.manager(t, o, nil), f.manager(t, o, nil)}
	start := make(chan struct{})
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { <-start; errs[i] = m.sync(context.Background(), discard()) })
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}

	st, problems := readState(f.secret(t))
	if len(problems) > 0 || len(st.cas) != 1 {
		t.Fatalf("Secret holds %d CAs (problems %v), want exactly one", len(st.cas), problems)
	}
	var cas, servings float64
	for _, m := range ms {
		cas += testutil.ToFloat64(m.rotations.WithLabelValues(changeCA))
		servings += testutil.ToFloat64(m.rotations.WithLabelValues(changeServing))
	}
	if cas != 1 || servings != 1 {
		t.Errorf("replicas wrote %v CAs and %v serving certificates, want 1 and 1: one writer wins", cas, servings)
	}
	roots := f.bundle(t)
	for i, m := range ms {
		if !m.Ready() {
			t.Errorf("replica %d not ready", i)
		}
		got, err := handshake(listen(t, m), roots, f.dnsName, time.Now())
		if err != nil {
			t.Errorf("replica %d: handshake with the caBundle: %v", i, err)
			continue
		}
		if !got.Equal(st.cert.Leaf) {
			t.Errorf("replica %d serves serial %s, the Secret holds %s", i, got.SerialNumber, st.cert.Leaf.SerialNumber)
		}
	}
}

// TestRotationKeepsServedCertificatesTrusted moves time through three CA
// lifetimes in steps of the check interval, two replicas syncing in random
// order (sometimes at once). After every sync, each replica's certificate
// must pass a TLS handshake against the caBundle read back from the API
// server, at that moment, and each replica must say it is ready: no instant
// of a CA or certificate rotation leaves a replica serving a certificate the
// API server would refuse. Both CAs are seen in the caBundle during a switch,
// and the old one leaves it once expired.
func TestRotationKeepsServedCertificatesTrusted(t *testing.T) {
	f := newFixture(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	start := clk.Now()
	o := f.options(time.Hour, 6*time.Hour)
	ms := []*Manager{f.manager(t, o, clk), f.manager(t, o, clk)}
	addrs := []string{listen(t, ms[0]), listen(t, ms[1])}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()

	check := func(step int) {
		t.Helper()
		roots := f.bundle(t)
		for i, m := range ms {
			if _, err := handshake(addrs[i], roots, f.dnsName, clk.Now()); err != nil {
				t.Fatalf("step %d (%v in): replica %d: handshake against the caBundle: %v", step, clk.Now().Sub(start), i, err)
			}
			if !m.Ready() {
				t.Fatalf("step %d: replica %d serves a trusted certificate but is not ready", step, i)
			}
		}
	}
	for _, m := range ms {
		if err := m.sync(ctx, discard()); err != nil {
			t.Fatal(err)
		}
	}
	check(0)

	maxBundle, sawShrink := 1, false
	steps := int(3 * o.CAValidity / o.Interval)
	for step := 1; step <= steps; step++ {
		clk.Add(o.Interval)
		if rng.IntN(4) == 0 { // both at once: a write race
			var wg sync.WaitGroup
			errs := make([]error, len(ms))
			for i, m := range ms {
				wg.Go(func() { errs[i] = m.sync(ctx, discard()) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
			check(step)
		} else {
			for _, i := range rng.Perm(len(ms)) {
				if err := ms[i].sync(ctx, discard()); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				check(step)
			}
		}
		n := f.bundleSize(t)
		if n < maxBundle && maxBundle > 1 {
			sawShrink = true
		}
		maxBundle = max(maxBundle, n)
	}

	var cas, servings float64
	for _, m := range ms {
		cas += testutil.ToFloat64(m.rotations.WithLabelValues(changeCA))
		servings += testutil.ToFloat64(m.rotations.WithLabelValues(changeServing))
	}
	// 18h: the first CA, one new CA every 4h (two thirds of 6h), each CA also
	// dropped once expired; a serving certificate every 40m at least.
	if cas < 5 {
		t.Errorf("%v CA changes in three CA lifetimes, want the first CA, 4 renewals and the drops", cas)
	}
	if servings < 18*60/40 {
		t.Errorf("%v serving certificates in 18h of 1h certificates, want one at least every 40m", servings)
	}
	if maxBundle < 2 || !sawShrink {
		t.Errorf("caBundle held at most %d CAs (shrank: %v): want old and new together during a switch, then the old one dropped", maxBundle, sawShrink)
	}
}

// TestOlderReplicaNeverRewritesTheCABundle: a caBundle written from a newer
// generation of the Secret than the one a replica holds is left alone by
// that replica (here the generation is raised by hand, as a replica that
// wrote after this one read would have), until this replica itself writes a
// newer generation.
func TestOlderReplicaNeverRewritesTheCABundle(t *testing.T) {
	f := newFixture(t)
	clk := &clock{t: time.Now().Truncate(time.Second)}
	o := f.options(time.Hour, 6*time.Hour)
	m := f.manager(t, o, clk)
	ctx := context.Background()
	if err := m.sync(ctx, discard()); err != nil {
		t.Fatal(err)
	}
	foreign, err := Generate([]string{"other"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	gen := readGeneration(t, f.secret(t).Annotations)
	api := f.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	cfg, err := api.Get(ctx, f.config, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Annotations = map[string]string{GenerationAnnotation: fmt.Sprint(gen + 5)}
	cfg.Webhooks[0].ClientConfig.CABundle = append(cfg.Webhooks[0].ClientConfig.CABundle, foreign.CA...)
	if _, err := api.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	clk.Add(o.Interval)
	if err := m.sync(ctx, discard()); err != nil {
		t.Fatal(err)
	}
	if n := f.bundleSize(t); n != 2 {
		t.Fatalf("caBundle holds %d CAs after a sync from an older generation, want the 2 written from the newer one", n)
	}
	// Past the certificate's renewal, this replica writes generation gen+6
	// and with it the caBundle: its own CA only.
	clk.Add(45 * time.Minute)
	if err := m.sync(ctx, discard()); err != nil {
		t.Fatal(err)
	}
	if got := readGeneration(t, f.secret(t).Annotations); got != gen+6 {
		t.Errorf("Secret generation = %d, want %d: one above the highest seen", got, gen+6)
	}
	if n := f.bundleSize(t); n != 1 {
		t.Errorf("caBundle holds %d CAs, want the Secret's one", n)
	}
}

func readGeneration(t *testing.T, annotations map[string]string) int64 {
	t.Helper()
	var g int64
	if _, err := fmt.Sscan(annotations[GenerationAnnotation], &g); err != nil {
		t.Fatalf("annotation %s = %q: %v", GenerationAnnotation, annotations[GenerationAnnotation], err)
	}
	return g
}

// TestSecretIsFilledOrRepaired: the Secret the chart creates empty is filled;
// one whose content is broken (by hand, by a bad restore) is replaced, with
// the log saying what was wrong; one for other names gets a certificate for
// the configured ones.
func TestSecretIsFilledOrRepaired(t *testing.T) {
	otherCA, err := newAuthority(time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherNames, err := Generate([]string{"somewhere.else.svc"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		data    map[string][]byte
		wantLog string
	}{
		{"empty, as the chart creates it", nil, "no usable CA"},
		{"garbage", map[string][]byte{CAFile: []byte("not a certificate"), CAKeyFile: []byte("nor a key"), CertFile: []byte("x"), KeyFile: []byte("y")}, "replaced"},
		{"a CA key of another CA", map[string][]byte{CAFile: otherNames.CA, CAKeyFile: otherCA.keyPEM}, "belongs to no CA"},
		{"a certificate for other names", map[string][]byte{CAFile: otherCA.certPEM, CAKeyFile: otherCA.keyPEM, CertFile: otherNames.Cert, KeyFile: otherNames.Key}, "issued for [somewhere.else.svc]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "jobcheck-webhook-certs", Namespace: f.namespace}, Type: corev1.SecretTypeOpaque, Data: tc.data}
			if _, err := f.client.CoreV1().Secrets(f.namespace).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			m := f.manager(t, f.options(time.Hour, 24*time.Hour), nil)
			var log bytes.Buffer
			if err := m.sync(context.Background(), slog.New(slog.NewTextHandler(&log, nil))); err != nil {
				t.Fatal(err)
			}
			if !m.Ready() {
				t.Error("not ready after the sync")
			}
			st, problems := readState(f.secret(t))
			if len(problems) > 0 {
				t.Errorf("Secret still has problems: %v", problems)
			}
			if reason := unusable(st.cert, st.cas, m.o.DNSNames, time.Now()); reason != "" {
				t.Errorf("Secret's certificate: %s", reason)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log does not say %q:\n%s", tc.wantLog, log.String())
			}
		})
	}
}

// TestRunBecomesReadyAndStops runs two replicas with the real clock: both
// become ready serving the same certificate, and Run returns when its
// context ends.
func TestRunBecomesReadyAndStops(t *testing.T) {
	f := newFixture(t)
	o := f.options(time.Hour, 24*time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ms := []*Manager{f.manager(t, o, nil), f.manager(t, o, nil)}
	for _, m := range ms {
		wg.Go(func() { m.Run(ctx, discard()) })
	}
	waitFor(t, "both replicas ready", func() bool { return ms[0].Ready() && ms[1].Ready() })
	a, b := ms[0].served.Load().Leaf, ms[1].served.Load().Leaf
	if !a.Equal(b) {
		t.Errorf("replicas serve serials %s and %s, want the Secret's one", a.SerialNumber, b.SerialNumber)
	}
	if got := ms[0].NotAfter(); !got.Equal(a.NotAfter) {
		t.Errorf("NotAfter = %v, want %v", got, a.NotAfter)
	}
	cancel()
	wg.Wait()
}

// TestNotReadyWithoutTheWebhookConfiguration: a replica whose webhook
// configuration is missing (a wrong name, RBAC) reports the error and is not
// ready, whatever certificate it holds.
func TestNotReadyWithoutTheWebhookConfiguration(t *testing.T) {
	f := newFixture(t)
	o := f.options(time.Hour, 24*time.Hour)
	o.WebhookConfiguration = "no-such-configuration"
	m := f.manager(t, o, nil)
	err := m.sync(context.Background(), discard())
	if err == nil || !strings.Contains(err.Error(), "no-such-configuration") {
		t.Fatalf("sync = %v, want an error naming the configuration", err)
	}
	if m.Ready() {
		t.Error("ready without a caBundle")
	}
}

// TestMetrics: the rotations this replica wrote, the signing CA's expiry, and
// the syncs that failed, as a scrape shows them.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	m := f.manager(t, f.options(time.Hour, 24*time.Hour), nil)
	if err := m.sync(context.Background(), discard()); err != nil {
		t.Fatal(err)
	}
	st, _ := readState(f.secret(t))
	want := fmt.Sprintf(`
# HELP jobcheck_webhook_ca_expiry_timestamp_seconds Expiry (notAfter, Unix seconds) of the self-managed CA that signs new serving certificates; 0 before it is read.
# TYPE jobcheck_webhook_ca_expiry_timestamp_seconds gauge
jobcheck_webhook_ca_expiry_timestamp_seconds %d
# HELP jobcheck_webhook_certificate_rotations_total CAs (certificate="ca") and serving certificates (certificate="serving") this replica wrote to the self-managed Secret.
# TYPE jobcheck_webhook_certificate_rotations_total counter
jobcheck_webhook_certificate_rotations_total{certificate="ca"} 1
jobcheck_webhook_certificate_rotations_total{certificate="serving"} 1
# HELP jobcheck_webhook_certificate_sync_errors_total Failed reads or writes of the self-managed certificate's Secret or of the webhook configuration's caBundle.
# TYPE jobcheck_webhook_certificate_sync_errors_total counter
jobcheck_webhook_certificate_sync_errors_total 0
`, st.signer.cert.NotAfter.Unix())
	if err := testutil.CollectAndCompare(m, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	o := f.options(time.Hour, 24*time.Hour)
	o.WebhookConfiguration = "no-such-configuration"
	broken := f.manager(t, o, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); broken.Run(ctx, discard()) }()
	waitFor(t, "a failed sync counted", func() bool { return testutil.ToFloat64(broken.syncErrors) >= 1 })
	cancel()
	<-done
}
