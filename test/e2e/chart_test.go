//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// helmRelease is the Helm install's release: its objects are named after it
// (MutatingWebhookConfiguration jobcheck-helm, Deployment jobcheck-helm-webhook, ...),
// so that they meet none of the harness's or the dry-run scenario's.
const helmRelease = "jobcheck-helm"

// helmSelector is the namespace label the Helm-installed webhook selects: the
// harness's webhook (jobcheck.io/injection) never sees those namespaces, nor this
// one the harness's.
const helmSelector = "jobcheck.io/e2e-helm"

// Issue 10. jobcheck installed from charts/jobcheck with `helm install`, without
// cert-manager, from the images `make images` built: the webhook issues its own
// certificate into the chart's Secret, writes its CA into its configuration's
// caBundle, becomes Ready, and the API server calls it through its Service (at the
// endpoint: the API server runs with --enable-aggregator-routing, there being no
// kube-proxy). It injects a Job's pods, which run and report. Its serving
// certificate is valid for 45s, so it is renewed every 30s: pods created across a
// renewal are all created and injected, and the API server never gives up on it.
//
// What this one-node cluster needs of the chart: hostNetwork (the API server cannot
// reach pod IPs: the CNI bridge has no gateway), ports of its own (the node is this
// machine), the API server's address in KUBERNETES_SERVICE_HOST/PORT (no kube-proxy
// for the kubernetes Service), one replica and so no PodDisruptionBudget, and the run
// watcher off (it would report the harness's workloads a second time).
func TestHelmInstall(t *testing.T) {
	t.Parallel()
	helm := filepath.Join(env.Root, "test", "e2e", "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("no helm binary (hack/e2e.sh builds it): %v", err)
	}
	ctx := ctxFor(t)
	ns := namespace(t, "jc-helm", false, nil)
	agent, webhook := builtImage(t, "jobcheck/agent"), builtImage(t, "jobcheck/webhook")
	api, err := url.Parse(env.Server)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]int{"webhook": cluster.FreePort(), "metrics": cluster.FreePort()}
	values := map[string]any{
		"image":  map[string]any{"registry": env.Registry.Addr, "repository": webhook.Repo(), "tag": webhook.Tag},
		"agent":  map[string]any{"image": map[string]any{"registry": env.Registry.Addr, "repository": agent.Repo(), "tag": agent.Tag}},
		"config": map[string]any{"pushgateway": env.Pushgateway.URL, "maxAge": "5m"},
		// The harness's own webhook reports this cluster's runs already.
		"runWatcher": map[string]any{"enabled": false},
		// Helm merges maps into the defaults: null removes the default label.
		"webhook": map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{
			labelInjection: nil, helmSelector: "enabled"}}},
		"selfSignedCert":      map[string]any{"validity": "45s", "caValidity": "1h", "checkInterval": "2s"},
		"replicaCount":        1,
		"podDisruptionBudget": map[string]any{"enabled": false},
		"hostNetwork":         true,
		"containerPorts":      ports,
		"extraEnv": []map[string]string{
			{"name": "KUBERNETES_SERVICE_HOST", "value": api.Hostname()},
			{"name": "KUBERNETES_SERVICE_PORT", "value": api.Port()},
		},
	}
	valuesFile := filepath.Join(t.TempDir(), "values.json")
	b, _ := json.Marshal(values)
	if err := os.WriteFile(valuesFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	helmHome := t.TempDir()
	runHelm := func(args ...string) (string, error) {
		cmd := exec.Command(helm, append(args, "--kubeconfig", env.Kubeconfig)...)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+helmHome+"/cache", "HELM_CONFIG_HOME="+helmHome+"/config",
			"HELM_DATA_HOME="+helmHome+"/data")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := runHelm("uninstall", helmRelease, "-n", ns, "--wait"); err != nil {
			t.Errorf("helm uninstall: %v\n%s", err, out)
		}
	})
	deployment := helmRelease + "-webhook"
	if out, err := runHelm("install", helmRelease, filepath.Join(env.Root, "charts", "jobcheck"), "-n", ns,
		"-f", valuesFile, "--wait", "--timeout", "4m"); err != nil {
		t.Fatalf("helm install: %v\n%s\n%s", err, out, helmDiagnostics(ns))
	}

	t.Run("own certificate, caBundle, Ready", func(t *testing.T) {
		var dep appsv1.Deployment
		if d, err := env.Client.AppsV1().Deployments(ns).Get(ctx, deployment, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		} else {
			dep = *d
		}
		if dep.Status.ReadyReplicas != 1 || dep.Status.AvailableReplicas != 1 {
			t.Errorf("Deployment %s: ready %d available %d, want 1", deployment, dep.Status.ReadyReplicas, dep.Status.AvailableReplicas)
		}
		pod := webhookPod(t, ns)
		if !slices.ContainsFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
		}) {
			t.Errorf("webhook pod %s not Ready: %+v", pod.Name, pod.Status.Conditions)
		}
		if got := pod.Spec.Containers[0].Image; got != env.Images["jobcheck/webhook"] {
			t.Errorf("webhook image %s, want the one `make images` built, %s", got, env.Images["jobcheck/webhook"])
		}
		assertImageID(t, pod.Status.ContainerStatuses[0].ImageID, webhook)

		secret, err := env.Client.CoreV1().Secrets(ns).Get(ctx, deployment+"-certs", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key"} {
			if len(secret.Data[k]) == 0 {
				t.Errorf("Secret %s: %s empty; it holds %d keys", secret.Name, k, len(secret.Data))
			}
		}
		bundle := caBundle(t)
		if !bytes.Equal(bundle, secret.Data["ca.crt"]) {
			t.Errorf("caBundle of %s is not the Secret's ca.crt", helmRelease)
		}
		certs := parseCerts(t, secret.Data["tls.crt"])
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool(t, bundle), DNSName: serviceHost(ns)}); err != nil {
			t.Errorf("the Secret's serving certificate does not verify for %s against the caBundle: %v", serviceHost(ns), err)
		}
	})

	jobNS := namespace(t, "jc-helm-jobs", false, map[string]string{helmSelector: "enabled"})
	t.Run("injects a Job's pods", func(t *testing.T) {
		cmd := []string{"sh", "-c", "echo installed with helm"}
		job := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "helm-job", Namespace: jobNS, Annotations: map[string]string{annEnabled: "true"}},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: podSpec(cmd...)},
		})
		pod := jobPods(t, job, 1)[0]
		if _, ok := pod.Annotations[annInjected]; !ok {
			t.Fatalf("pod %s not injected: annotations %v\n%s", pod.Name, pod.Annotations, helmDiagnostics(ns))
		}
		if init := pod.Spec.InitContainers[0]; init.Name != InstallerName || init.Image != env.Images["jobcheck/agent"] {
			t.Errorf("first init container %s %s, want %s with the agent image %s", init.Name, init.Image, InstallerName, env.Images["jobcheck/agent"])
		}
		if got := pod.Spec.Containers[0].Command; !slices.Equal(got, append([]string{AgentPath, CommandRun, "--"}, cmd...)) {
			t.Errorf("command %q: not wrapped", got)
		}
		if v := envValue(pod.Spec.Containers[0], EnvReport); v != "" {
			t.Errorf("%s=%q: the harness's webhook (run watcher on) injected it, not the Helm-installed one", EnvReport, v)
		}
		waitJob(t, job, batchv1.JobComplete)
		// The run watcher is off: the agent reports the run itself (run mode).
		g := group(t, job.Name, jobNS, "the run", func(g *cluster.Group) bool {
			v, ok := g.Value(MetricLastRunInfo, map[string]string{LabelResult: ResultSucceeded})
			return ok && v == 1
		})
		if v := value(t, g, MetricLastAttemptExitCode, nil); v != 0 {
			t.Errorf("%s = %v, want 0", MetricLastAttemptExitCode, v)
		}
		m := helmMetrics(t, ports["metrics"])
		if n, _ := m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: "injected"}); n < 1 {
			t.Errorf("the Helm-installed webhook counts no injected admission: %v", m[MetricWebhookAdmissions])
		}
	})

	t.Run("certificate renewed while pods are created", func(t *testing.T) {
		owner := createJob(t, &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "owner", Namespace: jobNS, Annotations: map[string]string{annEnabled: "true"}},
			Spec:       batchv1.JobSpec{Suspend: ptr(true), BackoffLimit: ptr(int32(0)), Template: podSpec("true")},
		})
		spec := podSpec("true").Spec
		spec.NodeSelector = map[string]string{"jobcheck.io/e2e-node": "nowhere"}
		before := helmMetrics(t, ports["metrics"])
		rotationsBefore, _ := before.Sum("jobcheck_webhook_certificate_rotations_total", map[string]string{"certificate": "serving"})
		errorsBefore, _ := before.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: "error"})
		failOpenBefore := apiServerFailOpen(t)
		first := servedCert(t, ns, ports["webhook"])

		var (
			mu      sync.Mutex
			created []*corev1.Pod
			errs    []error
		)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				p, err := env.Client.CoreV1().Pods(jobNS).Create(ctx, &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{GenerateName: "rotation-", OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "batch/v1", Kind: "Job", Name: owner.Name, UID: owner.UID, Controller: ptr(true)}}},
					Spec: spec,
				}, metav1.CreateOptions{})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					created = append(created, p)
				}
				mu.Unlock()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		// Until a new certificate is served, and 20 pods more after it.
		var renewed *x509.Certificate
		err := cluster.Poll(ctx, "the serving certificate renewed", 3*time.Minute, func() (bool, error) {
			c, err := dialServed(ns, ports["webhook"])
			if err != nil || c.SerialNumber.Cmp(first.SerialNumber) == 0 {
				return false, nil
			}
			renewed = c
			return true, nil
		})
		if err == nil {
			mu.Lock()
			n := len(created) + len(errs)
			mu.Unlock()
			err = cluster.Poll(ctx, "20 pods after the renewal", time.Minute, func() (bool, error) {
				mu.Lock()
				defer mu.Unlock()
				return len(created)+len(errs) >= n+20, nil
			})
		}
		close(stop)
		<-done
		if err != nil {
			t.Fatalf("%v\n%s", err, helmDiagnostics(ns))
		}
		if len(errs) > 0 {
			t.Errorf("%d of %d pod creations failed across the renewal, first: %v", len(errs), len(errs)+len(created), errs[0])
		}
		for _, p := range created {
			if _, ok := p.Annotations[annInjected]; !ok {
				t.Errorf("pod %s, created across the renewal, was not injected", p.Name)
			}
		}
		if after := apiServerFailOpen(t); after != failOpenBefore {
			t.Errorf("the API server's fail-open count for pods.jobcheck.io went from %v to %v across the renewal", failOpenBefore, after)
		}
		if !renewed.NotAfter.After(first.NotAfter) || renewed.Issuer.String() != first.Issuer.String() {
			t.Errorf("renewed certificate: issuer %s, expires %s; the first: issuer %s, expires %s",
				renewed.Issuer, renewed.NotAfter, first.Issuer, first.NotAfter)
		}
		m := helmMetrics(t, ports["metrics"])
		if after, _ := m.Sum("jobcheck_webhook_certificate_rotations_total", map[string]string{"certificate": "serving"}); after <= rotationsBefore {
			t.Errorf("jobcheck_webhook_certificate_rotations_total{certificate=\"serving\"}: %v before, %v after", rotationsBefore, after)
		}
		if after, _ := m.Sum(MetricWebhookAdmissions, map[string]string{LabelResult: "error"}); after != errorsBefore {
			t.Errorf("the webhook answered %v admissions with an internal error across the renewal", after-errorsBefore)
		}
		t.Logf("%d pods created across the renewal to serial %x", len(created), renewed.SerialNumber)
	})
}

