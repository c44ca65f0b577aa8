package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/pushgateway"
)

// term is one leadership term: the workloads' state, read back from their
// Pushgateways when it starts and dropped when it ends, and the queue of
// workloads to bring up to date. Everything in it is guarded by mu, except
// the network calls, made without it.
type term struct {
	w     *Watcher
	queue workqueue.TypedRateLimitingInterface[key]

	mu        sync.Mutex
	workloads map[key]*workload
	byJob     map[types.UID]key
	byCron    map[types.UID]map[key]bool
	readers   map[string]*sync.Mutex // per Pushgateway: one read-back at a time
	// notMonitored are the CronJobs looked for (onCronJob) and not found in
	// their Pushgateway this term: not looked for again until a pod of theirs
	// makes them a workload.
	notMonitored map[types.UID]bool
	broken       map[string]bool // Pushgateway URLs that cannot be used, logged once
}

func newTerm(w *Watcher) *term {
	return &term{
		w: w,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[key](w.retryBase, w.retryMax),
			workqueue.TypedRateLimitingQueueConfig[key]{Name: "jobcheck-run-watcher"}),
		workloads: map[key]*workload{},
		byJob:     map[types.UID]key{},
		byCron:    map[types.UID]map[key]bool{},
		readers:   map[string]*sync.Mutex{},

		notMonitored: map[types.UID]bool{},
		broken:       map[string]bool{},
	}
}

// onPod takes a pod event: the pod's workload and Job become known, and its
// attempts that only the watcher can report are queued for pushing. A Job
// is linked to its workload only while it is cached: the pods of a deleted
// Job do not bring it back, and a pod seen before its Job is linked by the
// Job's own event (onJob).
func (t *term) onPod(p *corev1.Pod, gone bool) {
	k, c, ok := podKey(p)
	if !ok {
		return
	}
	var job *batchv1.Job
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == "Job" {
		if j, ok := t.w.store.Job(p.Namespace, ref.Name); ok && j.UID == ref.UID {
			job = j
		}
	}
	found := attempts(p, job, gone, t.w.now())

	t.mu.Lock()
	wl := t.workload(k)
	if g := env(c, contract.EnvGrace); g != "" {
		if d, err := time.ParseDuration(g); err == nil && d >= 0 {
			wl.grace = d
		}
	}
	if job != nil {
		if _, linked := t.byJob[job.UID]; !linked {
			wl.jobs[job.UID] = &jobRef{name: job.Name}
			t.byJob[job.UID] = k
		}
	}
	for _, a := range found {
		if !wl.reported[a.id] {
			wl.pending[a.id] = a
		}
	}
	t.mu.Unlock()
	t.queue.Add(k)
}

// onJob takes a Job event. A deleted Job keeps its last state until its
// workload is updated; a Job not linked yet is linked through its pods.
func (t *term) onJob(j *batchv1.Job, gone bool) {
	t.mu.Lock()
	k, linked := t.byJob[j.UID]
	if linked && gone {
		if wl := t.workloads[k]; wl != nil && wl.jobs[j.UID] != nil {
			wl.jobs[j.UID].gone, wl.jobs[j.UID].goneAt = j, t.w.now()
		}
		delete(t.byJob, j.UID)
	}
	t.mu.Unlock()
	switch {
	case linked:
		t.queue.Add(k)
	case !gone:
		for _, p := range t.w.store.PodsOf(j.UID) {
			if _, _, ok := podKey(p); ok {
				t.onPod(p, false)
				return
			}
		}
	}
}

// onCronJob takes a CronJob event: its workloads' deadline or suspension
// may change, or it was deleted. A CronJob of no known workload (its Jobs
// and pods gone, a new term) is looked for in its Pushgateway, under the
// names the webhook would give it: when its run group is there, it is a
// workload and is kept up to date.
func (t *term) onCronJob(cj *batchv1.CronJob, gone bool) {
	t.mu.Lock()
	var keys []key
	for k := range t.byCron[cj.UID] {
		keys = append(keys, k)
	}
	if len(keys) == 0 && !gone && !t.notMonitored[cj.UID] {
		if k, ok := cronKey(cj, t.w.cfg.DefaultPushgateway); ok {
			wl := t.workload(k)
			if wl.cron == nil {
				wl.cron = &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID}
				wl.lookedFor = true
				t.indexCron(k, nil, wl.cron)
			}
			keys = append(keys, k)
		}
	}
	t.mu.Unlock()
	for _, k := range keys {
		t.queue.Add(k)
	}
}

