//go:build bench && !e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// leaseNamespace holds the run watcher's Lease in the benchmark's cluster.
const leaseNamespace = "jobcheck-bench"

// TestBenchAPIServer measures, against a real kube-apiserver and the real
// `jobcheck-webhook serve` process as it is deployed (run watcher on, with
// its Lease, its pod informer and a real Pushgateway; image lookup on):
//
//   - the pod creation latency the webhook adds (BENCH_PODS pods a side,
//     BENCH_ROUNDS rounds);
//   - the admission latency of a pod whose container has no command (its
//     image's ENTRYPOINT read from a registry), the first time and cached,
//     against a pod that has one (BENCH_IMAGES each);
//   - the webhook's peak memory while its informers fill at start, against
//     its steady state, and its POST /mutate latency, with an empty cluster,
//     1,000 Jobs, and BENCH_JOBS Jobs plus BENCH_CRONJOBS CronJobs.
//
// BENCH_WEBHOOK_BIN names the webhook binary (default bin/jobcheck-webhook).
//
//	cd test/e2e && BENCH_OUT=/tmp go test -tags bench -run TestBenchAPIServer -v -timeout 30m .
func TestBenchAPIServer(t *testing.T) {
	root := benchRoot(t)
	webhookBin := os.Getenv("BENCH_WEBHOOK_BIN")
	if webhookBin == "" {
		webhookBin = filepath.Join(root, "bin", "jobcheck-webhook")
	}
	requireFile(t, webhookBin, "make webhook")
	pods := benchEnvInt(t, "BENCH_PODS", 200)
	rounds := benchEnvInt(t, "BENCH_ROUNDS", 3)
	jobs := benchEnvInt(t, "BENCH_JOBS", 10000)
	cronJobs := benchEnvInt(t, "BENCH_CRONJOBS", 1000)
	direct := benchEnvInt(t, "BENCH_DIRECT", 300)
	images := benchEnvInt(t, "BENCH_IMAGES", 50)
	settle := time.Duration(benchEnvInt(t, "BENCH_SETTLE_SECONDS", 20)) * time.Second
	steadyMax := time.Duration(benchEnvInt(t, "BENCH_STEADY_SECONDS", 180)) * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	c, client := startControlPlane(ctx, t)
	on := benchNamespace(ctx, t, client, "bench-on", true)
	off := benchNamespace(ctx, t, client, "bench-off", false)
	for i := range 10 {
		benchNamespace(ctx, t, client, fmt.Sprintf("bench-jobs-%d", i), false)
	}
	benchNamespace(ctx, t, client, leaseNamespace, false)
	jobOn := createOwner(ctx, t, client, on)
	jobOff := createOwner(ctx, t, client, off)
	pg, err := c.StartPushgateway(ctx)
	if err != nil {
		t.Fatalf("start pushgateway: %v", err)
	}

	w, err := c.StartWebhook(ctx, cluster.WebhookOptions{Bin: webhookBin, AgentImage: "registry.example/jobcheck/agent:bench",
		Pushgateway: pg.URL, Manifests: filepath.Join(root, "manifests"),
		// Restarted between the memory tiers: no grace period to sit out.
		Args: []string{"--leader-elect-resource-namespace=" + leaseNamespace, "--shutdown-delay=0s"}})
	if err != nil {
		t.Fatalf("start webhook: %v", err)
	}
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", w.MetricsPort)
	waitLeader(ctx, t, metricsURL)
	res := benchResults{}

	// Pod creation with the webhook called and not called, interleaved.
	checkInjection(ctx, t, client, jobOn, jobOff)
	for range 20 { // warm-up: connections, caches
		createPod(ctx, t, client, jobOn)
		createPod(ctx, t, client, jobOff)
	}
	for r := range rounds {
		sum0, n0 := handlerTime(t, metricsURL)
		var with, without []time.Duration
		for i := range pods {
			first, second := jobOn, jobOff
			if i%2 == 1 {
				first, second = jobOff, jobOn
			}
			d1, d2 := createPod(ctx, t, client, first), createPod(ctx, t, client, second)
			if first == jobOn {
				with, without = append(with, d1), append(without, d2)
			} else {
				with, without = append(with, d2), append(without, d1)
			}
		}
		mw, mo := medianDur(with), medianDur(without)
		res.add("apiserver/create/with", "ms", millis(mw))
		res.add("apiserver/create/without", "ms", millis(mo))
		res.add("apiserver/create/added", "ms", millis(mw-mo))
		if sum1, n1 := handlerTime(t, metricsURL); n1 > n0 {
			res.add("apiserver/handler/mean", "ms", (sum1-sum0)/(n1-n0)*1000)
		}
		t.Logf("round %d: %d pods a side: median create %v with the webhook, %v without: %v added", r, pods, mw, mo, mw-mo)
	}

	hc := webhookClient(t, w)
	benchImageLookup(ctx, t, res, hc, w.URL, jobOn, images)

	// Memory and latency with more and more Jobs cached. The webhook is
	// restarted after each batch, so its informers list them all at start.
	review := directReview(t, benchPod(jobOn))
	measure := func(tier string, jobs, cronJobs int, lists0 map[string]float64, steady bool) {
		res.add("webhook/tier/"+tier+"/jobs", "Jobs", float64(jobs))
		res.add("webhook/tier/"+tier+"/cronjobs", "CronJobs", float64(cronJobs))
		injected, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: LabelInjected})
		if err != nil {
			t.Fatalf("list injected pods: %v", err)
		}
		res.add("webhook/tier/"+tier+"/pods", "pods", float64(len(injected.Items)))
		waitLeader(ctx, t, metricsURL)
		wait := settle
		if steady {
			wait = steadyMax
		}
		hwm, rss, took, gc := settleMemory(t, c, metricsURL, wait, steady)
		res.add("webhook/rss/"+tier+"/vmhwm", "KiB", float64(hwm))
		res.add("webhook/rss/"+tier+"/vmrss", "KiB", float64(rss))
		res.add("webhook/settle/"+tier+"/seconds", "s", took.Seconds())
		res.add("webhook/settle/"+tier+"/gc", "GCs", float64(gc))
		res.add("webhook/heap/"+tier+"/inuse", "bytes", metric(t, metricsURL, "go_memstats_heap_inuse_bytes"))
		if lists0 != nil {
			lists1 := apiRequests(ctx, t, client)
			for k, v := range lists1 {
				res.add("webhook/fill/"+tier+"/"+k, "requests", v-lists0[k])
			}
		}
		t.Logf("%s: webhook VmHWM %d KiB, VmRSS %d KiB after %v", tier, hwm, rss, took.Round(time.Second))
		for r := range rounds {
			lat := make([]time.Duration, 0, direct)
			for i := range direct + 30 {
				d := postReview(t, hc, w.URL, review)
				if i >= 30 { // the first ones warm up
					lat = append(lat, d)
				}
			}
			p50 := medianDur(lat)
			res.add("webhook/direct/"+tier+"/p50", "ms", millis(p50))
			res.add("webhook/direct/"+tier+"/p99", "ms", millis(quantileDur(lat, 0.99)))
			t.Logf("%s, round %d: POST /mutate p50 %v", tier, r, p50)
		}
	}
	restart := func() map[string]float64 {
		if err := w.Stop(); err != nil {
			t.Fatalf("stop webhook: %v", err)
		}
		before := apiRequests(ctx, t, client)
		if err := w.Start(ctx); err != nil {
			t.Fatalf("restart webhook: %v", err)
		}
		return before
	}
	measure("empty", 0, 0, restart(), false)
	start := time.Now()
	if err := createJobs(ctx, client, 0, min(1000, jobs)); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d Jobs in %v", min(1000, jobs), time.Since(start))
	measure("1k", min(1000, jobs), 0, restart(), false)
	start = time.Now()
	if err := createJobs(ctx, client, min(1000, jobs), jobs); err != nil {
		t.Fatal(err)
	}
	if err := createCronJobs(ctx, client, cronJobs); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d more Jobs and %d CronJobs in %v", jobs-min(1000, jobs), cronJobs, time.Since(start))
	measure("10k", jobs, cronJobs, restart(), true)
	res.write(t, "apiserver")
}

func benchNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, name string, inject bool) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if inject {
		ns.Labels = map[string]string{"jobcheck.io/injection": "enabled"}
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	// No controller manager runs: make the service account pods need.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service account in %s: %v", name, err)
	}
	return name
}

func createOwner(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) *batchv1.Job {
	t.Helper()
	j, err := client.BatchV1().Jobs(ns).Create(ctx, benchJob(ns, "nightly-export-29345678", true), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create job in %s: %v", ns, err)
	}
	return j
}

// createPod creates one pod of job and returns how long the API server took.
func createPod(ctx context.Context, t *testing.T, client kubernetes.Interface, job *batchv1.Job) time.Duration {
	t.Helper()
	pod := benchPod(job)
	start := time.Now()
	if _, err := client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod in %s: %v", job.Namespace, err)
	}
	return time.Since(start)
}

// checkInjection makes sure the figure compares what it says: pods in the
// labelled namespace are mutated (once the API server has picked up the new
// webhook configuration), pods in the other one are not.
func checkInjection(ctx context.Context, t *testing.T, client kubernetes.Interface, on, off *batchv1.Job) {
	t.Helper()
	injected := func(job *batchv1.Job) (bool, error) {
		p, err := client.CoreV1().Pods(job.Namespace).Create(ctx, benchPod(job), metav1.CreateOptions{})
		if err != nil {
			return false, fmt.Errorf("create pod in %s: %w", job.Namespace, err)
		}
		return p.Labels[LabelInjected] == "true", nil
	}
	if err := cluster.Poll(ctx, "the API server to call the webhook", 60*time.Second, func() (bool, error) { return injected(on) }); err != nil {
		t.Fatal(err)
	}
	if got, err := injected(off); err != nil || got {
		t.Fatalf("pod in %s (not labelled): injected %v (%v), want not injected", off.Namespace, got, err)
	}
}