// builtImage is the image `make images` built under key, as the harness pushed it.
func builtImage(t *testing.T, key string) cluster.BuiltImage {
	t.Helper()
	for _, b := range env.Built {
		if b.Key == key {
			return b
		}
	}
	t.Fatalf("no built image %s in %+v", key, env.Built)
	return cluster.BuiltImage{}
}

// assertImageID checks that a container runs the image b: the kubelet's imageID
// names the index that was pulled, or this platform's image of it.
func assertImageID(t *testing.T, imageID string, b cluster.BuiltImage) {
	t.Helper()
	_, digest, _ := strings.Cut(imageID, "@")
	idx, err := b.Index.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ok := digest == idx.String()
	platforms, err := b.Platforms()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range platforms {
		ok = ok || digest == p.Digest.String()
	}
	if !ok {
		t.Errorf("image ID %s: not %s:%s (index %s) as `make images` built it", imageID, b.Name, b.Tag, idx)
	}
}

func serviceHost(ns string) string { return helmRelease + "-webhook." + ns + ".svc" }

// caBundle is the Helm install's webhook configuration's caBundle.
func caBundle(t *testing.T) []byte {
	t.Helper()
	cfg, err := env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctxFor(t), helmRelease, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("%s has %d webhooks, want 1", helmRelease, len(cfg.Webhooks))
	}
	return cfg.Webhooks[0].ClientConfig.CABundle
}

