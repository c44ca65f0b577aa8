package webhook

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
	"github.com/jobcheck/jobcheck/workloads"
)

// Owners finds what is known of the Job a pod's owner reference points to,
// and of that Job's CronJob.
type Owners interface {
	Lookup(ctx context.Context, namespace string, job metav1.OwnerReference) (inject.Owner, error)
}

// settingsPrefix marks the annotations inject reads: a Job or CronJob
// fetched on a cache miss keeps only those, as the cached ones do.
const settingsPrefix = contract.AnnotationPrefix

// OwnerCache answers owner lookups from the webhook's shared, stripped
// informers on Jobs, CronJobs and injected pods (package workloads), which
// it builds and the run watcher reads too (Workloads). A Job the cache has
// not seen yet (it was created a moment before its first pod) is fetched
// directly, as metadata only, within getTimeout.
type OwnerCache struct {
	cache      *workloads.Cache
	getJob     func(ctx context.Context, namespace, name string) (*metav1.PartialObjectMetadata, error)
	getCronJob func(ctx context.Context, namespace, name string) (*batchv1.CronJob, error)
	getTimeout time.Duration
}

var jobsResource = batchv1.SchemeGroupVersion.WithResource("jobs")

// NewOwnerCache builds the shared informers on client; nothing is listed
// until Start. A lookup the cache cannot answer is a GET (a Job's through
// meta) bounded by getTimeout (1s when zero).
func NewOwnerCache(meta metadata.Interface, client kubernetes.Interface, getTimeout time.Duration) *OwnerCache {
	if getTimeout <= 0 {
		getTimeout = time.Second
	}
	return &OwnerCache{
		cache:      workloads.New(client, 0),
		getTimeout: getTimeout,
		getJob: func(ctx context.Context, namespace, name string) (*metav1.PartialObjectMetadata, error) {
			return meta.Resource(jobsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		getCronJob: func(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
			return client.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
		},
	}
}

// Workloads returns the shared informers, for the run watcher (runs.New),
// which must add its handlers before Start.
func (c *OwnerCache) Workloads() *workloads.Cache { return c.cache }

// Start starts the shared informers; they stop when ctx ends. It does not
// wait for them to sync (see Synced).
func (c *OwnerCache) Start(ctx context.Context) { c.cache.Start(ctx) }

// Synced reports whether the shared informers hold a complete first listing.
func (c *OwnerCache) Synced() bool { return c.cache.Synced() }

// Lookup returns the Job named by ref (in namespace) and, when a CronJob
// controls that Job, the CronJob. A missing object is an error: the pod is
// then admitted unmutated rather than reported under the wrong job name.
func (c *OwnerCache) Lookup(ctx context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error) {
	job, err := c.job(ctx, namespace, ref.Name, ref.UID)
	if err != nil {
		return inject.Owner{}, err
	}
	owner := inject.Owner{JobName: contract.WorkloadName(job.Name, job.GenerateName), JobAnnotations: settings(job.Annotations)}
	cref := metav1.GetControllerOfNoCopy(job)
	if cref == nil || cref.Kind != "CronJob" || groupOf(cref.APIVersion) != batchv1.GroupName {
		return owner, nil
	}
	cj, err := c.cronJob(ctx, namespace, cref.Name, cref.UID)
	if err != nil {
		return inject.Owner{}, fmt.Errorf("job %s/%s: %w", namespace, job.Name, err)
	}
	owner.CronJobName = cj.Name
	owner.CronJobUID = cj.UID
	owner.CronJobAnnotations = settings(cj.Annotations)
	owner.Schedule = cj.Spec.Schedule
	if cj.Spec.TimeZone != nil {
		owner.TimeZone = *cj.Spec.TimeZone
	}
	return owner, nil
}

func (c *OwnerCache) job(ctx context.Context, namespace, name string, uid types.UID) (*metav1.ObjectMeta, error) {
	if job, ok := c.cache.Job(namespace, name); ok && uidMatches(job.UID, uid) {
		return &job.ObjectMeta, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.getTimeout)
	defer cancel()
	job, err := c.getJob(ctx, namespace, name)
	if err != nil {
		return nil, notFoundOr(err, "job", namespace, name)
	}
	if !uidMatches(job.UID, uid) {
		return nil, fmt.Errorf("get job %s/%s: it has uid %s, the pod's owner reference names uid %s", namespace, name, job.UID, uid)
	}
	return &job.ObjectMeta, nil
}

func (c *OwnerCache) cronJob(ctx context.Context, namespace, name string, uid types.UID) (*batchv1.CronJob, error) {
	if cj, ok := c.cache.CronJob(namespace, name); ok && uidMatches(cj.UID, uid) {
		return cj, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.getTimeout)
	defer cancel()
	cj, err := c.getCronJob(ctx, namespace, name)
	if err != nil {
		return nil, notFoundOr(err, "cronjob", namespace, name)
	}
	if !uidMatches(cj.UID, uid) {
		return nil, fmt.Errorf("get cronjob %s/%s: it has uid %s, the job's owner reference names uid %s", namespace, name, cj.UID, uid)
	}
	return cj, nil
}

func notFoundOr(err error, kind, namespace, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s/%s not found", kind, namespace, name)
	}
	return fmt.Errorf("get %s %s/%s: %w", kind, namespace, name, err)
}

// uidMatches is true when the reference names no uid or the same one.
func uidMatches(got, want types.UID) bool { return want == "" || got == want }

func groupOf(apiVersion string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ""
	}
	return gv.Group
}

// settings keeps the jobcheck.io annotations (a cached object has only
// those already; one fetched on a miss has them all).
func settings(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if strings.HasPrefix(k, settingsPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