// cronKey is the workload a CronJob's pods would report under: its
// jobcheck.io/pushgateway (else the default) and jobcheck.io/job-name (else
// its name). Settings on its job template are not seen here.
func cronKey(cj *batchv1.CronJob, defaultPushgateway string) (key, bool) {
	k := key{pushgateway: defaultPushgateway, namespace: cj.Namespace, job: cj.Name}
	if v := cj.Annotations[contract.AnnotationPushgateway]; v != "" {
		k.pushgateway = v
	}
	if v := cj.Annotations[contract.AnnotationJobName]; v != "" {
		k.job = v
	}
	return k, k.pushgateway != ""
}

// workload returns the workload k, new (not read back) if unknown. mu is held.
func (t *term) workload(k key) *workload {
	wl := t.workloads[k]
	if wl == nil {
		wl = newWorkload(k)
		t.workloads[k] = wl
		t.w.metrics.workloads.Inc()
	}
	return wl
}

// sweep takes every cached pod as an event and queues every workload: the
// start of a term.
func (t *term) sweep() {
	for _, p := range t.w.store.Pods() {
		t.onPod(p, false)
	}
	for _, cj := range t.w.store.CronJobs() {
		t.onCronJob(cj, false)
	}
}

// resync queues every workload for a push, even unchanged: a Pushgateway
// that restarted without persistence gets its groups back.
func (t *term) resync() {
	t.mu.Lock()
	keys := make([]key, 0, len(t.workloads))
	for k, wl := range t.workloads {
		wl.dirty = true
		keys = append(keys, k)
	}
	t.mu.Unlock()
	for _, k := range keys {
		t.queue.Add(k)
	}
}

// errNotReadBack: the workload appeared while its Pushgateway was being
// read; it waits for the next read-back.
var errNotReadBack = errors.New("not read back from its Pushgateway yet")

