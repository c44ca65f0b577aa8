package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
	"github.com/jobcheck/jobcheck/workloads"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultLeaseName is the Lease the replicas compete for (docs/model.md).
const DefaultLeaseName = "jobcheck-run-watcher"

// Config says which Lease the watcher holds and how.
type Config struct {
	// LeaseNamespace and LeaseName name the Lease (the webhook's own namespace).
	LeaseNamespace, LeaseName string
	// Identity is this replica's name in the Lease (its pod name and a
	// random suffix, so that a restarted pod is a new holder).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's leader
	// election timing: a replica that stopped renewing is replaced at most
	// LeaseDuration after its last renewal; the leader gives up when it could
	// not renew for RenewDeadline; candidates retry every RetryPeriod.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Resync is how often every workload's run metrics are pushed again even
	// when unchanged (a Pushgateway restarted without persistence gets them
	// back). Zero: never.
	Resync time.Duration
	// DefaultPushgateway is the webhook's --pushgateway: a CronJob with no
	// pod left is looked for there (under jobcheck.io/pushgateway and
	// jobcheck.io/job-name on the CronJob, or their defaults), so that
	// suspending it, changing its schedule or deleting it is reported after a
	// leader change too. Empty: not looked for.
	DefaultPushgateway string
	// Pushgateways are the Pushgateways the watcher may read and push to,
	// by scheme://host[:port]: a pod names its own in JOBCHECK_PUSHGATEWAY,
	// and the webhook's pod must not send requests wherever anyone who can
	// create a Job says. DefaultPushgateway is always allowed; "*" allows any.
	Pushgateways []string
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.LeaseNamespace == "" || c.LeaseName == "":
		return errors.New("the Lease needs a namespace and a name")
	case c.Identity == "":
		return errors.New("the Lease needs an identity")
	case c.RetryPeriod <= 0:
		return fmt.Errorf("retry period %v: want a positive duration", c.RetryPeriod)
	case float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod):
		return fmt.Errorf("renew deadline %v: want more than %v times the retry period %v", c.RenewDeadline, leaderelection.JitterFactor, c.RetryPeriod)
	case c.LeaseDuration <= c.RenewDeadline:
		return fmt.Errorf("lease duration %v: want more than the renew deadline %v", c.LeaseDuration, c.RenewDeadline)
	case c.Resync < 0:
		return fmt.Errorf("resync %v: want zero or more", c.Resync)
	}
	return nil
}

// Watcher is the run watcher. Build it with New before the cache starts,
// then Run it.
type Watcher struct {
	cfg     Config
	lock    resourcelock.Interface
	store   store
	synced  func(context.Context) bool
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	pushTimeout time.Duration // bounds one push: see New
	readTimeout time.Duration // bounds one read-back
	retryBase   time.Duration // first retry of a workload that could not be pushed
	retryMax    time.Duration // longest wait between retries
	workers     int

	clientsMu sync.Mutex
	clients   map[string]*pushgateway.Client

	term atomic.Pointer[term] // the current term; nil while not leading
}

