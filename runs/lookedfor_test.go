package runs

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/contract"
)

// A CronJob whose Jobs and pods are all gone (ttlSecondsAfterFinished, a
// history limit of 0) is still a workload after a leader change: suspending
// it, changing its schedule or deleting it is reported, so it does not page
// as overdue. A CronJob that jobcheck never monitored is looked for once and
// left alone: nothing is pushed for it.
func TestCronJobWithoutPodsAfterLeaderChange(t *testing.T) {
	first := newEnv(t, pg.URL)
	cj := cronJob(first.name, "0 3 * * *", 100)
	first.cron(cj)
	j := first.job(newJob(first.name+"-1", ownedBy(cj), startedAt(100)))
	p := first.pod(newPod(j, first.name+"-1-x", "", running(101)))
	first.pod(withPod(p, exited(0, "Completed", 101, 150)))
	first.job(with(j, completeAt(150)))
	first.settle()
	expect(t, first.group(), map[string]float64{contract.MetricSuspended: 0})

	// A new leader; the Job and its pod are gone, the CronJob remains, with
	// another one that jobcheck never saw.
	second := newEnv(t, pg.URL)
	second.name = first.name
	second.store.cronJobs[ns+"/"+cj.Name] = cj
	other := cronJob(first.name+"-never", "0 4 * * *", 100)
	second.store.cronJobs[ns+"/"+other.Name] = other
	second.term.sweep()
	second.settle()
	suspended := cj.DeepCopy()
	suspended.Spec.Suspend = new(bool)
	*suspended.Spec.Suspend = true
	second.cron(suspended)
	second.settle()
	expect(t, second.group(), map[string]float64{contract.MetricSuspended: 1, contract.MetricLastSuccess: sec(150)})
	if g, err := pg.Group(context.Background(), map[string]string{contract.LabelJob: other.Name, contract.LabelNamespace: ns}); err != nil || g != nil {
		t.Errorf("a CronJob jobcheck never monitored got a group: %+v (%v)", g, err)
	}
	second.term.mu.Lock()
	_, kept := second.term.workloads[key{pushgateway: pg.URL, namespace: ns, job: other.Name}]
	second.term.mu.Unlock()
	if kept {
		t.Error("the unmonitored CronJob is still followed")
	}

	// Deleted: its deadline goes to +Inf, never overdue, and it is forgotten.
	delete(second.store.cronJobs, ns+"/"+cj.Name)
	second.term.onCronJob(suspended, true)
	second.settle()
	g := second.group()
	if d, ok := g.Value(contract.MetricNextRunDeadline, nil); !ok || !math.IsInf(d, 1) {
		t.Errorf("deadline of a deleted CronJob = %v (%v), want +Inf", d, ok)
	}
}

// One Pushgateway that answers slowly (or never) holds up only its own
// workloads: the others' outcomes are pushed while its scan is under way.
func TestSlowPushgatewayHoldsUpNoOther(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer slow.Close()

	e := newEnv(t, pg.URL)
	e.w.cfg.Pushgateways = []string{slow.URL}
	// More workloads on the slow Pushgateway than there are workers.
	for i := range e.w.workers + 2 {
		j := e.job(newJob(fmt.Sprintf("slow-%d", i), startedAt(0)))
		p := newPod(j, fmt.Sprintf("slow-%d-x", i), slow.URL, running(1))
		p.Spec.Containers[0].Env[0].Value = fmt.Sprintf("%s-slow-%d", e.name, i)
		e.store.pods[ns+"/"+p.Name] = p
		e.term.onPod(p, false)
	}
	j := e.job(newJob("fast", startedAt(10)))
	e.pod(newPod(j, "fast-x", "", running(11)))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range e.w.workers {
		wg.Go(func() { e.term.work(ctx) })
	}
	defer func() { open(); cancel(); e.term.queue.ShutDown(); wg.Wait() }()
	deadline := time.Now().Add(30 * time.Second) // a bound on waiting, not a timing assertion
	for {
		g, err := pg.Group(context.Background(), map[string]string{contract.LabelJob: e.name, contract.LabelNamespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := g.Value(contract.MetricRunning, nil); ok && v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the healthy Pushgateway's workload was not pushed while another Pushgateway's scan hung")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The watcher only talks to the Pushgateways it is allowed to: a pod that
// names another one (a job author's URL) is not reported, and not retried.
func TestPushgatewayNotAllowed(t *testing.T) {
	hits := 0
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer elsewhere.Close()
	e := newEnv(t, pg.URL)
	j := e.job(newJob("elsewhere", startedAt(0)))
	p := newPod(j, "elsewhere-x", elsewhere.URL, running(1))
	e.store.pods[ns+"/"+p.Name] = p
	e.term.onPod(p, false)
	e.settle()
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Errorf("%d requests to a Pushgateway not in the allowed list", hits)
	}
	e.term.mu.Lock()
	defer e.term.mu.Unlock()
	if len(e.term.workloads) != 0 {
		t.Errorf("workloads of a refused Pushgateway are kept: %v", e.term.workloads)
	}
}