// servedCert waits for the Helm-installed webhook to present a certificate that
// verifies as the API server verifies it, and returns it.
func servedCert(t *testing.T, ns string, port int) *x509.Certificate {
	t.Helper()
	var c *x509.Certificate
	var last error
	if err := cluster.Poll(ctxFor(t), "the webhook's certificate", time.Minute, func() (bool, error) {
		c, last = dialServed(ns, port)
		return last == nil, nil
	}); err != nil {
		t.Fatalf("%v: %v", err, last)
	}
	return c
}

// dialServed connects to the webhook on the node (hostNetwork) as the API server
// does: the Service's DNS name, the configuration's caBundle as the only roots.
func dialServed(ns string, port int) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, helmRelease, metav1.GetOptions{})
	if err != nil || len(cfg.Webhooks) == 0 {
		return nil, fmt.Errorf("webhook configuration %s: %v", helmRelease, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.Webhooks[0].ClientConfig.CABundle) {
		return nil, fmt.Errorf("caBundle of %s holds no certificate", helmRelease)
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second},
		Config: &tls.Config{RootCAs: roots, ServerName: serviceHost(ns), MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

func pool(t *testing.T, pemCerts []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemCerts) {
		t.Fatal("no certificate in the PEM bundle")
	}
	return p
}

func parseCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no certificate in the PEM")
	}
	return out
}

