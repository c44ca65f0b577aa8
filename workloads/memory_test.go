package workloads

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// The memory measurement: a child process (this test binary) fills the
// informers from a real kube-apiserver holding 10,000 Jobs and 1,000
// CronJobs and reports its peak (VmHWM, reached while filling them) and its
// steady resident memory afterwards. It runs only with JOBCHECK_MEASURE=1:
// creating the objects takes a minute or two of both cores.

const (
	childEnv      = "JOBCHECK_WORKLOADS_MEASURE_CHILD" // the mode the child measures
	measureJobs   = 10000
	measureCrons  = 1000
	peakGoalRatio = 1.3
)

type measurement struct {
	Mode           string  `json:"mode"`
	PeakKiB        int64   `json:"peak_kib"`    // VmHWM once synced
	SteadyKiB      int64   `json:"steady_kib"`  // VmRSS after settling
	HeapInuseKiB   int64   `json:"heap_kib"`    // Go heap in use after settling
	Jobs           int     `json:"jobs"`        // cached
	CronJobs       int     `json:"cronjobs"`    // cached
	SyncSeconds    float64 `json:"sync_s"`      // start to synced
	FinalHWMKiB    int64   `json:"final_hwm"`   // VmHWM at the end (a later peak would show here)
	WatchListGate  bool    `json:"watchlist"`   // the WatchListClient gate as the child saw it
	ListRequests   int64   `json:"list_reqs"`   // list requests made
	StreamRequests int64   `json:"stream_reqs"` // watch requests with sendInitialEvents
}

func TestMemoryPeakWithManyJobs(t *testing.T) {
	if os.Getenv("JOBCHECK_MEASURE") == "" {
		t.Skip("set JOBCHECK_MEASURE=1 to measure (creates 11,000 objects)")
	}
	needAPI(t)
	ctx := context.Background()
	admin := client(t, nil)
	start := time.Now()
	if err := createMeasureObjects(ctx, admin); err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d Jobs and %d CronJobs in %v", measureJobs, measureCrons, time.Since(start).Round(time.Second))

	for _, mode := range []string{"stripped,watchlist", "stripped,list", "transform,watchlist", "transform,list", "empty"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		env := append(os.Environ(), childEnv+"="+mode, "KUBECONFIG="+api.Kubeconfig)
		if strings.HasSuffix(mode, ",list") {
			env = append(env, "KUBE_FEATURE_WatchListClient=false")
		}
		cmd.Env = env
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var m measurement
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v: %s", mode, err, out)
		}
		ratio := float64(m.PeakKiB) / float64(m.SteadyKiB)
		t.Logf("%-20s peak %6.1f MiB  steady %6.1f MiB  peak/steady %.2f  heap %5.1f MiB  jobs %d cronjobs %d  sync %.1fs  list requests %d  streams %d",
			mode, mib(m.PeakKiB), mib(m.SteadyKiB), ratio, mib(m.HeapInuseKiB), m.Jobs, m.CronJobs, m.SyncSeconds, m.ListRequests, m.StreamRequests)
		if strings.HasPrefix(mode, "stripped") {
			if m.Jobs < measureJobs || m.CronJobs < measureCrons {
				t.Errorf("%s: cached %d jobs, %d cronjobs", mode, m.Jobs, m.CronJobs)
			}
			if ratio >= peakGoalRatio {
				t.Errorf("%s: peak %.1f MiB is %.2fx the steady %.1f MiB, goal < %.1fx", mode, mib(m.PeakKiB), ratio, mib(m.SteadyKiB), peakGoalRatio)
			}
		}
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// createMeasureObjects makes the Jobs and CronJobs of the bench harness
// (test/e2e/bench_objects_test.go): suspended, with a pod template, one in ten
// applied with kubectl (a last-applied-configuration annotation), spread over
// ten namespaces. Objects already there (an earlier run) are kept.
func createMeasureObjects(ctx context.Context, c kubernetes.Interface) error {
	for i := range 10 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("measure-%d", i)}}
		if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			return err
		}
	}
	tmpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": "nightly-export"}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "export", Image: "registry.example/team-a/exporter:2.4.1",
			Command: []string{"/usr/local/bin/export"}, Args: []string{"--all", "--since=24h"},
			Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "DB_HOST", Value: "postgres.team-a.svc"}},
		}}},
	}
	create := func(n int, f func(i int) error) error {
		var next atomic.Int64
		var wg sync.WaitGroup
		var first atomic.Value
		for range 16 {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := f(i); err != nil && !strings.Contains(err.Error(), "already exists") {
						first.CompareAndSwap(nil, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if err, _ := first.Load().(error); err != nil {
			return err
		}
		return nil
	}
	if err := create(measureJobs, func(i int) error {
		ns := fmt.Sprintf("measure-%d", i%10)
		j := &batchv1.Job{
			TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i), Namespace: ns,
				Labels:      map[string]string{"app.kubernetes.io/name": "nightly-export", "team": "a"},
				Annotations: map[string]string{}},
			Spec: batchv1.JobSpec{Suspend: ptr.To(true), BackoffLimit: ptr.To(int32(2)), Template: tmpl},
		}
		if i%10 == 0 {
			j.Annotations["jobcheck.io/enabled"] = "true"
			j.Annotations["jobcheck.io/max-age"] = "15m"
			applied, _ := json.Marshal(j)
			j.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = string(applied)
		}
		_, err := c.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("create jobs: %w", err)
	}
	return create(measureCrons, func(i int) error {
		ns := fmt.Sprintf("measure-%d", i%10)
		_, err := c.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i), Namespace: ns,
				Labels:      map[string]string{"app.kubernetes.io/name": "nightly-export"},
				Annotations: map[string]string{"jobcheck.io/enabled": "true"}},
			Spec: batchv1.CronJobSpec{Schedule: "*/15 * * * *", Suspend: ptr.To(true),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
		}, metav1.CreateOptions{})
		return err
	})
}

