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
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/jobcheck/jobcheck/inject"
)

// Owners finds what is known of the Job a pod's owner reference points to,
// and of that Job's CronJob.
type Owners interface {
	Lookup(ctx context.Context, namespace string, job metav1.OwnerReference) (inject.Owner, error)
}

var jobsResource = batchv1.SchemeGroupVersion.WithResource("jobs")

// settingsPrefix marks the annotations inject reads; the caches keep only
// those, so that large annotations (last-applied-configuration) cost no memory.
const settingsPrefix = "jobcheck.io/"

// OwnerCache answers owner lookups from informers on batch/v1 Jobs and
// CronJobs. Jobs are watched as metadata only (annotations and owner
// references are all that is needed, and a cluster may hold many thousands),
// CronJobs in full but stripped to name, annotations, schedule and time zone.
// A Job the cache has not seen yet (it was created a moment before its first
// pod) is fetched directly, within getTimeout.
type OwnerCache struct {
	jobs       cache.GenericLister
	cronJobs   batchlisters.CronJobLister
	synced     []cache.InformerSynced
	start      func(ctx context.Context)
	getJob     func(ctx context.Context, namespace, name string) (*metav1.PartialObjectMetadata, error)
	getCronJob func(ctx context.Context, namespace, name string) (*batchv1.CronJob, error)
	getTimeout time.Duration
}

// NewOwnerCache builds the informers; nothing is listed until Start.
// getTimeout bounds a direct GET on a cache miss (1s when zero).
func NewOwnerCache(meta metadata.Interface, client kubernetes.Interface, getTimeout time.Duration) *OwnerCache {
	if getTimeout <= 0 {
		getTimeout = time.Second
	}
	metaFactory := metadatainformer.NewSharedInformerFactoryWithOptions(meta, 0, metadatainformer.WithTransform(stripJob))
	jobs := metaFactory.ForResource(jobsResource)
	typedFactory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(stripCronJob))
	cronJobs := typedFactory.Batch().V1().CronJobs()
	c := &OwnerCache{
		jobs:       jobs.Lister(),
		cronJobs:   cronJobs.Lister(),
		synced:     []cache.InformerSynced{jobs.Informer().HasSynced, cronJobs.Informer().HasSynced},
		getTimeout: getTimeout,
		getJob: func(ctx context.Context, namespace, name string) (*metav1.PartialObjectMetadata, error) {
			return meta.Resource(jobsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		},
		getCronJob: func(ctx context.Context, namespace, name string) (*batchv1.CronJob, error) {
			return client.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
		},
	}
	c.start = func(ctx context.Context) {
		metaFactory.Start(ctx.Done())
		typedFactory.Start(ctx.Done())
	}
	return c
}

// Start starts the informers; they stop when ctx ends. It does not wait for
// them to sync (see Synced).
func (c *OwnerCache) Start(ctx context.Context) { c.start(ctx) }

// Synced reports whether both caches hold a complete first listing.
func (c *OwnerCache) Synced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// Lookup returns the Job named by ref (in namespace) and, when a CronJob
// controls that Job, the CronJob. A missing object is an error: the pod is
// then admitted unmutated rather than reported under the wrong job name.
func (c *OwnerCache) Lookup(ctx context.Context, namespace string, ref metav1.OwnerReference) (inject.Owner, error) {
	job, err := c.job(ctx, namespace, ref.Name, ref.UID)
	if err != nil {
		return inject.Owner{}, err
	}
	owner := inject.Owner{JobName: jobName(&job.ObjectMeta), JobAnnotations: job.Annotations}
	cref := metav1.GetControllerOfNoCopy(job)
	if cref == nil || cref.Kind != "CronJob" || groupOf(cref.APIVersion) != batchv1.GroupName {
		return owner, nil
	}
	cj, err := c.cronJob(ctx, namespace, cref.Name, cref.UID)
	if err != nil {
		return inject.Owner{}, fmt.Errorf("job %s/%s: %w", namespace, job.Name, err)
	}
	owner.CronJobName = cj.Name
	owner.CronJobAnnotations = cj.Annotations
	owner.Schedule = cj.Spec.Schedule
	if cj.Spec.TimeZone != nil {
		owner.TimeZone = *cj.Spec.TimeZone
	}
	return owner, nil
}

func (c *OwnerCache) job(ctx context.Context, namespace, name string, uid types.UID) (*metav1.PartialObjectMetadata, error) {
	if obj, err := c.jobs.ByNamespace(namespace).Get(name); err == nil {
		if job, ok := obj.(*metav1.PartialObjectMetadata); ok && uidMatches(job.UID, uid) {
			return job, nil
		}
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
	return jobInfo(job), nil
}

func (c *OwnerCache) cronJob(ctx context.Context, namespace, name string, uid types.UID) (*batchv1.CronJob, error) {
	if cj, err := c.cronJobs.CronJobs(namespace).Get(name); err == nil && uidMatches(cj.UID, uid) {
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
	return cronJobInfo(cj), nil
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

// stripJob keeps what a lookup needs of a Job: identity, jobcheck.io
// annotations and owner references.
// jobName is the name a Job's runs are reported under. A Job made with
// generateName (a new one per run, as workflow engines and scripts create
// them) is reported under that prefix without its trailing dash, so its runs
// share one Pushgateway group instead of leaving one group per run behind;
// the offline injector names such a Job the same way.
func jobName(m *metav1.ObjectMeta) string {
	if p := strings.TrimRight(m.GenerateName, "-"); p != "" {
		return p
	}
	return m.Name
}

func stripJob(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return jobInfo(m), nil
	}
	return obj, nil // a DeletedFinalStateUnknown tombstone
}

func jobInfo(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: m.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:            m.Name,
			GenerateName:    m.GenerateName,
			Namespace:       m.Namespace,
			UID:             m.UID,
			ResourceVersion: m.ResourceVersion,
			Annotations:     settings(m.Annotations),
			OwnerReferences: m.OwnerReferences,
		},
	}
}

// stripCronJob keeps identity, jobcheck.io annotations, schedule and time
// zone; the job template, the bulk of a CronJob, is dropped.
func stripCronJob(obj any) (any, error) {
	if cj, ok := obj.(*batchv1.CronJob); ok {
		return cronJobInfo(cj), nil
	}
	return obj, nil
}

func cronJobInfo(cj *batchv1.CronJob) *batchv1.CronJob {
	return &batchv1.CronJob{
		TypeMeta: cj.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:            cj.Name,
			Namespace:       cj.Namespace,
			UID:             cj.UID,
			ResourceVersion: cj.ResourceVersion,
			Annotations:     settings(cj.Annotations),
		},
		Spec: batchv1.CronJobSpec{Schedule: cj.Spec.Schedule, TimeZone: cj.Spec.TimeZone},
	}
}

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