// webhookPod is the Helm install's one webhook pod.
func webhookPod(t *testing.T, ns string) corev1.Pod {
	t.Helper()
	l, err := env.Client.CoreV1().Pods(ns).List(ctxFor(t), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + helmRelease})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("webhook pods of %s: %d (%v), want 1", helmRelease, len(l.Items), err)
	}
	return l.Items[0]
}

// helmMetrics reads the Helm-installed webhook's /metrics (on the node's network).
func helmMetrics(t *testing.T, port int) cluster.Metrics {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := cluster.ParseMetrics(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// helmDiagnostics is what the cluster says about the Helm install when it does not
// do what the test expects: its pods' states and events, and the webhook's log.
func helmDiagnostics(ns string) string {
	ctx := context.Background()
	var b strings.Builder
	if l, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for i, p := range l.Items {
			fmt.Fprintf(&b, "pod %s: phase=%s ip=%s conditions=%+v\n", p.Name, p.Status.Phase, p.Status.PodIP, p.Status.Conditions)
			for _, s := range p.Status.ContainerStatuses {
				fmt.Fprintf(&b, "  %s: ready=%v restarts=%d state=%+v\n", s.Name, s.Ready, s.RestartCount, s.State)
			}
			if log, err := env.ContainerLog(&l.Items[i], "webhook"); err == nil {
				lines := strings.Split(strings.TrimSpace(log), "\n")
				fmt.Fprintf(&b, "--- log of %s (last 30 lines) ---\n%s\n", p.Name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	}
	if l, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range l.Items {
			fmt.Fprintf(&b, "event %s/%s %s %s: %s\n", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Type, e.Reason, e.Message)
		}
	}
	if l, err := env.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, s := range l.Items {
			fmt.Fprintf(&b, "endpointslice %s:", s.Name)
			for _, e := range s.Endpoints {
				fmt.Fprintf(&b, " %v ready=%v", e.Addresses, e.Conditions.Ready != nil && *e.Conditions.Ready)
			}
			for _, p := range s.Ports {
				if p.Name != nil && p.Port != nil {
					fmt.Fprintf(&b, " port %s=%d", *p.Name, *p.Port)
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
