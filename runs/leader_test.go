package runs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/kubetest"
	"github.com/jobcheck/jobcheck/workloads"
)

// replica is one webhook replica's informers and run watcher on the real
// kube-apiserver. partitioned cuts it off the API server (every request
// fails), as a network partition or a hung node would.
type replica struct {
	name        string
	w           *Watcher
	cancel      context.CancelFunc
	done        chan struct{}
	partitioned atomic.Bool
}

func startReplica(t *testing.T, name, leaseNS string) *replica {
	t.Helper()
	r := &replica{name: name, done: make(chan struct{})}
	cfg := rest.CopyConfig(api.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if r.partitioned.Load() {
				return nil, errors.New("partitioned")
			}
			return rt.RoundTrip(req)
		})
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cache := workloads.New(client, 0)
	r.w, err = New(Config{LeaseNamespace: leaseNS, LeaseName: DefaultLeaseName, Identity: name,
		LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond, Pushgateways: []string{"*"}},
		client, cache, prometheus.NewRegistry(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	cache.Start(ctx)
	go func() { r.w.Run(ctx); close(r.done) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func (r *replica) leading() bool { return testutil.ToFloat64(r.w.metrics.leader) == 1 }

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// eventually polls cond; the limit only guards against a hang.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	limit := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(limit) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two replicas on a real kube-apiserver and a real Pushgateway: one leads
// and reports; when it stops (gracefully, then cut off the API server) the
// other takes over, reads the group back and counts each run once.
func TestLeaderHandOverOnRealAPIServer(t *testing.T) {
	if api == nil {
		kubetest.Unavailable(t, apiErr)
	}
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(api.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"jobcheck-system", ns} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	workload := "handover"
	group := map[string]string{contract.LabelJob: workload, contract.LabelNamespace: ns}
	consecutive := func() float64 {
		g, err := pg.Group(ctx, group)
		if err != nil || g == nil {
			return -1
		}
		v, _ := g.Value(contract.MetricConsecutiveFailures, nil)
		return v
	}
	// failRun creates a Job and its injected pod and fails both, as the Job
	// controller and the kubelet would. Each run ends 10s after the one
	// before: a run ending in the same second as the latest one read back is
	// taken as counted (docs/runs.md), which is not what this test is about.
	var n int
	base := time.Now().Truncate(time.Second)
	failRun := func() {
		t.Helper()
		n++
		name := fmt.Sprintf("handover-%d", n)
		now := metav1.NewTime(base.Add(time.Duration(n) * 10 * time.Second))
		j, err := admin.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"true"}}}}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p := newPod(j, name+"-x", pg.URL)
		p.UID, p.CreationTimestamp = "", metav1.Time{}
		p.Labels = map[string]string{contract.LabelInjected: "true"}
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Image = "busybox"
		p.Spec.Containers[0].Env[0].Value = workload
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		j.Status.StartTime = &now
		j.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
		}
		if _, err := admin.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	one := startReplica(t, "one", "jobcheck-system")
	two := startReplica(t, "two", "jobcheck-system")
	failRun()
	eventually(t, "one replica leads and reports the failed run", func() bool {
		return one.leading() != two.leading() && consecutive() == 1
	})
	leader, other := one, two
	if two.leading() {
		leader, other = two, one
	}

	// A graceful stop: pushing stops, the Lease is released, the other leads.
	leader.stop()
	if leader.leading() {
		t.Error("a stopped replica still says it leads")
	}
	eventually(t, "the other replica leads", other.leading)
	lease, err := admin.CoordinationV1().Leases("jobcheck-system").Get(ctx, DefaultLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != other.name {
		t.Fatalf("lease holder %v, %v; want %s", lease.Spec.HolderIdentity, err, other.name)
	}
	failRun()
	eventually(t, "the new leader counts the second failure once", func() bool { return consecutive() == 2 })
	if got := testutil.ToFloat64(other.w.metrics.runs.WithLabelValues(contract.ResultFailed)); got != 1 {
		t.Errorf("the new leader counted %v failed runs, want 1: the first was read back", got)
	}

	// A replica cut off the API server cannot renew: it stops leading within
	// its renew deadline, and a third replica takes over once the Lease expired.
	third := startReplica(t, "three", "jobcheck-system")
	other.partitioned.Store(true)
	eventually(t, "the cut-off leader gives up", func() bool { return !other.leading() })
	eventually(t, "the third replica leads", third.leading)
	other.partitioned.Store(false)
	failRun()
	eventually(t, "the third leader counts the third failure once", func() bool { return consecutive() == 3 })
	time.Sleep(time.Second) // any push still to come from a wrong count would land now
	if c := consecutive(); c != 3 {
		t.Errorf("consecutive failures %v after the hand-overs, want 3", c)
	}
	if one.leading() || other.leading() && third.leading() {
		t.Error("two replicas lead at once")
	}
}