// waitLeader waits until the webhook holds the run watcher's Lease: the
// figures are of the webhook as deployed, reporting runs.
func waitLeader(ctx context.Context, t *testing.T, metricsURL string) {
	t.Helper()
	if err := cluster.Poll(ctx, "the webhook to lead the run watcher", 60*time.Second, func() (bool, error) {
		return metric(t, metricsURL, metricRunwatchLeader) == 1, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// directReview is the AdmissionReview the API server would send for pod.
func directReview(t *testing.T, pod *corev1.Pod) []byte {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	kind := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "bench", Kind: kind, Namespace: pod.Namespace,
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func webhookClient(t *testing.T, w *cluster.Webhook) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(w.CertDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// postReview POSTs review to the webhook and returns the time to the last
// byte of an answer that must carry a patch.
func postReview(t *testing.T, hc *http.Client, url string, review []byte) time.Duration {
	t.Helper()
	d, _ := postReviewBody(t, hc, url, review)
	return d
}

// postReviewBody is postReview that also returns the answer.
func postReviewBody(t *testing.T, hc *http.Client, url string, review []byte) (time.Duration, []byte) {
	t.Helper()
	start := time.Now()
	resp, err := hc.Post(url, "application/json", bytes.NewReader(review))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"patch"`) {
		t.Fatalf("POST %s: status %d, err %v, want a patch: %.300s", url, resp.StatusCode, err, b)
	}
	return d, b
}

// settleMemory waits for the webhook's memory to settle after its start and
// returns its peak (VmHWM, or a higher VmRSS sample: the kernel's VmHWM can
// lag its VmRSS) and its steady VmRSS, how long it waited, and the garbage
// collections it saw meanwhile. With untilGC it waits, for at most wait,
// until a collection after the first listings has run and the Go runtime
// has had 10s to return the freed memory to the system: a process that
// allocates little collects next when the runtime forces it, 2 minutes
// after the previous collection, and only then gives the first listings'
// garbage back. Without, it waits wait.
func settleMemory(t *testing.T, c *cluster.Cluster, metricsURL string, wait time.Duration, untilGC bool) (hwm, rss int64, took time.Duration, gcs float64) {
	t.Helper()
	gc := func() float64 { return metric(t, metricsURL, "go_gc_duration_seconds_count") }
	gc0 := gc()
	start := time.Now()
	var collected time.Time
	var trail []string
	for {
		r, h := procMemory(t, c)
		hwm, rss = max(hwm, h, r), r
		trail = append(trail, fmt.Sprintf("%.0fs %d", time.Since(start).Seconds(), r))
		if untilGC && collected.IsZero() && gc() > gc0 {
			collected = time.Now()
		}
		if time.Since(start) >= wait || (!collected.IsZero() && time.Since(collected) >= 10*time.Second) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	t.Logf("VmRSS (KiB) while settling: %s", strings.Join(trail, ", "))
	return hwm, rss, time.Since(start), gc() - gc0
}

// procMemory reads VmRSS and VmHWM (KiB) of the webhook process.
func procMemory(t *testing.T, c *cluster.Cluster) (rss, hwm int64) {
	t.Helper()
	for _, p := range c.Procs {
		if p.Name != "jobcheck-webhook" || !p.Alive() {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid))
		if err != nil {
			t.Fatalf("webhook memory: %v", err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			var v int64
			if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &v); err == nil {
				rss = v
			}
			if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &v); err == nil {
				hwm = v
			}
		}
		return rss, hwm
	}
	t.Fatal("webhook memory: no running jobcheck-webhook process")
	return 0, 0
}

// metric reads one unlabelled sample from the webhook's /metrics.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("webhook metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("webhook metrics: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		var v float64
		if _, err := fmt.Sscanf(line, name+" %g", &v); err == nil {
			return v
		}
	}
	t.Fatalf("webhook metrics: no %s", name)
	return 0
}

// handlerTime reads the sum (seconds) and count of the webhook's own
// jobcheck_webhook_admission_duration_seconds histogram: the time spent in
// its handler, without the network and the API server.
func handlerTime(t *testing.T, url string) (sum, count float64) {
	t.Helper()
	return metric(t, url, "jobcheck_webhook_admission_duration_seconds_sum"),
		metric(t, url, "jobcheck_webhook_admission_duration_seconds_count")
}

// apiRequests counts, from the API server's apiserver_request_total, the
// LIST and WATCH requests it has answered for Jobs, CronJobs and pods
// ("jobs/LIST", ...): the difference across a webhook start says how its
// informers were filled (pages of a list, or one watch-list stream).
func apiRequests(ctx context.Context, t *testing.T, client kubernetes.Interface) map[string]float64 {
	t.Helper()
	b, err := client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatalf("API server metrics: %v", err)
	}
	counts := map[string]float64{}
	for _, r := range []string{"jobs", "cronjobs", "pods"} {
		for _, v := range []string{"LIST", "WATCH"} {
			counts[r+"/"+v] = 0
		}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		var resource, verb string
		for kv := range strings.SplitSeq(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "resource":
				resource = strings.Trim(v, `"`)
			case "verb":
				verb = strings.Trim(v, `"`)
			}
		}
		if _, ok := counts[resource+"/"+verb]; ok {
			var n float64
			if _, err := fmt.Sscanf(value, "%g", &n); err == nil {
				counts[resource+"/"+verb] += n
			}
		}
	}
	return counts
}
