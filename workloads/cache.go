package workloads

import (
	"context"
	"fmt"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/jobcheck/jobcheck/contract"
)

// byController indexes pods by the UID of their controller (their Job).
const byController = "controller"

// Cache holds the stripped Jobs, CronJobs and injected pods of the whole
// cluster. Build it with New, add event handlers, then Start it once.
type Cache struct {
	jobs, cronJobs, pods cache.SharedIndexInformer
	start                sync.Once
}

// New builds the three informers on client; nothing is listed until Start.
// pageSize is the page size of a first listing (DefaultPageSize when zero).
func New(client kubernetes.Interface, pageSize int64) *Cache {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	batch, core := client.BatchV1(), client.CoreV1()
	jobs := strippedListWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return batch.Jobs("").List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return batch.Jobs("").Watch(ctx, o)
		},
		stripAny, pageSize, client)
	cronJobs := strippedListWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return batch.CronJobs("").List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return batch.CronJobs("").Watch(ctx, o)
		},
		stripAny, pageSize, client)
	injected := func(o *metav1.ListOptions) { o.LabelSelector = contract.LabelInjected }
	pods := strippedListWatch(
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			injected(&o)
			return core.Pods("").List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			injected(&o)
			return core.Pods("").Watch(ctx, o)
		},
		stripAny, pageSize, client)
	return &Cache{
		jobs:     cache.NewSharedIndexInformerWithOptions(jobs, &batchv1.Job{}, cache.SharedIndexInformerOptions{ObjectDescription: "jobs"}),
		cronJobs: cache.NewSharedIndexInformerWithOptions(cronJobs, &batchv1.CronJob{}, cache.SharedIndexInformerOptions{ObjectDescription: "cronjobs"}),
		pods: cache.NewSharedIndexInformerWithOptions(pods, &corev1.Pod{}, cache.SharedIndexInformerOptions{
			ObjectDescription: "injected pods", Indexers: cache.Indexers{byController: controllerUID}}),
	}
}

// stripAny strips a Job, CronJob or pod; anything else (a watch error's
// Status) passes unchanged.
func stripAny(o runtime.Object) runtime.Object {
	switch v := o.(type) {
	case *batchv1.Job:
		return stripJob(v)
	case *batchv1.CronJob:
		return stripCronJob(v)
	case *corev1.Pod:
		return stripPod(v)
	}
	return o
}

func controllerUID(obj any) ([]string, error) {
	m, err := metaOf(obj)
	if err != nil {
		return nil, err
	}
	if c := metav1.GetControllerOfNoCopy(m); c != nil {
		return []string{string(c.UID)}, nil
	}
	return nil, nil
}

func metaOf(obj any) (metav1.Object, error) {
	if m, ok := obj.(metav1.Object); ok {
		return m, nil
	}
	return nil, fmt.Errorf("index: %T is not an object", obj)
}

// Start starts the informers; they stop when ctx ends. Calls after the
// first do nothing. It does not wait for the first listings (see Synced).
func (c *Cache) Start(ctx context.Context) {
	c.start.Do(func() {
		for _, i := range []cache.SharedIndexInformer{c.jobs, c.cronJobs, c.pods} {
			go i.RunWithContext(ctx)
		}
	})
}

// Synced reports whether the three informers hold a complete first listing.
func (c *Cache) Synced() bool {
	return c.jobs.HasSynced() && c.cronJobs.HasSynced() && c.pods.HasSynced()
}

// WaitForSync waits until Synced or ctx ends, and reports which.
func (c *Cache) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), c.jobs.HasSynced, c.cronJobs.HasSynced, c.pods.HasSynced)
}

// Handlers are called for the informers' events; nil ones are not. Each
// gets a stripped object (a delete: the last state known, possibly from a
// cache.DeletedFinalStateUnknown, already unwrapped).
type Handlers struct {
	Job     func(old, cur *batchv1.Job, deleted bool)
	CronJob func(cur *batchv1.CronJob, deleted bool)
	Pod     func(cur *corev1.Pod, deleted bool)
}

// AddHandlers registers h on the informers. Objects already cached are
// delivered as additions.
func (c *Cache) AddHandlers(h Handlers) error {
	if h.Job != nil {
		if _, err := c.jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { call(o, func(j *batchv1.Job) { h.Job(nil, j, false) }) },
			UpdateFunc: func(old, cur any) { call(cur, func(j *batchv1.Job) { h.Job(asJob(old), j, false) }) },
			DeleteFunc: func(o any) { call(o, func(j *batchv1.Job) { h.Job(nil, j, true) }) },
		}); err != nil {
			return fmt.Errorf("job handler: %w", err)
		}
	}
	if h.CronJob != nil {
		if _, err := c.cronJobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { call(o, func(cj *batchv1.CronJob) { h.CronJob(cj, false) }) },
			UpdateFunc: func(_, cur any) { call(cur, func(cj *batchv1.CronJob) { h.CronJob(cj, false) }) },
			DeleteFunc: func(o any) { call(o, func(cj *batchv1.CronJob) { h.CronJob(cj, true) }) },
		}); err != nil {
			return fmt.Errorf("cronjob handler: %w", err)
		}
	}
	if h.Pod != nil {
		if _, err := c.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { call(o, func(p *corev1.Pod) { h.Pod(p, false) }) },
			UpdateFunc: func(_, cur any) { call(cur, func(p *corev1.Pod) { h.Pod(p, false) }) },
			DeleteFunc: func(o any) { call(o, func(p *corev1.Pod) { h.Pod(p, true) }) },
		}); err != nil {
			return fmt.Errorf("pod handler: %w", err)
		}
	}
	return nil
}

func call[T any](o any, f func(T)) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	if v, ok := o.(T); ok {
		f(v)
	}
}

func asJob(o any) *batchv1.Job {
	j, _ := o.(*batchv1.Job)
	return j
}

// Job returns the cached Job namespace/name.
func (c *Cache) Job(namespace, name string) (*batchv1.Job, bool) {
	return get[*batchv1.Job](c.jobs, namespace, name)
}

// CronJob returns the cached CronJob namespace/name.
func (c *Cache) CronJob(namespace, name string) (*batchv1.CronJob, bool) {
	return get[*batchv1.CronJob](c.cronJobs, namespace, name)
}

// Pod returns the cached injected pod namespace/name.
func (c *Cache) Pod(namespace, name string) (*corev1.Pod, bool) {
	return get[*corev1.Pod](c.pods, namespace, name)
}

// PodsOf returns the cached injected pods whose controller is the Job uid.
func (c *Cache) PodsOf(job types.UID) []*corev1.Pod { return byIndex[*corev1.Pod](c.pods, job) }

// Pods returns every cached injected pod.
func (c *Cache) Pods() []*corev1.Pod { return all[*corev1.Pod](c.pods) }

// CronJobs returns every cached CronJob.
func (c *Cache) CronJobs() []*batchv1.CronJob { return all[*batchv1.CronJob](c.cronJobs) }

func get[T any](i cache.SharedIndexInformer, namespace, name string) (T, bool) {
	var zero T
	o, ok, err := i.GetIndexer().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return zero, false
	}
	v, ok := o.(T)
	return v, ok
}

func byIndex[T any](i cache.SharedIndexInformer, uid types.UID) []T {
	objs, err := i.GetIndexer().ByIndex(byController, string(uid))
	if err != nil {
		return nil
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func all[T any](i cache.SharedIndexInformer) []T {
	objs := i.GetIndexer().List()
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}
