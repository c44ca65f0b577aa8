package workloads

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/kubetest"
)

// api is the real kube-apiserver of this package's tests; nil when its
// binaries are missing (startErr says why).
var (
	api      *kubetest.Server
	startErr error
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(measureChild())
	}
	dir, err := os.MkdirTemp("", "workloads-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, _, err := kubetest.Binaries(); err != nil {
		startErr = err
	} else if api, startErr = kubetest.Start(dir); startErr != nil {
		fmt.Fprintln(os.Stderr, startErr)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if api != nil {
		api.Stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func needAPI(t *testing.T) {
	t.Helper()
	if api == nil {
		kubetest.Unavailable(t, startErr)
	}
}

// requests records the list and watch requests a client makes.
type requests struct {
	mu   sync.Mutex
	urls []string
}

func (r *requests) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		r.mu.Lock()
		r.urls = append(r.urls, req.URL.Path+"?"+req.URL.RawQuery)
		r.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (r *requests) matching(path string, query ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
next:
	for _, u := range r.urls {
		if !strings.HasPrefix(u, path+"?") {
			continue
		}
		for _, q := range query {
			if !strings.Contains(u, q) {
				continue next
			}
		}
		n++
	}
	return n
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func client(t testing.TB, rec *requests) kubernetes.Interface {
	cfg := rest.CopyConfig(api.Config)
	if rec != nil {
		cfg.WrapTransport = rec.wrap
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"/bin/true"}}}}}
}

func newJob(ns, name string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{
			"jobcheck.io/enabled": "true", "kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 3000)}},
		Spec: batchv1.JobSpec{Suspend: ptr.To(true), Template: podTemplate()},
	}
}

func newPod(ns, name string, job *batchv1.Job, injected bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "main", Image: "busybox", Command: []string{contract.AgentPath, contract.CommandRun, "--", "/bin/true"},
			Env: []corev1.EnvVar{{Name: contract.EnvJob, Value: "nightly"}, {Name: "SECRET", Value: "x"}},
		}}},
	}
	if injected {
		p.Labels = map[string]string{contract.LabelInjected: "true"}
	}
	return p
}

// Both ways client-go fills an informer (WatchList streaming, LIST then
// WATCH) keep only stripped objects, and the list path reads pages of the
// page size instead of one unbounded response.
func TestCacheOnRealAPIServer(t *testing.T) {
	needAPI(t)
	for _, watchList := range []bool{true, false} {
		t.Run(fmt.Sprintf("watchlist=%v", watchList), func(t *testing.T) {
			clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, watchList)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			admin := client(t, nil)
			ns := namespace(t, admin)
			var jobs []*batchv1.Job
			for i := range 5 {
				j, err := admin.BatchV1().Jobs(ns).Create(ctx, newJob(ns, fmt.Sprintf("job-%d", i)), metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, j)
			}
			cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
				Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: podTemplate()}}}}
			if _, err := admin.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			for i, injected := range []bool{true, true, false} {
				if _, err := admin.CoreV1().Pods(ns).Create(ctx, newPod(ns, fmt.Sprintf("pod-%d", i), jobs[0], injected), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}

			var rec requests
			c := New(client(t, &rec), 2)
			events := make(chan string, 100)
			if err := c.AddHandlers(Handlers{
				Job: func(_, j *batchv1.Job, deleted bool) {
					if j.Namespace == ns {
						events <- fmt.Sprintf("job %s deleted=%v started=%v template=%d", j.Name, deleted, j.Status.StartTime != nil, len(j.Spec.Template.Spec.Containers))
					}
				},
			}); err != nil {
				t.Fatal(err)
			}
			c.Start(ctx)
			if !c.WaitForSync(ctx) {
				t.Fatal("never synced")
			}

			streamed := watchList && serverStreams(t)
			if watchList && rec.matching("/apis/batch/v1/jobs", "sendInitialEvents=true") == 0 {
				t.Errorf("no WatchList stream asked for: %v", rec.urls)
			}
			if streamed {
				if n := rec.matching("/apis/batch/v1/jobs", "limit="); n != 0 {
					t.Errorf("%d list requests besides the WatchList stream: %v", n, rec.urls)
				}
			} else if n := rec.matching("/apis/batch/v1/jobs", "limit=2"); n < 3 {
				// The LIST path, or the fallback to it when the API server
				// cannot stream (its etcd is older than 3.4.31/3.5.13).
				t.Errorf("%d list pages of 2 jobs, want at least 3 for 5 jobs: %v", n, rec.urls)
			}

			for _, j := range jobs {
				got, ok := c.Job(ns, j.Name)
				if !ok {
					t.Fatalf("job %s not cached", j.Name)
				}
				if len(got.Spec.Template.Spec.Containers) != 0 || got.ManagedFields != nil || len(got.Annotations) != 1 {
					t.Errorf("job %s not stripped: %+v", j.Name, got)
				}
			}
			if got, ok := c.CronJob(ns, "nightly"); !ok || got.Spec.Schedule != "0 3 * * *" || got.Spec.JobTemplate.Spec.Template.Spec.Containers != nil {
				t.Errorf("cronjob = %+v, %v", got, ok)
			}
			pods := c.PodsOf(jobs[0].UID)
			if len(pods) != 2 {
				t.Fatalf("%d pods of job-0 cached, want the 2 injected ones", len(pods))
			}
			for _, p := range pods {
				if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "nightly" {
					t.Errorf("pod %s env = %v, want only %s", p.Name, env, contract.EnvJob)
				}
			}

			// Watch events are stripped too.
			j := jobs[1]
			j.Status.StartTime = &metav1.Time{Time: time.Now().Truncate(time.Second)}
			if _, err := admin.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := admin.BatchV1().Jobs(ns).Delete(ctx, jobs[2].Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, events, "job job-1 deleted=false started=true template=0")
			waitFor(t, events, "job job-2 deleted=true started=false template=0")
			if got, _ := c.Job(ns, "job-1"); got.Status.StartTime == nil {
				t.Error("status update not cached")
			}
		})
	}
}

// waitFor reads events until want; the limit only guards against a hang.
func waitFor(t *testing.T, c chan string, want string) {
	t.Helper()
	limit := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case e := <-c:
			if e == want {
				return
			}
			seen = append(seen, e)
		case <-limit:
			t.Fatalf("no event %q; saw %q", want, seen)
		}
	}
}

// serverStreams reports whether the API server serves WatchList streams:
// it needs etcd's progress notifications (etcd 3.4.31, 3.5.13 or newer).
func serverStreams(t *testing.T) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w, err := client(t, nil).CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(true),
		AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		return false
	}
	defer w.Stop()
	for e := range w.ResultChan() {
		switch e.Type {
		case "ERROR":
			t.Logf("the API server cannot stream: %v (ETCD=/path/to/etcd-3.6 to test WatchList)", e.Object)
			return false
		case "BOOKMARK":
			return true
		}
	}
	return false
}