// reconcile brings workload k's groups up to date: its Pushgateway read
// back first (once per term), then its state updated from the cache, then
// its pending attempts and its run state pushed. An error means: try again
// later (the queue backs off).
func (t *term) reconcile(ctx context.Context, k key) error {
	pg, err := t.w.client(k.pushgateway)
	if err != nil {
		t.mu.Lock()
		if !t.broken[k.pushgateway] {
			t.broken[k.pushgateway] = true
			t.w.log.Warn("workloads of this Pushgateway not reported", "namespace", k.namespace, "job", k.job, "err", err)
		}
		if wl := t.workloads[k]; wl != nil {
			t.drop(wl) // a bad URL does not get better by retrying
		}
		t.mu.Unlock()
		return nil
	}
	t.mu.Lock()
	wl := t.workloads[k]
	read := wl != nil && wl.readBack
	t.mu.Unlock()
	if wl == nil {
		return nil
	}
	if !read {
		if err := t.readBack(ctx, pg, k.pushgateway); err != nil {
			return err
		}
	}

	t.mu.Lock()
	if wl = t.workloads[k]; wl == nil {
		t.mu.Unlock()
		return nil
	}
	if !wl.readBack {
		t.mu.Unlock()
		return errNotReadBack
	}
	if wl.lookedFor && !wl.found && len(wl.jobs) == 0 && len(wl.pending) == 0 {
		// A CronJob looked for and not in its Pushgateway: not monitored.
		if wl.cron != nil {
			t.notMonitored[wl.cron.UID] = true
		}
		t.drop(wl)
		t.mu.Unlock()
		return nil
	}
	cronBefore := wl.cron
	dropped, err := wl.update(t.w.store, t.w.now())
	if err != nil {
		t.w.log.Warn("next-run deadline", "namespace", k.namespace, "job", k.job, "err", err)
	}
	for _, uid := range dropped {
		if t.byJob[uid] == k {
			delete(t.byJob, uid)
		}
	}
	if wl.cron != cronBefore && wl.cron != nil {
		t.indexCron(k, cronBefore, wl.cron)
	}
	var push []attempt
	for id, a := range wl.pending {
		delete(wl.pending, id)
		if wl.reported[id] {
			continue
		}
		if a.end <= wl.latestAttempt(t.w.store, a.group, id) {
			wl.reported[id] = true // a later attempt of its group was reported: this one is history
			continue
		}
		push = append(push, a)
	}
	state, dirty := wl.state, wl.dirty
	runs := wl.runs
	wl.runs = map[string]int{}
	t.mu.Unlock()

	var failed error
	var pushed []attempt
	for _, a := range push {
		err := t.w.push(ctx, pg, contract.Grouping(k.job, k.namespace, a.container, a.index), a.samples())
		if err != nil {
			failed = fmt.Errorf("push attempt of %s/%s: %w", a.id.podName, a.id.container, err)
			continue
		}
		pushed = append(pushed, a)
		t.w.metrics.attempts.WithLabelValues(a.reason).Inc()
		t.w.log.Info("attempt reported", "namespace", k.namespace, "job", k.job, "pod", a.id.podName,
			"container", a.id.container, "reason", a.reason, "detail", a.detail)
	}
	pushedRuns := false
	if dirty {
		if err := t.w.push(ctx, pg, contract.Grouping(k.job, k.namespace, "", ""), state.samples()); err != nil {
			failed = fmt.Errorf("push runs: %w", err)
		} else {
			pushedRuns = true
			for result, n := range runs {
				t.w.metrics.runs.WithLabelValues(result).Add(float64(n))
			}
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range push {
		ok := false
		for _, p := range pushed {
			ok = ok || p.id == a.id
		}
		if ok {
			wl.reported[a.id] = true
			wl.attemptEnds[a.group] = max(wl.attemptEnds[a.group], a.end)
		} else if !wl.reported[a.id] {
			wl.pending[a.id] = a
		}
	}
	if pushedRuns {
		wl.pushed = state
		wl.dirty = wl.state != state
	} else {
		for result, n := range runs { // counted, not pushed yet
			wl.runs[result] += n
		}
	}
	if failed != nil {
		return failed
	}
	t.forget(wl)
	return nil
}

// forget drops what the workload no longer needs: the attempts of pods gone
// from the cache, and the whole workload once it has no Job, no pending
// attempt and no CronJob left (its state is in the Pushgateway: a new run
// reads it back). mu is held.
func (t *term) forget(wl *workload) {
	for id := range wl.reported {
		if p, ok := t.w.store.Pod(wl.namespace, id.podName); !ok || p.UID != id.pod {
			delete(wl.reported, id)
		}
	}
	if len(wl.jobs) > 0 || len(wl.pending) > 0 || wl.dirty {
		return
	}
	if wl.cron != nil {
		if cj, ok := t.w.store.CronJob(wl.namespace, wl.cron.Name); ok && cj.UID == wl.cron.UID {
			return
		}
		delete(t.byCron[wl.cron.UID], wl.key)
		if len(t.byCron[wl.cron.UID]) == 0 {
			delete(t.byCron, wl.cron.UID)
		}
	}
	delete(t.workloads, wl.key)
	t.w.metrics.workloads.Dec()
}

// drop forgets workload wl now, whatever it holds. mu is held.
func (t *term) drop(wl *workload) {
	for uid, k := range t.byJob {
		if k == wl.key {
			delete(t.byJob, uid)
		}
	}
	if wl.cron != nil {
		delete(t.byCron[wl.cron.UID], wl.key)
		if len(t.byCron[wl.cron.UID]) == 0 {
			delete(t.byCron, wl.cron.UID)
		}
	}
	delete(t.workloads, wl.key)
	t.w.metrics.workloads.Dec()
}

// indexCron records that workload k belongs to CronJob now (no longer to
// before). mu is held.
func (t *term) indexCron(k key, before, now *metav1.OwnerReference) {
	if before != nil && before.UID != now.UID {
		delete(t.byCron[before.UID], k)
		if len(t.byCron[before.UID]) == 0 {
			delete(t.byCron, before.UID)
		}
	}
	if t.byCron[now.UID] == nil {
		t.byCron[now.UID] = map[key]bool{}
	}
	t.byCron[now.UID][k] = true
}

// readBack reads the run metrics and the latest attempt ends of every
// workload of Pushgateway url not read back yet, in one streamed scan of
// its /metrics, and marks them read. Until it succeeds nothing is pushed to
// that Pushgateway.
func (t *term) readBack(ctx context.Context, pg *pushgateway.Client, url string) error {
	t.mu.Lock()
	r := t.readers[url]
	if r == nil {
		r = &sync.Mutex{}
		t.readers[url] = r
	}
	t.mu.Unlock()
	// One scan of a Pushgateway at a time; the other workers do not wait on
	// it (a slow Pushgateway must not hold up the others'): their workloads
	// are read by the next scan.
	if !r.TryLock() {
		return errNotReadBack
	}
	defer r.Unlock()

	t.mu.Lock()
	byGroup := map[[2]string]*workload{} // job, namespace
	for k, wl := range t.workloads {
		if k.pushgateway == url && !wl.readBack {
			byGroup[[2]string{k.job, k.namespace}] = wl
		}
	}
	t.mu.Unlock()
	if len(byGroup) == 0 {
		return nil
	}

	type read struct {
		state runState
		ends  map[string]float64
	}
	found := make(map[*workload]*read, len(byGroup))
	ctx, cancel := context.WithTimeout(ctx, t.w.readTimeout)
	defer cancel()
	names := append(slices.Clone(runMetrics), contract.MetricLastAttemptEnd)
	err := pg.Scan(ctx, names, func(name string, labels [][2]string, v float64) {
		// Most lines are other workloads': drop them before allocating anything.
		var job, namespace string
		for _, l := range labels {
			switch l[0] {
			case contract.LabelJob:
				job = l[1]
			case contract.LabelNamespace:
				namespace = l[1]
			}
		}
		wl := byGroup[[2]string{job, namespace}]
		if wl == nil {
			return
		}
		g, own, ok := splitLabels(labels)
		if !ok {
			return
		}
		rd := found[wl]
		if rd == nil {
			rd = &read{ends: map[string]float64{}}
			found[wl] = rd
		}
		if name == contract.MetricLastAttemptEnd {
			gk := groupKey(g[contract.LabelContainer], g[contract.LabelIndex])
			rd.ends[gk] = max(rd.ends[gk], v)
			return
		}
		if g[contract.LabelContainer] == "" && g[contract.LabelIndex] == "" {
			rd.state.set(name, own, v)
		}
	})
	if err != nil {
		t.w.metrics.readBacks.WithLabelValues(resultError).Inc()
		return fmt.Errorf("read back %s: %w", pg.URL(), err)
	}
	t.w.metrics.readBacks.WithLabelValues(resultSuccess).Inc()

	t.mu.Lock()
	defer t.mu.Unlock()
	for _, wl := range byGroup {
		if rd := found[wl]; rd != nil {
			wl.state, wl.pushed = rd.state, rd.state
			wl.attemptEnds = rd.ends
			wl.found = true
		}
		wl.floor = wl.state.watermark()
		wl.readBack, wl.dirty = true, true
		t.queue.Add(wl.key)
	}
	t.w.log.Info("read back", "pushgateway", pg.URL(), "workloads", len(byGroup), "found", len(found))
	return nil
}

// splitLabels splits a read-back sample's labels into its grouping key (job,
// namespace, container, index) and its own labels. ok is false for a group
// that is not a jobcheck group (another label in its key).
func splitLabels(labels [][2]string) (group, own map[string]string, ok bool) {
	group, own = map[string]string{}, map[string]string{}
	for _, l := range labels {
		switch l[0] {
		case contract.LabelJob, contract.LabelNamespace, contract.LabelContainer, contract.LabelIndex:
			group[l[0]] = l[1]
		case contract.LabelResult, contract.LabelReason, contract.LabelDetail, contract.LabelFailedIndexes:
			own[l[0]] = l[1]
		case "instance":
			if l[1] != "" {
				return nil, nil, false
			}
		default:
			return nil, nil, false
		}
	}
	return group, own, group[contract.LabelJob] != ""
}

// redact removes the password of a URL, for logs.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

// work processes the queue until it shuts down.
func (t *term) work(ctx context.Context) {
	for {
		k, quit := t.queue.Get()
		if quit {
			return
		}
		err := t.reconcile(ctx, k)
		switch {
		case err == nil:
			t.queue.Forget(k)
		case ctx.Err() != nil: // the term ends
		default:
			level := slog.LevelWarn
			if errors.Is(err, errNotReadBack) {
				level = slog.LevelDebug
			}
			t.w.log.Log(ctx, level, "workload not up to date, retrying", "namespace", k.namespace, "job", k.job,
				"pushgateway", redact(k.pushgateway), "err", err)
			t.queue.AddRateLimited(k)
		}
		t.queue.Done(k)
	}
}