// New builds the watcher on the shared cache (its handlers are added now,
// so New must come before cache.Start) and registers its metrics on reg.
func New(cfg Config, client kubernetes.Interface, cache *workloads.Cache, reg prometheus.Registerer, log *slog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("run watcher: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	w, err := newWatcher(cfg, lock, cache, cache.WaitForSync, reg, log)
	if err != nil {
		return nil, err
	}
	if err := cache.AddHandlers(w.handlers()); err != nil {
		return nil, fmt.Errorf("run watcher: %w", err)
	}
	return w, nil
}

func newWatcher(cfg Config, lock resourcelock.Interface, s store, synced func(context.Context) bool, reg prometheus.Registerer, log *slog.Logger) (*Watcher, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Watcher{
		cfg: cfg, lock: lock, store: s, synced: synced, log: log, metrics: m, now: time.Now,
		// A push begun just before the leader could not renew must end before
		// another replica can take the Lease (LeaseDuration after the last
		// renewal, RenewDeadline at least after it): half the margin.
		pushTimeout: min((cfg.LeaseDuration-cfg.RenewDeadline)/2, 5*time.Second),
		readTimeout: 15 * time.Second,
		retryBase:   500 * time.Millisecond,
		retryMax:    time.Minute,
		workers:     4,
		clients:     map[string]*pushgateway.Client{},
	}, nil
}

func (w *Watcher) handlers() workloads.Handlers {
	return workloads.Handlers{
		Job: func(_, j *batchv1.Job, gone bool) {
			if t := w.term.Load(); t != nil {
				t.onJob(j, gone)
			}
		},
		CronJob: func(cj *batchv1.CronJob, gone bool) {
			if t := w.term.Load(); t != nil {
				t.onCronJob(cj, gone)
			}
		},
		Pod: func(p *corev1.Pod, gone bool) {
			if t := w.term.Load(); t != nil {
				t.onPod(p, gone)
			}
		},
	}
}

// Run competes for the Lease until ctx ends and reports runs while it holds
// it. When ctx ends it stops pushing first, then releases the Lease, so the
// next leader never reads back a Pushgateway this replica still pushes to.
func (w *Watcher) Run(ctx context.Context) {
	for ctx.Err() == nil {
		electCtx, stopElect := context.WithCancel(context.Background())
		leading := make(chan context.Context, 1)
		ran := make(chan struct{})
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            w.lock,
			LeaseDuration:   w.cfg.LeaseDuration,
			RenewDeadline:   w.cfg.RenewDeadline,
			RetryPeriod:     w.cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            w.cfg.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) { leading <- lctx },
				OnStoppedLeading: func() {},
			},
		})
		if err != nil { // Validate has checked the configuration
			stopElect()
			w.log.Error("run watcher stopped", "err", err)
			return
		}
		go func() { le.Run(electCtx); close(ran) }()
		select {
		case lctx := <-leading:
			tctx, cancel := context.WithCancel(lctx)
			stop := context.AfterFunc(ctx, cancel)
			w.log.Info("run watcher leading", "lease", w.cfg.LeaseNamespace+"/"+w.cfg.LeaseName, "identity", w.cfg.Identity)
			w.lead(tctx)
			stop()
			cancel()
			w.log.Info("run watcher no longer leading", "identity", w.cfg.Identity)
		case <-ctx.Done():
		case <-ran:
		}
		stopElect() // after lead returned: the Lease is released only once pushing stopped
		<-ran
	}
}

// lead is one term: it waits for the cache, reads and pushes until ctx
// ends, and returns once no push is under way.
func (w *Watcher) lead(ctx context.Context) {
	if !w.synced(ctx) {
		return
	}
	t := newTerm(w)
	w.term.Store(t)
	w.metrics.leader.Set(1)
	defer func() {
		w.term.Store(nil)
		w.metrics.leader.Set(0)
		w.metrics.workloads.Set(0)
	}()
	t.sweep()
	var wg sync.WaitGroup
	for range w.workers {
		wg.Go(func() { t.work(ctx) })
	}
	var tick <-chan time.Time
	if w.cfg.Resync > 0 {
		ticker := time.NewTicker(w.cfg.Resync)
		defer ticker.Stop()
		tick = ticker.C
	}
	for done := false; !done; {
		select {
		case <-tick:
			t.resync()
		case <-ctx.Done():
			done = true
		}
	}
	t.queue.ShutDown()
	wg.Wait()
}

// client returns the Pushgateway client of url, if the watcher may use it.
func (w *Watcher) client(url string) (*pushgateway.Client, error) {
	w.clientsMu.Lock()
	defer w.clientsMu.Unlock()
	if c := w.clients[url]; c != nil {
		return c, nil
	}
	if !w.allowed(url) {
		return nil, fmt.Errorf("pushgateway %s is not one the run watcher may use (--run-watcher-pushgateways)", redact(url))
	}
	c, err := pushgateway.New(url, nil, contract.Help)
	if err != nil {
		return nil, err
	}
	w.clients[url] = c
	return c, nil
}

// push pushes one group with POST, within pushTimeout.
func (w *Watcher) push(ctx context.Context, c *pushgateway.Client, grouping [][2]string, samples []pushgateway.Sample) error {
	ctx, cancel := context.WithTimeout(ctx, w.pushTimeout)
	defer cancel()
	err := c.Add(ctx, grouping, samples)
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	w.metrics.pushes.WithLabelValues(result).Inc()
	return err
}

// allowed reports whether url's scheme://host[:port] is the default
// Pushgateway's or one of cfg.Pushgateways.
func (w *Watcher) allowed(raw string) bool {
	origin := func(s string) string {
		if !strings.Contains(s, "://") {
			s = "http://" + s
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return ""
		}
		return strings.ToLower(u.Scheme + "://" + u.Host)
	}
	o := origin(raw)
	if o == "" {
		return false
	}
	for _, a := range append([]string{w.cfg.DefaultPushgateway}, w.cfg.Pushgateways...) {
		if a == "*" || (a != "" && origin(a) == o) {
			return true
		}
	}
	return false
}