// measureChild is the child process: it fills the informers of its mode,
// then prints a measurement as JSON on stdout.
//
//   - stripped: this package's Cache;
//   - transform: client-go's informer factory with the same strip as its
//     transform (the usual way: stripped only once the reflector hands
//     objects to the store);
//   - empty: no informer, the process's own floor.
func measureChild() int {
	mode := os.Getenv(childEnv)
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var lists, streams atomic.Int64
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			q := r.URL.Query()
			switch {
			case q.Get("sendInitialEvents") == "true":
				streams.Add(1)
			case q.Get("watch") != "true":
				lists.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := measurement{Mode: mode, WatchListGate: os.Getenv("KUBE_FEATURE_WatchListClient") != "false"}
	start := time.Now()
	var jobs, crons func() int
	switch {
	case strings.HasPrefix(mode, "stripped"):
		wc := New(c, 0)
		wc.Start(ctx)
		if !wc.WaitForSync(ctx) {
			return 1
		}
		jobs, crons = func() int { return len(wc.jobs.GetStore().ListKeys()) }, func() int { return len(wc.cronJobs.GetStore().ListKeys()) }
	case strings.HasPrefix(mode, "transform"):
		f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithTransform(func(o any) (any, error) {
			if ro, ok := o.(kruntime.Object); ok {
				return stripAny(ro), nil
			}
			return o, nil
		}))
		ji, ci := f.Batch().V1().Jobs().Informer(), f.Batch().V1().CronJobs().Informer()
		f.Start(ctx.Done())
		if !cache.WaitForCacheSync(ctx.Done(), ji.HasSynced, ci.HasSynced) {
			return 1
		}
		jobs, crons = func() int { return len(ji.GetStore().ListKeys()) }, func() int { return len(ci.GetStore().ListKeys()) }
	default:
		jobs, crons = func() int { return 0 }, func() int { return 0 }
	}
	m.SyncSeconds = time.Since(start).Seconds()
	m.PeakKiB = status("VmHWM:")
	// Settle: the garbage of the first listing collected and returned.
	for range 10 {
		time.Sleep(2 * time.Second)
		runtime.GC()
	}
	m.SteadyKiB = status("VmRSS:")
	m.FinalHWMKiB = status("VmHWM:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.HeapInuseKiB = int64(ms.HeapInuse / 1024)
	m.Jobs, m.CronJobs = jobs(), crons()
	m.ListRequests, m.StreamRequests = lists.Load(), streams.Load()
	if err := json.NewEncoder(os.Stdout).Encode(m); err != nil {
		return 1
	}
	return 0
}

// status reads a KiB figure of /proc/self/status.
func status(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}
